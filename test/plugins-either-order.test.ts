// Issue 10 item 6: an app that registers @fastify/formbody, @fastify/cookie or
// @fastify/compress itself, before or after the kit, either keeps working (the
// kit reuses what the app registered) or is refused at start-up with a coded
// error naming the kit's setting and the fix; never Fastify's "already
// present" error, never an uncaught crash.
import t from 'tap'
import Fastify, { type FastifyInstance, type FastifyPluginCallback } from 'fastify'
import fastifyFormbody from '@fastify/formbody'
import fastifyCookie from '@fastify/cookie'
import fastifyCompress from '@fastify/compress'
import fastifyMultipart from '@fastify/multipart'
import { gunzipSync } from 'node:zlib'
import deployKit, { type DeployKitSettings } from '../lib/index.js'
import { multipart, urlencoded, xsrfCookieValue } from './helpers/forms.js'

const ORDERS = ['before', 'after'] as const
type Order = typeof ORDERS[number]

/** Registers `plugin` before or after the kit; ready() is left to the caller. */
async function appWith (order: Order, settings: DeployKitSettings, plugin: FastifyPluginCallback<any>, options: object = {}): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  if (order === 'before') app.register(plugin, options)
  app.register(deployKit, settings)
  if (order === 'after') app.register(plugin, options)
  // Fastify's own errors would surface here as a crash or a FST_ERR_* rejection.
  await app.after()
  return app
}

t.test('@fastify/formbody before or after the kit (xsrfCookies: true): starts, the app\'s parser wins, the XSRF check reads its _xsrf', async (t) => {
  for (const order of ORDERS) {
    const app = await appWith(order, { xsrfCookies: true }, fastifyFormbody, { parser: (text: string) => ({ ...Object.fromEntries(new URLSearchParams(text)), parsedBy: 'app' }) })
    app.get('/form', async (_request, reply) => reply.xsrfToken())
    app.post('/form', async (request) => request.body)
    await app.ready()
    const issued = await app.inject('/form')
    const body = urlencoded({ _xsrf: issued.body, a: 'b c' })
    const headers = { 'content-type': body.contentType, cookie: `_xsrf=${xsrfCookieValue(issued.headers)}` }
    const posted = await app.inject({ method: 'POST', url: '/form', payload: body.payload, headers })
    t.equal(posted.statusCode, 200, order)
    t.same(posted.json(), { _xsrf: issued.body, a: 'b c', parsedBy: 'app' }, `${order}: parsed by the app's @fastify/formbody`)
    const forged = await app.inject({ method: 'POST', url: '/form', payload: urlencoded({ _xsrf: 'x', a: '1' }).payload, headers })
    t.equal(forged.statusCode, 403, `${order}: the check still applies`)
  }
})

t.test('@fastify/multipart after the kit starts too, and the kit\'s own form parsers still work without any', async (t) => {
  const app = await appWith('after', { xsrfCookies: true }, fastifyMultipart, { attachFieldsToBody: 'keyValues' })
  app.get('/form', async (_request, reply) => reply.xsrfToken())
  app.post('/form', async (request) => request.body)
  await app.ready()
  const issued = await app.inject('/form')
  const body = multipart({ _xsrf: issued.body, a: 'é' })
  const posted = await app.inject({ method: 'POST', url: '/form', payload: body.payload, headers: { 'content-type': body.contentType, cookie: `_xsrf=${xsrfCookieValue(issued.headers)}` } })
  t.equal(posted.statusCode, 200)
  t.equal(posted.json().a, 'é')
  const bare = Fastify()
  t.teardown(() => bare.close())
  await bare.register(deployKit, { xsrfCookies: true })
  bare.post('/', { config: { xsrf: false } }, async (request) => request.body)
  const charset = await bare.inject({ method: 'POST', url: '/', payload: 'a=1&a=2&b=%C3%A9', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' } })
  t.same(charset.json(), { a: ['1', '2'], b: 'é' }, 'the fallback parser, with a charset parameter')
  const upper = await bare.inject({ method: 'POST', url: '/', payload: 'a=1', headers: { 'content-type': 'Application/X-WWW-Form-Urlencoded' } })
  t.same(upper.json(), { a: '1' }, 'media types are case-insensitive')
})

t.test('@fastify/cookie before or after the kit (cookieSecret): starts, request.cookies and signed cookies both work', async (t) => {
  for (const order of ORDERS) {
    const app = await appWith(order, { cookieSecret: 'c'.repeat(32) }, fastifyCookie)
    app.get('/', async (request, reply) => {
      reply.setCookie('theme', 'dark').setSignedCookie('user', 'ann')
      return { cookies: request.cookies, user: request.getSignedCookie('user') }
    })
    await app.ready()
    const first = await app.inject({ url: '/', headers: { cookie: 'lang=en' } })
    t.same(first.json().cookies, { lang: 'en' }, order)
    const lines = [first.headers['set-cookie']].flat() as string[]
    t.same(lines.map((line) => line.split('=')[0]).sort(), ['theme', 'user'], `${order}: one line each`)
    const back = lines.map((line) => line.split(';')[0]).join('; ')
    t.equal((await app.inject({ url: '/', headers: { cookie: back } })).json().user, 'ann', `${order}: the signed cookie verifies`)
  }
})

t.test('@fastify/compress before or after the kit with compressResponse: refused at start-up, naming compressResponse and the fix', async (t) => {
  for (const order of ORDERS) {
    const app = await appWith(order, { compressResponse: true }, fastifyCompress).catch((error: Error) => error)
    const error = app instanceof Error ? app : await app.ready().then(() => null, (error: Error) => error)
    t.equal((error as { code?: string } | null)?.code, 'FDK_COMPRESS_ALREADY_REGISTERED', order)
    t.match(error?.message, new RegExp(`"compressResponse" registers @fastify/compress, and the app registers it too \\(${order} the kit\\)`), order)
    t.match(error?.message, /Remove compressResponse from the kit's settings to keep your own @fastify\/compress, or remove your registration/)
  }
})

t.test('with compressResponse, plugins registered after the kit that are not @fastify/compress still decorate as usual', async (t) => {
  const app = await appWith('after', { compressResponse: true }, fastifyCookie)
  app.get('/', async (_request, reply) => reply.setCookie('a', 'b').type('text/plain').send('y'.repeat(2000)))
  await app.ready()
  const response = await app.inject({ url: '/', headers: { 'accept-encoding': 'gzip' } })
  t.equal(response.headers['set-cookie'], 'a=b; SameSite=Lax')
  t.equal(gunzipSync(response.rawPayload).toString(), 'y'.repeat(2000))
})

t.test('@fastify/compress before or after the kit without compressResponse: starts, and compresses each response once', async (t) => {
  for (const order of ORDERS) {
    const app = await appWith(order, {}, fastifyCompress, { threshold: 0 })
    app.get('/', async (_request, reply) => reply.type('text/plain').send('x'.repeat(2000)))
    await app.ready()
    const response = await app.inject({ url: '/', headers: { 'accept-encoding': 'gzip' } })
    t.equal(response.headers['content-encoding'], 'gzip', order)
    t.equal(gunzipSync(response.rawPayload).toString(), 'x'.repeat(2000), `${order}: gzip once`)
  }
})
