// The pure parts of the static plugin, checked against the real Tornado's
// vectors (test/fixtures/static/tornado-static-vectors.json).
import t from 'tap'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { contentRange, parseRangeHeader, resolveRange } from '../../lib/static/range.js'
import { etagMatches, notModifiedSince } from '../../lib/static/conditional.js'
import { normalizeRequestPath, MAX_REQUEST_PATH_LENGTH } from '../../lib/static/request-path.js'
import { contentTypeFor } from '../../lib/static/mime.js'
import { isCompressible } from '../../lib/shared/compressible.js'
import { encodeStaticPath } from '../../lib/static/url.js'

interface Vectors {
  version_hashes: Array<{ content_hex: string, sha512_hex: string, static_url_suffix: string, etag: string }>
  parse_request_range: Array<{ header: string, parsed_start_end_exclusive: [number | null, number | null] | null }>
  content_range_examples: Array<{ start: number | null, end: number | null, total: number, header: string }>
}
const vectors = JSON.parse(readFileSync(new URL('../fixtures/static/tornado-static-vectors.json', import.meta.url), 'utf8')) as Vectors

t.test('Range headers parse exactly as Tornado parses them', async (t) => {
  t.ok(vectors.parse_request_range.length >= 15)
  for (const vector of vectors.parse_request_range) {
    t.same(parseRangeHeader(vector.header), vector.parsed_start_end_exclusive, vector.header)
  }
})

t.test('Content-Range values match Tornado for the same ranges', async (t) => {
  for (const { start, end, total, header } of vectors.content_range_examples) {
    // Tornado's _get_content_range(start, end_exclusive, total) with None meaning "from 0" / "to the end".
    const first = start ?? 0
    const last = (end ?? total) - 1
    t.equal(contentRange(first, last, total), header)
  }
})

t.test('a range covering the whole file is a plain 200, as Tornado does for browsers', async (t) => {
  for (const header of ['bytes=0-', 'bytes=0-9', 'bytes=0-100', 'bytes=-100', 'bytes=']) {
    t.same(resolveRange(parseRangeHeader(header), 10), { kind: 'full' }, header)
  }
})

t.test('ranges inside the file are partial, end clamped to the size', async (t) => {
  t.same(resolveRange(parseRangeHeader('bytes=0-4'), 10), { kind: 'partial', start: 0, end: 4 })
  t.same(resolveRange(parseRangeHeader('bytes=7-'), 10), { kind: 'partial', start: 7, end: 9 })
  t.same(resolveRange(parseRangeHeader('bytes=-3'), 10), { kind: 'partial', start: 7, end: 9 })
  t.same(resolveRange(parseRangeHeader('bytes=9-9'), 10), { kind: 'partial', start: 9, end: 9 })
  t.same(resolveRange(parseRangeHeader('bytes=5-100'), 10), { kind: 'partial', start: 5, end: 9 })
  t.same(resolveRange(parseRangeHeader('bytes=4'), 10), { kind: 'partial', start: 4, end: 9 }, 'no dash: a start, as Python partitions it')
})

t.test('unsatisfiable ranges: start past the end, reversed, zero suffix, anything on an empty file', async (t) => {
  for (const header of ['bytes=10-', 'bytes=5-2', 'bytes=-0', 'bytes=11-20']) {
    t.same(resolveRange(parseRangeHeader(header), 10), { kind: 'unsatisfiable' }, header)
  }
  t.same(resolveRange(parseRangeHeader('bytes=0-'), 0), { kind: 'unsatisfiable' })
  t.same(resolveRange(parseRangeHeader('bytes='), 0), { kind: 'full' })
})

t.test('ignored Range headers (lists, other units, junk) mean the whole file', async (t) => {
  for (const header of ['bytes=1-2,4-5', 'items=0-1', 'bytes=a-b', 'bytes', 'bytes=1-2-3']) {
    t.same(resolveRange(parseRangeHeader(header), 10), { kind: 'full' }, header)
  }
})

