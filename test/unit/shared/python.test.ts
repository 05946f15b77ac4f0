// lib/shared/python.ts against the real Python and Tornado: every value in
// test/fixtures/python/python-vectors.json was produced by Debian's Python
// 3.11 and Tornado 6.2 (make-vectors.py beside it says how). The cookie
// quoting vectors live with the cookie tests (test/unit/cookie-vectors.test.ts).
import t from 'tap'
import { readFileSync } from 'node:fs'
import { escapeHtml, pythonInt, pythonStrInt, readCookie } from '../../../lib/shared/python.js'

interface Vectors {
  source: string
  str_int: Array<[string, number | string | null]>
  bytes_int: Array<[string, number | string | null]>
  parse_cookie_xsrf: Array<[string, string | null]>
  xhtml_escape: Array<[string, string]>
}
const vectors = JSON.parse(readFileSync(new URL('../../fixtures/python/python-vectors.json', import.meta.url), 'utf8')) as Vectors

/** An assertion name TAP keeps on one line (JSON leaves U+2028 and U+0085 raw). */
const show = (text: string): string => JSON.stringify(text).replace(/[^\x20-\x7e]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))

/** Python's answer as a JavaScript number; past 2**53 the vector is a string and JavaScript keeps the nearest double. */
const expected = (value: number | string | null): number | null => value === null ? null : Number(value)

t.test(`int() on str, as Python does it (${vectors.source})`, async (t) => {
  t.ok(vectors.str_int.length > 100)
  for (const [text, value] of vectors.str_int) t.equal(pythonStrInt(text), expected(value), show(text))
})

t.test('int() on bytes, as Python does it (signed values)', async (t) => {
  t.ok(vectors.bytes_int.length > 50)
  for (const [text, value] of vectors.bytes_int) t.equal(pythonInt(text), expected(value), show(text))
})

t.test('int() on str reads Unicode digits and whitespace that int() on bytes refuses', async (t) => {
  t.equal(pythonStrInt('\u0661\u0667'), 17)
  t.equal(pythonStrInt('\u00857\u3000'), 7)
  t.equal(pythonInt('\u00857'), null)
  t.equal(pythonStrInt('-1_0'), -10)
})

t.test("Tornado's parse_cookie for the _xsrf cookie", async (t) => {
  for (const [header, value] of vectors.parse_cookie_xsrf) t.equal(readCookie(header, '_xsrf') ?? null, value, show(header))
  t.equal(readCookie(undefined, '_xsrf'), undefined)
})

t.test("Tornado's xhtml_escape", async (t) => {
  for (const [text, escaped] of vectors.xhtml_escape) t.equal(escapeHtml(text), escaped, show(text))
})
