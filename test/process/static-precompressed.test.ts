// Compressed representations of files too large for memory: a build's `.br` /
// `.gz` siblings (used only when they decode to the current bytes) and the
// copies compressed once in the background.
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib'
import deployKit, { type DeployKitSettings } from '../../lib/index.js'
import { logCapture } from '../helpers/tools.js'
import { BackgroundCompressor, MAX_QUEUED, decodesTo } from '../../lib/static/precompressed.js'
import { IMMUTABLE_CACHE_CONTROL, REVALIDATE_CACHE_CONTROL } from '../../lib/static/response.js'
import { until } from '../helpers/wait.js'

// ~320 KiB of JavaScript-like text: above the default 256 KiB memory limit, compressible.
const JS = Array.from({ length: 6000 }, (_, i) => `export function f${i} (a, b) { return a * ${i} + b }\n`).join('')
const OTHER = JS.replace(/return/g, 'yield') + '// a different build\n'.repeat(50) // longer than JS
const PNG = Buffer.alloc(300 * 1024, 7)

function sha (bytes: string | Buffer): string {
  return createHash('sha512').update(bytes).digest('hex')
}
const VERSION = sha(JS).slice(0, 32)

/** A second directory in one test (t.testdir() always returns the same one). */
function tempdir (t: Test, files: Record<string, string | Buffer> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'fdk-precompressed-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
  return dir
}

interface Built { app: FastifyInstance, dir: string, logs: Array<Record<string, unknown>> }

async function build (t: Test, files: Record<string, string | Buffer>, settings: DeployKitSettings = {}): Promise<Built> {
  const dir = tempdir(t, files)
  const { stream, lines: logs } = logCapture()
  const app = Fastify({ logger: { level: 'debug', stream } })
  await app.register(deployKit, { staticWarmup: false, staticCompressDir: false, ...settings, staticPath: dir })
  t.teardown(() => app.close())
  await app.ready()
  return { app, dir, logs }
}

/** Resolves with the first log line matching (a bounded wait that fails with the last lines). */
async function logged (logs: Array<Record<string, unknown>>, msg: string): Promise<Record<string, unknown>> {
  await until(`"${msg}" logged`, () => logs.some((entry) => entry.msg === msg), { everyMs: 10, last: () => JSON.stringify(logs.slice(-5), null, 2) })
  return logs.find((entry) => entry.msg === msg)!
}

const BR = brotliCompressSync(JS)
const GZ = gzipSync(JS, { level: 1 }) // not what we would make ourselves: proves the sibling is sent

