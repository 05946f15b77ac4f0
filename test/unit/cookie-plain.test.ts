// Issue 10 item 3: adding the kit with cookieSecret (and xsrfCookies) changes
// none of the app's own cookies. Python's quoting and parsing are for the
// signed cookies and _xsrf only; every other cookie is exactly what plain
// @fastify/cookie makes of it, whatever the registration order.
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyCookie from '@fastify/cookie'
import deployKit, { decodeSignedValue } from '../../lib/index.js'

const SECRET = 'p'.repeat(32)
type Setup = 'plain @fastify/cookie' | 'cookie before the kit' | 'cookie after the kit'

/** An app whose /set writes the ?value= as plain cookie `c` (and a signed one and _xsrf), and /echo returns request.cookies. */
async function build (t: Test, setup: Setup): Promise<FastifyInstance> {
  const app = Fastify()
  const kit = { cookieSecret: SECRET, xsrfCookies: true }
  if (setup === 'cookie after the kit') await app.register(deployKit, kit)
  await app.register(fastifyCookie)
  if (setup === 'cookie before the kit') await app.register(deployKit, kit)
  const withKit = setup !== 'plain @fastify/cookie'
  app.get<{ Querystring: { value: string } }>('/set', async (request, reply) => {
    reply.setCookie('c', request.query.value)
    if (withKit) reply.setSignedCookie('user', request.query.value).xsrfToken()
    return 'ok'
  })
  app.get('/echo', async (request) => ({ cookies: request.cookies, user: withKit ? request.getSignedCookie('user') : null }))
  t.teardown(() => app.close())
  await app.ready()
  return app
}

const lines = (headers: Record<string, unknown>): string[] => [headers['set-cookie']].flat() as string[]
const plainLine = (headers: Record<string, unknown>): string | undefined => lines(headers).find((line) => line.startsWith('c='))

t.test('with cookieSecret and xsrfCookies, the app\'s plain cookies are written and read exactly as by plain @fastify/cookie, in either order', async (t) => {
  const reference = await build(t, 'plain @fastify/cookie')
  for (const setup of ['cookie before the kit', 'cookie after the kit'] as const) {
    const app = await build(t, setup)
    for (const value of ['😀', 'café', 'a b', 'a;b', 'a|b', '100%', '"quoted"', 'plain']) {
      const url = `/set?value=${encodeURIComponent(value)}`
      const expected = await reference.inject(url)
      const response = await app.inject(url)
      t.equal(response.statusCode, 200, `${setup}: ${value} is no 500`)
      t.equal(plainLine(response.headers), plainLine(expected.headers), `${setup}: ${value} written as plain @fastify/cookie writes it`)
      const user = lines(response.headers).find((line) => line.startsWith('user='))!
      t.match(user, /^user="?2\|1:0\|/, 'the signed cookie beside it keeps Python\'s quoting')
      const back = { cookie: `${plainLine(response.headers)!.split(';')[0]}; ${user.split(';')[0]}` }
      const echoed = (await app.inject({ url: '/echo', headers: back })).json()
      t.equal(echoed.cookies.c, (await reference.inject({ url: '/echo', headers: back })).json().cookies.c, `${setup}: ${value} read back as plain @fastify/cookie reads it`)
      t.equal(echoed.cookies.c, value, 'which is the value set')
      t.equal(echoed.user, value, 'and the signed cookie verifies')
    }
    t.equal(plainLine((await app.inject('/set?value=caf%C3%A9')).headers)?.split(';')[0], 'c=caf%C3%A9', 'not "caf\\351"')
    for (const [header, value] of [['consent=a%20b', 'a b'], ['c="x\\"y"', '"x\\"y"'], ['c=%E2%98%83', '☃']]) {
      const echoed = (await app.inject({ url: '/echo', headers: { cookie: header! } })).json().cookies
      t.same(echoed, (await reference.inject({ url: '/echo', headers: { cookie: header! } })).json().cookies, `${setup}: ${header}`)
      t.equal(Object.values(echoed)[0], value, `${setup}: ${header} as browser JavaScript meant it`)
    }
  }
})

t.test('the kit alone (no @fastify/cookie) adds no cookie parsing or writing of its own to the app', async (t) => {
  const app = Fastify()
  await app.register(deployKit, { cookieSecret: SECRET, xsrfCookies: true })
  t.teardown(() => app.close())
  t.notOk(app.hasRequestDecorator('cookies'), 'no request.cookies')
  t.notOk(app.hasReplyDecorator('setCookie'), 'no reply.setCookie')
  app.get('/', async (request, reply) => {
    reply.setSignedCookie('user', 'ann')
    return { user: request.getSignedCookie('user') }
  })
  const response = await app.inject({ url: '/', headers: { cookie: `user="${'x'}"` } })
  t.same(response.json(), { user: null })
  const signed = lines(response.headers)[0]!.split(';')[0]!.slice('user='.length).replace(/^"|"$/g, '')
  t.equal(decodeSignedValue(SECRET, 'user', signed), 'ann')
})
