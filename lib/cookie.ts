// Signed cookies: Tornado's `cookie_secret` / `key_version` settings with
// `set_signed_cookie` and `get_signed_cookie`, wire-compatible both ways with
// a Tornado app holding the same secret. Cookies are parsed and written by
// @fastify/cookie, but with Python's quoting rules instead of its
// percent-encoding, so Tornado reads what we write and we read what it
// writes. Safer defaults than Tornado: HttpOnly, SameSite=Lax, Secure on
// https, and weak or placeholder secrets refuse to start outside debug mode.
// No @fastify/cookie: Python's quoting is for the kit's own cookies only, so
// the signed cookie is read from the raw Cookie header and written as a
// Set-Cookie line of its own; the app's other cookies stay exactly what its
// own @fastify/cookie (registered before or after the kit, or not at all)
// makes of them.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { CookieSerializeOptions } from '@fastify/cookie'
import { stringifySetCookie, type SetCookie } from 'cookie'
import { createSignedValue, decodeSignedValue, type CookieSecret } from './cookie/signed-value.js'
import { encodeCookieValue, readCookie } from './shared/python.js'
import { FDK_COOKIE_NAME_INVALID, FDK_COOKIE_OPTIONS_INVALID, FDK_COOKIE_SECRET_MISSING, FDK_COOKIE_SECRET_UNSET, FDK_COOKIE_SECRET_WEAK } from './shared/errors.js'
import { invalid, optionalBoolean } from './shared/settings.js'
import { describeValue, invalidOption } from './shared/invalid-option.js'
import { settingNames } from './shared/declarations.js'
import { COOKIE_SETTINGS, SET_SIGNED_COOKIE_OPTIONS } from './cookie/settings.js'

export * from './cookie/signed-value.js'
export { quoteCookieValue, unquoteCookieValue, encodeCookieValue } from './shared/python.js'

export interface CookieOptions {
  /** Signing secret (≥ 32 bytes), or key versions mapped to secrets for rotation; Tornado `cookie_secret`. Default none. */
  cookieSecret?: string | Readonly<Record<number, string>> | undefined
  /** Key version that signs new cookies; required with a record secret; Tornado `key_version`. Default none. */
  keyVersion?: number
  /** Development mode: a weak or placeholder secret only logs a warning. Default false. */
  debug?: boolean
}

export interface SetSignedCookieOptions extends Omit<CookieSerializeOptions, 'encode' | 'signed'> {
  /** Browser lifetime in days (fractions allowed); null for a session cookie; an explicit `expires` wins. Default 30. */
  expiresDays?: number | null
  /** Signed-value format, 1 or 2. Default 2. */
  version?: 1 | 2
}

export interface GetSignedCookieOptions {
  /** Reject signatures older than this many days. Default 31. */
  maxAgeDays?: number
  /** Oldest signed-value format accepted, 1 or 2. Default 1. */
  minVersion?: 1 | 2
}

declare module 'fastify' {
  interface FastifyReply {
    /** Signs `value` and sets it as cookie `name` (HttpOnly, SameSite=Lax, Path=/, Secure on https); Tornado `set_signed_cookie`. */
    setSignedCookie: (name: string, value: string | Uint8Array, options?: SetSignedCookieOptions) => FastifyReply
  }
  interface FastifyRequest {
    /** The verified value of signed cookie `name`, or null if missing, tampered, expired or foreign; Tornado `get_signed_cookie`. */
    getSignedCookie: (name: string, options?: GetSignedCookieOptions) => string | null
  }
}

export const COOKIE_SETTING_NAMES = settingNames<CookieOptions, typeof COOKIE_SETTINGS>(COOKIE_SETTINGS)

/** The secret from Tornado's guide, which too many deployments kept. */
export const PLACEHOLDER_SECRET = '__TODO:_GENERATE_YOUR_OWN_RANDOM_VALUE_HERE__'
export const MIN_SECRET_BYTES = 32

