import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { readFileSync } from 'node:fs'
import auth, { type AuthOptions } from '../../lib/auth.js'
import { formEncode, loginRedirectLocation } from '../../lib/auth/login-url.js'

interface RedirectVector { login_url: string, method: string, request_uri: string, host: string, status: number, location: string | null }
const vectors = JSON.parse(readFileSync(new URL('../fixtures/auth/tornado-vectors.json', import.meta.url), 'utf8')) as { authenticated_redirects: RedirectVector[] }

async function build (t: Test, options: AuthOptions, fastifyOptions: Record<string, unknown> = {}, routes?: (app: FastifyInstance) => void): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions)
  await app.register(auth, options)
  app.route({ method: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'], url: '/*', preHandler: app.authenticated, handler: async (request) => ({ user: request.currentUser }) })
  app.get('/open', async (request) => ({ user: request.currentUser }))
  app.get('/loaded', async (request) => ({ user: await request.loadCurrentUser(), again: request.currentUser }))
  app.get('/plain', async () => 'no user needed')
  routes?.(app)
  t.teardown(() => app.close())
  await app.ready()
  return app
}

t.test('Tornado\'s redirect vectors: anonymous GET/HEAD go to loginUrl with next, other methods get 403', async (t) => {
  t.equal(vectors.authenticated_redirects.length, 7)
  for (const v of vectors.authenticated_redirects) {
    const app = await build(t, { loginUrl: v.login_url, getCurrentUser: () => null })
    const response = await app.inject({ method: v.method as 'GET', url: v.request_uri, headers: { host: v.host } })
    t.equal(response.statusCode, v.status, `${v.method} ${v.request_uri} with ${v.login_url}`)
    t.equal(response.headers.location, v.location ?? undefined, `${v.method} ${v.request_uri} with ${v.login_url}`)
    if (v.status === 302) t.equal(response.body, '', 'an empty redirect body')
  }
})

t.test('an absolute loginUrl gets an absolute next that follows the request protocol behind a proxy', async (t) => {
  const app = await build(t, { loginUrl: 'https://sso.example/login', getCurrentUser: () => undefined }, { trustProxy: true })
  const response = await app.inject({ url: '/a?b=c+d', headers: { host: 'app.example', 'x-forwarded-proto': 'https' } })
  t.equal(response.headers.location, 'https://sso.example/login?next=https%3A%2F%2Fapp.example%2Fa%3Fb%3Dc%2Bd')
})

t.test('a logged-in user passes, and request.currentUser holds what getCurrentUser returned (sync or async)', async (t) => {
  for (const getCurrentUser of [(request: { headers: Record<string, unknown> }) => request.headers['x-user'], async (request: { headers: Record<string, unknown> }) => request.headers['x-user']]) {
    const app = await build(t, { loginUrl: '/login', getCurrentUser })
    for (const method of ['GET', 'POST'] as const) {
      const response = await app.inject({ method, url: '/page', headers: { 'x-user': 'ann' } })
      t.equal(response.statusCode, 200)
      t.same(response.json(), { user: 'ann' })
    }
    t.same((await app.inject({ url: '/loaded', headers: { 'x-user': 'bob' } })).json(), { user: 'bob', again: 'bob' }, 'on open routes, after loadCurrentUser()')
    t.same((await app.inject({ url: '/loaded' })).json(), { user: null, again: null }, 'null when anonymous')
  }
  const sync = await build(t, { loginUrl: '/login', getCurrentUser: (request) => request.headers['x-user'] })
  t.same((await sync.inject({ url: '/open', headers: { 'x-user': 'bob' } })).json(), { user: 'bob' }, 'a sync getCurrentUser is read directly, as Tornado\'s current_user')
  t.same((await sync.inject({ url: '/open' })).json(), { user: null })
})

t.test('getCurrentUser runs only when something asks for the user, and at most once per request', async (t) => {
  for (const kind of ['sync', 'async'] as const) {
    let calls = 0
    const getCurrentUser = kind === 'sync' ? () => { calls++; return 'ann' } : async () => { calls++; return 'ann' }
    const app = await build(t, { loginUrl: '/login', getCurrentUser }, {}, (app) => {
      app.get('/twice', { preHandler: app.authenticated }, async (request) => {
        const first = await request.loadCurrentUser()
        return { first, second: await request.loadCurrentUser(), third: request.currentUser }
      })
    })
    t.equal((await app.inject('/plain')).body, 'no user needed')
    t.equal(calls, 0, `${kind}: a request that never asks runs no getCurrentUser`)
    t.same((await app.inject('/twice')).json(), { first: 'ann', second: 'ann', third: 'ann' })
    t.equal(calls, 1, `${kind}: authenticated, two loads and a read share one call`)
  }
})

t.test('an async getCurrentUser read before it is loaded is a coded 500, never a silent anonymous', async (t) => {
  const logs: string[] = []
  const app = await build(t, { loginUrl: '/login', getCurrentUser: async () => 'ann' }, { logger: { level: 'error', stream: { write: (line: string) => logs.push(line) } } })
  const response = await app.inject('/open')
  t.equal(response.statusCode, 500)
  t.match(logs.join(''), /FDK_AUTH_USER_NOT_LOADED/)
})

t.test('Tornado\'s async prepare(): a preHandler that loads the user makes request.currentUser a plain value in every handler', async (t) => {
  const app = await build(t, { loginUrl: '/login', getCurrentUser: async (request) => request.headers['x-user'] }, {}, (app) => {
    app.register(async (site) => {
      site.addHook('preHandler', async (request) => { await request.loadCurrentUser() })
      site.get('/site/home', async (request) => ({ user: request.currentUser }))
    })
  })
  t.same((await app.inject({ url: '/site/home', headers: { 'x-user': 'ann' } })).json(), { user: 'ann' })
})

t.test('a failing getCurrentUser fails the request once, sync or async, with no unhandled rejection', async (t) => {
  let calls = 0
  const app = await build(t, { loginUrl: '/login', getCurrentUser: async () => { calls++; throw new Error('user store down') } }, {}, (app) => {
    app.get('/read-then-load', async (request) => {
      t.throws(() => request.currentUser, { code: 'FDK_AUTH_USER_NOT_LOADED' })
      await t.rejects(request.loadCurrentUser(), { message: 'user store down' })
      t.throws(() => request.currentUser, { message: 'user store down' }, 'the failure is kept')
      return 'handled'
    })
  })
  t.equal((await app.inject('/page')).statusCode, 500)
  t.equal((await app.inject('/read-then-load')).body, 'handled')
  t.equal(calls, 2, 'once per request')
  const sync = await build(t, { loginUrl: '/login', getCurrentUser: () => { throw new Error('bad cookie store') } })
  t.equal((await sync.inject('/open')).statusCode, 500)
})

t.test('getCurrentUser runs at most once per request', async (t) => {
  let calls = 0
  const app = await build(t, { loginUrl: '/login', getCurrentUser: async () => { calls++; return 'ann' } })
  await app.inject('/page')
  t.equal(calls, 1)
})

t.test('without getCurrentUser everyone is anonymous', async (t) => {
  const app = await build(t, { loginUrl: '/login' })
  t.equal((await app.inject('/page')).statusCode, 302)
  t.same((await app.inject('/open')).json(), { user: null })
})

t.test('the 403 for other methods is JSON, or HTML for a browser, with the FDK_AUTH_REQUIRED code', async (t) => {
  const app = await build(t, { loginUrl: '/login' })
  const json = await app.inject({ method: 'DELETE', url: '/page' })
  t.same(json.json(), { statusCode: 403, code: 'FDK_AUTH_REQUIRED', error: 'Forbidden', message: 'Authentication required' })
  const html = await app.inject({ method: 'POST', url: '/page', headers: { accept: 'text/html' } })
  t.equal(html.body, '<html><title>403: Forbidden</title><body>403: Forbidden: Authentication required</body></html>')
})

t.test('using authenticated without loginUrl fails at startup with FDK_AUTH_LOGIN_URL_MISSING', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(auth, { getCurrentUser: () => null })
  app.register(async (child) => {
    child.get('/x', { preHandler: child.authenticated }, async () => 'never')
  })
  await t.rejects(async () => { await app.ready() }, { code: 'FDK_AUTH_LOGIN_URL_MISSING' })
})

t.test('invalid auth settings fail at registration with a coded error naming the setting', async (t) => {
  for (const [options, name] of [[{ loginUrl: '' }, 'loginUrl'], [{ loginUrl: 5 }, 'loginUrl'], [{ getCurrentUser: 'user' }, 'getCurrentUser']] as const) {
    const app = Fastify()
    await t.rejects(async () => { await app.register(auth, options as unknown as AuthOptions); await app.ready() }, { code: 'FDK_SETTINGS_INVALID', message: new RegExp(`"${name}"`) })
  }
})

t.test('next is form-encoded like Python\'s urlencode', async (t) => {
  t.equal(formEncode("a b/~_.-!'()*é%"), 'a+b%2F~_.-%21%27%28%29%2A%C3%A9%25')
  t.equal(loginRedirectLocation('login:8080', { uri: '/x', protocol: 'http', host: 'h' }), 'login:8080?next=http%3A%2F%2Fh%2Fx', 'Python sees a scheme in "login:8080"')
  t.equal(loginRedirectLocation('/a:b', { uri: '/x', protocol: 'http', host: 'h' }), '/a:b?next=%2Fx')
})
