// The example app (the seed's settings block in Fastify) as a user sees it.
import t, { type Test } from 'tap'
// @ts-expect-error -- the example is plain JavaScript with no declarations
import buildApp from '../example/app.js'
import type { FastifyInstance } from 'fastify'

async function example (t: Test): Promise<FastifyInstance> {
  const app = await buildApp({ logger: false }) as FastifyInstance
  t.teardown(() => app.close())
  return app
}

t.test('the home page links its stylesheet and script with content versions', async (t) => {
  const app = await example(t)
  const page = await app.inject('/')
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /text\/html/)
  const links = [...page.body.matchAll(/(?:href|src)="(\/static\/[^"]+)"/g)].map((m) => m[1] as string)
  t.same(links.map((link) => link.replace(/\?v=[0-9a-f]{32}$/, '?v=HASH')), ['/static/site.css?v=HASH', '/static/site.js?v=HASH'])
  for (const link of links) {
    const asset = await app.inject(link)
    t.equal(asset.statusCode, 200, link)
    t.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable')
  }
})

t.test('robots.txt, favicon.ico and apple-touch-icon.png are served at the root', async (t) => {
  const app = await example(t)
  t.match((await app.inject('/robots.txt')).body, /User-agent/)
  t.equal((await app.inject('/favicon.ico')).headers['content-type'], 'image/vnd.microsoft.icon')
  t.equal((await app.inject('/apple-touch-icon.png')).headers['content-type'], 'image/png')
})

t.test('the example page is gzipped for clients that accept it', async (t) => {
  const app = await example(t)
  const css = await app.inject({ url: '/static/site.css', headers: { 'accept-encoding': 'gzip' } })
  t.equal(css.headers['content-encoding'], 'gzip')
})

t.test('buildApp() with no options logs at LOG_LEVEL and takes the seed settings', async (t) => {
  const previous = process.env.LOG_LEVEL
  process.env.LOG_LEVEL = 'silent'
  t.teardown(() => { if (previous === undefined) delete process.env.LOG_LEVEL; else process.env.LOG_LEVEL = previous })
  const app = await buildApp() as FastifyInstance
  t.teardown(() => app.close())
  t.equal(app.log.level, 'silent')
  t.equal((await app.inject('/robots.txt')).statusCode, 200)
  delete process.env.LOG_LEVEL
  const quiet = await buildApp() as FastifyInstance
  t.teardown(() => quiet.close())
  t.equal(quiet.log.level, 'info', 'info by default (no request made, so nothing is printed)')
})
