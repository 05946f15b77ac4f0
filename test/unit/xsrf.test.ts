import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify'
import { Writable } from 'node:stream'
import xsrf, { type XsrfOptions } from '../../lib/xsrf.js'
import { decodeXsrfToken } from '../../lib/xsrf/token.js'
import { multipart, urlencoded, xsrfCookieValue, xsrfSetCookie } from '../helpers/forms.js'

const UNSAFE = ['POST', 'PUT', 'PATCH', 'DELETE'] as const

async function build (t: Test, options: XsrfOptions = {}, before?: (app: FastifyInstance) => Promise<void> | void, logs?: string[]): Promise<FastifyInstance> {
  const stream = new Writable({ write (chunk, _encoding, done) { logs?.push(String(chunk)); done() } })
  const app = Fastify({ logger: logs === undefined ? false : { level: 'info', stream } })
  await before?.(app)
  await app.register(xsrf, options)
  app.get('/token', async (_request, reply) => ({ token: reply.xsrfToken(), again: reply.xsrfToken() }))
  app.route({ method: [...UNSAFE, 'GET', 'HEAD', 'OPTIONS'], url: '/submit', handler: async (request) => ({ ok: true, body: request.body ?? null }) })
  app.post('/webhook', { config: { xsrf: false } }, async () => ({ ok: true }))
  t.teardown(() => app.close())
  await app.ready()
  return app
}

/** A cookie and a token issued by the app, as a browser would receive them. */
async function issue (app: FastifyInstance): Promise<{ cookie: string, token: string }> {
  const response = await app.inject({ method: 'GET', url: '/token' })
  return { cookie: xsrfCookieValue(response.headers)!, token: response.json().token }
}

type Source = 'query' | 'urlencoded' | 'multipart' | 'X-XSRFToken' | 'X-CSRFToken'

function withToken (method: string, source: Source, token: string, cookie: string | undefined): InjectOptions {
  const headers: Record<string, string> = {}
  if (cookie !== undefined) headers.cookie = `_xsrf=${cookie}`
  const request: InjectOptions = { method: method as 'POST', url: '/submit', headers }
  if (source === 'query') request.url = `/submit?_xsrf=${encodeURIComponent(token)}`
  else if (source === 'X-XSRFToken' || source === 'X-CSRFToken') headers[source] = token
  else {
    const body = source === 'urlencoded' ? urlencoded({ _xsrf: token, name: 'ann' }) : multipart({ _xsrf: token, name: 'ann' })
    headers['content-type'] = body.contentType
    request.payload = body.payload
  }
  return request
}

for (const version of [1, 2] as const) {
  for (const source of ['query', 'urlencoded', 'multipart', 'X-XSRFToken', 'X-CSRFToken'] as const) {
    t.test(`a v${version} token in ${source} passes only with its own cookie, for POST, PUT, PATCH and DELETE`, async (t) => {
      const app = await build(t, { xsrfCookieVersion: version })
      const { cookie, token } = await issue(app)
      const other = await issue(app)
      t.equal(decodeXsrfToken(cookie)?.version, version)
      const cases: Array<[string, string | undefined, string, number, string | undefined]> = [
        ['matching cookie', cookie, token, 200, undefined],
        ['no cookie', undefined, token, 403, 'FDK_XSRF_COOKIE_MISSING'],
        ['another cookie', other.cookie, token, 403, 'FDK_XSRF_TOKEN_MISMATCH'],
        ['malformed cookie', '3|x', token, 403, 'FDK_XSRF_COOKIE_MISSING'],
        ['empty cookie', '', token, 403, 'FDK_XSRF_COOKIE_MISSING'],
        ['malformed token', cookie, '2|zzzzzzzz|00|1', 403, 'FDK_XSRF_TOKEN_INVALID'],
        ['tampered token', cookie, token.slice(0, -1) + (token.endsWith('0') ? '1' : '0'), version === 1 ? 403 : 200, version === 1 ? 'FDK_XSRF_TOKEN_MISMATCH' : undefined]
      ]
      for (const method of UNSAFE) {
        for (const [what, cookieValue, tokenValue, status, code] of cases) {
          const response = await app.inject(withToken(method, source, tokenValue, cookieValue))
          t.equal(response.statusCode, status, `${method}, ${what}`)
          if (code !== undefined) t.equal(response.json().code, code, `${method}, ${what}`)
        }
      }
    })
  }
}

t.test('a v2 token whose timestamp is tampered still passes: only the raw bytes count, as in Tornado', async (t) => {
  const app = await build(t)
  const { cookie, token } = await issue(app)
  const changed = token.replace(/\|[0-9]+$/, '|5')
  t.not(changed, token)
  t.equal((await app.inject(withToken('POST', 'urlencoded', changed, cookie))).statusCode, 200)
})

t.test('a request with no token anywhere gets 403 "missing"', async (t) => {
  const app = await build(t)
  const { cookie } = await issue(app)
  for (const method of UNSAFE) {
    const response = await app.inject({ method, url: '/submit', headers: { cookie: `_xsrf=${cookie}` } })
    t.equal(response.statusCode, 403)
    t.equal(response.json().code, 'FDK_XSRF_TOKEN_MISSING')
  }
})

