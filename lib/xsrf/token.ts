// Tornado's XSRF tokens (`RequestHandler.xsrf_token`, `_decode_xsrf_token`), byte-compatible in both directions, with
// no Fastify import: a raw token is 16 random bytes; the v1 form is its hex,
// the v2 form `2|mask|hex(raw XOR mask)|timestamp` re-masks it per response
// (BREACH). Decoding follows Tornado's `_decode_xsrf_token`, so a cookie or
// token issued by a Tornado app with the same domain works here and back.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { escapeHtml, pythonStrInt } from '../shared/python.js'

/** A decoded `_xsrf` cookie or submitted token. */
export interface RawXsrfToken {
  /** 1 for the bare (hex or plain) form, 2 for the masked form. */
  version: 1 | 2
  /** The raw token bytes; only these are compared. */
  token: Buffer
  /** Creation time in whole seconds; v1 carries none, so it is `null` there. */
  timestamp: number | null
}

export type XsrfTokenVersion = 1 | 2

/** Raw token length Tornado draws (`os.urandom(16)`). */
export const RAW_TOKEN_BYTES = 16
/** Mask length of the v2 form (`os.urandom(4)`). */
export const MASK_BYTES = 4

// Python's `^([1-9][0-9]*)\|(.*)$` on bytes: `.` stops at LF and `$` also
// matches before one final LF, so a value with an inner LF is "not versioned".
const VERSIONED = /^([1-9][0-9]*)\|[^\n]*\n?$/
const HEX = /^(?:[0-9a-fA-F]{2})*$/
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0e-\x1f]/g
// The value of each ASCII hex digit, -1 for any other code unit below 128.
const HEX_VALUES = new Int8Array(128).fill(-1)
for (let i = 0; i < 16; i++) {
  HEX_VALUES['0123456789abcdef'.charCodeAt(i)] = i
  HEX_VALUES['0123456789ABCDEF'.charCodeAt(i)] = i
}
const PIPE = 0x7c

function hexDigit (text: string, index: number): number {
  const code = text.charCodeAt(index)
  return code < 128 ? HEX_VALUES[code]! : -1
}

/**
 * What Tornado and this package issue, `2|<8 hex>|<hex pairs>|<1-15 digits>`,
 * decoded in one pass with one allocation (this runs twice per checked
 * request: regular expressions and Buffer.from(hex) cost three times more);
 * undefined for anything else, which the general rules below then decode.
 */
function decodeCanonicalV2 (value: string): RawXsrfToken | undefined {
  if (value.charCodeAt(0) !== 0x32 || value.charCodeAt(1) !== PIPE || value.charCodeAt(10) !== PIPE) return undefined
  let mask = 0
  for (let i = 2; i < 10; i++) {
    const digit = hexDigit(value, i)
    if (digit < 0) return undefined
    mask = (mask << 4) | digit
  }
  const end = value.indexOf('|', 11)
  const digits = value.length - end - 1
  if (end === -1 || (end - 11) % 2 !== 0 || digits < 1 || digits > 15) return undefined
  let timestamp = 0
  for (let i = end + 1; i < value.length; i++) {
    const digit = value.charCodeAt(i) - 0x30
    if (digit < 0 || digit > 9) return undefined
    timestamp = timestamp * 10 + digit
  }
  const token = Buffer.allocUnsafe((end - 11) / 2)
  for (let i = 0; i < token.length; i++) {
    const high = hexDigit(value, 11 + 2 * i)
    const low = hexDigit(value, 12 + 2 * i)
    if ((high | low) < 0) return undefined
    // Unmasked with the mask's byte for this position, most significant first.
    token[i] = ((high << 4) | low) ^ ((mask >>> (24 - 8 * (i % MASK_BYTES))) & 0xff)
  }
  return { version: 2, token, timestamp }
}

function unhex (text: string): Buffer | null {
  return HEX.test(text) ? Buffer.from(text, 'hex') : null
}

/** XORs `data` with `mask` applied cyclically (Tornado's websocket mask). */
export function applyMask (mask: Buffer, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(data.length)
  for (let i = 0; i < data.length; i++) out[i] = data[i]! ^ mask[i % MASK_BYTES]!
  return out
}

/**
 * Decodes a cookie value or a submitted token the way Tornado does; `null`
 * where Tornado returns (None, None, None). Deliberate difference: the v2 mask
 * must be exactly 8 hex digits (Tornado's C speedup reads past a short one).
 */
export function decodeXsrfToken (value: string): RawXsrfToken | null {
  // Fast path for what Tornado and this package issue; same result as below.
  const canonical = decodeCanonicalV2(value)
  if (canonical !== undefined) return canonical
  const versioned = VERSIONED.exec(value)
  if (versioned === null) {
    // v1: hex when it unhexes, otherwise the UTF-8 bytes of the string itself.
    return { version: 1, token: unhex(value) ?? Buffer.from(value, 'utf8'), timestamp: null }
  }
  if (versioned[1] !== '2') return null
  const parts = value.split('|')
  if (parts.length !== 4) return null
  const mask = unhex(parts[1]!)
  const masked = unhex(parts[2]!)
  const timestamp = pythonStrInt(parts[3]!)
  if (mask === null || mask.length !== MASK_BYTES || masked === null || timestamp === null) return null
  return { version: 2, token: applyMask(mask, masked), timestamp }
}

/**
 * Renders a raw token as Tornado's `xsrf_token`: v1 is the hex; v2 masks it
 * with `mask` (fresh random bytes unless given, for vectors).
 */
export function encodeXsrfToken (token: Buffer, version: XsrfTokenVersion, timestamp: number, mask: Buffer = randomBytes(MASK_BYTES)): string {
  if (version === 1) return token.toString('hex')
  return `2|${mask.toString('hex')}|${applyMask(mask, token).toString('hex')}|${Math.trunc(timestamp)}`
}

/** A fresh raw token from the OS CSPRNG. */
export function newRawToken (): Buffer {
  return randomBytes(RAW_TOKEN_BYTES)
}

/** Constant-time comparison of two raw tokens (different lengths: false at once). */
export function rawTokensEqual (a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * Tornado's argument cleaning before the check: C0 controls other than
 * tab, LF, VT, FF and CR become spaces, then surrounding whitespace goes.
 */
export function cleanArgument (value: string): string {
  // A loop, not CONTROL.test(): this runs on every checked request, and the
  // regular expression showed up in its profile.
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code < 0x20 && (code < 0x09 || code > 0x0d)) return value.replace(CONTROLS, ' ').trim()
  }
  return value.trim()
}

/** Tornado's `xsrf_form_html()` markup, the token HTML-escaped. */
export function xsrfFormHtml (token: string): string {
  return `<input type="hidden" name="_xsrf" value="${escapeHtml(token)}"/>`
}
