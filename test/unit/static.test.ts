import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync, brotliDecompressSync } from 'node:zlib'
import deployKit, { type DeployKitSettings } from '../../lib/index.js'
import fastifyDeployStatic from '../../lib/static.js'
import { until } from '../helpers/wait.js'

const CSS = 'body { color: #222; margin: 0 auto; }\n'.repeat(60) // ~2.3 KiB, compressible
const BIG = Buffer.alloc(300 * 1024, 'abcdefghij') // above the default memory limit
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108020000009077', 'hex')

function sha (bytes: string | Buffer): string {
  return createHash('sha512').update(bytes).digest('hex')
}

function fixture (t: Test): string {
  const dir = t.testdir({
    'site.css': CSS,
    'big.txt': BIG,
    'logo.png': PNG,
    'robots.txt': 'User-agent: *\n',
    'favicon.ico': PNG,
    'apple-touch-icon.png': PNG,
    '.env': 'SECRET=1',
    sub: { 'page.js': 'console.log(1)\n', '.hidden': 'x' },
    'a b#1.txt': 'spaced'
  })
  return dir
}

async function build (t: Test, settings: DeployKitSettings = {}): Promise<{ app: FastifyInstance, dir: string }> {
  const dir = settings.staticPath ?? fixture(t)
  const app = Fastify()
  await app.register(deployKit, { staticWarmup: false, ...settings, staticPath: dir })
  t.teardown(() => app.close())
  await app.ready()
  return { app, dir }
}

t.test('files under /static/ are served with content type, length, ETag and Last-Modified', async (t) => {
  const { app } = await build(t)
  const response = await app.inject('/static/site.css')
  t.equal(response.statusCode, 200)
  t.equal(response.body, CSS)
  t.equal(response.headers['content-type'], 'text/css; charset=utf-8')
  t.equal(response.headers['content-length'], String(Buffer.byteLength(CSS)))
  t.equal(response.headers.etag, `"${sha(CSS).slice(0, 32)}"`)
  t.equal(response.headers['accept-ranges'], 'bytes')
  t.match(response.headers['last-modified'], /GMT$/)
  t.equal(response.headers.vary, 'Accept-Encoding')
})

t.test('nested files and names that need escaping are served', async (t) => {
  const { app } = await build(t)
  t.equal((await app.inject('/static/sub/page.js')).headers['content-type'], 'text/javascript; charset=utf-8')
  const spaced = await app.inject(app.staticUrl('a b#1.txt'))
  t.equal(spaced.statusCode, 200)
  t.equal(spaced.body, 'spaced')
})

t.test('root aliases serve from staticPath at the site root with a short max-age', async (t) => {
  const { app } = await build(t, { staticRootAliases: ['robots.txt', 'favicon.ico', 'apple-touch-icon.png'], staticRootAliasMaxAge: 600 })
  for (const name of ['robots.txt', 'favicon.ico', 'apple-touch-icon.png']) {
    const response = await app.inject('/' + name)
    t.equal(response.statusCode, 200, name)
    t.equal(response.headers['cache-control'], 'public, max-age=600')
  }
  t.equal((await app.inject('/robots.txt')).body, 'User-agent: *\n')
})

t.test('the default root aliases are robots.txt and favicon.ico only', async (t) => {
  const { app } = await build(t)
  t.equal((await app.inject('/robots.txt')).statusCode, 200)
  t.equal((await app.inject('/favicon.ico')).statusCode, 200)
  t.equal((await app.inject('/apple-touch-icon.png')).statusCode, 404)
})

t.test('an alias whose file is missing answers 404', async (t) => {
  const { app } = await build(t, { staticRootAliases: ['sitemap.xml'] })
  t.equal((await app.inject('/sitemap.xml')).statusCode, 404)
})

t.test('staticUrl() appends the content hash; the same bytes give the same URL on any machine', async (t) => {
  const { app } = await build(t)
  t.equal(app.staticUrl('site.css'), '/static/site.css?v=' + sha(CSS).slice(0, 32))
  t.equal(app.staticUrl('site.css', { includeVersion: false }), '/static/site.css')
  t.equal(app.staticUrl('/site.css'), app.staticUrl('site.css'), 'a leading slash is tolerated')
  const elsewhere = mkdtempSync(join(tmpdir(), 'fdk-other-host-'))
  t.teardown(() => rmSync(elsewhere, { recursive: true, force: true }))
  writeFileSync(join(elsewhere, 'site.css'), CSS)
  const other = await build(t, { staticPath: elsewhere })
  t.equal(other.app.staticUrl('site.css'), app.staticUrl('site.css'))
})

