import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyCookie, { type FastifyCookieOptions } from '@fastify/cookie'
import fastifyDeployCookie, {
  createSignedValue, decodeSignedValue, quoteCookieValue, type CookieOptions, type SetSignedCookieOptions
} from '../../lib/cookie.js'
import deployKit from '../../lib/index.js'

const SECRET = 's'.repeat(32)
const reference = JSON.parse(readFileSync(new URL('../fixtures/cookie/reference-vectors.json', import.meta.url), 'utf8'))

/** An app whose GET /set signs `?value=` as cookie `?name=` and GET /get reads it. */
async function build (t: Test, options: CookieOptions = { cookieSecret: SECRET }, cookieOptions: SetSignedCookieOptions = {}, app: FastifyInstance = Fastify()): Promise<FastifyInstance> {
  await app.register(fastifyDeployCookie, options)
  app.get<{ Querystring: { name?: string, value?: string, maxAgeDays?: string, minVersion?: string } }>('/set', async (request, reply) => {
    reply.setSignedCookie(request.query.name ?? 'user', request.query.value ?? 'alice', cookieOptions)
    return 'ok'
  })
  app.get<{ Querystring: { name?: string, maxAgeDays?: string, minVersion?: string } }>('/get', async (request) => ({
    value: request.getSignedCookie(request.query.name ?? 'user', {
      maxAgeDays: request.query.maxAgeDays === undefined ? undefined : Number(request.query.maxAgeDays),
      minVersion: request.query.minVersion === undefined ? undefined : Number(request.query.minVersion) as 1 | 2
    })
  }))
  t.teardown(() => app.close())
  return app
}

function setCookieOf (response: { headers: Record<string, unknown> }): string {
  const header = response.headers['set-cookie']
  if (typeof header !== 'string') throw new Error(`expected one Set-Cookie, got ${JSON.stringify(header)}`)
  return header
}

/** The `name=value` pair a browser sends back. */
const pairOf = (setCookie: string): string => setCookie.split(';')[0]!

t.test('setSignedCookie writes HttpOnly, SameSite=Lax, Path=/ and an Expires 30 days after the signature, without Secure over http', async (t) => {
  const app = await build(t)
  const setCookie = setCookieOf(await app.inject('/set'))
  const attributes = setCookie.split('; ').slice(1)
  t.same(attributes.filter((a) => !a.startsWith('Expires=')).sort(), ['HttpOnly', 'Path=/', 'SameSite=Lax'])
  const signed = pairOf(setCookie).slice('user='.length)
  const timestamp = Number(signed.split('|')[2]!.split(':')[1])
  const expires = Date.parse(attributes.find((a) => a.startsWith('Expires='))!.slice('Expires='.length)) / 1000
  t.equal(expires - timestamp, 30 * 86400)
})

t.test('the signed value is written with Python\'s quoting, never percent-encoded', async (t) => {
  const app = await build(t)
  for (const value of ['hello', 'abc', 'héllo ☃']) {
    const pair = pairOf(setCookieOf(await app.inject(`/set?value=${encodeURIComponent(value)}`)))
    const raw = pair.slice('user='.length)
    t.notMatch(raw, /%/)
    const unquoted = raw.startsWith('"') ? raw.slice(1, -1) : raw
    t.equal(raw, quoteCookieValue(unquoted))
    t.equal(decodeSignedValue(SECRET, 'user', unquoted), value)
  }
})

t.test('Secure is added when the request came over https', async (t) => {
  const app = await build(t, { cookieSecret: SECRET }, {}, Fastify({ trustProxy: true }))
  const setCookie = setCookieOf(await app.inject({ url: '/set', headers: { 'x-forwarded-proto': 'https' } }))
  t.match(setCookie, /; Secure/)
})

t.test('every default can be overridden per cookie', async (t) => {
  const app = await build(t, { cookieSecret: SECRET }, {
    httpOnly: false, sameSite: 'strict', path: '/app', domain: 'example.com', secure: true, maxAge: 60, expiresDays: null
  })
  const attributes = setCookieOf(await app.inject('/set')).split('; ').slice(1).sort()
  t.same(attributes, ['Domain=example.com', 'Max-Age=60', 'Path=/app', 'SameSite=Strict', 'Secure'])
})