t.test('GET, HEAD and OPTIONS are never checked', async (t) => {
  const app = await build(t)
  for (const method of ['GET', 'HEAD', 'OPTIONS'] as const) {
    t.equal((await app.inject({ method, url: '/submit' })).statusCode, 200, method)
  }
})

t.test('a route with config: { xsrf: false } is not checked', async (t) => {
  const app = await build(t)
  t.equal((await app.inject({ method: 'POST', url: '/webhook' })).statusCode, 200)
})

t.test('a POST to an unknown route stays 404', async (t) => {
  const app = await build(t)
  t.equal((await app.inject({ method: 'POST', url: '/nowhere', payload: '_xsrf=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).statusCode, 404)
})

t.test('the _xsrf argument comes first, then X-XSRFToken, then X-CSRFToken; an empty argument falls through', async (t) => {
  const app = await build(t)
  const { cookie, token } = await issue(app)
  const headers = { cookie: `_xsrf=${cookie}`, 'content-type': 'application/x-www-form-urlencoded' }
  const post = async (payload: string, extra: Record<string, string> = {}, url = '/submit'): Promise<number> =>
    (await app.inject({ method: 'POST', url, payload, headers: { ...headers, ...extra } })).statusCode
  t.equal(await post(`_xsrf=wrong${'0'.repeat(27)}`, { 'x-xsrftoken': token }), 403, 'a wrong form field is not rescued by a good header')
  t.equal(await post('_xsrf=', { 'x-xsrftoken': token }), 200, 'an empty field falls through to X-XSRFToken')
  t.equal(await post('_xsrf=', { 'x-csrftoken': token }), 200, 'then to X-CSRFToken')
  t.equal(await post('a=1', { 'x-xsrftoken': 'bad', 'x-csrftoken': token }), 403, 'X-XSRFToken wins over X-CSRFToken')
  t.equal(await post(`_xsrf=${encodeURIComponent(token)}`, {}, '/submit?_xsrf=bad'), 200, 'the body wins over the query')
  t.equal(await post(`_xsrf=bad&_xsrf=${encodeURIComponent(token)}`), 200, 'the last of repeated fields wins')
  t.equal(await post('a=1', {}, `/submit?_xsrf=bad&_xsrf=${encodeURIComponent(token)}`), 200, 'also in the query')
  t.equal(await post(`_xsrf=${encodeURIComponent(` \x01${token}\x02 `)}`), 200, 'control characters and spaces are trimmed')
})

t.test('a multipart form with a file upload passes with its _xsrf field and keeps its fields', async (t) => {
  const app = await build(t)
  const { cookie, token } = await issue(app)
  const body = multipart({ _xsrf: token, title: 'notes' }, { name: 'upload', filename: 'a.txt', content: 'hello' })
  const response = await app.inject({ method: 'POST', url: '/submit', payload: body.payload, headers: { cookie: `_xsrf=${cookie}`, 'content-type': body.contentType } })
  t.equal(response.statusCode, 200)
  t.equal(response.json().body.title, 'notes')
  const fileOnly = multipart({ title: 'x' }, { name: '_xsrf', filename: 'a.txt', content: token })
  const refused = await app.inject({ method: 'POST', url: '/submit', payload: fileOnly.payload, headers: { cookie: `_xsrf=${cookie}`, 'content-type': fileOnly.contentType } })
  t.equal(refused.json().code, 'FDK_XSRF_TOKEN_MISSING', 'a file named _xsrf is not an argument')
})

t.test('hostile bodies get a 4xx, never a 500', async (t) => {
  const app = await build(t)
  const { cookie } = await issue(app)
  const bodies: Array<[string, string]> = [
    ['multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="_xsrf"\r\n\r\nabc'],
    ['multipart/form-data', '--xyz--\r\n'],
    ['application/x-www-form-urlencoded', '_xsrf=%E0%A4%A&_xsrf[]=1'],
    ['application/x-www-form-urlencoded', '_xsrf=%ff%fe'],
    ['application/json', '{"_xsrf": {"value": 1}}'],
    ['application/json', '{"_xsrf": [1, null, {}]}'],
    ['application/json', '[1]']
  ]
  for (const [contentType, payload] of bodies) {
    const response = await app.inject({ method: 'POST', url: '/submit', payload, headers: { cookie: `_xsrf=${cookie}`, 'content-type': contentType } })
    t.ok(response.statusCode >= 400 && response.statusCode < 500, `${contentType} ${JSON.stringify(payload)} → ${response.statusCode}`)
  }
  for (const token of ['2|00000000||5', 'é', '\u0000']) {
    const response = await app.inject({ method: 'POST', url: '/submit', query: { _xsrf: token }, headers: { cookie: `_xsrf=${cookie}` } })
    t.equal(response.statusCode, 403, JSON.stringify(token))
  }
})

t.test('403 bodies say which check failed, as JSON or as HTML for a browser, and never echo the token', async (t) => {
  const logs: string[] = []
  const app = await build(t, {}, undefined, logs)
  const { cookie } = await issue(app)
  const secret = 'deadbeef' + 'c0ffee00'.repeat(3)
  const json = await app.inject(withToken('POST', 'urlencoded', secret, cookie))
  t.equal(json.statusCode, 403)
  t.match(json.headers['content-type'], /^application\/json/)
  t.same(json.json(), { statusCode: 403, code: 'FDK_XSRF_TOKEN_MISMATCH', error: 'Forbidden', message: 'XSRF check failed: the submitted token does not match the "_xsrf" cookie' })
  const html = await app.inject({ ...withToken('PUT', 'X-XSRFToken', secret, undefined), headers: { 'x-xsrftoken': secret, accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } })
  t.equal(html.statusCode, 403)
  t.match(html.headers['content-type'], /^text\/html/)
  t.equal(html.body, '<html><title>403: Forbidden</title><body>403: Forbidden: XSRF check failed: the request has no valid &quot;_xsrf&quot; cookie</body></html>')
  for (const body of [json.body, html.body]) t.notMatch(body, secret)
  t.notOk(xsrfSetCookie(json.headers), 'a failed check issues no cookie')
  const failures = logs.map((line) => JSON.parse(line)).filter((entry) => entry.code?.startsWith('FDK_XSRF'))
  t.equal(failures.length, 2)
  t.match(failures[0], { level: 30, route: '/submit', method: 'POST', code: 'FDK_XSRF_TOKEN_MISMATCH' })
  t.notMatch(logs.join(''), secret, 'the log does not contain the token either')
})

t.test('the check runs only on routes that take an unsafe method, before any preHandler, and a GET route carries no XSRF hook', async (t) => {
  const effects: string[] = []
  const app = await build(t, {}, (app) => { app.addHook('preHandler', async (request) => { effects.push(request.method) }) })
  const { cookie, token } = await issue(app)
  effects.length = 0
  const forged = await app.inject(withToken('POST', 'urlencoded', 'f'.repeat(32), cookie))
  t.equal(forged.statusCode, 403)
  t.same(effects, [], 'no preHandler (Tornado\'s prepare()) runs for a forged request')
  t.equal((await app.inject(withToken('POST', 'urlencoded', token, cookie))).statusCode, 200)
  t.same(effects, ['POST'])
  const own = Fastify()
  t.teardown(() => own.close())
  await own.register(xsrf)
  own.post('/own-hook', { preValidation: async () => { effects.push('own preValidation') } }, async () => ({ ok: true }))
  own.post('/own-hooks', { preValidation: [async () => { effects.push('first') }, async () => { effects.push('second') }] }, async () => ({ ok: true }))
  effects.length = 0
  t.equal((await own.inject({ method: 'POST', url: '/own-hooks' })).statusCode, 403)
  t.same(effects, ['first', 'second'], 'also after a list of them')
  effects.length = 0
  t.equal((await own.inject({ method: 'POST', url: '/own-hook' })).statusCode, 403)
  t.same(effects, ['own preValidation'], 'a route\'s own preValidation runs first, the check after it')
  const routes = app.printRoutes({ commonPrefix: false, includeHooks: true })
  t.match(routes, /\/submit \(POST, PUT, PATCH, DELETE, GET, HEAD, OPTIONS\)\n[^\n]*\(preValidation\) \["check\(\)"\]/, 'the route taking POST has the check')
  t.notMatch(routes, /\/token \(GET\)\n[^\n]*preValidation/, 'a GET route has none')
  t.notMatch(routes, /\/webhook \(POST\)\n[^\n]*preValidation/, 'nor a route with config: { xsrf: false }')
})

t.test('a route declared before the plugin ran (un-awaited register) is still checked, with a warning', async (t) => {
  const logs: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { logs.push(String(chunk)); done() } })
  const app = Fastify({ logger: { level: 'warn', stream } })
  t.teardown(() => app.close())
  app.register(xsrf)
  app.post('/early', async () => ({ ok: true }))
  app.post('/early-webhook', { config: { xsrf: false } }, async () => ({ ok: true }))
  app.get('/token', async (_request, reply) => ({ token: reply.xsrfToken() }))
  await app.ready()
  t.equal((await app.inject({ method: 'POST', url: '/early' })).json().code, 'FDK_XSRF_TOKEN_MISSING')
  t.equal((await app.inject({ method: 'POST', url: '/early-webhook' })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/nowhere' })).statusCode, 404)
  const issued = await app.inject('/token')
  const cookie = xsrfCookieValue(issued.headers)!
  const ok = await app.inject({ method: 'POST', url: '/early', headers: { cookie: `_xsrf=${cookie}`, 'x-xsrftoken': issued.json().token } })
  t.equal(ok.statusCode, 200)
  t.match(logs.join(''), /"code":"FDK_XSRF_GLOBAL_CHECK"/)
})
