// CDN hosts (staticUrlHost, Rails asset_host; includeHost, Tornado
// include_host), directory URLs (staticDefaultFilename, Tornado
// default_filename) and reply.sendFile().
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import deployKit, { type DeployKitSettings } from '../../lib/index.js'

const CSS = 'body { color: #222; margin: 0 auto; }\n'.repeat(60)
const BIG = 'All work and no play makes Jack a dull boy.\n'.repeat(8000)
const V = createHash('sha512').update(CSS).digest('hex').slice(0, 32)

function fixture (t: Test): string {
  return t.testdir({
    'site.css': CSS,
    'big.txt': BIG,
    'index.html': '<h1>root</h1>',
    '.env': 'SECRET=1',
    docs: { 'index.html': '<h1>docs</h1>', empty: { 'x.txt': 'x' } }
  })
}

async function build (t: Test, settings: DeployKitSettings = {}, routes?: (app: FastifyInstance) => void): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(deployKit, { staticWarmup: false, staticCompressDir: false, staticPath: fixture(t), ...settings })
  routes?.(app)
  t.teardown(() => app.close())
  await app.ready()
  return app
}

t.test('staticUrlHost puts the CDN in front of every URL; files are still served under the prefix', async (t) => {
  const app = await build(t, { staticUrlHost: 'https://cdn.example.com' })
  t.equal(app.staticUrl('site.css'), `https://cdn.example.com/static/site.css?v=${V}`)
  t.equal(app.staticUrl('site.css', { includeVersion: false }), 'https://cdn.example.com/static/site.css')
  t.equal(app.staticUrl('site.css', { includeHost: true }), `https://cdn.example.com/static/site.css?v=${V}`, 'the CDN wins over the request host')
  t.equal((await app.inject(`/static/site.css?v=${V}`)).headers['cache-control'], 'public, max-age=31536000, immutable', 'the origin the CDN pulls from')
  for (const [host, expected] of [
    ['https://cdn.example.com/', 'https://cdn.example.com'],
    ['https://cdn.example.com/app/', 'https://cdn.example.com/app'],
    ['http://localhost:9000', 'http://localhost:9000'],
    ['//cdn.example.com', '//cdn.example.com'],
    ['HTTPS://CDN.Example.com', 'https://cdn.example.com']
  ] as const) {
    const other = await build(t, { staticUrlHost: host })
    t.equal(other.staticUrl('site.css'), `${expected}/static/site.css?v=${V}`, host)
  }
})

t.test('staticUrlHost must be an http(s) origin', async (t) => {
  for (const host of ['cdn.example.com', 'ftp://cdn.example.com', 'https://cdn.example.com?a=1', 'https://cdn.example.com?',
    'https://cdn.example.com#x', 'https://user@cdn.example.com', 'https://:pw@cdn.example.com', 'https://cdn.example.com/a b',
    'javascript:alert(1)', 'https://', '', 7]) {
    await t.rejects(build(t, { staticUrlHost: host as string }), { code: 'FDK_SETTINGS_INVALID', message: /"staticUrlHost"/ }, String(host))
  }
})

t.test('includeHost uses the request\'s scheme and host (reply and templates); without a request it is an error', async (t) => {
  const app = await build(t, {}, (app) => {
    app.get('/page', (request, reply) => ({
      reply: reply.staticUrl('site.css', { includeHost: true }),
      local: (reply.locals.staticUrl as typeof reply.staticUrl)('site.css', { includeHost: true }),
      plain: reply.staticUrl('site.css')
    }))
  })
  const response = await app.inject({ url: '/page', headers: { host: 'www.example.org:8080' } })
  t.same(response.json(), {
    reply: `http://www.example.org:8080/static/site.css?v=${V}`,
    local: `http://www.example.org:8080/static/site.css?v=${V}`,
    plain: `/static/site.css?v=${V}`
  })
  t.throws(() => app.staticUrl('site.css', { includeHost: true }), { name: 'TypeError', message: /needs a request/ })
})

t.test('staticDefaultFilename: /docs/ serves docs/index.html, /docs redirects to /docs/', async (t) => {
  const app = await build(t, { staticDefaultFilename: 'index.html' })
  const redirect = await app.inject('/static/docs')
  t.equal(redirect.statusCode, 301)
  t.equal(redirect.headers.location, '/static/docs/')
  t.equal((await app.inject('/static/docs?lang=en')).headers.location, '/static/docs/?lang=en')
  t.equal((await app.inject('/static/./docs//empty')).headers.location, '/static/docs/empty/', 'the canonical path')
  const page = await app.inject('/static/docs/')
  t.equal(page.statusCode, 200)
  t.equal(page.body, '<h1>docs</h1>')
  t.equal(page.headers['content-type'], 'text/html; charset=utf-8')
  t.match(page.headers.etag, /^"[0-9a-f]{32}"$/)
  t.equal((await app.inject('/static/')).body, '<h1>root</h1>', 'the prefix itself')
  t.equal((await app.inject('/static/docs/empty/')).statusCode, 404, 'a directory without the file')
  // Traversal through a default filename: test/unit/static-traversal.test.ts, over a raw socket.
})

