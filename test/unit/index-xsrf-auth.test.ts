import t from 'tap'
import Fastify from 'fastify'
import deployKit, { SETTING_NAMES, fastifyDeployCompress, type DeployKitSettings } from '../../lib/index.js'
import { optionalStringArray } from '../../lib/shared/settings.js'
import { urlencoded, xsrfCookieValue } from '../helpers/forms.js'

t.test('the umbrella turns on XSRF with xsrfCookies: true and login redirects with loginUrl', async (t) => {
  const app = Fastify()
  await app.register(deployKit, { xsrfCookies: true, xsrfCookieVersion: 1, loginUrl: '/login', getCurrentUser: (request) => request.headers['x-user'] })
  app.get('/form', async (_request, reply) => reply.xsrfToken())
  app.post('/form', { preHandler: app.authenticated }, async (request) => ({ user: request.currentUser }))
  app.get('/account', { preHandler: app.authenticated }, async (request) => ({ user: request.currentUser }))
  t.teardown(() => app.close())
  const issued = await app.inject('/form')
  const body = urlencoded({ _xsrf: issued.body })
  const headers = { cookie: `_xsrf=${xsrfCookieValue(issued.headers)}`, 'content-type': body.contentType }
  t.match(issued.body, /^[0-9a-f]{32}$/, 'xsrfCookieVersion reaches the plugin')
  t.equal((await app.inject({ method: 'POST', url: '/form', payload: body.payload, headers: { 'content-type': body.contentType } })).statusCode, 403)
  t.equal((await app.inject({ method: 'POST', url: '/form', payload: body.payload, headers })).json().code, 'FDK_AUTH_REQUIRED', 'XSRF passes first, then authentication')
  t.same((await app.inject({ method: 'POST', url: '/form', payload: body.payload, headers: { ...headers, 'x-user': 'ann' } })).json(), { user: 'ann' })
  t.equal((await app.inject('/account')).headers.location, '/login?next=%2Faccount')
})

t.test('without xsrfCookies or auth settings the umbrella adds neither', async (t) => {
  const app = Fastify()
  await app.register(deployKit, {})
  app.post('/', async () => 'ok')
  t.teardown(() => app.close())
  t.equal((await app.inject({ method: 'POST', url: '/' })).statusCode, 200)
  t.notOk(app.hasReplyDecorator('xsrfToken'))
  t.notOk(app.hasRequestDecorator('currentUser'))
})

t.test('xsrfCookies: false checks nothing but keeps xsrfToken() and xsrfFormHtml(), as Tornado does', async (t) => {
  const app = Fastify()
  await app.register(deployKit, { xsrfCookies: false, xsrfCookieVersion: 2 })
  app.post('/', async () => 'ok')
  app.get('/form', async (request, reply) => ({ token: reply.xsrfToken(), html: reply.xsrfFormHtml() }))
  t.teardown(() => app.close())
  t.equal((await app.inject({ method: 'POST', url: '/' })).statusCode, 200, 'a POST without a token is not refused')
  const form = await app.inject('/form')
  const { token, html } = form.json() as { token: string, html: string }
  t.match(token, /^2\|/)
  t.match(html, /^<input type="hidden" name="_xsrf" value="2\|/)
  t.match(form.headers['set-cookie'], /^_xsrf=2\|/)
})

t.test('the XSRF and auth settings are known to the umbrella, with Tornado names suggested', async (t) => {
  for (const name of ['xsrfCookies', 'xsrfCookieOptions', 'xsrfCookieVersion', 'loginUrl', 'getCurrentUser']) t.ok(SETTING_NAMES.includes(name), name)
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ xsrf_cookies: true }, 'FDK_SETTINGS_UNKNOWN', /did you mean "xsrfCookies"/],
    [{ login_url: '/login' }, 'FDK_SETTINGS_UNKNOWN', /did you mean "loginUrl"/],
    [{ xsrfCookie: true }, 'FDK_SETTINGS_UNKNOWN', /did you mean "xsrfCookies"/],
    [{ somethingElse: 1 }, 'FDK_SETTINGS_UNKNOWN', /"somethingElse"$/],
    [{ xsrfCookies: 'yes' }, 'FDK_SETTINGS_INVALID', /"xsrfCookies": received "yes", expected a boolean/]
  ]
  for (const [settings, code, message] of cases) {
    const app = Fastify()
    await t.rejects(async () => { await app.register(deployKit, settings as DeployKitSettings); await app.ready() }, { code, message }, JSON.stringify(settings))
  }
})

t.test('shared validators reject what they are not given', async (t) => {
  t.same(optionalStringArray('names', undefined, ['a']), ['a'])
  t.same(optionalStringArray('names', ['b'], ['a']), ['b'])
  t.throws(() => optionalStringArray('names', ['', 1], []), { code: 'FDK_SETTINGS_INVALID', message: /received array\(2\)/ })
})

t.test('a handler that replaces reply.locals keeps the template helpers', async (t) => {
  const app = Fastify()
  await app.register(deployKit, { xsrfCookies: true })
  app.get('/', async (_request, reply) => {
    reply.locals = { title: 'x' }
    return { keys: Object.keys(reply.locals).sort() }
  })
  t.teardown(() => app.close())
  t.same((await app.inject('/')).json(), { keys: ['title', 'xsrfFormHtml', 'xsrfToken'] })
})

t.test('settings errors render every kind of received value safely', async (t) => {
  const { optionalInteger } = await import('../../lib/shared/settings.js')
  const { describeValue } = await import('../../lib/shared/invalid-option.js')
  t.same([null, [1], 'x'.repeat(70), 5, true, undefined, () => 1, {}].map(describeValue),
    ['null', 'array(1)', JSON.stringify('x'.repeat(57) + '...'), '5', 'true', 'undefined', 'a function', 'an object'])
  t.throws(() => optionalInteger('n', -1, 0), { message: /expected an integer >= 0/ })
  t.throws(() => optionalInteger('n', '1', 0), { message: /received "1"/ })
  t.equal(optionalInteger('n', undefined, 7), 7)
})

t.test('the umbrella still wires compressResponse and staticPath next to the new parts', async (t) => {
  for (const compressResponse of [true, { threshold: 10 }]) {
    const app = Fastify()
    await app.register(deployKit, { compressResponse, staticPath: '.' })
    app.get('/', async () => 'x'.repeat(2000))
    t.teardown(() => app.close())
    const response = await app.inject({ url: '/', headers: { 'accept-encoding': 'gzip' } })
    t.equal(response.headers['content-encoding'], 'gzip')
  }
  const bare = Fastify()
  await bare.register(fastifyDeployCompress, { compressResponse: false })
  bare.get('/', async () => 'x'.repeat(2000))
  t.teardown(() => bare.close())
  t.equal((await bare.inject({ url: '/', headers: { 'accept-encoding': 'gzip' } })).headers['content-encoding'], undefined, 'compress on its own with compressResponse: false')
  const app = Fastify()
  await t.rejects(async () => { await app.register(deployKit, { compressResponse: 'yes' as unknown as boolean }); await app.ready() }, { code: 'FDK_SETTINGS_INVALID' })
})
