// Tornado's signed values ("secure cookies"), versions 1 and 2, byte for byte
// (Tornado's `create_signed_value`, `decode_signed_value`,
// `_decode_signed_value_v1`, `_decode_signed_value_v2` and
// `get_signature_key_version`), so a cookie signed by a Tornado app with the
// same secret verifies here and the reverse. Pure: no Fastify import, `clock`
// injectable. Where Tornado raises on attacker input (a record secret with a
// non-v2 value: `decode_signed_value` asserts the secret is no dict) we
// return null; a v2 name that Tornado would sign but never verify (non-ASCII:
// `create_signed_value` prefixes its length in characters, `_consume_field`
// reads bytes) is refused when signing.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { FDK_COOKIE_NAME_INVALID, FDK_COOKIE_OPTIONS_INVALID, FDK_COOKIE_VALUE_INVALID } from '../shared/errors.js'
import { invalidOption } from '../shared/invalid-option.js'
import { pythonB64Decode, pythonInt } from '../shared/python.js'
import { GET_SIGNED_COOKIE_OPTIONS, SET_SIGNED_COOKIE_OPTIONS } from './settings.js'

/** One HMAC key: a string (used as UTF-8) or raw bytes. */
export type SecretKey = string | Uint8Array
/** A key, or key versions mapped to keys (Tornado's `cookie_secret` dict). */
export type CookieSecret = SecretKey | Readonly<Record<number, SecretKey>>

export interface CreateSignedValueOptions {
  /** Wire format, 1 (legacy HMAC-SHA1) or 2 (HMAC-SHA256). Default 2. */
  version?: 1 | 2
  /** Key version written into a v2 value; required (and the signing key) with a record secret. Default 0. */
  keyVersion?: number
  /** Current Unix time in seconds. Default the system clock. */
  clock?: () => number
}

export interface DecodeSignedValueOptions {
  /** Reject values whose timestamp is older than this many days (fractions allowed). Default 31. */
  maxAgeDays?: number
  /** Oldest wire format accepted, 1 or 2. Default 1. */
  minVersion?: 1 | 2
  /** Current Unix time in seconds. Default the system clock. */
  clock?: () => number
}

/** Tornado's hard-coded v1 future window; `maxAgeDays` does not change it. */
const V1_FUTURE_SECONDS = 31 * 86400
const VERSION_PREFIX = /^([1-9][0-9]*)\|[^\n]*\n?$/
const ASCII = /^[\x00-\x7f]*$/ // eslint-disable-line no-control-regex

const systemClock = (): number => Date.now() / 1000

function fail (fn: string, option: string, value: unknown, expected: string): Error {
  return invalidOption(FDK_COOKIE_OPTIONS_INVALID, `${fn}()`, option, value, expected)
}

function isKey (secret: unknown): secret is SecretKey {
  return typeof secret === 'string' || secret instanceof Uint8Array
}

/** Checks the shape once per call, so a bad record entry is the caller's error, never a client's 500. */
function checkSecret (fn: string, secret: unknown): void {
  if (isKey(secret)) return
  if (secret === null || typeof secret !== 'object' || Object.keys(secret).length === 0 ||
      !Object.entries(secret).every(([version, key]) => /^(?:0|[1-9][0-9]*)$/.test(version) && isKey(key))) {
    throw fail(fn, 'secret', secret, 'a string, bytes or a non-empty record of integer key versions to strings or bytes')
  }
}

function now (fn: string, clock: unknown): number {
  if (typeof clock !== 'function') throw fail(fn, 'clock', clock, 'a function returning Unix seconds')
  const seconds: unknown = clock()
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) throw fail(fn, 'clock()', seconds, 'a finite number of seconds')
  return seconds
}

/** Hex HMAC of byte strings (one character per byte), as Tornado hashes bytes. */
function hmacHex (algorithm: 'sha1' | 'sha256', key: SecretKey, ...parts: string[]): string {
  const hmac = createHmac(algorithm, key)
  for (const part of parts) hmac.update(part, 'latin1')
  return hmac.digest('hex')
}

/** Constant-time comparison of the hex MACs; different lengths fail at once, as in Python. */
function sameMac (expected: string, received: string): boolean {
  return received.length === expected.length && timingSafeEqual(Buffer.from(received, 'latin1'), Buffer.from(expected, 'latin1'))
}

