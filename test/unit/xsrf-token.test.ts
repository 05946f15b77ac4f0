import t from 'tap'
import { readFileSync } from 'node:fs'
import {
  applyMask, cleanArgument, decodeXsrfToken, encodeXsrfToken, newRawToken, rawTokensEqual, xsrfFormHtml, RAW_TOKEN_BYTES
} from '../../lib/xsrf/token.js'
import { readCookie, unquoteCookieValue } from '../../lib/shared/python.js'

interface TokenVector {
  raw_token_hex: string
  mask_hex: string
  timestamp: number
  v2_token: string
  v1_token: string
  xsrf_form_html: string
  v2_decoded: { version: number, raw_token_hex: string, timestamp: number }
  v1_decoded: { version: number, raw_token_hex: string }
}
const vectors = JSON.parse(readFileSync(new URL('../fixtures/xsrf/tornado-vectors.json', import.meta.url), 'utf8')) as { xsrf_tokens: TokenVector[] }

t.test('v1 and v2 tokens are byte-identical to the ones Tornado issues for the same raw token, mask and time', async (t) => {
  t.equal(vectors.xsrf_tokens.length, 9)
  for (const v of vectors.xsrf_tokens) {
    const raw = Buffer.from(v.raw_token_hex, 'hex')
    t.equal(encodeXsrfToken(raw, 2, v.timestamp, Buffer.from(v.mask_hex, 'hex')), v.v2_token)
    t.equal(encodeXsrfToken(raw, 1, v.timestamp), v.v1_token)
    t.equal(xsrfFormHtml(v.v2_token), v.xsrf_form_html)
  }
})

t.test('Tornado v1 and v2 tokens decode to the raw token and timestamp Tornado decodes', async (t) => {
  for (const v of vectors.xsrf_tokens) {
    const v2 = decodeXsrfToken(v.v2_token)
    t.same({ version: v2?.version, raw: v2?.token.toString('hex'), timestamp: v2?.timestamp },
      { version: v.v2_decoded.version, raw: v.v2_decoded.raw_token_hex, timestamp: v.v2_decoded.timestamp })
    const v1 = decodeXsrfToken(v.v1_token)
    t.same({ version: v1?.version, raw: v1?.token.toString('hex'), timestamp: v1?.timestamp },
      { version: 1, raw: v.v1_decoded.raw_token_hex, timestamp: null })
  }
})

t.test('a fresh v2 token uses a new mask each time but always decodes to the same raw token', async (t) => {
  const raw = newRawToken()
  t.equal(raw.length, RAW_TOKEN_BYTES)
  const a = encodeXsrfToken(raw, 2, 1700000000.9)
  const b = encodeXsrfToken(raw, 2, 1700000000.9)
  t.not(a, b)
  t.match(a, /^2\|[0-9a-f]{8}\|[0-9a-f]{32}\|1700000000$/)
  t.same(decodeXsrfToken(a)?.token, raw)
  t.same(decodeXsrfToken(b)?.token, raw)
})

t.test('decoding accepts what Tornado accepts: upper-case hex, any non-hex string as its own bytes, lenient timestamps', async (t) => {
  t.equal(decodeXsrfToken('9F1C2E7A55B04D3E8A61C0FFEE123456')?.token.toString('hex'), '9f1c2e7a55b04d3e8a61c0ffee123456')
  t.same(decodeXsrfToken('plainvalue'), { version: 1, token: Buffer.from('plainvalue'), timestamp: null })
  t.same(decodeXsrfToken('abc')?.token, Buffer.from('abc'), 'odd-length hex is taken as text')
  t.same(decodeXsrfToken('02|ab')?.token, Buffer.from('02|ab'), 'a leading zero is not a version')
  t.same(decodeXsrfToken('2|ab\ncd|x')?.token, Buffer.from('2|ab\ncd|x'), 'an inner LF makes Python see no version')
  for (const ts of ['+5', ' 5', '5_0', '-5', '5\n']) {
    t.ok(decodeXsrfToken(`2|00000000|00|${ts}`), `timestamp ${JSON.stringify(ts)}`)
  }
  t.equal(decodeXsrfToken('2|00000000|00|5_0')?.timestamp, 50)
  t.equal(decodeXsrfToken('2|00000000||5')?.token.length, 0, 'an empty masked part decodes to an empty token')
})

t.test('decoding refuses malformed v2 values and unknown versions', async (t) => {
  for (const bad of ['2|zzzzzzzz|00|1', '2|00000000|00|1|2', '2|00000000|00', '3|a|b|c', '3|x', '12|a',
    '2|000000|00|1', '2|0000000000|00|1', '2|00000000|0|1', '2|00000000|zz|1', '2|00000000|00|x', '2|00000000|00|5__0', '2|00000000|00|']) {
    t.equal(decodeXsrfToken(bad), null, bad)
  }
})

