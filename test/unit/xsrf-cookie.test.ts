import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { readFileSync } from 'node:fs'
import fastifyView from '@fastify/view'
import { createRequire } from 'node:module'
import fastifyMultipart from '@fastify/multipart'
import fastifyCookie from '@fastify/cookie'
import xsrf, { type XsrfOptions } from '../../lib/xsrf.js'
import auth from '../../lib/auth.js'
import fastifyDeployCookie from '../../lib/cookie.js'
import { decodeXsrfToken } from '../../lib/xsrf/token.js'
import { multipart, urlencoded, xsrfCookieValue, xsrfSetCookie } from '../helpers/forms.js'

interface IssuanceVector { description: string, settings: Record<string, unknown>, logged_in: boolean, incoming_cookie: string | null, token: string, set_cookie: string[] }
interface CheckVector { description: string, cookie: string | null, token_location: string | null, payload: string | null, headers: Array<[string, string]>, result: { status: number | 'ok', log_message?: string } }
const ejs: unknown = createRequire(import.meta.url)('ejs')
const vectors = JSON.parse(readFileSync(new URL('../fixtures/xsrf/tornado-vectors.json', import.meta.url), 'utf8')) as
  { xsrf_cookie_issuance: IssuanceVector[], xsrf_check_cases: CheckVector[] }

async function build (t: Test, options: XsrfOptions = {}, before?: (app: FastifyInstance) => Promise<void> | void, fastifyOptions: { trustProxy?: boolean } = {}): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions)
  await before?.(app)
  await app.register(xsrf, options)
  app.get('/token', async (_request, reply) => ({ token: reply.xsrfToken(), again: reply.xsrfToken() }))
  app.get('/form', async (_request, reply) => reply.type('text/html').send(`<form method="post">${reply.xsrfFormHtml()}</form>`))
  // @fastify/multipart's attachFieldsToBody: true fields point back at the whole body (`fields`).
  app.post('/submit', async (request) => ({ ok: true, body: JSON.parse(JSON.stringify(request.body ?? null, (key, value) => key === 'fields' ? undefined : value)) }))
  t.teardown(() => app.close())
  await app.ready()
  return app
}

t.test('the first xsrfToken() sets an unencoded, script-readable _xsrf cookie with SameSite=Lax and Path=/', async (t) => {
  const app = await build(t)
  const response = await app.inject('/token')
  const line = xsrfSetCookie(response.headers)!
  const { token, again } = response.json()
  t.equal(again, token, 'one token per response')
  t.equal(line, `_xsrf=${token}; Path=/; SameSite=Lax`)
  t.notMatch(line, /%7C|HttpOnly/i)
  t.equal([response.headers['set-cookie']].flat().length, 1, 'one Set-Cookie even when called twice')
})

t.test('a request with a valid cookie gets a re-masked token for the same raw bytes and no new cookie', async (t) => {
  const app = await build(t)
  const first = await app.inject('/token')
  const cookie = xsrfCookieValue(first.headers)!
  const second = await app.inject({ url: '/token', headers: { cookie: `_xsrf=${cookie}` } })
  t.equal(xsrfSetCookie(second.headers), undefined)
  t.not(second.json().token, first.json().token)
  t.same(decodeXsrfToken(second.json().token)?.token, decodeXsrfToken(cookie)?.token)
  t.equal(decodeXsrfToken(second.json().token)?.timestamp, decodeXsrfToken(cookie)?.timestamp, 'the raw token keeps its timestamp')
})

t.test('xsrfFormHtml() renders the hidden _xsrf input, and a page never has to issue the cookie itself', async (t) => {
  const app = await build(t)
  const page = await app.inject('/form')
  const token = /value="([^"]+)"/.exec(page.body)![1]!
  t.equal(page.body, `<form method="post"><input type="hidden" name="_xsrf" value="${token}"/></form>`)
  const post = await app.inject({ method: 'POST', url: '/submit', ...withBody(urlencoded({ _xsrf: token }), xsrfCookieValue(page.headers)!) })
  t.equal(post.statusCode, 200)
})

function withBody (body: { payload: string, contentType: string }, cookie: string): { payload: string, headers: Record<string, string> } {
  return { payload: body.payload, headers: { 'content-type': body.contentType, cookie: `_xsrf=${cookie}` } }
}

