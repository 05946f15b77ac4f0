// The example app (the seed's settings block in Fastify) as a user sees it.
import t, { type Test } from 'tap'
// @ts-expect-error -- the example is plain JavaScript with no declarations
import buildApp, { settingsFromEnv } from '../../example/app.js'
import type { FastifyInstance } from 'fastify'
import { createSignedValue } from '../../lib/cookie/signed-value.js'
import { formToken } from '../helpers/forms.js'

async function example (t: Test, options: { env?: Record<string, string> } = {}): Promise<FastifyInstance> {
  const app = await buildApp({ logger: false, ...options }) as FastifyInstance
  t.teardown(() => app.close())
  return app
}

t.test('the home page links its stylesheet and script with content versions', async (t) => {
  const app = await example(t)
  const page = await app.inject('/')
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /text\/html/)
  const links = [...page.body.matchAll(/(?:href|src)="(\/static\/[^"]+)"/g)].map((m) => m[1] as string)
  t.same(links.map((link) => link.replace(/\?v=[0-9a-f]{32}$/, '?v=HASH')), ['/static/site.css?v=HASH', '/static/site.js?v=HASH'])
  for (const link of links) {
    const asset = await app.inject(link)
    t.equal(asset.statusCode, 200, link)
    t.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable')
  }
})

t.test('robots.txt, favicon.ico and apple-touch-icon.png are served at the root', async (t) => {
  const app = await example(t)
  t.match((await app.inject('/robots.txt')).body, /User-agent/)
  t.equal((await app.inject('/favicon.ico')).headers['content-type'], 'image/vnd.microsoft.icon')
  t.equal((await app.inject('/apple-touch-icon.png')).headers['content-type'], 'image/png')
})

t.test('the example page is gzipped for clients that accept it', async (t) => {
  const app = await example(t)
  const css = await app.inject({ url: '/static/site.css', headers: { 'accept-encoding': 'gzip' } })
  t.equal(css.headers['content-encoding'], 'gzip')
})

t.test('buildApp() with no options logs at LOG_LEVEL and takes the seed settings', async (t) => {
  const previous = process.env.LOG_LEVEL
  process.env.LOG_LEVEL = 'silent'
  t.teardown(() => { if (previous === undefined) delete process.env.LOG_LEVEL; else process.env.LOG_LEVEL = previous })
  const app = await buildApp() as FastifyInstance
  t.teardown(() => app.close())
  t.equal(app.log.level, 'silent')
  t.equal((await app.inject('/robots.txt')).statusCode, 200)
  delete process.env.LOG_LEVEL
  const quiet = await buildApp() as FastifyInstance
  t.teardown(() => quiet.close())
  t.equal(quiet.log.level, 'info', 'info by default (no request made, so nothing is printed)')
})

function cookiesOf (response: { cookies: Array<{ name: string, value: string }> }): Record<string, string> {
  return Object.fromEntries(response.cookies.map((cookie) => [cookie.name, cookie.value]))
}

t.test('sign in through the XSRF-protected form, see the account page, sign out', async (t) => {
  const app = await example(t)
  const anonymous = await app.inject('/account')
  t.equal(anonymous.statusCode, 302)
  t.equal(anonymous.headers.location, '/login?next=%2Faccount')

  const form = await app.inject('/login?next=%2Faccount')
  t.equal(form.statusCode, 200)
  const xsrf = cookiesOf(form)._xsrf as string
  t.ok(xsrf, 'the login page issues the _xsrf cookie')
  const token = formToken(form.body)
  t.match(form.body, /<link rel="stylesheet" href="\/static\/site\.css\?v=[0-9a-f]{32}"/)

  const refused = await app.inject({ method: 'POST', url: '/login', cookies: { _xsrf: xsrf }, payload: { name: 'ann', next: '/account' } })
  t.equal(refused.statusCode, 403, 'no token, no login')

  const login = await app.inject({ method: 'POST', url: '/login', cookies: { _xsrf: xsrf }, payload: { _xsrf: token, name: 'ann', next: '/account' } })
  t.equal(login.statusCode, 303)
  t.equal(login.headers.location, '/account')
  const user = cookiesOf(login).user as string
  t.match(user, /^2\|1:0\|10:\d+\|4:user\|4:YW5u\|[0-9a-f]{64}$/, 'a Tornado v2 signed cookie')

  const account = await app.inject({ url: '/account', cookies: { user, _xsrf: xsrf } })
  t.equal(account.statusCode, 200)
  t.match(account.body, /Signed in as <strong>ann<\/strong>/)

  const logout = await app.inject({ method: 'POST', url: '/logout', cookies: { user, _xsrf: xsrf }, payload: { _xsrf: formToken(account.body) } })
  t.equal(logout.statusCode, 303)
  t.match(logout.headers['set-cookie'], /^user=("")?;.*Max-Age=0/)
})