t.test('staticUrl() is on the reply too', async (t) => {
  const app = Fastify()
  await app.register(deployKit, { staticPath: fixture(t), staticWarmup: false })
  app.get('/page', (request, reply) => ({ css: reply.staticUrl('site.css') }))
  t.teardown(() => app.close())
  t.equal((await app.inject('/page')).json().css, app.staticUrl('site.css'))
})

t.test('staticHashLength sets the version length; the full Tornado hash is accepted as current', async (t) => {
  const { app } = await build(t, { staticHashLength: 128 })
  t.equal(app.staticUrl('site.css'), '/static/site.css?v=' + sha(CSS))
  const short = await build(t, { staticHashLength: 16 })
  t.equal(short.app.staticUrl('site.css'), '/static/site.css?v=' + sha(CSS).slice(0, 16))
  const tornadoUrl = '/static/site.css?v=' + sha(CSS)
  t.equal((await short.app.inject(tornadoUrl)).headers['cache-control'], 'public, max-age=31536000, immutable')
})

t.test('a missing file gets no ?v= and one warning in the log, never an exception', async (t) => {
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { lines.push(line) } } } })
  await app.register(deployKit, { staticPath: fixture(t), staticWarmup: false })
  t.teardown(() => app.close())
  t.equal(app.staticUrl('nope.css'), '/static/nope.css')
  t.equal(app.staticUrl('nope.css'), '/static/nope.css')
  t.equal(app.staticUrl('../package.json'), '/static/../package.json', 'no version for paths outside the root')
  t.equal(app.staticUrl('sub'), '/static/sub', 'no version for a directory')
  const warnings = lines.filter((line) => line.includes('nope.css'))
  t.equal(warnings.length, 1)
  t.match(warnings[0], /could not find static file/)
  t.throws(() => app.staticUrl(42 as unknown as string), TypeError)
})

t.test('only the current ?v= is cached for a year; no v or a stale v must revalidate', async (t) => {
  const { app } = await build(t)
  const current = await app.inject(app.staticUrl('site.css'))
  t.equal(current.headers['cache-control'], 'public, max-age=31536000, immutable')
  for (const url of ['/static/site.css', '/static/site.css?v=0123456789abcdef0123456789abcdef', '/static/site.css?v=', '/static/site.css?v=a&v=b']) {
    const response = await app.inject(url)
    t.equal(response.statusCode, 200, url)
    t.equal(response.headers['cache-control'], 'public, no-cache', url)
  }
})

t.test('a mixed fleet: Tornado\'s ETag for the same bytes (the whole SHA-512) answers 304 here too', async (t) => {
  for (const path of ['/static/site.css', '/robots.txt', '/static/big.txt']) {
    const { app } = await build(t)
    const bytes = path === '/static/big.txt' ? BIG : path === '/robots.txt' ? 'User-agent: *\n' : CSS
    const tornado = `"${sha(bytes)}"`
    for (const headers of [{}, { 'accept-encoding': 'gzip, br' }]) {
      const revalidated = await app.inject({ url: path, headers: { ...headers, 'if-none-match': tornado } })
      t.equal(revalidated.statusCode, 304, `${path} ${JSON.stringify(headers)}: Tornado's ETag is current`)
      t.equal(revalidated.headers.etag, (await app.inject({ url: path, headers })).headers.etag, 'answered with our own ETag')
      t.equal((await app.inject({ url: path, headers: { ...headers, 'if-none-match': `W/${tornado}` } })).statusCode, 304, 'weak comparison, as for ours')
    }
    const otherBytes = `"${sha('other bytes')}"`
    t.equal((await app.inject({ url: path, headers: { 'if-none-match': otherBytes } })).statusCode, 200, 'the digest of other bytes is not')
    t.equal((await app.inject({ url: path, headers: { 'if-none-match': `"${sha(bytes).slice(0, 64)}"` } })).statusCode, 200, 'nor a prefix of another length')
  }
  const { app } = await build(t, { staticHashLength: 128 })
  const response = await app.inject({ url: '/static/site.css', headers: { 'if-none-match': `"${sha(CSS)}"` } })
  t.equal(response.statusCode, 304, 'with staticHashLength: 128 the two ETags are one')
  t.equal(response.headers.etag, `"${sha(CSS)}"`)
})

