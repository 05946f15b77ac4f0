// What Python and Tornado do, in one place, for the plugins that must agree
// with a Tornado app byte for byte (cookie, xsrf, error pages): Python's
// int() on bytes and on str, base64.b64decode, http.cookies quoting and
// unquoting, Tornado's cookie parsing and xhtml_escape. Each is checked
// against values from the real Python and Tornado (test/fixtures). Pure: no
// Fastify import.
//
// Cookie values: the way Python's http.cookies writes and reads them, because
// that is what Tornado uses on both sides (`http.cookies._quote` when
// `RequestHandler.set_cookie` writes, `httputil.parse_cookie` with its
// `_unquote_cookie` when `RequestHandler.cookies` reads). A signed
// value whose base64 holds `/` or `=` is written by Tornado as `"2|1:0|..."`
// and must be unquoted here; what we write must reach Tornado unchanged, so
// no percent-encoding (Tornado never undoes it).
import { FDK_COOKIE_VALUE_INVALID } from './errors.js'

// Python's _LegalChars: a value made only of these is written bare.
const BARE = /^[A-Za-z0-9!#$%&'*+\-.^_`|~:]+$/
// Characters Python escapes inside quotes: `"` and `\` by backslash, `,` `;`,
// controls and U+007F–U+00FF as three octal digits. Space and (in Python)
// everything above U+00FF pass through.
const NEEDS_ESCAPE = /["\\,;\u0000-\u001f\u007f-\u00ff]/g // eslint-disable-line no-control-regex
const UNQUOTE = /\\(?:([0-3][0-7][0-7])|([^\n]))/gu

function escapeChar (char: string): string {
  if (char === '"' || char === '\\') return '\\' + char
  return '\\' + char.charCodeAt(0).toString(8).padStart(3, '0')
}

/**
 * Python's `http.cookies._quote`, byte for byte: bare when every character is
 * legal, otherwise double-quoted with backslash and octal escapes. The empty
 * string becomes `""`, as in Python.
 */
export function quoteCookieValue (value: string): string {
  if (BARE.test(value)) return value
  return '"' + value.replace(NEEDS_ESCAPE, escapeChar) + '"'
}

/**
 * The Set-Cookie encoder the cookie plugin gives @fastify/cookie: Python's
 * quoting, except that a space is written `\040` (Python writes it raw, which
 * RFC 6265 and the `cookie` package refuse; Tornado unquotes both to a space).
 * Characters above U+00FF cannot travel in a header at all, so they are
 * refused with a clear error instead of Node's generic one: sign the value
 * (signed values carry any Unicode) or encode it first.
 */
export function encodeCookieValue (value: string): string {
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) > 0xff) {
      throw new FDK_COOKIE_VALUE_INVALID(JSON.stringify(value.length > 40 ? value.slice(0, 37) + '...' : value),
        'characters above U+00FF cannot be sent in a Set-Cookie header; use setSignedCookie() or encodeURIComponent() first')
    }
  }
  const quoted = quoteCookieValue(value)
  return quoted.includes(' ') ? quoted.replaceAll(' ', '\\040') : quoted
}

/**
 * Python's `http.cookies._unquote` (as Tornado's request parsing applies it
 * to every incoming value): a value that starts and ends with `"` loses the
 * quotes, `\ooo` becomes that character and `\X` becomes `X`; anything else
 * is returned unchanged (no percent-decoding).
 */
export function unquoteCookieValue (value: string): string {
  if (value.length < 2 || value[0] !== '"' || value[value.length - 1] !== '"') return value
  return value.slice(1, -1).replace(UNQUOTE, (_, octal: string | undefined, char: string | undefined) =>
    octal !== undefined ? String.fromCharCode(parseInt(octal, 8)) : char!)
}

// ---------------------------------------------------------------- numbers and base64
// Python's int() and base64.b64decode() as Tornado applies them to the fields
// of a signed value (bytes) and of an XSRF token (str). Only a key holder can
// put odd text into a signed value (it is under the MAC), but values must
// decode to exactly what Tornado returns.

// Python and Node agree on canonical base64; only odd input needs the slow path.
const CANONICAL_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const PYTHON_INT = /^[ \t\n\v\f\r]*([+-]?[0-9]+(?:_[0-9]+)*)[ \t\n\v\f\r]*$/
const B64_VALUES = new Int8Array(256).fill(-1)
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries()) B64_VALUES[c.charCodeAt(0)] = i

/** Python's int() on ASCII bytes: surrounding whitespace, a sign and `_` between digits are allowed. */
export function pythonInt (text: string): number | null {
  // Fast path for what Tornado and we write: up to 15 plain decimal digits.
  let value = 0
  for (let i = 0; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return lenientInt(text)
    value = value * 10 + digit
  }
  return text.length > 0 && text.length <= 15 ? value : lenientInt(text)
}