/** The UTF-8 bytes of `text`, one character per byte. */
function byteString (text: string): string {
  return ASCII.test(text) ? text : Buffer.from(text).toString('latin1')
}

function field (text: string): string {
  return `${Buffer.byteLength(text)}:${text}`
}

/**
 * Signs and timestamps `value` for the cookie (or other context) `name`;
 * Tornado's `create_signed_value`. Returns the ASCII wire value.
 */
export function createSignedValue (secret: CookieSecret, name: string, value: string | Uint8Array, options: CreateSignedValueOptions = {}): string {
  const fn = 'createSignedValue'
  const { version = SET_SIGNED_COOKIE_OPTIONS.version.default, keyVersion, clock = systemClock } = options
  if (version !== 1 && version !== 2) throw fail(fn, 'version', version, '1 or 2')
  if (typeof name !== 'string') throw fail(fn, 'name', name, 'a string')
  if (keyVersion !== undefined && (!Number.isSafeInteger(keyVersion) || keyVersion < 0)) {
    throw fail(fn, 'keyVersion', keyVersion, 'an integer >= 0')
  }
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) throw fail(fn, 'value', value, 'a string or bytes')
  checkSecret(fn, secret)
  let key: SecretKey
  if (isKey(secret)) {
    key = secret
  } else {
    if (version === 1) throw fail(fn, 'version', version, '2 when the secret is a record of key versions')
    if (keyVersion === undefined || !Object.hasOwn(secret, keyVersion)) {
      throw fail(fn, 'keyVersion', keyVersion, `one of the secret's key versions (${Object.keys(secret).join(', ')})`)
    }
    key = (secret as Record<number, SecretKey>)[keyVersion]!
  }
  // Node 20 has String.prototype.isWellFormed; TypeScript's ES2022 lib does not declare it.
  if (typeof value === 'string' && !(value as string & { isWellFormed: () => boolean }).isWellFormed()) {
    throw new FDK_COOKIE_VALUE_INVALID(`for ${JSON.stringify(name)}`, 'it contains a lone UTF-16 surrogate, which has no UTF-8 form')
  }
  const b64 = Buffer.from(value as string).toString('base64')
  const timestamp = BigInt(Math.trunc(now(fn, clock))).toString()
  if (version === 1) {
    return `${b64}|${timestamp}|${hmacHex('sha1', key, byteString(name), b64, timestamp)}`
  }
  // Tornado writes the name's length in characters but its bytes in UTF-8,
  // so a non-ASCII name produces a v2 value that can never verify.
  if (!ASCII.test(name)) {
    throw new FDK_COOKIE_NAME_INVALID(JSON.stringify(name), 'a v2 signed value needs an ASCII name (Tornado cannot verify non-ASCII names)')
  }
  const signed = `2|${field(String(keyVersion ?? 0))}|${field(timestamp)}|${field(name)}|${field(b64)}|`
  return signed + hmacHex('sha256', key, signed)
}

/** Python's regex test for a leading version; anything else (or > 999) is v1. */
function detectVersion (text: string): number {
  const match = VERSION_PREFIX.exec(text)
  return match === null || match[1]!.length > 3 ? 1 : Number(match[1])
}

interface V2Fields { keyVersion: number, timestamp: string, name: string, value: string, signature: string }

/** Tornado's `_decode_fields_v2`, Python slicing included (JS `slice` agrees on negatives). */
function decodeFieldsV2 (text: string): V2Fields | null {
  let rest = text.slice(2)
  const fields: string[] = []
  for (let i = 0; i < 4; i++) {
    const colon = rest.indexOf(':')
    const length = colon === -1 ? null : pythonInt(rest.slice(0, colon))
    if (length === null) return null
    rest = rest.slice(colon + 1)
    fields.push(rest.slice(0, length))
    if (rest.slice(length, length + 1) !== '|') return null
    rest = rest.slice(length + 1)
  }
  const keyVersion = pythonInt(fields[0]!)
  if (keyVersion === null) return null
  return { keyVersion, timestamp: fields[1]!, name: fields[2]!, value: fields[3]!, signature: rest }
}