t.test('a message is posted with the form token; without it the post is refused', async (t) => {
  const app = await example(t)
  const home = await app.inject('/')
  const xsrf = cookiesOf(home)._xsrf as string
  const refused = await app.inject({ method: 'POST', url: '/messages', cookies: { _xsrf: xsrf }, payload: { text: 'hi' } })
  t.equal(refused.statusCode, 403)
  const posted = await app.inject({ method: 'POST', url: '/messages', cookies: { _xsrf: xsrf }, payload: { _xsrf: formToken(home.body), text: '<b>hi</b>' } })
  t.equal(posted.statusCode, 303)
  const after = await app.inject({ url: '/', cookies: { _xsrf: xsrf } })
  t.match(after.body, /<strong>anonymous<\/strong>: &lt;b&gt;hi&lt;\/b&gt;/, 'escaped in the page')
  const empty = await app.inject({ method: 'POST', url: '/messages', cookies: { _xsrf: xsrf }, payload: { _xsrf: formToken(home.body), text: '  ' } })
  t.equal(empty.statusCode, 303)
  const missing = await app.inject({ method: 'POST', url: '/messages', cookies: { _xsrf: xsrf }, payload: { _xsrf: formToken(home.body) } })
  t.equal(missing.statusCode, 303)
  t.equal((await app.inject({ url: '/', cookies: { _xsrf: xsrf } })).body.match(/<li>/g)?.length, 1, 'blank posts are dropped')
})

t.test('the login form refuses an empty name and never redirects off-site', async (t) => {
  const app = await example(t)
  const form = await app.inject('/login?next=//evil.example/')
  t.match(form.body, /name="next" value="\/"/)
  const xsrf = cookiesOf(form)._xsrf as string
  const nameless = await app.inject({ method: 'POST', url: '/login', cookies: { _xsrf: xsrf }, payload: { _xsrf: formToken(form.body) } })
  t.equal(nameless.statusCode, 400)
  const empty = await app.inject({ method: 'POST', url: '/login', cookies: { _xsrf: xsrf }, payload: { _xsrf: formToken(form.body), name: ' ' } })
  t.equal(empty.statusCode, 400)
  t.match(empty.body, /Please enter a name/)
  const offsite = await app.inject({ method: 'POST', url: '/login', cookies: { _xsrf: xsrf }, payload: { _xsrf: formToken(form.body), name: 'bob', next: 'https://evil.example/' } })
  t.equal(offsite.headers.location, '/')
})

t.test('production refuses to start without COOKIE_SECRET, with the fix in the message', async (t) => {
  t.throws(() => settingsFromEnv({ NODE_ENV: 'production' }), /COOKIE_SECRET is not set\. Generate one with/)
  const settings = settingsFromEnv({ NODE_ENV: 'production', COOKIE_SECRET: 'x'.repeat(32) })
  t.equal(settings.cookieSecret, 'x'.repeat(32))
  t.equal(settingsFromEnv({ NODE_ENV: 'development' }).debug, true)
  t.same(settingsFromEnv({ TRUSTED_PROXIES: '10.0.0.5, 10.244.0.0/16' }).xheaders, { trustedProxies: ['10.0.0.5', '10.244.0.0/16'] })
  t.equal(settingsFromEnv({}).xheaders, true)
})

t.test('a key rotation is COOKIE_SECRETS (JSON) with COOKIE_KEY_VERSION, and mistakes in them are explained', async (t) => {
  const keys = { 1: 'o'.repeat(32), 2: 'n'.repeat(32) }
  const settings = settingsFromEnv({ NODE_ENV: 'production', COOKIE_SECRETS: JSON.stringify(keys), COOKIE_KEY_VERSION: '2' })
  t.same(settings.cookieSecret, keys)
  t.equal(settings.keyVersion, 2)
  t.throws(() => settingsFromEnv({ COOKIE_SECRETS: JSON.stringify(keys), COOKIE_KEY_VERSION: '2', COOKIE_SECRET: 'x'.repeat(32) }), /Set COOKIE_SECRET or COOKIE_SECRETS, not both/)
  t.throws(() => settingsFromEnv({ COOKIE_SECRETS: JSON.stringify(keys) }), /COOKIE_SECRETS needs COOKIE_KEY_VERSION/)
  t.throws(() => settingsFromEnv({ COOKIE_SECRETS: '{1: old}', COOKIE_KEY_VERSION: '1' }), /COOKIE_SECRETS must be JSON mapping key versions to secrets/)

  // The app signs with version 2 and still reads a cookie signed with version 1.
  const app = await example(t, { env: { COOKIE_SECRETS: JSON.stringify(keys), COOKIE_KEY_VERSION: '2' } })
  const form = await app.inject('/login')
  const xsrf = cookiesOf(form)._xsrf as string
  const login = await app.inject({ method: 'POST', url: '/login', cookies: { _xsrf: xsrf }, payload: { _xsrf: formToken(form.body), name: 'ann' } })
  t.match(cookiesOf(login).user, /^2\|1:2\|/, 'new cookies name key version 2')
  const old = createSignedValue(keys, 'user', 'bob', { keyVersion: 1 })
  const account = await app.inject({ url: '/account', cookies: { user: old } })
  t.equal(account.statusCode, 200)
  t.match(account.body, /Signed in as <strong>bob<\/strong>/)
})