t.test('the one-pass decoder of issued v2 tokens agrees with Tornado\'s rules on every one-character change', async (t) => {
  // Tornado's _decode_xsrf_token written plainly with regular expressions and
  // Buffer.from, as this package first did: the fast path must give exactly
  // this for canonical values and leave every other value to the general rules.
  const hex = (text: string): Buffer | null => /^(?:[0-9a-fA-F]{2})*$/.test(text) ? Buffer.from(text, 'hex') : null
  const reference = (value: string): unknown => {
    const canonical = /^2\|([0-9a-fA-F]{8})\|((?:[0-9a-fA-F]{2})*)\|([0-9]{1,15})$/.exec(value)
    if (canonical !== null) return { version: 2, token: applyMask(hex(canonical[1]!)!, hex(canonical[2]!)!), timestamp: Number(canonical[3]) }
    const versioned = /^([1-9][0-9]*)\|[^\n]*\n?$/.exec(value)
    if (versioned === null) return { version: 1, token: hex(value) ?? Buffer.from(value, 'utf8'), timestamp: null }
    const parts = value.split('|')
    if (versioned[1] !== '2' || parts.length !== 4) return null
    const [mask, masked] = [hex(parts[1]!), hex(parts[2]!)]
    if (mask === null || mask.length !== 4 || masked === null || !/^[\s]*[+-]?[0-9]+(?:_[0-9]+)*[\s]*$/.test(parts[3]!)) return null
    return { version: 2, token: applyMask(mask, masked), timestamp: Number.parseInt(parts[3]!.trim().replaceAll('_', ''), 10) }
  }
  const seeds = ['2|deadbeef|41b190958b1df3d154cc7e1030bf8ab9|1700000000', '2|0A0b0C0d||5', '2|ffffffff|00ff|123456789012345']
  for (const seed of seeds) {
    const variants = [seed, seed + '0', seed + '|', seed.slice(0, -1), seed + '0'.repeat(16), seed + ' ']
    for (let i = 0; i < seed.length; i++) {
      for (const c of ['2', '9', 'a', 'F', 'g', '|', '/', ':', '\n', 'é', '']) variants.push(seed.slice(0, i) + c + seed.slice(i + 1))
    }
    for (const value of variants) t.same(decodeXsrfToken(value), reference(value), JSON.stringify(value))
  }
})

t.test('raw tokens compare equal only when every byte matches', async (t) => {
  t.ok(rawTokensEqual(Buffer.from('abcd'), Buffer.from('abcd')))
  t.notOk(rawTokensEqual(Buffer.from('abcd'), Buffer.from('abce')))
  t.notOk(rawTokensEqual(Buffer.from('abcd'), Buffer.from('abc')))
  t.same(applyMask(Buffer.from('01020304', 'hex'), Buffer.from('0000000000', 'hex')), Buffer.from('0102030401', 'hex'))
})

t.test('arguments lose control characters and surrounding whitespace as in Tornado', async (t) => {
  t.equal(cleanArgument(' \x00ab\x01cd\t\n'), 'ab cd')
  t.equal(cleanArgument('a\tb'), 'a\tb')
})

t.test('the _xsrf cookie is read from the Cookie header as Tornado reads it', async (t) => {
  t.equal(readCookie(undefined, '_xsrf'), undefined)
  t.equal(readCookie('a=1; _xsrf=2|ab|cd|5; b=2', '_xsrf'), '2|ab|cd|5')
  t.equal(readCookie('_xsrf=first; _xsrf=second', '_xsrf'), 'second', 'the last one wins')
  t.equal(readCookie('x_xsrf=1; novalue; _xsrf = spaced ', '_xsrf'), 'spaced')
  t.equal(readCookie('_xsrf=2%7Cab', '_xsrf'), '2%7Cab', 'no percent-decoding')
  t.equal(readCookie('other=1', '_xsrf'), undefined)
  t.equal(readCookie('_xsrf="a\\"b\\073c\\\\"', '_xsrf'), 'a"b;c\\', 'quoted values are unquoted')
  t.equal(unquoteCookieValue('"'), '"')
  t.equal(unquoteCookieValue('"abc'), '"abc')
})

t.test('xsrfFormHtml escapes the token for an HTML attribute', async (t) => {
  t.equal(xsrfFormHtml('a"<b>&\''), '<input type="hidden" name="_xsrf" value="a&quot;&lt;b&gt;&amp;&#39;"/>')
})