t.test('expiresDays may be fractional and an explicit expires date wins over it', async (t) => {
  const half = await build(t, { cookieSecret: SECRET }, { expiresDays: 0.5 })
  const setCookie = setCookieOf(await half.inject('/set'))
  const timestamp = Number(pairOf(setCookie).split('|')[2]!.split(':')[1])
  t.equal(Date.parse(/Expires=([^;]+)/.exec(setCookie)![1]!) / 1000 - timestamp, 43200)
  const fixed = await build(t, { cookieSecret: SECRET }, { expires: new Date('2030-01-01T00:00:00Z'), expiresDays: 3 })
  t.match(setCookieOf(await fixed.inject('/set')), /Expires=Tue, 01 Jan 2030 00:00:00 GMT/)
})

t.test('version: 1 writes a legacy v1 value that still reads back', async (t) => {
  const app = await build(t, { cookieSecret: SECRET }, { version: 1 })
  const pair = pairOf(setCookieOf(await app.inject('/set')))
  t.match(pair, /^user="?YWxpY2U=\|\d+\|[0-9a-f]{40}"?$/)
  t.same((await app.inject({ url: '/get', headers: { cookie: pair } })).json(), { value: 'alice' })
})

t.test('a cookie set by setSignedCookie reads back through getSignedCookie when the browser returns it', async (t) => {
  const app = await build(t)
  for (const value of ['alice', 'héllo wörld ☃ 🎉', '', 'a;b,"c"']) {
    const pair = pairOf(setCookieOf(await app.inject(`/set?value=${encodeURIComponent(value)}`)))
    t.same((await app.inject({ url: '/get', headers: { cookie: `other=1; ${pair}; last=2` } })).json(), { value })
  }
})

t.test('a Python-quoted cookie exactly as Tornado set it is read by getSignedCookie', async (t) => {
  const app = await build(t, { cookieSecret: reference.secrets.ascii.utf8, debug: true })
  for (const h of reference.set_secure_cookie_headers.filter((h: any) => h.secret_id === 'ascii')) {
    const pair = pairOf(h.set_cookie[0])
    const response = await app.inject({ url: `/get?name=${h.name}&maxAgeDays=100000`, headers: { cookie: pair } })
    t.same(response.json(), { value: h.value.utf8 }, pair)
  }
})

t.test('missing, tampered, renamed and expired cookies read as null', async (t) => {
  const app = await build(t)
  const signed = createSignedValue(SECRET, 'user', 'alice')
  const old = createSignedValue(SECRET, 'user', 'alice', { clock: () => Date.now() / 1000 - 32 * 86400 })
  const get = async (cookie: string | undefined, query = '') =>
    (await app.inject({ url: `/get${query}`, headers: cookie === undefined ? {} : { cookie } })).json().value
  t.equal(await get(undefined), null, 'no Cookie header')
  t.equal(await get('other=1'), null, 'no such cookie')
  t.equal(await get(`user=${signed.slice(0, -1)}${signed.endsWith('0') ? '1' : '0'}`), null, 'tampered')
  t.equal(await get(`admin=${signed}`, '?name=admin'), null, 'copied under another name')
  t.equal(await get(`user=${old}`), null, 'expired after the default 31 days')
  t.equal(await get(`user=${old}`, '?maxAgeDays=40'), 'alice', 'still valid for a longer maxAgeDays')
  t.equal(await get(`user=${createSignedValue(SECRET, 'user', 'a', { version: 1 })}`, '?minVersion=2'), null, 'v1 below minVersion')
})

t.test('hostile Cookie headers never cause a 500, even under a record secret', async (t) => {
  const app = await build(t, { cookieSecret: { 1: SECRET }, keyVersion: 1 })
  const hostile = ['user=garbage', 'user=a|b|c', 'user="', 'user="\\', 'user=%', 'user=%E0%A4%A', 'user=' + 'x|'.repeat(5000),
    'user="2|1:1|10:1|4:user|0:|' + 'f'.repeat(64) + '"', 'user=2|99999999999999999999:1|', ';;;=;=', 'user=\u00ff\u00fe']
  for (const cookie of hostile) {
    const response = await app.inject({ url: '/get', headers: { cookie } })
    t.equal(response.statusCode, 200, JSON.stringify(cookie.slice(0, 40)))
    t.same(response.json(), { value: null })
  }
})

