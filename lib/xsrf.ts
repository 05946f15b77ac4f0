// XSRF protection: Tornado's `xsrf_cookies=True`. Every request whose method is
// not GET, HEAD or OPTIONS must carry the `_xsrf` cookie's token in the `_xsrf`
// argument (query, urlencoded or multipart body) or the X-XSRFToken /
// X-CSRFToken header; `reply.xsrfToken()` and `reply.xsrfFormHtml()` (also in
// templates) issue it. Tokens and cookies are wire-compatible with Tornado
// (lib/xsrf/token.ts); failures are a 403 that says which check failed.
// No @fastify/cookie: its hooks would parse every cookie of every request to
// read one, so the `_xsrf` cookie is read from the raw header when a check or
// a token needs it and written as a Set-Cookie header of its own.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import { stringifySetCookie, type SetCookie } from 'cookie'
import { invalid, optionalBoolean, optionalInteger, optionalString, requirePlainObject } from './shared/settings.js'
import { addTemplateLocal, templateHtml } from './shared/locals.js'
import { registerFormParsers } from './xsrf/form-bodies.js'
import { sendErrorResponse } from './shared/error-response.js'
import { FDK_XSRF_COOKIE_MISSING, FDK_XSRF_TOKEN_INVALID, FDK_XSRF_TOKEN_MISMATCH, FDK_XSRF_TOKEN_MISSING } from './shared/errors.js'
import {
  cleanArgument, decodeXsrfToken, encodeXsrfToken, newRawToken, rawTokensEqual, xsrfFormHtml,
  type RawXsrfToken, type XsrfTokenVersion
} from './xsrf/token.js'
import { readCookie } from './shared/python.js'
import { settingNames } from './shared/declarations.js'
import { XSRF_COOKIE_OPTIONS, XSRF_SETTINGS } from './xsrf/settings.js'
// request.currentUser, an optional dependency: the auth plugin decorates it
// (registered before or after this one); without it the property is absent
// and every request counts as anonymous. Optional, so no fastify-plugin
// `dependencies`: this plugin must also work registered alone.
import type {} from './auth.js'

/** Attributes of the `_xsrf` cookie (Tornado's `xsrf_cookie_kwargs`). */
export interface XsrfCookieOptions {
  /** Domain attribute. Default none (host-only). */
  domain?: string
  /** Path attribute. Default `/`. */
  path?: string
  /** SameSite attribute; `false` omits it. Default `'lax'`. */
  sameSite?: 'lax' | 'strict' | 'none' | false
  /** Secure attribute; `'auto'` sets it on https requests. Default false. */
  secure?: boolean | 'auto'
  /** HttpOnly attribute; keep false when scripts send the X-XSRFToken header. Default false. */
  httpOnly?: boolean
  /** Lifetime in seconds (Max-Age). Default: a session cookie, 30 days for a logged-in user. */
  maxAge?: number
  /** Lifetime in days (Expires), Tornado's `expires_days`. Default as `maxAge`. */
  expiresDays?: number
}

export interface XsrfOptions {
  /** Check the `_xsrf` token on unsafe methods (Tornado `xsrf_cookies`). Default true for this plugin; the umbrella's default is false. */
  xsrfCookies?: boolean
  /** `_xsrf` cookie attributes (Tornado `xsrf_cookie_kwargs`). Default `{ path: '/', sameSite: 'lax' }`. */
  xsrfCookieOptions?: XsrfCookieOptions
  /** Format of newly issued tokens, 1 or 2 (Tornado `xsrf_cookie_version`). Default 2. */
  xsrfCookieVersion?: XsrfTokenVersion
}

declare module 'fastify' {
  interface FastifyReply {
    /** The `_xsrf` token for this response (sets the cookie when the request has none). Tornado `xsrf_token`. */
    xsrfToken(): string
    /** `<input type="hidden" name="_xsrf" value="..."/>` for a form. Tornado `xsrf_form_html()`. */
    xsrfFormHtml(): string
  }
  interface FastifyContextConfig {
    /** `false` skips the XSRF check on this route (webhooks, APIs with their own auth). */
    xsrf?: boolean
  }
}

export const XSRF_SETTING_NAMES = settingNames<XsrfOptions, typeof XSRF_SETTINGS>(XSRF_SETTINGS)

