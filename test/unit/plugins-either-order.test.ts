// Issue 10 item 6: an app that registers @fastify/formbody, @fastify/cookie or
// @fastify/compress itself, before or after the kit, either keeps working (the
// kit reuses what the app registered) or is refused at start-up with a coded
// error naming the kit's setting and the fix; never Fastify's "already
// present" error, never an uncaught crash. The kit's own plugins need no
// order among themselves either: each works alone, and where one reads what
// another decorates (xsrf reads auth's request.currentUser; cookie and auth
// read proxy's request.protocol) it works with the other registered before or
// after it.
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type FastifyPluginCallback, type FastifyRequest } from 'fastify'
import fastifyFormbody from '@fastify/formbody'
import fastifyCookie from '@fastify/cookie'
import fastifyCompress from '@fastify/compress'
import fastifyMultipart from '@fastify/multipart'
import { gunzipSync } from 'node:zlib'
import deployKit, { type DeployKitSettings } from '../../lib/index.js'
import fastifyDeployStatic from '../../lib/static.js'
import fastifyDeployCompress from '../../lib/compress.js'
import fastifyDeployCookie from '../../lib/cookie.js'
import fastifyDeployXsrf from '../../lib/xsrf.js'
import fastifyDeployAuth from '../../lib/auth.js'
import fastifyDeployProxy from '../../lib/proxy.js'
import { formToken, multipart, urlencoded, xsrfCookieValue, xsrfSetCookie } from '../helpers/forms.js'

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

/** Registers the kit's `first` and `second` plugins in this order on a fresh app, ready() is left to the caller. */
async function kitPair (t: Test, first: [FastifyPluginCallback<any>, object], second: [FastifyPluginCallback<any>, object]): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(first[0], first[1])
  app.register(second[0], second[1])
  await app.after()
  return app
}

t.test('the XSRF and auth plugins in either order: a logged-in user\'s _xsrf cookie lasts 30 days, an anonymous one\'s is a session cookie; a forged POST never runs getCurrentUser', async (t) => {
  const xsrf: [FastifyPluginCallback<any>, object] = [fastifyDeployXsrf, {}]
  for (const order of ORDERS) {
    let asked = 0
    const auth: [FastifyPluginCallback<any>, object] = [fastifyDeployAuth, {
      loginUrl: '/login',
      getCurrentUser: (request: FastifyRequest) => { asked++; return request.headers['x-user'] ?? null }
    }]
    const app = order === 'before' ? await kitPair(t, xsrf, auth) : await kitPair(t, auth, xsrf)
    app.get('/form', async (_request, reply) => reply.xsrfFormHtml())
    app.post('/form', { preHandler: app.authenticated }, async () => 'posted')
    await app.ready()
    const signedIn = await app.inject({ url: '/form', headers: { 'x-user': 'ann' } })
    t.match(xsrfSetCookie(signedIn.headers), /; Expires=/, `xsrf ${order} auth: a logged-in user's cookie has an expiry`)
    const expires = Date.parse(/Expires=([^;]+)/.exec(xsrfSetCookie(signedIn.headers) ?? '')?.[1] ?? '')
    t.ok(Math.abs(expires - Date.now() - 30 * 86_400_000) < 86_400_000, `xsrf ${order} auth: about 30 days`)
    const anonymous = await app.inject('/form')
    t.notMatch(xsrfSetCookie(anonymous.headers), /Expires=|Max-Age=/, `xsrf ${order} auth: an anonymous user's is a session cookie`)
    asked = 0
    const forgery = urlencoded({ _xsrf: 'forged' })
    const forged = await app.inject({ method: 'POST', url: '/form', headers: { 'content-type': forgery.contentType, 'x-user': 'ann' }, payload: forgery.payload })
    t.equal(forged.statusCode, 403, `xsrf ${order} auth: forged POST refused`)
    t.match(forged.json(), { code: /^FDK_XSRF_/ }, `xsrf ${order} auth: by the XSRF check`)
    t.equal(asked, 0, `xsrf ${order} auth: getCurrentUser never ran for it`)
    const token = formToken(signedIn.body)
    const body = urlencoded({ _xsrf: token })
    const posted = await app.inject({ method: 'POST', url: '/form', payload: body.payload, headers: { 'content-type': body.contentType, 'x-user': 'ann', cookie: `_xsrf=${xsrfCookieValue(signedIn.headers)}` } })
    t.equal(posted.body, 'posted', `xsrf ${order} auth: a genuine POST by a logged-in user passes both`)
  }
})