for (const path of ['memory', 'streamed'] as const) {
  const limit = path === 'memory' ? 1024 * 1024 : 0 // 0: every file is streamed
  const file = '/static/big.txt'
  const size = BIG.length

  t.test(`${path}: If-None-Match with the ETag answers 304 without a body or content type`, async (t) => {
    const { app } = await build(t, { staticMemoryFileLimit: limit })
    const first = await app.inject(file)
    const etag = first.headers.etag as string
    const again = await app.inject({ url: file, headers: { 'if-none-match': `W/${etag}` } })
    t.equal(again.statusCode, 304)
    t.equal(again.body, '')
    t.equal(again.headers['content-type'], undefined)
    t.equal(again.headers.etag, etag)
    t.equal(again.headers['cache-control'], 'public, no-cache')
    const other = await app.inject({ url: file, headers: { 'if-none-match': '"other"' } })
    t.equal(other.statusCode, 200)
  })

  t.test(`${path}: If-Modified-Since answers 304 when the file is not newer, ignored when If-None-Match is present`, async (t) => {
    const { app } = await build(t, { staticMemoryFileLimit: limit })
    const lastModified = (await app.inject(file)).headers['last-modified'] as string
    t.equal((await app.inject({ url: file, headers: { 'if-modified-since': lastModified } })).statusCode, 304)
    t.equal((await app.inject({ url: file, headers: { 'if-modified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' } })).statusCode, 200)
    t.equal((await app.inject({ url: file, headers: { 'if-modified-since': 'Tue, 32 Jan 2024 03:04:05 GMT' } })).statusCode, 200)
    t.equal((await app.inject({ url: file, headers: { 'if-modified-since': lastModified, 'if-none-match': '"other"' } })).statusCode, 200)
  })

  t.test(`${path}: a single Range gives 206 with Content-Range and exactly those bytes`, async (t) => {
    const { app } = await build(t, { staticMemoryFileLimit: limit })
    const response = await app.inject({ url: file, headers: { range: 'bytes=10-19', 'accept-encoding': 'gzip' } })
    t.equal(response.statusCode, 206)
    t.equal(response.headers['content-range'], `bytes 10-19/${size}`)
    t.equal(response.headers['content-length'], '10')
    t.equal(response.headers['content-encoding'], undefined, 'ranges are identity bytes')
    t.same(response.rawPayload, BIG.subarray(10, 20))
    const suffix = await app.inject({ url: file, headers: { range: 'bytes=-5' } })
    t.same(suffix.rawPayload, BIG.subarray(size - 5))
  })

  t.test(`${path}: unsatisfiable Range gives 416 with bytes */size; a list of ranges gives the whole file`, async (t) => {
    const { app } = await build(t, { staticMemoryFileLimit: limit })
    const response = await app.inject({ url: file, headers: { range: `bytes=${size}-` } })
    t.equal(response.statusCode, 416)
    t.equal(response.headers['content-range'], `bytes */${size}`)
    t.equal(response.body, '')
    const list = await app.inject({ url: file, headers: { range: 'bytes=0-1,5-6' } })
    t.equal(list.statusCode, 200)
    t.equal(list.rawPayload.length, size)
  })

  t.test(`${path}: HEAD has the GET headers, the full Content-Length and no body`, async (t) => {
    const { app } = await build(t, { staticMemoryFileLimit: limit })
    const get = await app.inject(file)
    const head = await app.inject({ method: 'HEAD', url: file })
    t.equal(head.statusCode, 200)
    t.equal(head.body, '')
    t.equal(head.headers['content-length'], String(size))
    for (const name of ['etag', 'last-modified', 'content-type', 'cache-control', 'accept-ranges']) {
      t.equal(head.headers[name], get.headers[name], name)
    }
    const ranged = await app.inject({ method: 'HEAD', url: file, headers: { range: 'bytes=0-9' } })
    t.equal(ranged.statusCode, 206)
    t.equal(ranged.headers['content-length'], '10')
    t.equal(ranged.body, '')
  })

  t.test(`${path}: the whole file arrives intact with its content ETag`, async (t) => {
    const { app } = await build(t, { staticMemoryFileLimit: limit })
    const response = await app.inject(file)
    t.equal(response.statusCode, 200)
    t.same(response.rawPayload, BIG)
    t.equal(response.headers.etag, `"${sha(BIG).slice(0, 32)}"`)
  })
}

