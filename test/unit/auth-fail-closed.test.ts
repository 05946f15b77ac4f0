// Issue 10 item 1: whatever the auth-related settings, a route declared with
// `preHandler: app.authenticated` is never served to an anonymous client.
import t from 'tap'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import deployKit, { type DeployKitSettings } from '../../lib/index.js'
import auth, { LOGIN_LOOP_WARNING } from '../../lib/auth.js'

const SECRET_BODY = 'the account page, for its owner only'
const COOKIE_SECRET = 'k'.repeat(32)

/** What a getCurrentUser can hand back for an anonymous client (a rejection is handled apart). */
const ANONYMOUS: Array<[string, unknown]> = [['0', 0], ["''", ''], ['null', null], ['undefined', undefined]]

type Lookup = (request: FastifyRequest) => unknown
function lookups (anonymous: unknown): Array<[string, Lookup]> {
  // The x-user header logs in, so each app is shown to serve its owner (the test can fail).
  const pick = (request: FastifyRequest): unknown => request.headers['x-user'] ?? anonymous
  return [['sync', pick], ['async', async (request) => pick(request)]]
}

/** The auth-related settings, each combination the issue lists (getCurrentUser filled in by the caller). */
const COMBINATIONS: Array<[string, DeployKitSettings, boolean]> = [
  // [name, settings, has getCurrentUser]
  ['none', {}, false],
  ['cookieSecret only', { cookieSecret: COOKIE_SECRET }, false],
  ['loginUrl only', { loginUrl: '/login' }, false],
  ['getCurrentUser only', {}, true],
  ['loginUrl and getCurrentUser', { loginUrl: '/login' }, true]
]

async function appWith (settings: DeployKitSettings): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(deployKit, settings)
  return app
}

function declareAccount (app: FastifyInstance): void {
  app.route({ method: ['GET', 'HEAD', 'POST'], url: '/account', preHandler: app.authenticated, handler: async () => SECRET_BODY })
}

t.test('every auth setting combination x GET/HEAD/POST x sync/async getCurrentUser x anonymous users: never the handler\'s body', async (t) => {
  const warnings: string[] = []
  const onWarning = (warning: Error & { code?: string }): void => { if (warning.code === 'FDK_AUTH_NO_CURRENT_USER') warnings.push(warning.message) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  let served = 0
  for (const [name, base, withUser] of COMBINATIONS) {
    for (const [userName, anonymous] of withUser ? ANONYMOUS : [['no getCurrentUser', undefined] as [string, unknown]]) {
      for (const [mode, getCurrentUser] of withUser ? lookups(anonymous) : [['-', undefined] as [string, undefined]]) {
        const label = `${name}, user ${userName}, ${mode}`
        const app = await appWith({ ...base, ...(getCurrentUser === undefined ? {} : { getCurrentUser }) })
        t.teardown(() => app.close())
        t.ok(app.hasDecorator('authenticated'), `${label}: app.authenticated exists`)
        if (base.loginUrl === undefined) {
          // No loginUrl: the route cannot even be declared, so it can never be served.
          t.throws(() => declareAccount(app), { code: 'FDK_AUTH_LOGIN_URL_MISSING' }, label)
          t.notOk(app.hasRoute({ method: 'GET', url: '/account' }), `${label}: no route left behind`)
          continue
        }
        declareAccount(app)
        for (const method of ['GET', 'HEAD', 'POST'] as const) {
          const response = await app.inject({ method, url: '/account' })
          t.not(response.body, SECRET_BODY, `${label} ${method}`)
          t.equal(response.statusCode, method === 'POST' ? 403 : 302, `${label} ${method}`)
          if (method !== 'POST') t.equal(response.headers.location, '/login?next=%2Faccount', `${label} ${method}`)
          if (withUser) {
            const owner = await app.inject({ method, url: '/account', headers: { 'x-user': 'ann' } })
            t.equal(owner.statusCode, 200, `${label} ${method}: the owner is served`)
            if (method !== 'HEAD') t.equal(owner.body, SECRET_BODY)
            served++
          }
        }
      }
    }
  }
  t.equal(served, ANONYMOUS.length * 2 * 3, 'a logged-in user was served in every getCurrentUser case')
  t.same(warnings, [LOGIN_LOOP_WARNING], 'loginUrl without getCurrentUser warns at start-up')
})

t.test('a getCurrentUser that rejects (sync throw or async rejection) fails the request closed, with a 500 and no body', async (t) => {
  const failures: Array<[string, Lookup]> = [
    ['async rejection', async () => { throw new Error('session store down') }],
    ['sync throw', () => { throw new Error('session store down') }],
    ['rejected promise', () => Promise.reject(new Error('session store down'))]
  ]
  for (const [name, getCurrentUser] of failures) {
    for (const settings of [{ loginUrl: '/login', getCurrentUser }, { loginUrl: '/login', getCurrentUser, cookieSecret: COOKIE_SECRET }]) {
      const app = await appWith(settings)
      t.teardown(() => app.close())
      declareAccount(app)
      for (const method of ['GET', 'HEAD', 'POST'] as const) {
        const response = await app.inject({ method, url: '/account' })
        t.equal(response.statusCode, 500, `${name} ${method}`)
        t.not(response.body, SECRET_BODY, `${name} ${method}`)
      }
    }
  }
})

t.test('the umbrella with no settings still defines app.authenticated, which refuses a route at declaration', async (t) => {
  const app = await appWith({})
  t.teardown(() => app.close())
  t.ok(app.hasDecorator('authenticated'))
  t.notOk(app.hasRequestDecorator('currentUser'), 'nothing else is added')
  app.register(async (child) => {
    child.get('/account', { preHandler: child.authenticated }, async () => SECRET_BODY)
  })
  await t.rejects(async () => { await app.ready() }, { code: 'FDK_AUTH_LOGIN_URL_MISSING' })
})

t.test('the auth plugin on its own warns once at start-up when loginUrl comes without getCurrentUser', async (t) => {
  const seen: string[] = []
  const onWarning = (warning: Error & { code?: string }): void => { if (warning.code === 'FDK_AUTH_NO_CURRENT_USER') seen.push(warning.message) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  for (const options of [{ loginUrl: '/login' }, { loginUrl: '/login', getCurrentUser: () => null }, { getCurrentUser: () => null }, {}]) {
    const app = Fastify()
    await app.register(auth, options)
    await app.ready()
    await app.close()
  }
  // process 'warning' listeners run on the next tick.
  await new Promise((resolve) => setImmediate(resolve))
  t.same(seen, [LOGIN_LOOP_WARNING])
  t.match(LOGIN_LOOP_WARNING, /"loginUrl".*"getCurrentUser"/)
})