t.test('key rotation through the settings: add a key, switch keyVersion, remove the old key', async (t) => {
  const oldKey = 'o'.repeat(32)
  const newKey = 'n'.repeat(32)
  const before = await build(t, { cookieSecret: { 1: oldKey }, keyVersion: 1 })
  const during = await build(t, { cookieSecret: { 1: oldKey, 2: newKey }, keyVersion: 2 })
  const after = await build(t, { cookieSecret: { 2: newKey }, keyVersion: 2 })
  const oldCookie = pairOf(setCookieOf(await before.inject('/set?value=old')))
  const newCookie = pairOf(setCookieOf(await during.inject('/set?value=new')))
  t.match(oldCookie, /^user="?2\|1:1\|/, 'signed with key version 1')
  t.match(newCookie, /^user="?2\|1:2\|/, 'signed with key version 2')
  t.same((await during.inject({ url: '/get', headers: { cookie: oldCookie } })).json(), { value: 'old' })
  t.same((await during.inject({ url: '/get', headers: { cookie: newCookie } })).json(), { value: 'new' })
  t.same((await after.inject({ url: '/get', headers: { cookie: oldCookie } })).json(), { value: null })
  t.same((await after.inject({ url: '/get', headers: { cookie: newCookie } })).json(), { value: 'new' })
})

t.test('using the signed-cookie API without cookieSecret answers 500 with an error naming cookieSecret', async (t) => {
  const app = await build(t, {})
  for (const url of ['/set', '/get']) {
    const response = await app.inject(url)
    t.equal(response.statusCode, 500)
    t.equal(response.json().code, 'FDK_COOKIE_SECRET_MISSING')
    t.match(response.json().message, /"cookieSecret"/)
  }
})

t.test('Tornado\'s placeholder secret or a secret under 32 bytes refuses to start', async (t) => {
  const placeholder = '__TODO:_GENERATE_YOUR_OWN_RANDOM_VALUE_HERE__'
  for (const [cookieSecret, keyVersion, message] of [
    [placeholder, undefined, /placeholder/],
    ['x'.repeat(31), undefined, /only 31 bytes/],
    ['é'.repeat(15), undefined, /only 30 bytes/],
    [{ 1: SECRET, 2: 'short' }, 2, /\(key version 2\) is only 5 bytes/]
  ] as const) {
    const app = Fastify()
    app.register(fastifyDeployCookie, { cookieSecret, keyVersion })
    await t.rejects(async () => await app.ready(), { code: 'FDK_COOKIE_SECRET_WEAK', message })
  }
})

t.test('with debug: true a weak secret starts but logs a loud warning', async (t) => {
  const lines: any[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done() } })
  const app = Fastify({ logger: { level: 'warn', stream } })
  await build(t, { cookieSecret: 'short', debug: true }, {}, app)
  await app.ready()
  t.equal(lines.length, 1)
  t.equal(lines[0].level, 40)
  t.equal(lines[0].code, 'FDK_COOKIE_SECRET_WEAK')
  t.match(lines[0].msg, /^INSECURE, debug only: Setting "cookieSecret" is only 5 bytes long/)
  t.same((await app.inject({ url: '/get', headers: { cookie: pairOf(setCookieOf(await app.inject('/set'))) } })).json(), { value: 'alice' })
})

t.test('invalid settings fail at registration naming the setting', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [{ cookieSecret: 42 }, /"cookieSecret": received 42/],
    [{ cookieSecret: '' }, /"cookieSecret"/],
    [{ cookieSecret: null }, /"cookieSecret"/],
    [{ cookieSecret: [SECRET] }, /"cookieSecret"/],
    [{ cookieSecret: {}, keyVersion: 0 }, /"cookieSecret"/],
    [{ cookieSecret: { one: SECRET }, keyVersion: 1 }, /"cookieSecret"/],
    [{ cookieSecret: { '01': SECRET }, keyVersion: 1 }, /"cookieSecret"/],
    [{ cookieSecret: { 1: 42 }, keyVersion: 1 }, /"cookieSecret"/],
    [{ cookieSecret: { 1: SECRET } }, /"keyVersion": received undefined, expected the cookieSecret key version that signs new cookies \(one of 1\)/],
    [{ cookieSecret: { 1: SECRET }, keyVersion: 2 }, /"keyVersion": received 2/],
    [{ cookieSecret: { 1: SECRET }, keyVersion: '1' }, /"keyVersion"/],
    [{ cookieSecret: SECRET, keyVersion: 1 }, /"keyVersion".*only picks a key/],
    [{ keyVersion: 1 }, /"keyVersion".*without a cookieSecret/],
    [{ cookieSecret: SECRET, debug: 'yes' }, /"debug"/]
  ]
  for (const [options, message] of cases) {
    const app = Fastify()
    app.register(fastifyDeployCookie, options as CookieOptions)
    await t.rejects(async () => await app.ready(), { code: 'FDK_SETTINGS_INVALID', message }, JSON.stringify(options))
  }
})