export const XSRF_COOKIE_NAME = '_xsrf'
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const DAY_MS = 86_400_000
/** Tornado gives a logged-in user's `_xsrf` cookie 30 days unless told otherwise. */
const LOGGED_IN_EXPIRES_DAYS = 30
const SAME_SITE = ['lax', 'strict', 'none', false] as const
const COOKIE_OPTION_NAMES: readonly string[] = settingNames<XsrfCookieOptions, typeof XSRF_COOKIE_OPTIONS>(XSRF_COOKIE_OPTIONS)

/** The `_xsrf` cookie's attributes; `secure: 'auto'` is settled per request. */
export type XsrfCookieAttributes = Omit<SetCookie, 'name' | 'value' | 'secure'> & { secure: boolean | 'auto' }

interface NormalizedXsrfOptions {
  check: boolean
  version: XsrfTokenVersion
  cookie: XsrfCookieAttributes
  expiresDays: number | undefined
}

export function normalizeXsrfOptions (options: XsrfOptions): NormalizedXsrfOptions {
  const version = options.xsrfCookieVersion ?? XSRF_SETTINGS.xsrfCookieVersion.default
  if (version !== 1 && version !== 2) throw invalid('xsrfCookieVersion', version, '1 or 2')
  const given = requirePlainObject('xsrfCookieOptions', options.xsrfCookieOptions)
  for (const key of Object.keys(given)) {
    if (!COOKIE_OPTION_NAMES.includes(key)) throw invalid(`xsrfCookieOptions.${key}`, given[key], `one of ${COOKIE_OPTION_NAMES.join(', ')}`)
  }
  if (!(SAME_SITE as readonly unknown[]).includes(given.sameSite ?? XSRF_COOKIE_OPTIONS.sameSite.default)) {
    throw invalid('xsrfCookieOptions.sameSite', given.sameSite, '"lax", "strict", "none" or false')
  }
  if (given.secure !== undefined && given.secure !== 'auto' && typeof given.secure !== 'boolean') {
    throw invalid('xsrfCookieOptions.secure', given.secure, 'a boolean or "auto"')
  }
  if (given.sameSite === 'none' && given.secure !== true) {
    // Browsers drop a SameSite=None cookie without Secure: every POST would then fail.
    throw invalid('xsrfCookieOptions.sameSite', 'none', 'secure: true alongside sameSite "none"')
  }
  const expiresDays = given.expiresDays
  if (expiresDays !== undefined && (typeof expiresDays !== 'number' || !(expiresDays > 0) || !Number.isFinite(expiresDays))) {
    throw invalid('xsrfCookieOptions.expiresDays', expiresDays, 'a positive number of days')
  }
  const cookie: XsrfCookieAttributes = {
    path: optionalString('xsrfCookieOptions.path', given.path) ?? XSRF_COOKIE_OPTIONS.path.default,
    sameSite: (given.sameSite ?? XSRF_COOKIE_OPTIONS.sameSite.default) as XsrfCookieAttributes['sameSite'],
    secure: (given.secure ?? XSRF_COOKIE_OPTIONS.secure.default) as boolean | 'auto',
    httpOnly: optionalBoolean('xsrfCookieOptions.httpOnly', given.httpOnly, XSRF_COOKIE_OPTIONS.httpOnly.default)
  }
  const domain = optionalString('xsrfCookieOptions.domain', given.domain)
  if (domain !== undefined) cookie.domain = domain
  if (given.maxAge !== undefined) cookie.maxAge = optionalInteger('xsrfCookieOptions.maxAge', given.maxAge, 0, 1)
  // The cookie package refuses a domain or path it cannot write (a `;`, a
  // control character): find out now, not as a 500 on the first form.
  for (const key of ['domain', 'path'] as const) {
    try {
      stringifySetCookie({ name: XSRF_COOKIE_NAME, value: '', [key]: cookie[key] })
    } catch {
      throw invalid(`xsrfCookieOptions.${key}`, cookie[key], 'a value a Set-Cookie header can carry (no ";" or control characters)')
    }
  }
  return { check: optionalBoolean('xsrfCookies', options.xsrfCookies, true), version, cookie, expiresDays }
}