for (const mode of ['streamed', 'memory'] as const) {
  const limit = mode === 'memory' ? 1024 * 1024 : 0

  t.test(`${mode}: build siblings are sent by Accept-Encoding, each with its own ETag and Vary`, async (t) => {
    const { app } = await build(t, { 'app.js': JS, 'app.js.br': BR, 'app.js.gz': GZ }, { staticMemoryFileLimit: limit })
    const br = await app.inject({ url: '/static/app.js', headers: { 'accept-encoding': 'gzip, deflate, br' } })
    t.equal(br.statusCode, 200)
    t.equal(br.headers['content-encoding'], 'br')
    t.equal(br.headers.etag, `"${VERSION}-br"`)
    t.equal(br.headers.vary, 'Accept-Encoding')
    t.equal(br.headers['content-type'], 'text/javascript; charset=utf-8')
    t.equal(brotliDecompressSync(br.rawPayload).toString(), JS)
    if (mode === 'streamed') t.same(br.rawPayload, BR, 'the build\'s own bytes')

    const gz = await app.inject({ url: '/static/app.js', headers: { 'accept-encoding': 'gzip' } })
    t.equal(gz.headers['content-encoding'], 'gzip')
    t.equal(gz.headers.etag, `"${VERSION}-gzip"`)
    t.same(gz.rawPayload, GZ, 'the sibling, not a gzip of our own')
    t.equal(gz.headers['content-length'], String(GZ.length))

    const plain = await app.inject('/static/app.js')
    t.equal(plain.headers['content-encoding'], undefined)
    t.equal(plain.headers.etag, `"${VERSION}"`)
    t.equal(plain.headers.vary, 'Accept-Encoding')
    t.equal(plain.body, JS)

    const head = await app.inject({ method: 'HEAD', url: '/static/app.js', headers: { 'accept-encoding': 'br' } })
    t.equal(head.body, '')
    t.equal(head.headers['content-length'], String(BR.length))
    t.equal(head.headers.etag, `"${VERSION}-br"`)

    const again = await app.inject({ url: '/static/app.js', headers: { 'accept-encoding': 'br', 'if-none-match': `"${VERSION}-br"` } })
    t.equal(again.statusCode, 304)
    t.equal(again.body, '')

    const range = await app.inject({ url: '/static/app.js', headers: { 'accept-encoding': 'br', range: 'bytes=0-9' } })
    t.equal(range.statusCode, 206)
    t.equal(range.headers['content-encoding'], undefined, 'a Range gets identity bytes')
    t.equal(range.body, JS.slice(0, 10))
  })

  t.test(`${mode}: a sibling that is stale, corrupt, larger or a symlink out is never sent`, async (t) => {
    const outside = tempdir(t, { 'x.gz': gzipSync(JS) })
    const { app, dir } = await build(t, {
      'stale.js': JS,
      'stale.js.gz': gzipSync(OTHER), // an older build's file
      'stale.js.br': brotliCompressSync(JS.slice(0, -1)), // one byte short
      'corrupt.js': JS,
      'corrupt.js.br': Buffer.from('not brotli at all'),
      'corrupt.js.gz': Buffer.concat([GZ.subarray(0, 100)]),
      'big.js': JS,
      'big.js.gz': Buffer.alloc(JS.length, 1),
      'out.js': JS
    }, { staticMemoryFileLimit: limit })
    symlinkSync(outside + '/x.gz', dir + '/out.js.gz')
    for (const name of ['stale.js', 'corrupt.js', 'big.js', 'out.js']) {
      const response = await app.inject({ url: '/static/' + name, headers: { 'accept-encoding': 'br, gzip' } })
      t.equal(response.statusCode, 200, name)
      if (mode === 'streamed') {
        t.equal(response.headers['content-encoding'], undefined, `${name}: identity`)
        t.equal(response.headers.vary, undefined, `${name}: no representations`)
        t.equal(response.body, JS)
      } else {
        // A memory file compresses itself instead: still never the wrong bytes.
        const encoding = response.headers['content-encoding']
        const decoded = encoding === 'br' ? brotliDecompressSync(response.rawPayload) : gunzipSync(response.rawPayload)
        t.equal(decoded.toString(), JS, `${name}: ${String(encoding)} decodes to the file`)
      }
    }
  })
}

t.test('without staticPrecompressed, siblings are ignored', async (t) => {
  const { app } = await build(t, { 'app.js': JS, 'app.js.br': BR }, { staticMemoryFileLimit: 0, staticPrecompressed: false })
  const response = await app.inject({ url: '/static/app.js', headers: { 'accept-encoding': 'br' } })
  t.equal(response.headers['content-encoding'], undefined)
  t.equal(response.body, JS)
})

t.test('a sibling replaced or removed after its check is not sent; the file is checked again', async (t) => {
  const { app, dir } = await build(t, { 'app.js': JS, 'app.js.br': BR, 'app.js.gz': GZ }, { staticMemoryFileLimit: 0 })
  t.equal((await app.inject({ url: '/static/app.js', headers: { 'accept-encoding': 'br' } })).headers['content-encoding'], 'br')
  writeFileSync(dir + '/app.js.br', brotliCompressSync(OTHER)) // a new build wrote only the .br
  rmSync(dir + '/app.js.gz')
  const response = await app.inject({ url: '/static/app.js', headers: { 'accept-encoding': 'br, gzip' } })
  t.equal(response.headers['content-encoding'], undefined)
  t.equal(response.headers.etag, `"${VERSION}"`)
  t.equal(response.body, JS)
  const next = await app.inject({ url: '/static/app.js', headers: { 'accept-encoding': 'br' } })
  t.equal(next.headers['content-encoding'], undefined, 'the replaced .br was checked again and refused')
  t.equal(next.headers.vary, undefined)
})