t.test('small text files come precompressed: brotli preferred, gzip by q-value, identity without Accept-Encoding', async (t) => {
  const { app } = await build(t)
  const br = await app.inject({ url: '/static/site.css', headers: { 'accept-encoding': 'gzip, deflate, br' } })
  t.equal(br.headers['content-encoding'], 'br')
  t.equal(brotliDecompressSync(br.rawPayload).toString(), CSS)
  t.ok(br.rawPayload.length < Buffer.byteLength(CSS) / 4)
  t.equal(br.headers.vary, 'Accept-Encoding')
  t.not(br.headers.etag, (await app.inject('/static/site.css')).headers.etag, 'each representation has its own ETag')
  const gzip = await app.inject({ url: '/static/site.css', headers: { 'accept-encoding': 'gzip, br;q=0.5' } })
  t.equal(gzip.headers['content-encoding'], 'gzip')
  t.equal(gunzipSync(gzip.rawPayload).toString(), CSS)
  const none = await app.inject({ url: '/static/site.css', headers: { 'accept-encoding': 'deflate' } })
  t.equal(none.headers['content-encoding'], undefined)
  t.equal(none.body, CSS)
  const notModified = await app.inject({ url: '/static/site.css', headers: { 'accept-encoding': 'gzip', 'if-none-match': gzip.headers.etag as string } })
  t.equal(notModified.statusCode, 304)
  t.equal(notModified.headers['content-encoding'], undefined)
})

t.test('images and incompressible files are sent as they are, without Vary', async (t) => {
  const { app } = await build(t)
  const response = await app.inject({ url: '/static/logo.png', headers: { 'accept-encoding': 'gzip, br' } })
  t.equal(response.headers['content-type'], 'image/png')
  t.equal(response.headers['content-encoding'], undefined)
  t.equal(response.headers.vary, undefined)
  t.same(response.rawPayload, PNG)
})

t.test('dotfiles are not served unless staticDotfiles allows them', async (t) => {
  const { app, dir } = await build(t)
  t.equal((await app.inject('/static/.env')).statusCode, 404)
  t.equal((await app.inject('/static/sub/.hidden')).statusCode, 404)
  const open = await build(t, { staticPath: dir, staticDotfiles: true })
  t.equal((await open.app.inject('/static/.env')).body, 'SECRET=1')
})

t.test('directories are never listed', async (t) => {
  const { app } = await build(t)
  t.equal((await app.inject('/static/sub')).statusCode, 403)
  t.equal((await app.inject('/static/sub/')).statusCode, 403)
  t.equal((await app.inject('/static/')).statusCode, 404)
})

t.test('symlinks that leave staticPath are 404; symlinks inside it are served', async (t) => {
  const outside = t.testdir({ 'secret.txt': 'TOP SECRET', static: { 'real.txt': 'real' } })
  const dir = outside + '/static'
  symlinkSync(outside + '/secret.txt', dir + '/leak.txt')
  symlinkSync(outside, dir + '/up')
  symlinkSync(dir + '/real.txt', dir + '/alias.txt')
  const { app } = await build(t, { staticPath: dir })
  t.equal((await app.inject('/static/leak.txt')).statusCode, 404)
  t.equal((await app.inject('/static/up/secret.txt')).statusCode, 404)
  t.equal(app.staticUrl('leak.txt'), '/static/leak.txt')
  t.equal((await app.inject('/static/alias.txt')).body, 'real')
})

t.test('production (staticHashCache) keeps serving the bytes its ETag describes when a small file changes', async (t) => {
  const { app, dir } = await build(t)
  const before = await app.inject('/static/site.css')
  const url = app.staticUrl('site.css')
  writeFileSync(dir + '/site.css', 'body{}')
  const after = await app.inject('/static/site.css')
  t.equal(after.body, CSS, 'the memory copy is served until restart')
  t.equal(after.headers.etag, before.headers.etag)
  t.equal(app.staticUrl('site.css'), url)
})