t.test('xsrfToken and xsrfFormHtml are available in @fastify/view templates', async (t) => {
  const app = Fastify()
  await app.register(fastifyView, { engine: { ejs } })
  await app.register(xsrf)
  app.get('/page', async (_request, reply) => reply.viewAsync('test/fixtures/xsrf/form.ejs', {}))
  t.teardown(() => app.close())
  const response = await app.inject('/page')
  const cookie = xsrfCookieValue(response.headers)!
  t.match(response.body, /^<form><input type="hidden" name="_xsrf" value="2\|[0-9a-f]{8}\|[0-9a-f]{32}\|\d+"\/> <i>2\|/)
  const formToken = /value="([^"]+)"/.exec(response.body)![1]!
  t.same(decodeXsrfToken(formToken)?.token, decodeXsrfToken(cookie)?.token, 'the form carries the cookie\'s token')
})

t.test('template helpers also reach reply.locals without @fastify/view', async (t) => {
  const app = Fastify()
  await app.register(xsrf)
  app.get('/', async (_request, reply) => ({ html: (reply.locals.xsrfFormHtml as () => string)() }))
  t.teardown(() => app.close())
  t.match((await app.inject('/')).json().html, /^<input type="hidden" name="_xsrf" value="2\|/)
})

t.test('xsrfCookieOptions set the cookie attributes; secure "auto" follows the request protocol', async (t) => {
  const none = await build(t, { xsrfCookieOptions: { sameSite: 'none', secure: true } })
  t.match(xsrfSetCookie((await none.inject('/token')).headers)!, /; Secure; SameSite=None$/, 'SameSite=None with Secure')
  const app = await build(t, { xsrfCookieOptions: { domain: 'example.com', path: '/app', sameSite: 'strict', secure: true, httpOnly: true, maxAge: 3600 } })
  const line = xsrfSetCookie((await app.inject('/token')).headers)!
  t.match(line, /; Max-Age=3600; Domain=example\.com; Path=\/app; HttpOnly; Secure; SameSite=Strict$/)
  const auto = await build(t, { xsrfCookieOptions: { secure: 'auto', sameSite: false } })
  const plain = xsrfSetCookie((await auto.inject('/token')).headers)!
  t.notMatch(plain, /Secure|SameSite/)
  const proxied = await build(t, { xsrfCookieOptions: { secure: 'auto' } }, undefined, { trustProxy: true })
  t.match(xsrfSetCookie((await proxied.inject({ url: '/token', headers: { 'x-forwarded-proto': 'https' } })).headers)!, /; Secure/, 'https behind a trusted proxy')
  const days = await build(t, { xsrfCookieOptions: { expiresDays: 2 } })
  const expires = /Expires=([^;]+)/.exec(xsrfSetCookie((await days.inject('/token')).headers)!)![1]!
  t.ok(Math.abs(Date.parse(expires) - Date.now() - 2 * 86_400_000) < 60_000, 'expires in 2 days')
})

t.test('a logged-in user gets a 30-day _xsrf cookie without leaking that expiry into later anonymous cookies', async (t) => {
  const options = { path: '/' }
  const app = await build(t, { xsrfCookieOptions: options }, async (app) => {
    await app.register(auth, { getCurrentUser: (request) => request.headers['x-user'] })
  })
  const user = xsrfSetCookie((await app.inject({ url: '/token', headers: { 'x-user': 'bob' } })).headers)!
  const expires = /Expires=([^;]+)/.exec(user)![1]!
  t.ok(Math.abs(Date.parse(expires) - Date.now() - 30 * 86_400_000) < 60_000, 'expires in 30 days')
  const anonymous = xsrfSetCookie((await app.inject('/token')).headers)!
  t.notMatch(anonymous, /Expires|Max-Age/, 'Tornado 6.2-6.5 gives this one 30 days too (settings mutation)')
  t.same(options, { path: '/' }, 'the caller\'s options object is untouched')
  const maxAge = await build(t, { xsrfCookieOptions: { maxAge: 60 } }, async (app) => {
    await app.register(auth, { getCurrentUser: () => 'bob' })
  })
  t.notMatch(xsrfSetCookie((await maxAge.inject('/token')).headers)!, /Expires/, 'an explicit maxAge wins')
  // An async getCurrentUser nobody loaded: anonymous for the cookie's lifetime,
  // as in Tornado when prepare() has not set current_user; loaded, 30 days.
  const lazy = await build(t, {}, async (app) => {
    await app.register(auth, { getCurrentUser: async () => 'bob' })
    app.get('/token-loaded', async (request, reply) => { await request.loadCurrentUser(); return { token: reply.xsrfToken() } })
  })
  t.notMatch(xsrfSetCookie((await lazy.inject('/token')).headers)!, /Expires/, 'not loaded: a session cookie')
  t.match(xsrfSetCookie((await lazy.inject('/token-loaded')).headers)!, /Expires/, 'loaded: the logged-in lifetime')
})

t.test('Tornado\'s issuance vectors: when a cookie is set, and which raw token and timestamp the token carries', async (t) => {
  for (const v of vectors.xsrf_cookie_issuance) {
    const cookieOptions = v.settings.xsrf_cookie_kwargs as Record<string, unknown> | undefined
    const app = await build(t, {
      xsrfCookieOptions: cookieOptions === undefined
        ? { sameSite: false }
        : { sameSite: (cookieOptions.samesite as string | undefined)?.toLowerCase() as 'strict' ?? false, httpOnly: cookieOptions.httponly as boolean | undefined, secure: cookieOptions.secure as boolean | undefined, expiresDays: cookieOptions.expires_days as number | undefined }
    }, async (app) => {
      await app.register(auth, { getCurrentUser: () => v.logged_in ? 'bob' : null })
    })
    const response = await app.inject({ url: '/token', headers: v.incoming_cookie === null ? {} : { cookie: `_xsrf=${v.incoming_cookie}` } })
    const line = xsrfSetCookie(response.headers)
    t.equal(line !== undefined, v.set_cookie.length === 1, `${v.description}: Set-Cookie or not`)
    const token = decodeXsrfToken(response.json().token)!
    if (v.incoming_cookie !== null && v.set_cookie.length === 0) {
      const expected = decodeXsrfToken(v.token)!
      t.same(token.token, expected.token, `${v.description}: same raw token`)
      if (v.incoming_cookie.startsWith('2|')) t.equal(token.timestamp, expected.timestamp, `${v.description}: timestamp kept`)
    }
    if (line === undefined) continue
    const expected = v.set_cookie[0]!
    t.equal(/; expires=/.test(expected), /; Expires=/.test(line), `${v.description}: expiry`)
    for (const attribute of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/']) {
      t.equal(line.includes(attribute), expected.includes(attribute), `${v.description}: ${attribute}`)
    }
  }
})

t.test('Tornado\'s check vectors give the same outcome here, with the failed check named', async (t) => {
  const codes: Record<string, string> = {
    "'_xsrf' argument missing from POST": 'FDK_XSRF_TOKEN_MISSING',
    "'_xsrf' argument has invalid format": 'FDK_XSRF_TOKEN_INVALID',
    'XSRF cookie does not match POST argument': 'FDK_XSRF_TOKEN_MISMATCH'
  }
  const app = await build(t)
  t.equal(vectors.xsrf_check_cases.length, 15)
  for (const v of vectors.xsrf_check_cases) {
    const headers: Record<string, string> = Object.fromEntries(v.headers)
    if (v.cookie !== null) headers.cookie = `_xsrf=${v.cookie}`
    let url = '/submit'
    let payload: string | undefined
    if (v.token_location === 'POST') {
      payload = v.payload!
      headers['content-type'] = 'application/x-www-form-urlencoded'
    } else if (v.token_location === 'QUERY') url += '?_xsrf=' + v.payload!.replaceAll('|', '%7C')
    const response = await app.inject({ method: 'POST', url, headers, payload })
    if (v.result.status === 'ok') {
      t.equal(response.statusCode, 200, v.description)
      continue
    }
    t.equal(response.statusCode, v.result.status, v.description)
    // Tornado reports a missing cookie as a mismatch (it compares with a fresh random token); we name it.
    const code = v.cookie === null ? 'FDK_XSRF_COOKIE_MISSING' : codes[v.result.log_message!]
    t.equal(response.json().code, code, v.description)
  }
})

t.test('a Python-quoted _xsrf cookie is unquoted and a percent-encoded one is not decoded, as in Tornado', async (t) => {
  const app = await build(t)
  const { token } = (await app.inject('/token')).json()
  const raw = decodeXsrfToken(token)!.token.toString('hex')
  const quoted = await app.inject({ method: 'POST', url: '/submit', ...withBody(urlencoded({ _xsrf: raw }), `"${raw}"`) })
  t.equal(quoted.statusCode, 200)
  const cookie = `2|00000000|${raw}|5`
  const encoded = await app.inject({ method: 'POST', url: '/submit', ...withBody(urlencoded({ _xsrf: raw }), cookie.replaceAll('|', '%7C')) })
  t.equal(encoded.statusCode, 403, 'Tornado reads 2%7C... as a plain v1 string')
})

t.test('an app that registered its own form parsers and cookie plugin keeps them', async (t) => {
  const app = await build(t, {}, async (app) => {
    await app.register(fastifyCookie)
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, { ...Object.fromEntries(new URLSearchParams(body as string)), parsedBy: 'app' })
    })
    await app.register(fastifyMultipart, { attachFieldsToBody: true })
  })
  const issued = await app.inject('/token')
  const cookie = xsrfCookieValue(issued.headers)!
  const form = await app.inject({ method: 'POST', url: '/submit', ...withBody(urlencoded({ _xsrf: issued.json().token }), cookie) })
  t.equal(form.statusCode, 200)
  t.equal(form.json().body.parsedBy, 'app')
  const parts = await app.inject({ method: 'POST', url: '/submit', ...withBody(multipart({ _xsrf: issued.json().token, a: '1' }), cookie) })
  t.equal(parts.statusCode, 200, 'the _xsrf field of attachFieldsToBody: true is read from its value')
  t.equal(parts.json().body.a.value, '1')
})

