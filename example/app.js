// The seed's application (Tornado's make_app()) in Fastify. `buildApp` only
// builds; example/main.js decides how to run it (one process or many).
import Fastify from 'fastify'
import fastifyView from '@fastify/view'
import fastifyCookie from '@fastify/cookie'
import ejs from 'ejs'
import deployKit from 'fastify-deploy-kit'

const here = new URL('.', import.meta.url).pathname

// Only for `npm start` on a laptop: production refuses to start without COOKIE_SECRET.
const DEVELOPMENT_SECRET = 'example-development-secret-never-use-in-production'

/**
 * The signing keys: COOKIE_SECRET (one key), or during a rotation
 * (docs/many-machines.md) COOKIE_SECRETS, a JSON map of key versions to
 * secrets, with COOKIE_KEY_VERSION naming the one that signs.
 */
function cookieKeys (env, production) {
  if (env.COOKIE_SECRETS !== undefined) {
    if (env.COOKIE_SECRET !== undefined) throw new Error('Set COOKIE_SECRET or COOKIE_SECRETS, not both.')
    if (env.COOKIE_KEY_VERSION === undefined) throw new Error('COOKIE_SECRETS needs COOKIE_KEY_VERSION: the key version that signs new cookies.')
    let secrets
    try {
      secrets = JSON.parse(env.COOKIE_SECRETS)
    } catch {
      throw new Error('COOKIE_SECRETS must be JSON mapping key versions to secrets, e.g. {"1":"<old secret>","2":"<new secret>"}.')
    }
    // The plugin checks the rest (every key a strong string, the version one of them) with coded errors.
    return { cookieSecret: secrets, keyVersion: Number(env.COOKIE_KEY_VERSION) }
  }
  if (env.COOKIE_SECRET === undefined && production) {
    throw new Error('COOKIE_SECRET is not set. Generate one with: node -e "console.log(require(\'crypto\').randomBytes(32).toString(\'base64url\'))" and give every host the same value.')
  }
  return { cookieSecret: env.COOKIE_SECRET ?? DEVELOPMENT_SECRET }
}

/** The seed's settings block, in camelCase, read from the environment. */
export function settingsFromEnv (env = process.env) {
  const production = env.NODE_ENV === 'production'
  return {
    staticPath: here + 'static',
    staticRootAliases: ['robots.txt', 'favicon.ico', 'apple-touch-icon.png'],
    ...cookieKeys(env, production),
    loginUrl: '/login',
    xsrfCookies: true,
    // docs/xsrf.md: over https the _xsrf cookie should be Secure too ('auto': when the request came over https).
    xsrfCookieOptions: { secure: 'auto' },
    getCurrentUser: (request) => request.getSignedCookie('user'),
    // Behind nginx on the same host the defaults (loopback, private ranges) fit;
    // a fleet or a Kubernetes ingress names its balancers: TRUSTED_PROXIES=10.0.0.5,10.244.0.0/16
    xheaders: env.TRUSTED_PROXIES === undefined ? true : { trustedProxies: env.TRUSTED_PROXIES.split(',').map((entry) => entry.trim()) },
    compressResponse: true,
    debug: env.NODE_ENV === 'development'
  }
}

/** A redirect target from the login form's `next`: local paths only (no open redirect). */
export function safeNext (next) {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/'
}

export default async function buildApp (options = {}) {
  const app = Fastify({ logger: options.logger ?? { level: process.env.LOG_LEVEL ?? 'info' } })
  await app.register(fastifyView, { engine: { ejs }, root: here + 'templates', layout: 'layout.ejs' })
  // reply.clearCookie for sign-out: the kit signs its cookies itself and leaves the app's own to @fastify/cookie.
  await app.register(fastifyCookie)
  await app.register(deployKit, { ...settingsFromEnv(options.env), ...options.settings })

  // In memory and per process, to keep the example small; a real app uses a database.
  const messages = []

  app.get('/', (request, reply) => reply.view('index.ejs', { title: 'Home', user: request.currentUser, messages }))

  app.post('/messages', async (request, reply) => {
    const text = String(request.body?.text ?? '').trim().slice(0, 500)
    if (text !== '') messages.unshift({ author: request.currentUser ?? 'anonymous', text })
    messages.length = Math.min(messages.length, 20)
    return reply.redirect('/', 303)
  })

  app.get('/login', (request, reply) => reply.view('login.ejs', { title: 'Sign in', user: request.currentUser, next: safeNext(request.query.next) }))

  app.post('/login', async (request, reply) => {
    const name = String(request.body?.name ?? '').trim().slice(0, 40)
    if (name === '') return reply.code(400).view('login.ejs', { title: 'Sign in', user: null, next: safeNext(request.body?.next), error: 'Please enter a name.' })
    reply.setSignedCookie('user', name)
    return reply.redirect(safeNext(request.body?.next), 303)
  })

  app.get('/account', { preHandler: app.authenticated }, (request, reply) =>
    reply.view('account.ejs', { title: 'Your account', user: request.currentUser }))

  app.post('/logout', async (request, reply) => {
    reply.clearCookie('user', { path: '/' })
    return reply.redirect('/', 303)
  })

  return app
}