// Per-request state behind symbols: the decoded cookie, and the token this response issued.
const kCookie = Symbol('fastify-deploy-kit.xsrfCookie')
const kToken = Symbol('fastify-deploy-kit.xsrfToken')
type XsrfRequest = FastifyRequest & { [kCookie]: RawXsrfToken | null | undefined }
type XsrfReply = FastifyReply & { [kToken]: string | null }

/** The raw token of the request's `_xsrf` cookie, or null (absent, undecodable or empty). */
function cookieToken (request: XsrfRequest): RawXsrfToken | null {
  if (request[kCookie] === undefined) {
    const value = readCookie(request.headers.cookie, XSRF_COOKIE_NAME)
    const decoded = value === undefined || value === '' ? null : decodeXsrfToken(value)
    // An empty raw token can never be matched (an empty submission is "invalid
    // format"), so such a cookie is replaced instead of locking the user out.
    request[kCookie] = decoded === null || decoded.token.length === 0 ? null : decoded
  }
  return request[kCookie]
}

/**
 * Whether the request has a current user, for the logged-in cookie lifetime.
 * Reading it runs a sync getCurrentUser, as Tornado's lazy current_user does;
 * an async one not loaded yet counts as anonymous (a session cookie), as in
 * Tornado when prepare() has not set current_user.
 */
function signedIn (request: XsrfRequest): boolean {
  try {
    return Boolean(request.currentUser)
  } catch {
    return false
  }
}

/** A form field as a string: plain, or @fastify/multipart's `{ value }` (attachFieldsToBody: true); files are ignored. */
function fieldText (field: unknown): string | undefined {
  if (typeof field === 'string') return field
  const value = (field as { value?: unknown } | null | undefined)?.value
  return typeof value === 'string' ? value : undefined
}

/** Tornado's `get_argument('_xsrf')`: the last value, the body's before the query's. */
function lastArgument (source: unknown): string | undefined {
  if (source === null || typeof source !== 'object' || Buffer.isBuffer(source)) return undefined
  const field = (source as Record<string, unknown>)[XSRF_COOKIE_NAME]
  return Array.isArray(field) ? field.map(fieldText).filter((v) => v !== undefined).at(-1) : fieldText(field)
}

/** The submitted token in Tornado's order; an empty value falls through to the next source. */
function submittedToken (request: FastifyRequest): string | undefined {
  const argument = lastArgument(request.body) ?? lastArgument(request.query)
  const cleaned = argument === undefined ? '' : cleanArgument(argument)
  // Node joins repeated custom headers into one string (as Tornado does with ','), so these are strings.
  const headers = request.headers as Record<string, string | undefined>
  return cleaned || headers['x-xsrftoken'] || headers['x-csrftoken'] || undefined
}

/** Tornado's `check_xsrf_cookie`, returning which check failed instead of raising. */
export function checkXsrf (request: FastifyRequest): Error | null {
  const submitted = submittedToken(request)
  if (submitted === undefined) return new FDK_XSRF_TOKEN_MISSING()
  const decoded = decodeXsrfToken(submitted)
  if (decoded === null || decoded.token.length === 0) return new FDK_XSRF_TOKEN_INVALID()
  const expected = cookieToken(request as XsrfRequest)
  if (expected === null) return new FDK_XSRF_COOKIE_MISSING()
  if (!rawTokensEqual(decoded.token, expected.token)) return new FDK_XSRF_TOKEN_MISMATCH()
  return null
}

const keepValue = (value: string): string => value