t.test('the plugin parses no cookies of its own, and an app\'s @fastify/cookie still reads and writes beside _xsrf', async (t) => {
  const bare = await build(t)
  t.notOk(bare.hasRequestDecorator('cookies'), 'no request.cookies, so no per-request parse of every cookie')
  t.notOk(bare.hasReplyDecorator('setCookie'))
  const app = await build(t, {}, async (app) => {
    await app.register(fastifyCookie)
    app.get('/both', async (request, reply) => {
      reply.setCookie('theme', 'dark')
      return { token: reply.xsrfToken(), cookies: request.cookies }
    })
  })
  const response = await app.inject({ url: '/both', headers: { cookie: 'lang=en' } })
  const lines = [response.headers['set-cookie']].flat()
  t.same(lines.map((line) => line?.split('=')[0]).sort(), ['_xsrf', 'theme'], 'one Set-Cookie each')
  t.equal(xsrfSetCookie(response.headers), `_xsrf=${response.json().token}; Path=/; SameSite=Lax`)
  t.same(response.json().cookies, { lang: 'en' })
})

t.test('registered before the signed-cookie plugin, XSRF no longer decides how plain cookies are encoded', async (t) => {
  const app = Fastify()
  await app.register(fastifyCookie)
  await app.register(xsrf)
  await app.register(fastifyDeployCookie, { cookieSecret: 's'.repeat(32) })
  app.get('/both', async (_request, reply) => {
    reply.setCookie('plain', 'a b').setSignedCookie('user', 'alice')
    return { token: reply.xsrfToken() }
  })
  t.teardown(() => app.close())
  const response = await app.inject('/both')
  const lines = [response.headers['set-cookie']].flat() as string[]
  t.equal(lines.length, 3)
  t.ok(lines.includes('plain=a%20b; SameSite=Lax'), 'the app\'s own @fastify/cookie encoding: neither plugin decides it')
  t.ok(lines.some((line) => line.startsWith('user="2|1:0|')), 'the signed cookie too')
  t.same(decodeXsrfToken(xsrfCookieValue(response.headers)!)?.token, decodeXsrfToken(response.json().token)?.token, 'the _xsrf cookie matches the token')
})