t.test('without staticDefaultFilename a directory is 403, as before; so is a named pipe', async (t) => {
  const app = await build(t)
  execFileSync('mkfifo', [join(t.testdirName, 'pipe')])
  t.equal((await app.inject('/static/pipe')).statusCode, 403)
  t.equal((await app.inject('/static/docs/')).statusCode, 403)
  t.equal((await app.inject('/static/docs')).statusCode, 403)
  t.equal((await app.inject('/static/')).statusCode, 404)
})

t.test('staticDefaultFilename and staticUrlPrefix are checked at registration', async (t) => {
  for (const name of ['a/b', '..', '', '.index.html', 'a\\b']) {
    await t.rejects(build(t, { staticDefaultFilename: name }), { code: 'FDK_SETTINGS_INVALID', message: /"staticDefaultFilename"/ }, name)
  }
  await t.rejects(build(t, { staticUrlPrefix: '//' }), { code: 'FDK_SETTINGS_INVALID', message: /"staticUrlPrefix"/ })
  await t.rejects(build(t, { staticUrlPrefix: '/a//b/' }), { code: 'FDK_SETTINGS_INVALID', message: /"staticUrlPrefix"/ })
})

t.test('reply.sendFile() sends a file of staticPath with the static headers, Range and conditional requests', async (t) => {
  const app = await build(t, {}, (app) => {
    app.get('/app/*', (request, reply) => reply.sendFile('index.html'))
    app.get('/file/*', async (request, reply) => { return reply.sendFile((request.params as Record<string, string>)['*'] as string) })
    app.get('/bad', (request, reply) => reply.sendFile(42 as unknown as string))
  })
  const page = await app.inject('/app/some/client/route')
  t.equal(page.statusCode, 200)
  t.equal(page.body, '<h1>root</h1>')
  t.equal(page.headers['cache-control'], 'public, no-cache')
  const etag = page.headers.etag as string
  t.match(etag, /^"[0-9a-f]{32}"$/)
  t.equal((await app.inject({ url: '/app/x', headers: { 'if-none-match': etag } })).statusCode, 304)
  const range = await app.inject({ url: '/file/big.txt', headers: { range: 'bytes=4-7' } })
  t.equal(range.statusCode, 206)
  t.equal(range.body, 'work')
  t.equal((await app.inject('/file/big.txt')).body, BIG, 'a streamed file')
  t.equal((await app.inject({ url: '/file/site.css', headers: { 'accept-encoding': 'gzip' } })).headers['content-encoding'], 'gzip')
  t.equal((await app.inject('/file/..%2f..%2fetc%2fpasswd')).statusCode, 403)
  t.equal((await app.inject('/file/.env')).statusCode, 404)
  t.equal((await app.inject('/file/missing.txt')).statusCode, 404)
  t.equal((await app.inject('/file/docs')).statusCode, 403, 'a directory, even with a default file: no redirect from a route')
  t.equal((await app.inject('/bad')).statusCode, 500, 'a programming error, not a request\'s')
})

t.test('reply.sendFile() with compressResponse: the compress plugin never re-encodes our representations', async (t) => {
  const app = await build(t, { compressResponse: true }, (app) => {
    app.get('/file/*', (request, reply) => reply.sendFile((request.params as Record<string, string>)['*'] as string))
    app.get('/dynamic', () => BIG)
  })
  const big = await app.inject({ url: '/file/big.txt', headers: { 'accept-encoding': 'gzip' } })
  t.equal(big.headers['content-encoding'], undefined, 'identity, as its ETag says')
  t.equal(big.body, BIG)
  const css = await app.inject({ url: '/file/site.css', headers: { 'accept-encoding': 'gzip' } })
  t.equal(css.headers.etag, `"${V}-gzip"`)
  t.equal(gunzipSync(css.rawPayload).toString(), CSS, 'gzipped once')
  t.equal((await app.inject({ url: '/dynamic', headers: { 'accept-encoding': 'gzip' } })).headers['content-encoding'], 'gzip', 'other routes still compressed')
})
