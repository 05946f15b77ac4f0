// fastify-deploy-kit: Tornado's "Running and deploying" settings block as one
// Fastify plugin. It validates every setting up front and registers only the
// parts the settings ask for; each part is also usable on its own through its
// subpath export (fastify-deploy-kit/static, ...).
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import fastifyDeployStatic, { STATIC_SETTING_NAMES, type StaticOptions } from './static.js'
import fastifyDeployCompress, { COMPRESS_SETTING_NAMES, type CompressOptions } from './compress.js'
import fastifyDeployCookie, { COOKIE_SETTING_NAMES, type CookieOptions } from './cookie.js'
import fastifyDeployXsrf, { XSRF_SETTING_NAMES, type XsrfOptions } from './xsrf.js'
import fastifyDeployAuth, { AUTH_SETTING_NAMES, type AuthOptions } from './auth.js'
import fastifyDeployProxy, { PROXY_SETTING_NAMES, type ProxyOptions, type XheadersOptions } from './proxy.js'
import { invalid, optionalBoolean, rejectUnknownSettings, requirePlainObject } from './shared/settings.js'
import { missingRequirement } from './shared/declarations.js'
import { STATIC_SETTINGS } from './static/options.js'
import { COMPRESS_SETTINGS } from './compress/settings.js'
import { COOKIE_SETTINGS } from './cookie/settings.js'
import { XSRF_SETTINGS } from './xsrf/settings.js'
import { AUTH_SETTINGS } from './auth/settings.js'
import { PROXY_SETTINGS } from './proxy/settings.js'

export * from './shared/errors.js'
export { addTemplateLocal } from './shared/locals.js'
export { launch, taskId, type ClusterOptions, type LaunchHandle } from './cluster.js'
export { fastifyDeployStatic, fastifyDeployCompress }
export type { StaticOptions, CompressOptions }
export { fastifyDeployCookie }
export type { CookieOptions, SetSignedCookieOptions, GetSignedCookieOptions } from './cookie.js'
export {
  createSignedValue, decodeSignedValue, decodeSignedValueBytes, getSignedValueKeyVersion,
  quoteCookieValue, unquoteCookieValue, encodeCookieValue
} from './cookie.js'
export type { CookieSecret, SecretKey, CreateSignedValueOptions, DecodeSignedValueOptions } from './cookie.js'
export { fastifyDeployXsrf, fastifyDeployAuth }
export type { XsrfOptions, AuthOptions }
export type { DeployKitAuth, CurrentUser, GetCurrentUser } from './auth.js'

export { fastifyDeployProxy }
export type { ProxyOptions, XheadersOptions }

/** Every setting the umbrella accepts: Tornado's application settings in camelCase. */
export interface DeployKitSettings extends StaticOptions, CompressOptions, CookieOptions, XsrfOptions, AuthOptions, ProxyOptions {
  /** Development mode: re-hash edited static files, relax secret checks. Default false. */
  debug?: boolean
}

/** One optional part of the bundle: which settings it owns and when it is wanted. */
interface Part {
  names: readonly string[]
  wanted: (settings: DeployKitSettings) => boolean
  register: (fastify: FastifyInstance, settings: DeployKitSettings) => Promise<unknown> | unknown
}

// No part needs another to be registered first: each works alone and in
// either order (test/unit/plugins-either-order.test.ts), and what one reads of
// another (xsrf reads auth's request.currentUser; cookies' Secure flag and
// login redirects read proxy's request.protocol) is read per request, through
// the decorators, whatever the registration order.
const PARTS: Part[] = [
  {
    names: PROXY_SETTING_NAMES,
    wanted: (s) => s.xheaders !== undefined && s.xheaders !== false,
    register: (fastify, s) => fastify.register(fastifyDeployProxy, pick(s, PROXY_SETTING_NAMES))
  },
  {
    names: COMPRESS_SETTING_NAMES,
    wanted: (s) => s.compressResponse !== undefined && s.compressResponse !== false,
    register: (fastify, s) => fastify.register(fastifyDeployCompress, pick(s, COMPRESS_SETTING_NAMES))
  },
  {
    names: STATIC_SETTING_NAMES,
    wanted: (s) => s.staticPath !== undefined,
    register: (fastify, s) => fastify.register(fastifyDeployStatic, pick(s, STATIC_SETTING_NAMES))
  },
  {
    // Wanted as soon as the key is written, even if its value (an unset
    // environment variable) is missing: then start-up (outside debug) or the
    // API (in debug) names cookieSecret.
    names: COOKIE_SETTING_NAMES,
    wanted: (s) => Object.hasOwn(s, 'cookieSecret') || s.keyVersion !== undefined,
    register: (fastify, s) => fastify.register(fastifyDeployCookie, {
      ...pick(s, COOKIE_SETTING_NAMES),
      // The written key is kept even when undefined: outside debug that refuses to start.
      ...(Object.hasOwn(s, 'cookieSecret') ? { cookieSecret: s.cookieSecret } : {}),
      debug: s.debug
    })
  },
  {
    // A request that fails the XSRF check never runs getCurrentUser, in any
    // order: the check is a preValidation hook, `authenticated` a preHandler.
    // xsrfCookies: false still registers it, without the check: xsrfToken()
    // and xsrfFormHtml() keep working, as Tornado's do (docs/xsrf.md).
    names: XSRF_SETTING_NAMES,
    wanted: (s) => optionalBoolean('xsrfCookies', s.xsrfCookies, false) || s.xsrfCookies === false,
    register: (fastify, s) => fastify.register(fastifyDeployXsrf, pick(s, XSRF_SETTING_NAMES))
  },
  {
    // Always: `app.authenticated` must exist whenever the kit is registered,
    // or `preHandler: app.authenticated` silently leaves a route public.
    names: AUTH_SETTING_NAMES,
    wanted: () => true,
    register: (fastify, s) => fastify.register(fastifyDeployAuth, pick(s, AUTH_SETTING_NAMES))
  }
]

// Every part's declaration table: a `requires` written in any of them is
// enforced, not only in the tables that have one today.
const DECLARATIONS = [PROXY_SETTINGS, COMPRESS_SETTINGS, STATIC_SETTINGS, COOKIE_SETTINGS, XSRF_SETTINGS, AUTH_SETTINGS]

export const SETTING_NAMES: readonly string[] = [...new Set(['debug', ...PARTS.flatMap((part) => part.names)])]

function pick<T extends object> (settings: T, names: readonly string[]): T {
  const subset: Record<string, unknown> = {}
  for (const name of names) {
    const value = (settings as Record<string, unknown>)[name]
    if (value !== undefined) subset[name] = value
  }
  return subset as T
}

const deployKit: FastifyPluginAsync<DeployKitSettings> = async (fastify, options) => {
  const settings = { ...requirePlainObject('settings', options) } as DeployKitSettings & Record<string, unknown>
  rejectUnknownSettings(settings, SETTING_NAMES)
  // A setting whose part is not registered would be ignored: refuse it instead.
  const orphan = missingRequirement(settings, DECLARATIONS)
  if (orphan !== undefined) throw invalid(orphan.name, settings[orphan.name], `to be used together with ${orphan.requires}`)
  settings.debug = optionalBoolean('debug', settings.debug, false)
  for (const part of PARTS) {
    if (part.wanted(settings)) await part.register(fastify, settings)
  }
}

export const fastifyDeployKit = fp(deployKit, { fastify: '5.x', name: 'fastify-deploy-kit' })
export default fastifyDeployKit