t.test('fast-querystring and @fastify/busboy, added by this plugin (and @fastify/formbody, which apps register), declare no engine that excludes Node.js 20 and parse forms here', async (t) => {
  t.ok(Number(process.versions.node.split('.')[0]) >= 20)
  for (const name of ['fast-querystring', '@fastify/busboy', '@fastify/formbody']) {
    const pkg = JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { engines?: { node?: string } }
    t.notMatch(pkg.engines?.node ?? '', /^>=\s*(2[1-9]|[3-9]\d)/, `${name} engines`)
  }
  const app = Fastify()
  await app.register(xsrf, { xsrfCookies: false })
  app.post('/', async (request) => {
    const body = request.body as Record<string, unknown>
    return Object.fromEntries(Object.entries(body).map(([key, value]) => [key, Buffer.isBuffer(value) ? `file:${value.toString('utf8')}` : value]))
  })
  t.teardown(() => app.close())
  t.same((await app.inject({ method: 'POST', url: '/', ...withBody(urlencoded({ a: 'b c' }), 'x') })).json(), { a: 'b c' })
  const parts = multipart({ a: 'é', __proto__x: '1' }, { name: 'upload', filename: 'a.txt', content: 'hello\r\nworld' })
  t.same((await app.inject({ method: 'POST', url: '/', ...withBody(parts, 'x') })).json(), { a: 'é', __proto__x: '1', upload: 'file:hello\r\nworld' })
})