const xsrf: FastifyPluginAsync<XsrfOptions> = async (fastify, options) => {
  const settings = normalizeXsrfOptions(options)
  await registerFormParsers(fastify)

  fastify.decorateRequest(kCookie, undefined)
  fastify.decorateReply(kToken, null)

  fastify.decorateReply('xsrfToken', function xsrfToken (this: FastifyReply): string {
    const reply = this as XsrfReply
    if (reply[kToken] !== null) return reply[kToken]
    const request = reply.request as XsrfRequest
    const now = Date.now()
    const existing = cookieToken(request)
    if (existing !== null) {
      // A valid cookie is reused, re-masked per response, never rewritten (Tornado).
      reply[kToken] = encodeXsrfToken(existing.token, settings.version, existing.timestamp ?? now / 1000)
      return reply[kToken]
    }
    const fresh: RawXsrfToken = { version: settings.version, token: newRawToken(), timestamp: Math.trunc(now / 1000) }
    request[kCookie] = fresh
    const token = encodeXsrfToken(fresh.token, settings.version, fresh.timestamp!)
    reply[kToken] = token
    // A fresh cookie object per response: Tornado writes the logged-in expiry
    // into the shared settings dict, so every later anonymous cookie got it too.
    const secure = settings.cookie.secure === 'auto' ? request.protocol === 'https' : settings.cookie.secure
    const cookie: SetCookie = { ...settings.cookie, name: XSRF_COOKIE_NAME, value: token, secure }
    const expiresDays = settings.expiresDays ?? (cookie.maxAge === undefined && signedIn(request) ? LOGGED_IN_EXPIRES_DAYS : undefined)
    if (expiresDays !== undefined) cookie.expires = new Date(now + expiresDays * DAY_MS)
    // Tornado never percent-encodes the value and never decodes it: `|` must
    // stay `|` on the wire (the cookie package's default encoder writes %7C).
    // Fastify appends to any Set-Cookie already there, and an app's own
    // @fastify/cookie appends its cookies to this one when it sends.
    reply.header('set-cookie', stringifySetCookie(cookie, { encode: keepValue }))
    return token
  })
  fastify.decorateReply('xsrfFormHtml', function (this: FastifyReply): string {
    return xsrfFormHtml(this.xsrfToken())
  })
  addTemplateLocal(fastify, 'xsrfToken', (reply) => () => reply.xsrfToken())
  addTemplateLocal(fastify, 'xsrfFormHtml', (reply) => function (this: unknown) { return templateHtml(this, reply.xsrfFormHtml()) })

  if (!settings.check) return
  function check (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    // A route may take GET and POST alike: only the unsafe request is checked.
    if (SAFE_METHODS.has(request.method)) return done()
    const failure = checkXsrf(request)
    if (failure === null) return done()
    sendErrorResponse(request, reply, failure as Error & { code: string, statusCode: number })
  }
  if (hasUnsafeRoute(fastify)) {
    // Routes declared before this plugin ran (`app.post()` right after an
    // un-awaited `app.register()`) never reach an onRoute hook: check every
    // request of the context rather than leave them open. preHandler: after
    // every body parser, including a @fastify/multipart registered after us.
    fastify.log.warn({ code: 'FDK_XSRF_GLOBAL_CHECK' }, 'routes with unsafe methods were declared before the XSRF plugin: checking every request (await the registration, before any route, to check only the routes that need it)')
    fastify.addHook('preHandler', function xsrfCheckAll (request, reply, done) {
      if (request.is404 || request.routeOptions.config.xsrf === false) return done()
      check(request, reply, done)
    })
    return
  }
  // Attached only to routes that accept an unsafe method, so a GET route pays
  // nothing. preValidation, after every route-level one: the body is parsed
  // (@fastify/multipart's attachFieldsToBody runs in a preValidation hook of
  // its context, before the route's), and no preHandler (the app's own, or
  // `authenticated`) runs for a forged request, as Tornado checks before prepare().
  fastify.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (methods.every((method) => SAFE_METHODS.has(method)) || route.config?.xsrf === false) return
    const existing = route.preValidation
    route.preValidation = existing === undefined ? [check] : [...(Array.isArray(existing) ? existing : [existing]), check]
  })
}

/** Whether the router already holds a route taking a method other than GET, HEAD or OPTIONS. */
function hasUnsafeRoute (fastify: FastifyInstance): boolean {
  // printRoutes is the public view of the router; each route line ends with `(METHOD, ...)`.
  for (const line of fastify.printRoutes({ commonPrefix: false }).split('\n')) {
    const methods = /\(([A-Z, -]+)\)$/.exec(line)?.[1]
    if (methods !== undefined && methods.split(', ').some((method) => !SAFE_METHODS.has(method))) return true
  }
  return false
}

export const fastifyDeployXsrf = fp(xsrf, { fastify: '5.x', name: 'fastify-deploy-kit/xsrf' })
export default fastifyDeployXsrf