t.test('a large file edited in production gets a new ETag: no 304 for changed bytes (Tornado answers 304)', async (t) => {
  const { app, dir } = await build(t)
  const before = await app.inject('/static/big.txt')
  const changed = Buffer.alloc(BIG.length + 1, 'z')
  writeFileSync(dir + '/big.txt', changed)
  const after = await app.inject({ url: '/static/big.txt', headers: { 'if-none-match': before.headers.etag as string } })
  t.equal(after.statusCode, 200)
  t.same(after.rawPayload, changed)
  t.equal(after.headers.etag, `"${sha(changed).slice(0, 32)}"`)
})

t.test('debug mode re-hashes an edited file: new ?v=, new ETag, and the old ETag gets the new bytes', async (t) => {
  const { app, dir } = await build(t, { debug: true })
  const oldUrl = app.staticUrl('site.css')
  const before = await app.inject('/static/site.css')
  writeFileSync(dir + '/site.css', 'body { color: red }')
  utimesSync(dir + '/site.css', new Date(), new Date(Date.now() + 5000))
  const newUrl = app.staticUrl('site.css')
  t.not(newUrl, oldUrl)
  t.equal(newUrl, '/static/site.css?v=' + sha('body { color: red }').slice(0, 32))
  const after = await app.inject({ url: '/static/site.css', headers: { 'if-none-match': before.headers.etag as string } })
  t.equal(after.statusCode, 200)
  t.equal(after.body, 'body { color: red }')
  t.not(after.headers.etag, before.headers.etag)
  t.equal((await app.inject(newUrl)).headers['cache-control'], 'public, max-age=31536000, immutable')
  t.equal((await app.inject(oldUrl)).headers['cache-control'], 'public, no-cache')
  t.equal(app.staticUrl('site.css'), newUrl, 'unchanged files keep their version')
})

t.test('a file created after start is found on its first request', async (t) => {
  const { app, dir } = await build(t)
  t.equal((await app.inject('/static/new.txt')).statusCode, 404)
  t.equal(app.staticUrl('new.txt'), '/static/new.txt')
  writeFileSync(dir + '/new.txt', 'new')
  t.equal((await app.inject('/static/new.txt')).body, 'new')
  t.equal(app.staticUrl('new.txt'), '/static/new.txt?v=' + sha('new').slice(0, 32))
})

t.test('the memory budget is respected: files beyond it stream with the same headers', async (t) => {
  const { app } = await build(t, { staticMemoryBudget: 100 })
  const response = await app.inject({ url: '/static/site.css', headers: { 'accept-encoding': 'gzip' } })
  t.equal(response.statusCode, 200)
  t.equal(response.body, CSS)
  t.equal(response.headers['content-encoding'], undefined)
  t.equal(response.headers['content-length'], String(Buffer.byteLength(CSS)))
})

t.test('a file whose variants overflow the budget is streamed instead', async (t) => {
  const size = Buffer.byteLength(CSS)
  const { app } = await build(t, { staticMemoryBudget: size + 10 })
  const response = await app.inject({ url: '/static/site.css', headers: { 'accept-encoding': 'br' } })
  t.equal(response.body, CSS)
  t.equal(response.headers['content-encoding'], undefined)
})

t.test('concurrent first requests for one file load it once and all succeed', async (t) => {
  const { app } = await build(t)
  const responses = await Promise.all(Array.from({ length: 20 }, () => app.inject('/static/site.css')))
  t.same(new Set(responses.map((r) => r.statusCode)), new Set([200]))
  t.same(new Set(responses.map((r) => r.headers.etag)).size, 1)
})

t.test('warm-up hashes every file in the background after ready', async (t) => {
  const dir = t.testdir({ 'a.css': 'a{}', deep: { er: { 'b.js': 'b()' } }, '.git': { config: 'x' } })
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'debug', stream: { write: (line: string) => { lines.push(line) } } } })
  await app.register(deployKit, { staticPath: dir })
  await app.ready()
  t.teardown(() => app.close())
  await until('"static files hashed" logged', () => lines.some((line) => line.includes('static files hashed')), { everyMs: 10, last: () => lines.slice(-5).join('') })
  const done = JSON.parse(lines.find((line) => line.includes('static files hashed')) as string)
  t.equal(done.files, 2, 'dotfile directories are skipped')
  t.equal((await app.inject('/static/deep/er/b.js')).body, 'b()')
})