t.test('repeated multipart fields and oversized multipart bodies keep their meaning and status', async (t) => {
  const app = Fastify({ bodyLimit: 1000 })
  await app.register(xsrf)
  app.post('/submit', async (request) => ({ body: request.body }))
  t.teardown(() => app.close())
  const raw = '0'.repeat(32)
  const boundary = 'fdkboundary'
  const body = { payload: `--${boundary}\r\nContent-Disposition: form-data; name="_xsrf"\r\n\r\nbad\r\n--${boundary}\r\nContent-Disposition: form-data; name="_xsrf"\r\n\r\n${raw}\r\n--${boundary}\r\nContent-Disposition: form-data; name="_xsrf"\r\n\r\n${raw}\r\n--${boundary}--\r\n`, contentType: `multipart/form-data; boundary=${boundary}` }
  const ok = await app.inject({ method: 'POST', url: '/submit', ...withBody(body, raw) })
  t.equal(ok.statusCode, 200, 'the last value wins')
  t.same(ok.json().body._xsrf, ['bad', raw, raw])
  const big = multipart({ _xsrf: raw }, { name: 'f', filename: 'big.txt', content: 'x'.repeat(5000) })
  const tooBig = await app.inject({ method: 'POST', url: '/submit', ...withBody(big, raw) })
  t.equal(tooBig.statusCode, 413)
})

t.test('invalid xsrf settings fail at registration with a coded error naming the setting', async (t) => {
  const bad: Array<[XsrfOptions, RegExp]> = [
    [{ xsrfCookieVersion: 3 as 2 }, /"xsrfCookieVersion": received 3, expected 1 or 2/],
    [{ xsrfCookies: 'yes' as unknown as boolean }, /"xsrfCookies"/],
    [{ xsrfCookieOptions: [] as unknown as {} }, /"xsrfCookieOptions": received array\(0\)/],
    [{ xsrfCookieOptions: { httponly: true } as unknown as {} }, /"xsrfCookieOptions.httponly"/],
    [{ xsrfCookieOptions: { sameSite: 'Lax' as 'lax' } }, /"xsrfCookieOptions.sameSite"/],
    [{ xsrfCookieOptions: { secure: 'yes' as 'auto' } }, /"xsrfCookieOptions.secure"/],
    [{ xsrfCookieOptions: { sameSite: 'none', secure: 'auto' } }, /"xsrfCookieOptions.sameSite": received "none", expected secure: true/],
    [{ xsrfCookieOptions: { expiresDays: 0 } }, /"xsrfCookieOptions.expiresDays"/],
    [{ xsrfCookieOptions: { expiresDays: '1' as unknown as number } }, /"xsrfCookieOptions.expiresDays"/],
    [{ xsrfCookieOptions: { maxAge: 1.5 } }, /"xsrfCookieOptions.maxAge"/],
    [{ xsrfCookieOptions: { path: '' } }, /"xsrfCookieOptions.path"/],
    [{ xsrfCookieOptions: { domain: 5 as unknown as string } }, /"xsrfCookieOptions.domain"/],
    [{ xsrfCookieOptions: { path: '/a;b' } }, /"xsrfCookieOptions.path": received "\/a;b", expected a value a Set-Cookie header can carry/],
    [{ xsrfCookieOptions: { domain: 'exa mple.com' } }, /"xsrfCookieOptions.domain": received "exa mple.com", expected a value a Set-Cookie header can carry/],
    [{ xsrfCookieOptions: { httpOnly: 1 as unknown as boolean } }, /"xsrfCookieOptions.httpOnly"/]
  ]
  for (const [options, message] of bad) {
    const app = Fastify()
    await t.rejects(async () => { await app.register(xsrf, options); await app.ready() }, { code: 'FDK_SETTINGS_INVALID', message }, JSON.stringify(options))
  }
})

t.test('with xsrfCookies: false the helpers work but nothing is checked', async (t) => {
  const app = await build(t, { xsrfCookies: false })
  t.equal((await app.inject({ method: 'POST', url: '/submit' })).statusCode, 200)
  t.match((await app.inject('/token')).json().token, /^2\|/)
})