t.test('a background compression that fails is logged, and the file is still served uncompressed', async (t) => {
  // The compression directory cannot be made (its parent is a file): every compression fails.
  const cache = tempdir(t, { file: 'not a directory' })
  const { app, logs } = await build(t, { 'app.js': JS }, { staticCompressDir: cache + '/file/c' })
  const first = await app.inject({ url: '/static/app.js', headers: { 'accept-encoding': 'br' } })
  t.equal(first.body, JS)
  const warned = await logged(logs, 'static: background compression failed; the file is sent uncompressed')
  t.match(warned, { level: 40, err: { code: 'ENOTDIR' } })
  const next = await app.inject({ url: '/static/app.js', headers: { 'accept-encoding': 'br' } })
  t.equal(next.statusCode, 200)
  t.equal(next.headers['content-encoding'], undefined)
  t.equal(next.body, JS)
})

t.test('a large compressible file without siblings is compressed once in the background', async (t) => {
  const cache = tempdir(t)
  const { app, logs } = await build(t, { 'app.js': JS, 'logo.png': PNG }, { staticCompressDir: cache + '/c' })
  const first = await app.inject({ url: '/static/app.js', headers: { 'accept-encoding': 'br' } })
  t.equal(first.body, JS, 'served at once, uncompressed')
  const done = await logged(logs, 'static file compressed in the background')
  t.same(done.encodings, ['br', 'gzip'])
  t.equal(done.path, 'app.js')
  const br = await app.inject({ url: '/static/app.js', headers: { 'accept-encoding': 'br' } })
  t.equal(br.headers['content-encoding'], 'br')
  t.equal(br.headers.etag, `"${VERSION}-br"`)
  t.equal(brotliDecompressSync(br.rawPayload).toString(), JS)
  t.ok(br.rawPayload.length < JS.length / 5, `${br.rawPayload.length} bytes instead of ${JS.length}`)
  const gz = await app.inject({ url: '/static/app.js', headers: { 'accept-encoding': 'gzip' } })
  t.equal(gunzipSync(gz.rawPayload).toString(), JS)
  t.equal((await app.inject({ url: '/static/app.js', headers: { 'accept-encoding': 'br', range: 'bytes=5-9' } })).body, JS.slice(5, 10))
  const png = await app.inject({ url: '/static/logo.png', headers: { 'accept-encoding': 'br' } })
  t.equal(png.headers['content-encoding'], undefined, 'images are not compressed')
  const names = readdirSync(cache + '/c').sort()
  t.same(names, [sha(JS).slice(0, 64) + '.br', sha(JS).slice(0, 64) + '.gz'], 'named by content, nothing else written')
  t.equal(statSync(cache + '/c').mode & 0o777, 0o700)

  // Another process (a second worker, the next start) reuses the copies after checking them.
  const mtimes = names.map((name) => statSync(cache + '/c/' + name).mtimeMs)
  const second = await build(t, { 'app.js': JS }, { staticCompressDir: cache + '/c' })
  await second.app.inject('/static/app.js')
  t.same((await logged(second.logs, 'static file compressed in the background')).encodings, ['br', 'gzip'])
  t.same(names.map((name) => statSync(cache + '/c/' + name).mtimeMs), mtimes, 'not written again')
  t.equal((await second.app.inject({ url: '/static/app.js', headers: { 'accept-encoding': 'gzip' } })).headers['content-encoding'], 'gzip')
})