t.test('If-None-Match uses weak comparison and honours * only as the first token', async (t) => {
  const etags = ['"abc"', '"abc-gzip"']
  t.ok(etagMatches('"abc"', etags))
  t.ok(etagMatches('W/"abc"', etags))
  t.ok(etagMatches('"zzz", W/"abc-gzip"', etags))
  t.ok(etagMatches('*', etags))
  t.notOk(etagMatches('"zzz", *', etags))
  t.notOk(etagMatches('"ab"', etags))
  t.notOk(etagMatches('abc', etags))
})

t.test('If-Modified-Since: at or after the mtime second is not modified; junk dates are ignored', async (t) => {
  const mtime = Date.UTC(2024, 0, 2, 3, 4, 5) / 1000
  t.ok(notModifiedSince('Tue, 02 Jan 2024 03:04:05 GMT', mtime))
  t.ok(notModifiedSince('Wed, 03 Jan 2024 00:00:00 GMT', mtime))
  t.notOk(notModifiedSince('Tue, 02 Jan 2024 03:04:04 GMT', mtime))
  t.notOk(notModifiedSince('Tue, 32 Jan 2024 03:04:05 GMT', mtime), 'out-of-range date: Tornado 6.2 answered 500')
  t.notOk(notModifiedSince('yesterday', mtime))
  // The offset is honoured (Tornado 6.2 ignored it): 05:04:05 +0200 is 03:04:05 UTC.
  t.ok(notModifiedSince('Tue, 02 Jan 2024 05:04:05 +0200', mtime))
})

t.test('request paths are normalised; .. is refused with 403; NUL, backslash and dotfiles with 404', async (t) => {
  t.same(normalizeRequestPath('css/site.css', false), { ok: true, path: 'css/site.css' })
  t.same(normalizeRequestPath('/css//./site.css/', false), { ok: true, path: 'css/site.css' })
  t.same(normalizeRequestPath('a/../b', false), { ok: false, status: 403 })
  t.same(normalizeRequestPath('..', false), { ok: false, status: 403 })
  t.same(normalizeRequestPath('a\0b', false), { ok: false, status: 404 })
  t.same(normalizeRequestPath('..\\etc\\passwd', false), { ok: false, status: 404 })
  t.same(normalizeRequestPath('.env', false), { ok: false, status: 404 })
  t.same(normalizeRequestPath('.well-known/x', false), { ok: false, status: 404 })
  t.same(normalizeRequestPath('.well-known/x', true), { ok: true, path: '.well-known/x' })
  t.same(normalizeRequestPath('', false), { ok: false, status: 404 })
  t.same(normalizeRequestPath('x'.repeat(MAX_REQUEST_PATH_LENGTH + 1), false), { ok: false, status: 404 })
})

t.test('content types carry a charset for text and fall back to octet-stream', async (t) => {
  t.equal(contentTypeFor('a.css'), 'text/css; charset=utf-8')
  t.equal(contentTypeFor('a.js'), 'text/javascript; charset=utf-8')
  t.equal(contentTypeFor('a.json'), 'application/json; charset=utf-8')
  t.equal(contentTypeFor('a.png'), 'image/png')
  t.equal(contentTypeFor('a.unknown-ext'), 'application/octet-stream')
  t.ok(isCompressible('text/css; charset=utf-8'))
  t.ok(isCompressible('image/svg+xml'))
  t.notOk(isCompressible('image/png'))
})

t.test('our version is the prefix of Tornado\'s SHA-512 version for the same bytes', async (t) => {
  for (const vector of vectors.version_hashes) {
    const digest = createHash('sha512').update(Buffer.from(vector.content_hex, 'hex')).digest('hex')
    t.equal(digest, vector.sha512_hex)
    t.equal(vector.static_url_suffix, '?v=' + digest)
  }
})

t.test('static paths are URL-encoded segment by segment', async (t) => {
  t.equal(encodeStaticPath('css/a b#1.css'), 'css/a%20b%231.css')
  t.equal(encodeStaticPath('/site.css'), 'site.css')
})