t.test('a cookie name Tornado could not read is refused by setSignedCookie with a coded error', async (t) => {
  const app = await build(t)
  for (const name of ['név', 'a b', 'a=b', 'a;b', 'a,b', 'path', 'Max-Age', '']) {
    const response = await app.inject(`/set?name=${encodeURIComponent(name)}`)
    t.equal(response.statusCode, 500)
    t.equal(response.json().code, 'FDK_COOKIE_NAME_INVALID', JSON.stringify(name))
  }
  t.equal((await app.inject('/set?name=a|b:c')).statusCode, 200, 'Python-legal punctuation is fine')
})

t.test('an expiresDays that is not a number of days or null is refused', async (t) => {
  const app = await build(t, { cookieSecret: SECRET }, { expiresDays: '30' as unknown as number })
  const response = await app.inject('/set')
  t.equal(response.statusCode, 500)
  t.equal(response.json().code, 'FDK_COOKIE_OPTIONS_INVALID')
  t.match(response.json().message, /"expiresDays"/)
})

t.test('clearCookie (from the app\'s own @fastify/cookie, before or after the kit) still expires a signed cookie', async (t) => {
  for (const order of ['before', 'after']) {
    const app = Fastify()
    if (order === 'before') await app.register(fastifyCookie)
    await build(t, { cookieSecret: SECRET }, {}, app)
    if (order === 'after') await app.register(fastifyCookie)
    app.get('/logout', async (_request, reply) => reply.clearCookie('user').send('bye'))
    const setCookie = setCookieOf(await app.inject('/logout'))
    t.match(setCookie, /^user=(""|); /, order)
    t.match(setCookie, /Max-Age=0/)
    t.match(setCookie, /Expires=Thu, 01 Jan 1970 00:00:00 GMT/)
  }
})

t.test('signed cookies are read the Python way: unquoted, never percent-decoded, whatever the app\'s decoder', async (t) => {
  const app = Fastify()
  await app.register(fastifyCookie, { parseOptions: { decode: (value: string) => value.toUpperCase() } } as FastifyCookieOptions)
  await build(t, { cookieSecret: SECRET }, {}, app)
  const signed = createSignedValue(SECRET, 'user', 'alice')
  t.same((await app.inject({ url: '/get', headers: { cookie: `user="${signed}"` } })).json(), { value: 'alice' }, 'quoted, as Tornado writes it')
  const escaped = signed.replace(/=/g, '%3D')
  t.same((await app.inject({ url: '/get', headers: { cookie: `user=${escaped}` } })).json(), { value: signed.includes('=') ? null : 'alice' }, 'no percent-decoding')
  t.same((await app.inject({ url: '/get', headers: { cookie: `user=x; user=${signed}` } })).json(), { value: 'alice' }, 'the last of two, as Tornado')
})

t.test('signing the same cookie twice in one response sends only the second, and leaves other Set-Cookie lines', async (t) => {
  const app = await build(t)
  app.get('/twice', async (_request, reply) => {
    reply.header('set-cookie', 'other=1')
    reply.setSignedCookie('user', 'first').setSignedCookie('user', 'second').setSignedCookie('user', 'elsewhere', { path: '/admin' })
    return 'ok'
  })
  const lines = [(await app.inject('/twice')).headers['set-cookie']].flat() as string[]
  t.equal(lines.length, 3)
  t.equal(lines[0], 'other=1')
  const values = lines.slice(1).map((line) => decodeSignedValue(SECRET, 'user', pairOf(line).slice('user='.length).replace(/^"|"$/g, '')))
  t.same(values, ['second', 'elsewhere'])
})