function decodeV1 (key: SecretKey, name: string, text: string, maxAgeDays: number, clock: () => number): Buffer | null {
  const parts = text.split('|')
  if (parts.length !== 3) return null
  const [payload, stamp, signature] = parts as [string, string, string]
  if (!sameMac(hmacHex('sha1', key, byteString(name), payload, stamp), signature)) return null
  const timestamp = pythonInt(stamp)
  if (timestamp === null) return null
  const seconds = now('decodeSignedValue', clock)
  if (timestamp < seconds - maxAgeDays * 86400) return null
  // v1 signs name‖b64‖ts with no separators: digits moved from the payload
  // into the timestamp keep the MAC, so far-future stamps are forgeries.
  if (timestamp > seconds + V1_FUTURE_SECONDS) return null
  if (stamp.startsWith('0')) return null
  return pythonB64Decode(payload)
}

function decodeV2 (secret: CookieSecret, name: string, text: string, maxAgeDays: number, clock: () => number): Buffer | null {
  const fields = decodeFieldsV2(text)
  if (fields === null) return null
  const signed = fields.signature === '' ? '' : text.slice(0, text.length - fields.signature.length)
  let key: SecretKey
  if (isKey(secret)) {
    key = secret // the key-version field is ignored with a single key, as in Tornado
  } else {
    const version = String(fields.keyVersion)
    if (!Object.hasOwn(secret, version)) return null
    key = (secret as Record<string, SecretKey>)[version]!
  }
  if (!sameMac(hmacHex('sha256', key, signed), fields.signature)) return null
  if (fields.name !== byteString(name)) return null
  const timestamp = pythonInt(fields.timestamp)
  if (timestamp === null || timestamp < now('decodeSignedValue', clock) - maxAgeDays * 86400) return null
  return pythonB64Decode(fields.value)
}

/**
 * Verifies a signed value and returns its bytes, or null when it is missing,
 * malformed, tampered, expired, for another name or signed with an unknown
 * key; Tornado's `decode_signed_value`. Never throws on the value itself.
 */
export function decodeSignedValueBytes (secret: CookieSecret, name: string, value: string | Uint8Array | null | undefined, options: DecodeSignedValueOptions = {}): Buffer | null {
  const fn = 'decodeSignedValue'
  const { maxAgeDays = GET_SIGNED_COOKIE_OPTIONS.maxAgeDays.default, minVersion = GET_SIGNED_COOKIE_OPTIONS.minVersion.default, clock = systemClock } = options
  if (typeof maxAgeDays !== 'number' || !Number.isFinite(maxAgeDays) || maxAgeDays < 0) throw fail(fn, 'maxAgeDays', maxAgeDays, 'a finite number >= 0')
  if (minVersion !== 1 && minVersion !== 2) throw fail(fn, 'minVersion', minVersion, '1 or 2')
  if (typeof name !== 'string') throw fail(fn, 'name', name, 'a string')
  checkSecret(fn, secret)
  if (typeof clock !== 'function') throw fail(fn, 'clock', clock, 'a function returning Unix seconds')
  if (value === null || value === undefined || value.length === 0) return null
  // One character per byte, so lengths and slices below count bytes as Tornado does.
  const text = typeof value === 'string' ? byteString(value) : Buffer.from(value).toString('latin1')
  const version = detectVersion(text)
  if (version < minVersion) return null
  if (version === 1) return isKey(secret) ? decodeV1(secret, name, text, maxAgeDays, clock) : null
  if (version === 2) return decodeV2(secret, name, text, maxAgeDays, clock)
  return null
}

/** {@link decodeSignedValueBytes} as a UTF-8 string: Tornado's `get_signed_cookie` result, decoded. */
export function decodeSignedValue (secret: CookieSecret, name: string, value: string | Uint8Array | null | undefined, options: DecodeSignedValueOptions = {}): string | null {
  const bytes = decodeSignedValueBytes(secret, name, value, options)
  return bytes === null ? null : bytes.toString('utf8')
}

/**
 * The key version written in a v2 value, read without verifying it (so only
 * for choosing when to re-sign); null for v1 or malformed values. Tornado's
 * `get_signature_key_version`.
 */
export function getSignedValueKeyVersion (value: string | Uint8Array | null | undefined): number | null {
  if (value === null || value === undefined || value.length === 0) return null
  const text = Buffer.from(value as string).toString('latin1')
  if (detectVersion(text) < 2) return null
  return decodeFieldsV2(text)?.keyVersion ?? null
}
