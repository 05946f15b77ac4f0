// loginUrl and authenticated: Tornado's `login_url` setting, `current_user`
// and the `@authenticated` decorator. `getCurrentUser(request)` (sync or
// async) runs only when something asks for the user (`authenticated`,
// `request.currentUser`, `request.loadCurrentUser()`, an `_xsrf` cookie being
// issued), at most once per request, as Tornado's lazy `current_user`: a
// request that never asks pays nothing, not even the signed-cookie check.
// The `fastify.authenticated` preHandler sends an anonymous GET/HEAD to
// `loginUrl` with `next`, and answers any other method with 403.
// Fail closed: `authenticated` exists whenever this plugin (or the umbrella)
// is registered, so a route can never end up public because a decorator was
// missing; without `getCurrentUser` everyone is anonymous.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { invalid, optionalString } from './shared/settings.js'
import { sendErrorResponse } from './shared/error-response.js'
import { FDK_AUTH_LOGIN_URL_MISSING, FDK_AUTH_REQUIRED, FDK_AUTH_USER_NOT_LOADED } from './shared/errors.js'
import { loginRedirectLocation } from './auth/login-url.js'
import { settingNames } from './shared/declarations.js'
import { AUTH_SETTINGS } from './auth/settings.js'

/**
 * Augment this interface to type `request.currentUser` and `getCurrentUser`
 * (as @fastify/jwt's `FastifyJWT` types its user):
 * `declare module 'fastify-deploy-kit' { interface DeployKitAuth { user: { name: string } } }`.
 */
export interface DeployKitAuth {}

/** The app's user type: `DeployKitAuth['user']` once augmented, `unknown` before. */
export type CurrentUser = DeployKitAuth extends { user: infer User } ? User : unknown

/** Returns the request's user, or a falsy value (or a promise of either) for an anonymous request. */
export type GetCurrentUser = (request: FastifyRequest) => CurrentUser | null | undefined | false | PromiseLike<CurrentUser | null | undefined | false>

export interface AuthOptions {
  /** Where `authenticated` redirects anonymous GET/HEAD requests (Tornado `login_url`). Default none. */
  loginUrl?: string | undefined
  /** Returns the request's user, or a promise of it; falsy means anonymous (Tornado `get_current_user`). Default: always anonymous. */
  getCurrentUser?: GetCurrentUser
}

declare module 'fastify' {
  interface FastifyInstance {
    /** preHandler: anonymous GET/HEAD → 302 to loginUrl?next=..., other methods → 403 (Tornado `@authenticated`). */
    authenticated: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>
  }
  interface FastifyRequest {
    /**
     * What `getCurrentUser` returned for this request, or null when anonymous
     * (Tornado `current_user`). Computed on first read. When `getCurrentUser`
     * is async, `await request.loadCurrentUser()` (or `authenticated`) first:
     * reading it before throws FDK_AUTH_USER_NOT_LOADED.
     */
    currentUser: CurrentUser | null
    /** Runs `getCurrentUser` (at most once per request) and resolves to the user or null; sync or async alike. */
    loadCurrentUser: () => Promise<CurrentUser | null>
  }
}

export const AUTH_SETTING_NAMES = settingNames<AuthOptions, typeof AUTH_SETTINGS>(AUTH_SETTINGS)

interface NormalizedAuthOptions {
  loginUrl: string | undefined
  getCurrentUser: GetCurrentUser | undefined
}

export function normalizeAuthOptions (options: AuthOptions): NormalizedAuthOptions {
  const getCurrentUser = options.getCurrentUser
  if (getCurrentUser !== undefined && typeof getCurrentUser !== 'function') {
    throw invalid('getCurrentUser', getCurrentUser, 'a function (request) => user')
  }
  return { loginUrl: optionalString('loginUrl', options.loginUrl), getCurrentUser }
}

const kUser = Symbol('fastify-deploy-kit.currentUser')
const UNRESOLVED = Symbol('unresolved')

/** An async getCurrentUser still running, or the way it failed; its promise never rejects. */
class Pending {
  error: { cause: unknown } | undefined
  readonly done: Promise<void>
  constructor (promise: PromiseLike<unknown>, settle: (user: unknown) => void) {
    this.done = Promise.resolve(promise).then(settle, (error: unknown) => { this.error = { cause: error } })
  }
}

type AuthRequest = FastifyRequest & { [kUser]: unknown }

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function'
}

/** Why `loginUrl` without `getCurrentUser` is almost surely a mistake: every login ends where it started. */
export const LOGIN_LOOP_WARNING = 'Setting "loginUrl" is set without "getCurrentUser": every request is anonymous, so every ' +
  'app.authenticated route redirects to the login page, even after a login (a login loop). Pass getCurrentUser: (request) => user.'

const auth: FastifyPluginAsync<AuthOptions> = async (fastify, options) => {
  const { loginUrl, getCurrentUser } = normalizeAuthOptions(options)

  // A getter, so a route that uses `authenticated` without `loginUrl` fails
  // when it is declared, at startup, instead of answering 500 per request or,
  // worse, being served to everyone because `preHandler: undefined` is no hook.
  fastify.decorate('authenticated', {
    getter () {
      if (loginUrl === undefined) throw new FDK_AUTH_LOGIN_URL_MISSING()
      return authenticated
    }
  })
  // Nothing else to do: no route can use `authenticated`, and nobody asked for currentUser.
  if (loginUrl === undefined && getCurrentUser === undefined) return
  if (getCurrentUser === undefined) {
    // A Node.js warning, not fastify.log: Fastify's logger is off by default.
    process.emitWarning(LOGIN_LOOP_WARNING, { code: 'FDK_AUTH_NO_CURRENT_USER' })
  }

  /** The user, or the Pending of an async getCurrentUser; calls getCurrentUser at most once per request. */
  function start (request: AuthRequest): unknown {
    const known = request[kUser]
    if (known !== UNRESOLVED) return known
    if (getCurrentUser === undefined) return (request[kUser] = null)
    const result = getCurrentUser(request)
    if (!isThenable(result)) return (request[kUser] = result ?? null)
    const pending = new Pending(result, (user) => { request[kUser] = user ?? null })
    request[kUser] = pending
    return pending
  }

  fastify.decorateRequest(kUser, UNRESOLVED)
  fastify.decorateRequest('currentUser', {
    getter (this: AuthRequest) {
      const user = start(this)
      if (!(user instanceof Pending)) return user
      if (user.error !== undefined) throw user.error.cause
      throw new FDK_AUTH_USER_NOT_LOADED()
    }
  })
  fastify.decorateRequest('loadCurrentUser', async function loadCurrentUser (this: FastifyRequest): Promise<unknown> {
    const request = this as AuthRequest
    const user = start(request)
    if (!(user instanceof Pending)) return user
    await user.done
    if (user.error !== undefined) throw user.error.cause
    return request[kUser]
  })

  async function authenticated (request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    if (await request.loadCurrentUser()) return
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return sendErrorResponse(request, reply, new FDK_AUTH_REQUIRED())
    }
    const location = loginRedirectLocation(loginUrl!, { uri: request.url, protocol: request.protocol, host: request.host })
    return reply.redirect(location, 302)
  }
}

export const fastifyDeployAuth = fp(auth, { fastify: '5.x', name: 'fastify-deploy-kit/auth' })
export default fastifyDeployAuth