function lenientInt (text: string): number | null {
  const match = PYTHON_INT.exec(text)
  return match === null ? null : Number(match[1]!.replaceAll('_', ''))
}

/**
 * Python's lenient base64.b64decode: bytes outside the alphabet are skipped,
 * enough `=` ends the input, a missing pad or a lone trailing character is an
 * error (null). Node's decoder differs (URL-safe letters, no errors).
 * `text` holds one byte per character (latin1), as every caller builds it.
 */
export function pythonB64Decode (text: string): Buffer | null {
  if (CANONICAL_B64.test(text)) return Buffer.from(text, 'base64')
  const out = Buffer.allocUnsafe(Math.ceil(text.length * 3 / 4))
  let length = 0
  let quad = 0
  let pads = 0
  let left = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code === 0x3d) {
      pads++
      if (quad >= 2 && quad + pads >= 4) return out.subarray(0, length)
      continue
    }
    const bits = B64_VALUES[code]!
    if (bits < 0) continue
    pads = 0
    // Bits left over in a quad are dropped, so non-canonical endings decode too.
    if (quad === 1) out[length++] = (left << 2) | (bits >> 4)
    else if (quad === 2) out[length++] = ((left & 0x0f) << 4) | (bits >> 2)
    else if (quad === 3) out[length++] = ((left & 0x03) << 6) | bits
    left = bits
    quad = (quad + 1) % 4
  }
  return quad === 0 ? out.subarray(0, length) : null
}

// Python's int() on a str (not bytes) also strips Unicode whitespace
// (str.isspace(), minus U+001C-U+001F, which int() refuses) and reads any
// Unicode decimal digit (as of the running Node's Unicode tables). Measured
// with /usr/bin/python3: test/fixtures/python/int-vectors.json.
const PY_STR_SPACE = '[\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]'
const PY_STR_INT = new RegExp(`^${PY_STR_SPACE}*([+-]?)(\\p{Nd}+(?:_\\p{Nd}+)*)${PY_STR_SPACE}*$`, 'u')
const DECIMAL_DIGIT = /\p{Nd}/u

/** A Unicode decimal digit's value: digits come in runs of ten, zero first. */
function digitValue (codePoint: number): number {
  let zero = codePoint
  while (DECIMAL_DIGIT.test(String.fromCodePoint(zero - 1))) zero--
  return (codePoint - zero) % 10
}

/** Python's int() on a str, as Tornado's `_decode_xsrf_token` applies it to the timestamp. */
export function pythonStrInt (text: string): number | null {
  const match = PY_STR_INT.exec(text)
  if (match === null) return null
  // As ASCII digits, so that Number() rounds a long one exactly as parseInt would.
  let digits = ''
  for (const char of match[2]!) {
    const code = char.codePointAt(0)!
    if (code === 0x5f) continue
    digits += code >= 0x30 && code <= 0x39 ? char : String(digitValue(code))
  }
  return Number(match[1] + digits)
}

// ---------------------------------------------------------------- Tornado

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Tornado's `xhtml_escape`: `& < > " '`. */
export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!)
}

// Python's str.strip() on a header (Latin-1: Node and Tornado decode header
// bytes one per character): JavaScript's trim() differs on U+0085 and U+001C-U+001F.
// A loop rather than a regular expression: this runs on every cookie piece of
// every request that reads a signed cookie or checks XSRF.
function isPythonSpace (code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d) || (code >= 0x1c && code <= 0x1f) || code === 0x85 || code === 0xa0
}

function pythonStrip (text: string, start: number, end: number): string {
  while (start < end && isPythonSpace(text.charCodeAt(start))) start++
  while (end > start && isPythonSpace(text.charCodeAt(end - 1))) end--
  return text.slice(start, end)
}

/**
 * One cookie from a raw Cookie header as Tornado's `parse_cookie` reads it:
 * split at `;`, then at the first `=`, names and values stripped as Python
 * strips, the last occurrence wins, a double-quoted value is unquoted (`\ooo`
 * octal, `\X`). No percent-decoding: Tornado never does any, so neither do we.
 */
export function readCookie (header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  // Walks the pieces without splitting the header: this runs on every checked request.
  let found: string | undefined
  let start = 0
  while (start <= header.length) {
    let end = header.indexOf(';', start)
    if (end === -1) end = header.length
    const eq = header.indexOf('=', start)
    if (eq !== -1 && eq < end && pythonStrip(header, start, eq) === name) found = pythonStrip(header, eq + 1, end)
    start = end + 1
  }
  return found === undefined ? undefined : unquoteCookieValue(found)
}