// Python's cookie library drops (on read) or refuses (on write) any other name,
// and the attribute names below, so Tornado could never see such a cookie.
const COOKIE_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~:]+$/
const RESERVED_NAMES = new Set(['expires', 'path', 'comment', 'domain', 'max-age', 'secure', 'httponly', 'version', 'samesite'])

interface NormalizedCookieOptions {
  secret: CookieSecret | undefined
  keyVersion: number | undefined
  /** Why the secret is weak, when debug mode let it through. */
  warnings: string[]
}

function weakness (secret: string): string | undefined {
  if (secret === PLACEHOLDER_SECRET) return 'the placeholder from Tornado\'s documentation'
  const bytes = Buffer.byteLength(secret)
  return bytes < MIN_SECRET_BYTES ? `only ${bytes} bytes long (at least ${MIN_SECRET_BYTES} needed)` : undefined
}

export function normalizeCookieOptions (options: CookieOptions): NormalizedCookieOptions {
  const debug = optionalBoolean('debug', options.debug, COOKIE_SETTINGS.debug.default)
  const { cookieSecret, keyVersion } = options
  const problems: Array<[string, string | undefined]> = []
  let secret: CookieSecret | undefined
  // `cookieSecret: process.env.COOKIE_SECRET` with the variable unset: refuse
  // now, not as a 500 on every request that signs (debug mode may go on).
  if (Object.hasOwn(options, 'cookieSecret') && cookieSecret === undefined && !debug) throw new FDK_COOKIE_SECRET_UNSET('')
  if (cookieSecret !== null && typeof cookieSecret === 'object' && !debug) {
    const unset = Object.entries(cookieSecret).find(([, key]) => key === undefined)
    if (unset !== undefined) throw new FDK_COOKIE_SECRET_UNSET(` (key version ${unset[0]})`)
  }
  if (typeof cookieSecret === 'string' && cookieSecret !== '') {
    if (keyVersion !== undefined) throw invalid('keyVersion', keyVersion, 'nothing: keyVersion only picks a key when cookieSecret is an object of key versions')
    secret = cookieSecret
    problems.push(['', weakness(cookieSecret)])
  } else if (cookieSecret !== undefined) {
    const entries = cookieSecret !== null && typeof cookieSecret === 'object' && !Array.isArray(cookieSecret) ? Object.entries(cookieSecret) : []
    if (entries.length === 0 || !entries.every(([version, key]) => /^(?:0|[1-9][0-9]*)$/.test(version) && typeof key === 'string' && key !== '')) {
      throw invalid('cookieSecret', cookieSecret, 'a non-empty string, or a non-empty object mapping integer key versions to strings')
    }
    if (typeof keyVersion !== 'number' || !Object.hasOwn(cookieSecret as object, keyVersion)) {
      throw invalid('keyVersion', keyVersion, `the cookieSecret key version that signs new cookies (one of ${entries.map(([v]) => v).join(', ')})`)
    }
    secret = { ...cookieSecret }
    for (const [version, key] of entries) problems.push([` (key version ${version})`, weakness(key as string)])
  } else if (keyVersion !== undefined) {
    throw invalid('keyVersion', keyVersion, 'nothing without a cookieSecret')
  }
  const warnings: string[] = []
  for (const [where, problem] of problems) {
    if (problem === undefined) continue
    const error = new FDK_COOKIE_SECRET_WEAK(where, problem)
    if (!debug) throw error
    warnings.push(error.message)
  }
  return { secret, keyVersion, warnings }
}

function checkCookieName (name: unknown): asserts name is string {
  if (typeof name !== 'string' || !COOKIE_NAME.test(name) || RESERVED_NAMES.has(name.toLowerCase())) {
    throw new FDK_COOKIE_NAME_INVALID(describeValue(name), 'use letters, digits and !#$%&\'*+-.^_`|~: only, and not a Set-Cookie attribute name (Tornado could not read it)')
  }
}