t.test('the XSRF plugin alone: every request is anonymous, so the _xsrf cookie is a session cookie', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyDeployXsrf)
  app.get('/', async (_request, reply) => reply.xsrfToken())
  const response = await app.inject('/')
  t.notMatch(xsrfSetCookie(response.headers), /Expires=|Max-Age=/)
})

t.test('the proxy plugin before or after the cookie and auth plugins: signed cookies get Secure and login redirects https from X-Forwarded-Proto', async (t) => {
  const proxy: [FastifyPluginCallback<any>, object] = [fastifyDeployProxy, { xheaders: true }]
  const cookie: [FastifyPluginCallback<any>, object] = [fastifyDeployCookie, { cookieSecret: 'p'.repeat(32) }]
  const auth: [FastifyPluginCallback<any>, object] = [fastifyDeployAuth, { loginUrl: 'https://login.example/in' }]
  for (const order of ORDERS) {
    const withCookie = order === 'before' ? await kitPair(t, proxy, cookie) : await kitPair(t, cookie, proxy)
    withCookie.get('/', async (_request, reply) => reply.setSignedCookie('user', 'ann').send('ok'))
    const forwarded = { 'x-forwarded-proto': 'https' }
    t.match((await withCookie.inject({ url: '/', headers: forwarded })).headers['set-cookie'], /; Secure/, `proxy ${order} cookie: Secure behind an https proxy`)
    t.notMatch((await withCookie.inject('/')).headers['set-cookie'], /; Secure/, `proxy ${order} cookie: not Secure over plain http`)

    const withAuth = order === 'before' ? await kitPair(t, proxy, auth) : await kitPair(t, auth, proxy)
    withAuth.get('/account', { preHandler: withAuth.authenticated }, async () => 'private')
    const redirect = await withAuth.inject({ url: '/account', headers: { ...forwarded, host: 'app.example' } })
    t.equal(redirect.headers.location, 'https://login.example/in?next=https%3A%2F%2Fapp.example%2Faccount', `proxy ${order} auth`)
  }
})

t.test('the compress and static plugins in either order: a dynamic response is gzipped, a static file is sent as stored, never compressed twice', async (t) => {
  const dir = t.testdir({ 'big.txt': 'z'.repeat(5000) })
  const compress: [FastifyPluginCallback<any>, object] = [fastifyDeployCompress, { compressResponse: true }]
  const files: [FastifyPluginCallback<any>, object] = [fastifyDeployStatic, { staticPath: dir, staticWarmup: false }]
  for (const order of ORDERS) {
    const app = order === 'before' ? await kitPair(t, compress, files) : await kitPair(t, files, compress)
    app.get('/dynamic', async (_request, reply) => reply.type('text/plain').send('d'.repeat(5000)))
    app.get('/file', async (_request, reply) => reply.sendFile('big.txt'))
    const gzip = { 'accept-encoding': 'gzip' }
    const dynamic = await app.inject({ url: '/dynamic', headers: gzip })
    t.equal(gunzipSync(dynamic.rawPayload).toString(), 'd'.repeat(5000), `compress ${order} static: dynamic gzipped once`)
    for (const url of ['/static/big.txt', '/file']) {
      const response = await app.inject({ url, headers: gzip })
      const body = response.headers['content-encoding'] === 'gzip' ? gunzipSync(response.rawPayload).toString() : response.body
      t.equal(body, 'z'.repeat(5000), `compress ${order} static: ${url} decodes to the file`)
      t.equal(response.headers.etag !== undefined, true, `compress ${order} static: ${url} keeps the static ETag`)
    }
  }
})