t.test('while its compression runs, no cache may keep a large file\'s identity answer as the one for gzip or br clients', async (t) => {
  const cache = tempdir(t)
  const { app, dir, logs } = await build(t, { 'app.js': JS, 'same.js': JS, 'logo.png': PNG }, { staticCompressDir: cache + '/c' })
  const url = `/static/app.js?v=${VERSION}`
  // Together: both are answered from the first load, before the compressor has done any I/O.
  const [br, identity, gzip, range] = await Promise.all([
    app.inject({ url, headers: { 'accept-encoding': 'gzip, deflate, br' } }),
    app.inject({ url }),
    app.inject({ url, headers: { 'accept-encoding': 'gzip' } }),
    app.inject({ url, headers: { 'accept-encoding': 'gzip', range: 'bytes=0-9' } })
  ])
  for (const answer of [br, gzip]) {
    t.equal(answer.headers['content-encoding'], undefined, 'identity for now')
    t.equal(answer.body, JS)
    t.equal(answer.headers['cache-control'], 'no-store', 'its br / gzip answer comes in a few seconds: nobody keeps this one')
    t.equal(answer.headers.vary, 'Accept-Encoding', 'the answer already depends on Accept-Encoding')
  }
  t.equal(identity.headers['cache-control'], IMMUTABLE_CACHE_CONTROL, 'identity is what an identity client will always get')
  t.equal(identity.headers.vary, 'Accept-Encoding', 'but only for identity clients')
  t.equal(range.statusCode, 206)
  t.equal(range.headers['cache-control'], IMMUTABLE_CACHE_CONTROL, 'a range is identity bytes whatever happens')
  t.equal(range.headers.vary, undefined)
  // Same bytes under another name, with a valid sibling of its own: not "compressing".
  writeFileSync(join(dir, 'same.js.br'), BR)
  const sibling = await app.inject({ url: '/static/same.js', headers: { 'accept-encoding': 'br' } })
  t.equal(sibling.headers['content-encoding'], 'br')
  t.equal(sibling.headers['cache-control'], REVALIDATE_CACHE_CONTROL)
  const png = await app.inject({ url: '/static/logo.png', headers: { 'accept-encoding': 'br' } })
  t.equal(png.headers['cache-control'], REVALIDATE_CACHE_CONTROL, 'an image is never compressed, so never "compressing"')
  t.equal(png.headers.vary, undefined)

  await logged(logs, 'static file compressed in the background')
  const after = await app.inject({ url, headers: { 'accept-encoding': 'gzip, deflate, br' } })
  t.equal(after.headers['content-encoding'], 'br')
  t.equal(after.headers['cache-control'], IMMUTABLE_CACHE_CONTROL, 'then far-future, compressed')
})

t.test('a copy in the cache that does not decode to the file is replaced, never sent', async (t) => {
  const cache = tempdir(t, { [sha(JS).slice(0, 64) + '.br']: brotliCompressSync(OTHER), [sha(JS).slice(0, 64) + '.gz']: 'junk' })
  const { app, logs } = await build(t, { 'app.js': JS }, { staticCompressDir: cache })
  await app.inject('/static/app.js')
  await logged(logs, 'static file compressed in the background')
  const br = await app.inject({ url: '/static/app.js', headers: { 'accept-encoding': 'br' } })
  t.equal(brotliDecompressSync(br.rawPayload).toString(), JS)
})

t.test('the disk budget bounds background compression', async (t) => {
  const cache = tempdir(t, { 'old.br': Buffer.alloc(1000) }) // already there: counts against the budget
  const { app, logs } = await build(t, { 'app.js': JS }, { staticCompressDir: cache, staticCompressDiskBudget: JS.length + 1500 })
  await app.inject('/static/app.js')
  t.same((await logged(logs, 'static file compressed in the background')).encodings, [])
  t.same(readdirSync(cache), ['old.br'], 'nothing written past the budget')
  t.equal((await app.inject({ url: '/static/app.js', headers: { 'accept-encoding': 'br' } })).headers['content-encoding'], undefined)
})

