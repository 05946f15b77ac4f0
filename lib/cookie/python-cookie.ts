// Cookie values the way Python's http.cookies writes and reads them, because
// that is what Tornado uses on both sides (spec §0.3 rules 1 and 7). A signed
// value whose base64 holds `/` or `=` is written by Tornado as `"2|1:0|..."`
// and must be unquoted here; what we write must reach Tornado unchanged, so
// no percent-encoding (Tornado never undoes it). Pure: no Fastify import.
import { FDK_COOKIE_VALUE_INVALID } from '../errors.js'

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