t.test('warm-up stops quietly when the app closes or the directory disappears', async (t) => {
  const dir = t.testdir({ 'a.css': 'a{}' })
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'debug', stream: { write: (line: string) => { lines.push(line) } } } })
  await app.register(deployKit, { staticPath: dir })
  await app.ready()
  await app.close()
  await until('"static files hashed" logged', () => lines.some((line) => line.includes('static files hashed')), { everyMs: 10, last: () => lines.slice(-5).join('') })
  t.equal(JSON.parse(lines.find((line) => line.includes('static files hashed')) as string).files, 0)

  const gone = mkdtempSync(join(tmpdir(), 'fdk-gone-'))
  t.teardown(() => rmSync(gone, { recursive: true, force: true }))
  mkdirSync(gone + '/sub')
  const second = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { lines.push(line) } } } })
  await second.register(deployKit, { staticPath: gone + '/sub' })
  mkdirSync(gone + '/other')
  rmSync(gone + '/sub', { recursive: true })
  await second.ready()
  t.teardown(() => second.close())
  await until('"warm-up stopped" logged', () => lines.some((line) => line.includes('warm-up stopped')), { everyMs: 10, last: () => lines.slice(-5).join('') })
  t.ok(lines.some((line) => line.includes('warm-up stopped')))
})

t.test('a custom prefix is used for routes and URLs', async (t) => {
  const { app } = await build(t, { staticUrlPrefix: '/assets/v1/' })
  t.match(app.staticUrl('site.css'), /^\/assets\/v1\/site\.css\?v=/)
  t.equal((await app.inject(app.staticUrl('site.css'))).statusCode, 200)
  t.equal((await app.inject('/static/site.css')).statusCode, 404)
})

t.test('the static plugin works on its own, without the umbrella', async (t) => {
  const app = Fastify()
  await app.register(fastifyDeployStatic, { staticPath: fixture(t), staticWarmup: false })
  t.teardown(() => app.close())
  t.equal((await app.inject('/static/site.css')).statusCode, 200)
})

t.test('bad static settings fail at registration with a coded error naming the setting', async (t) => {
  const dir = fixture(t)
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ staticPath: dir + '/nope' }, 'FDK_STATIC_PATH_MISSING', /nope/],
    [{ staticPath: dir + '/site.css' }, 'FDK_STATIC_PATH_MISSING', /site\.css/],
    [{ staticPath: '' }, 'FDK_SETTINGS_INVALID', /"staticPath"/],
    [{ staticPath: dir, staticUrlPrefix: 'static' }, 'FDK_SETTINGS_INVALID', /"staticUrlPrefix": received "static", expected a path that starts and ends with "\/"/],
    [{ staticPath: dir, staticUrlPrefix: '/st*/' }, 'FDK_SETTINGS_INVALID', /staticUrlPrefix/],
    [{ staticPath: dir, staticRootAliases: ['../x'] }, 'FDK_SETTINGS_INVALID', /staticRootAliases/],
    [{ staticPath: dir, staticRootAliases: 'robots.txt' }, 'FDK_SETTINGS_INVALID', /staticRootAliases/],
    [{ staticPath: dir, staticHashLength: 200 }, 'FDK_SETTINGS_INVALID', /from 16 to 128/],
    [{ staticPath: dir, staticHashLength: 8 }, 'FDK_SETTINGS_INVALID', /staticHashLength/],
    [{ staticPath: dir, staticHashCache: 'yes' }, 'FDK_SETTINGS_INVALID', /staticHashCache": received "yes", expected a boolean/],
    [{ staticPath: dir, staticMemoryBudget: -1 }, 'FDK_SETTINGS_INVALID', /staticMemoryBudget/]
  ]
  for (const [settings, code, message] of cases) {
    const app = Fastify()
    app.register(deployKit, settings)
    const error = await app.ready().then(() => null, (e: Error & { code: string }) => e)
    t.equal(error?.code, code, JSON.stringify(settings))
    t.match(error?.message, message)
  }
})