t.test('a file that does not shrink, or changed while compressed, keeps no copy', async (t) => {
  const random = createHash('sha512')
  const noise = Buffer.concat(Array.from({ length: 5000 }, (_, i) => random.copy().update(String(i)).digest()))
  const cache = tempdir(t)
  const source = tempdir(t, { 'noise.txt': noise, 'a.txt': JS })
  const compressor = new BackgroundCompressor({ dir: cache, diskBudget: 1e9, onError: (error) => { throw error } })
  const results: unknown[] = []
  compressor.schedule({ realPath: source + '/noise.txt', digest: sha(noise), size: noise.length }, (found) => results.push(found))
  compressor.schedule({ realPath: source + '/a.txt', digest: sha('something else'), size: JS.length }, (found) => results.push(found))
  await compressor.idle()
  t.same(results, [{}, {}])
  t.same(readdirSync(cache), [], 'temporary files removed')
})

t.test('the compressor queue is bounded, reports failures and stops on close', async (t) => {
  const cache = tempdir(t)
  const errors: unknown[] = []
  const compressor = new BackgroundCompressor({ dir: cache, diskBudget: 0, onError: (error) => errors.push(error) })
  let done = 0
  for (let i = 0; i <= MAX_QUEUED; i++) compressor.schedule({ realPath: cache + '/none', digest: String(i).padStart(64, '0'), size: 10 }, () => { done++ })
  compressor.schedule({ realPath: cache + '/none', digest: '0'.repeat(64), size: 10 }, () => { done++ }) // a digest already queued
  await compressor.idle()
  t.equal(done, MAX_QUEUED, 'requests past the bound are dropped')

  const failing = new BackgroundCompressor({ dir: cache, diskBudget: 1e9, onError: (error) => errors.push(error) })
  failing.schedule({ realPath: cache + '/missing.js', digest: 'f'.repeat(128), size: 10 }, () => { done++ })
  await failing.idle()
  t.equal(errors.length, 1, 'a read error is reported')
  t.same(readdirSync(cache), [], 'and leaves nothing behind')

  const source = tempdir(t, { 'a.js': JS })
  const stopped = new BackgroundCompressor({ dir: cache, diskBudget: 1e9, onError: (error) => errors.push(error) })
  stopped.schedule({ realPath: source + '/a.js', digest: sha(JS), size: JS.length }, () => { done++ })
  stopped.schedule({ realPath: source + '/a.js', digest: sha('x'), size: JS.length }, () => { done++ })
  await stopped.stop()
  stopped.schedule({ realPath: source + '/a.js', digest: sha('y'), size: JS.length }, () => { done++ })
  await stopped.idle()
  t.equal(done, MAX_QUEUED, 'nothing finished after stop()')
  t.equal(errors.length, 1, 'an abandoned compression is not an error')
  t.same(readdirSync(cache), [])
})

t.test('decodesTo stops a sibling that decodes to more bytes than the file has', async (t) => {
  const dir = t.testdir({ 'bomb.gz': gzipSync(Buffer.alloc(50 * 1024 * 1024)) })
  t.equal(await decodesTo(dir + '/bomb.gz', 'gzip', sha(''), 1000), false)
  t.equal(await decodesTo(dir + '/missing.gz', 'gzip', sha(''), 1000), false)
})

t.test('warm-up loads a file with its siblings, not the siblings as files of their own', async (t) => {
  for (const precompressed of [true, false]) {
    const { logs } = await build(t, { 'app.js': JS, 'app.js.br': BR, 'app.js.gz': GZ, 'lone.gz': GZ }, { staticWarmup: true, staticPrecompressed: precompressed })
    t.equal((await logged(logs, 'static files hashed')).files, precompressed ? 2 : 4)
  }
})

t.test('staticCompressDir must be a path or false', async (t) => {
  for (const value of ['', 0, true]) {
    await t.rejects(build(t, {}, { staticCompressDir: value as string }), { code: 'FDK_SETTINGS_INVALID', message: /"staticCompressDir"/ })
  }
})