/** Per reply: the Set-Cookie line written for each signed cookie (name, domain, path). */
const kLines = Symbol('fastify-deploy-kit.signedCookieLines')

const plugin: FastifyPluginAsync<CookieOptions> = async (fastify, options) => {
  const { secret, keyVersion, warnings } = normalizeCookieOptions(options)
  for (const warning of warnings) fastify.log.warn({ code: 'FDK_COOKIE_SECRET_WEAK' }, `INSECURE, debug only: ${warning}`)

  function requireSecret (api: string): CookieSecret {
    if (secret === undefined) throw new FDK_COOKIE_SECRET_MISSING(api)
    return secret
  }

  fastify.decorateReply(kLines, null)
  fastify.decorateReply('setSignedCookie', function (this: FastifyReply, name: string, value: string | Uint8Array, options: SetSignedCookieOptions = {}) {
    const key = requireSecret('reply.setSignedCookie()')
    checkCookieName(name)
    const { expiresDays = SET_SIGNED_COOKIE_OPTIONS.expiresDays.default, version, ...cookieOptions } = options
    if (expiresDays !== null && (typeof expiresDays !== 'number' || !Number.isFinite(expiresDays))) {
      throw invalidOption(FDK_COOKIE_OPTIONS_INVALID, 'reply.setSignedCookie()', 'expiresDays', expiresDays, 'a number of days or null')
    }
    // One clock reading for both, so Expires is exactly the signature time plus expiresDays.
    const nowMs = Date.now()
    const signed = createSignedValue(key, name, value, { version, keyVersion, clock: () => nowMs / 1000 })
    const { secure, ...attributes } = cookieOptions
    const cookie: SetCookie = {
      path: SET_SIGNED_COOKIE_OPTIONS.path.default,
      httpOnly: SET_SIGNED_COOKIE_OPTIONS.httpOnly.default,
      sameSite: SET_SIGNED_COOKIE_OPTIONS.sameSite.default,
      ...(expiresDays === null ? {} : { expires: new Date(nowMs + expiresDays * 86400_000) }),
      ...attributes,
      secure: secure === undefined || secure === 'auto' ? this.request.protocol === 'https' : secure,
      name,
      value: signed
    }
    // Tornado must read the value as written: Python's quoting, never percent-encoding.
    const line = stringifySetCookie(cookie, { encode: encodeCookieValue })
    // Signing the same cookie again in one response replaces the first line, as
    // @fastify/cookie and Tornado do; other Set-Cookie lines are left alone.
    const reply = this as FastifyReply & { [kLines]: Map<string, string> | null }
    const lines = reply[kLines] ??= new Map()
    const slot = `${name};${String(cookie.domain)};${String(cookie.path)}`
    const previous = lines.get(slot)
    if (previous !== undefined) {
      // Set by the first call; Fastify keeps several Set-Cookie lines as an array.
      const current = [this.getHeader('set-cookie')].flat().map(String)
      this.removeHeader('set-cookie')
      for (const other of current.filter((existing) => existing !== previous)) this.header('set-cookie', other)
    }
    lines.set(slot, line)
    // Fastify appends to the Set-Cookie lines already there; an app's own
    // @fastify/cookie appends its cookies to these when it sends.
    return this.header('set-cookie', line)
  })

  fastify.decorateRequest('getSignedCookie', function (this: FastifyRequest, name: string, options: GetSignedCookieOptions = {}) {
    const key = requireSecret('request.getSignedCookie()')
    // Python's parsing (unquoted, never percent-decoded), whatever the app's
    // own @fastify/cookie decodes, so a cookie Tornado wrote verifies here.
    const value = readCookie(this.headers.cookie, name)
    return decodeSignedValue(key, name, value, { maxAgeDays: options.maxAgeDays, minVersion: options.minVersion })
  })
}

export const fastifyDeployCookie = fp(plugin, { fastify: '5.x', name: 'fastify-deploy-kit/cookie' })
export default fastifyDeployCookie