t.test('an app that registered @fastify/cookie itself keeps it, and signed cookies still interoperate', async (t) => {
  const app = Fastify()
  await app.register(fastifyCookie, { hook: false })
  await build(t, { cookieSecret: reference.secrets.ascii.utf8, debug: true }, {}, app)
  const tornadoSet = reference.set_secure_cookie_headers[0]
  const pair = pairOf(tornadoSet.set_cookie[0])
  t.match(pair, /^user="/, 'Tornado quoted it')
  t.same((await app.inject({ url: '/get?maxAgeDays=100000', headers: { cookie: pair } })).json(), { value: 'hello' })
  t.same((await app.inject({ url: '/get' })).json(), { value: null }, 'no Cookie header')
  const written = pairOf(setCookieOf(await app.inject('/set?value=hello')))
  t.match(written, /^user="2\|1:0\|10:\d+\|4:user\|8:aGVsbG8=\|[0-9a-f]{64}"$/, 'written with Python quoting, not the app\'s encoder')
})

t.test('@fastify/cookie\'s cookie@2 (which declares node >= 22) parses and serialises correctly on this Node.js 20', async (t) => {
  const cookiePackage = JSON.parse(readFileSync(new URL('../../node_modules/cookie/package.json', import.meta.url), 'utf8'))
  t.match(cookiePackage.version, /^2\./)
  t.match(process.versions.node, /^20\./, 'the supported runtime')
  const app = Fastify()
  await app.register(fastifyCookie)
  await build(t, { cookieSecret: SECRET }, {}, app)
  app.get('/both', async (request, reply) => {
    reply.setCookie('a', 'x', { maxAge: 10, domain: 'example.com', path: '/p', secure: true, httpOnly: true, sameSite: 'none', partitioned: true, priority: 'high' })
    return { a: request.cookies.a ?? null, b: request.cookies.b ?? null }
  })
  const response = await app.inject({ url: '/both', headers: { cookie: ' a = 1 ; b="q\\"q"' } })
  t.same(response.json(), { a: '1', b: '"q\\"q"' }, 'plain @fastify/cookie: no Python unquoting of the app\'s own cookies')
  t.equal(setCookieOf(response), 'a=x; Max-Age=10; Domain=example.com; Path=/p; HttpOnly; Secure; Partitioned; Priority=High; SameSite=None')
})

t.test('the umbrella registers signed cookies when cookieSecret is set, passing debug through', async (t) => {
  const app = Fastify()
  await app.register(deployKit, { cookieSecret: 'short', debug: true })
  app.get('/', async (request, reply) => {
    reply.setSignedCookie('user', 'alice')
    return { value: request.getSignedCookie('user') }
  })
  const response = await app.inject('/')
  t.same(response.json(), { value: null }, 'a cookie set in this response is not yet a request cookie')
  t.match(setCookieOf(response), /^user="2\|1:0\|/)
})

t.test('the umbrella in debug mode with cookieSecret written but unset (a missing environment variable) names cookieSecret on use', async (t) => {
  const app = Fastify()
  await app.register(deployKit, { cookieSecret: process.env.FDK_TEST_SURELY_UNSET_SECRET, debug: true })
  app.get('/', async (request) => request.getSignedCookie('user'))
  const response = await app.inject('/')
  t.equal(response.json().code, 'FDK_COOKIE_SECRET_MISSING')
})

t.test('outside debug, a cookieSecret key whose value is missing refuses to start, naming cookieSecret and how to generate one', async (t) => {
  const unset = process.env.FDK_TEST_SURELY_UNSET_SECRET
  const cases: Array<[string, (app: FastifyInstance) => unknown, RegExp]> = [
    ['the umbrella', (app) => app.register(deployKit, { cookieSecret: unset }), /^Setting "cookieSecret" is written but has no value/],
    ['the umbrella, debug: false', (app) => app.register(deployKit, { cookieSecret: unset, debug: false, xsrfCookies: true }), /^Setting "cookieSecret" is written/],
    ['the cookie plugin', (app) => app.register(fastifyDeployCookie, { cookieSecret: unset }), /^Setting "cookieSecret" is written/],
    ['one key version', (app) => app.register(deployKit, { cookieSecret: { 1: SECRET, 2: unset! }, keyVersion: 2 }), /^Setting "cookieSecret" \(key version 2\) is written/]
  ]
  for (const [name, register, message] of cases) {
    const app = Fastify()
    register(app)
    const error = await app.ready().then(() => null, (error: Error & { code?: string }) => error)
    t.equal(error?.code, 'FDK_COOKIE_SECRET_UNSET', name)
    t.match(error?.message, message, name)
    t.match(error?.message, /randomBytes\(32\)/, `${name}: says how to generate one`)
    await app.close()
  }
})

t.test('the umbrella without cookie settings adds no signed-cookie API', async (t) => {
  const app = Fastify()
  await app.register(deployKit, {})
  t.notOk(app.hasReplyDecorator('setSignedCookie'))
  const withKeyVersion = Fastify()
  withKeyVersion.register(deployKit, { keyVersion: 1 })
  await t.rejects(async () => await withKeyVersion.ready(), { code: 'FDK_SETTINGS_INVALID', message: /keyVersion/ })
})

t.test('Tornado\'s setting names are recognised: cookie_secret says did you mean "cookieSecret"', async (t) => {
  for (const [typo, suggestion] of [['cookie_secret', 'cookieSecret'], ['key_version', 'keyVersion']]) {
    const app = Fastify()
    app.register(deployKit, { [typo!]: SECRET })
    await t.rejects(async () => await app.ready(), { code: 'FDK_SETTINGS_UNKNOWN', message: new RegExp(`did you mean "${suggestion}"`) })
  }
})