t.test('compressResponse gzips dynamic responses above 1000 bytes and never re-compresses static ones', async (t) => {
  const app = Fastify()
  await app.register(deployKit, { staticPath: fixture(t), staticWarmup: false, compressResponse: true })
  app.get('/big', (request, reply) => reply.type('text/plain').send('x'.repeat(1000)))
  app.get('/small', (request, reply) => reply.type('text/plain').send('x'.repeat(999)))
  t.teardown(() => app.close())
  const big = await app.inject({ url: '/big', headers: { 'accept-encoding': 'gzip' } })
  t.equal(big.headers['content-encoding'], 'gzip')
  t.equal(gunzipSync(big.rawPayload).toString(), 'x'.repeat(1000))
  const small = await app.inject({ url: '/small', headers: { 'accept-encoding': 'gzip' } })
  t.equal(small.headers['content-encoding'], undefined)
  const css = await app.inject({ url: '/static/site.css', headers: { 'accept-encoding': 'gzip' } })
  t.equal(gunzipSync(css.rawPayload).toString(), CSS, 'one layer of gzip')
  const streamed = await app.inject({ url: '/static/big.txt', headers: { 'accept-encoding': 'gzip' } })
  t.same(streamed.rawPayload, BIG, 'large static files are sent as they are')
})

t.test('compressResponse accepts @fastify/compress options and rejects other values', async (t) => {
  const app = Fastify()
  await app.register(deployKit, { compressResponse: { threshold: 10 } })
  app.get('/', (request, reply) => reply.type('text/plain').send('y'.repeat(20)))
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/', headers: { 'accept-encoding': 'gzip' } })).headers['content-encoding'], 'gzip')
  for (const bad of ['gzip', 1, null]) {
    const other = Fastify()
    other.register(deployKit, { compressResponse: bad as never })
    const error = await other.ready().then(() => null, (e: Error & { code: string }) => e)
    t.equal(error?.code, 'FDK_SETTINGS_INVALID')
  }
  const off = Fastify()
  await off.register(deployKit, { compressResponse: false })
  off.get('/', (request, reply) => reply.type('text/plain').send('y'.repeat(2000)))
  t.equal((await off.inject({ url: '/', headers: { 'accept-encoding': 'gzip' } })).headers['content-encoding'], undefined)
})

t.test('Accept-Encoding values from clients cannot grow memory without bound', async (t) => {
  const { app } = await build(t)
  for (let i = 0; i < 300; i++) {
    const response = await app.inject({ url: '/static/site.css', headers: { 'accept-encoding': `gzip;q=0.${i % 9 + 1}, x-${i}` } })
    t.equal(response.headers['content-encoding'], 'gzip')
    if (response.statusCode !== 200) break
  }
})

t.test('a path spelled differently reaches the same loaded file', async (t) => {
  const { app } = await build(t)
  const first = await app.inject('/static/sub/page.js')
  const second = await app.inject('/static/sub//page.js')
  t.equal(second.statusCode, 200)
  t.equal(second.headers.etag, first.headers.etag)
})

t.test('debug mode: staticUrl() of an unchanged, never-requested file is stable', async (t) => {
  const { app } = await build(t, { debug: true })
  const url = app.staticUrl('sub/page.js')
  t.equal(app.staticUrl('sub/page.js'), url)
  t.match(url, /\?v=[0-9a-f]{32}$/)
})

t.test('the compress plugin on its own with no options compresses nothing', async (t) => {
  const { fastifyDeployCompress } = await import('../../lib/index.js')
  const app = Fastify()
  await app.register(fastifyDeployCompress, {})
  app.get('/', (request, reply) => reply.type('text/plain').send('y'.repeat(5000)))
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/', headers: { 'accept-encoding': 'gzip' } })).headers['content-encoding'], undefined)
})

t.test('repeated If-None-Match header lines are read together', async (t) => {
  const { app } = await build(t)
  const etag = (await app.inject('/static/site.css')).headers.etag as string
  const response = await app.inject({ url: '/static/site.css', headers: { 'if-none-match': ['"nope"', etag] as unknown as string } })
  t.equal(response.statusCode, 304)
})
