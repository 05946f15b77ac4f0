// The example app in a real browser, as a user meets it: Debian's Chromium,
// headless, driven by playwright-core (pointed at /usr/bin/chromium; it never
// downloads a browser), talking https to the nginx that `deploy-kit nginx
// --tls-cert` writes, in front of `deploy-kit start example/app.js`. The
// certificate is made here with openssl for 127.0.0.1 and trusted by its key
// pin (--ignore-certificate-errors-spki-list): Chromium then treats the site
// as valid https, so it caches as it would for a real site (it caches nothing
// from a site with a certificate error) and keeps Secure cookies.
//
// Requests are counted in nginx's access log: nginx keeps the app's static
// answers (--static-root), so a cached stylesheet never reaches the app.
//
// Screenshots of the pages are taken on every run; `npm run screenshots`
// (FDK_SCREENSHOTS=docs/screenshots) writes them into docs/ for the README.
import t, { type Test } from 'tap'
import { X509Certificate, createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { main } from '../../lib/cli/main.js'
import { NGINX, childEnv, freePort, need, run, startProcess, tempDir, waitForPort } from '../helpers/tools.js'

const CHROMIUM = '/usr/bin/chromium'
const OPENSSL = '/usr/bin/openssl'
const root = fileURLToPath(new URL('../..', import.meta.url))
const cli = join(root, 'dist', 'cli', 'main.js')
const staticDir = join(root, 'example', 'static')
/** The header's colour in example/static/site.css: seen only if the stylesheet was decoded and applied. */
const HEADER_BACKGROUND = 'rgb(59, 89, 152)'

const site = { base: '', accessLog: '', screenshots: '' }
let browser: Browser

if (need(t, CHROMIUM, 'chromium') && need(t, OPENSSL, 'openssl') && need(t, NGINX, 'nginx')) {
  if (!existsSync(cli)) {
    t.fail('dist/ is missing: run `npm run build` (npm ci does it through "prepare"); `deploy-kit start` and the example load it')
  } else {
    t.before(start)
    checks()
  }
}

/** A throwaway certificate for 127.0.0.1, valid for a day; returns its key pin for Chromium. */
async function certificate (dir: string): Promise<{ cert: string, key: string, pin: string }> {
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  const made = await run(OPENSSL, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'])
  if (made.code !== 0) throw new Error(`openssl could not make a certificate: ${made.stderr}`)
  const spki = new X509Certificate(readFileSync(cert)).publicKey.export({ type: 'spki', format: 'der' })
  return { cert, key, pin: createHash('sha256').update(spki).digest('base64') }
}

/** The launcher with the example app, nginx with TLS in front of it, and Chromium; all stopped at teardown. */
async function start (): Promise<void> {
  const dir = tempDir(t, 'browser')
  const tls = await certificate(dir)

  // One process: the example keeps its messages in memory, per process.
  const appPort = await freePort()
  const launcher = startProcess(t, process.execPath, [cli, 'start', join(root, 'example', 'app.js'), '--processes', '1', '--port', String(appPort), '--host', '127.0.0.1'],
    childEnv({ NODE_ENV: 'production', COOKIE_SECRET: 'browser-test-secret-0123456789abcdefghij', LOG_LEVEL: 'warn' }))
  await waitForPort(appPort, '127.0.0.1', launcher)

  const tlsPort = await freePort()
  let config = ''
  let errors = ''
  const code = await main(['nginx', '--upstream', `127.0.0.1:${appPort}`, '--listen', `127.0.0.1:${tlsPort}`,
    '--tls-cert', tls.cert, '--tls-key', tls.key, '--static-root', staticDir,
    '--aliases', 'robots.txt,favicon.ico,apple-touch-icon.png', '--prefix', dir],
  { stdout: (text) => { config += text }, stderr: (text) => { errors += text } })
  if (code !== 0) throw new Error(`deploy-kit nginx failed: ${errors}`)
  writeFileSync(join(dir, 'nginx.conf'), config)
  const nginx = startProcess(t, NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr', '-g', 'daemon off;'])
  await waitForPort(tlsPort, '127.0.0.1', nginx)
  site.base = `https://127.0.0.1:${tlsPort}`
  site.accessLog = join(dir, 'access.log')
  site.screenshots = process.env.FDK_SCREENSHOTS === undefined ? join(dir, 'screenshots') : resolve(root, process.env.FDK_SCREENSHOTS)
  mkdirSync(site.screenshots, { recursive: true })

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    timeout: 30_000,
    // Chromium's sandbox refuses to run as root (CI and this machine run tests as root).
    args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), `--ignore-certificate-errors-spki-list=${tls.pin}`]
  })
  t.teardown(() => browser.close())
}

/** A fresh browser profile's tab (no cookies, empty cache), closed after the test. */
async function newPage (t: Test): Promise<{ context: BrowserContext, page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1024, height: 600 } })
  context.setDefaultTimeout(15_000)
  t.teardown(() => context.close())
  return { context, page: await context.newPage() }
}

async function screenshot (page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(site.screenshots, `${name}.png`) })
}

/** Signs in through the form as a user would, starting from the page that asks for it. */
async function signIn (page: Page, name: string, from = '/account'): Promise<void> {
  await page.goto(site.base + from)
  await page.fill('input[name="name"]', name)
  await page.click('button:has-text("Sign in")')
}

/** `METHOD path status` of each access-log line from byte `offset` on. */
function loggedSince (offset: number): string[] {
  const text = readFileSync(site.accessLog, 'utf8').slice(offset)
  return [...text.matchAll(/"(\S+) (\S+) HTTP\/[\d.]+" (\d{3})/g)].map((m) => `${m[1]} ${m[2]} ${m[3]}`)
}

/**
 * The requests that reached nginx from `offset` until a marker request the
 * page sends last: nginx writes a line when it has answered, so this waits
 * (bounded) for the marker's line instead of sleeping.
 */
async function requestsUntilMarker (page: Page, offset: number): Promise<string[]> {
  const marker = `/robots.txt?marker=${Date.now()}`
  await page.evaluate(async (url) => { await fetch(url) }, marker)
  for (let attempt = 0; attempt < 200; attempt++) {
    const lines = loggedSince(offset)
    if (lines.some((line) => line.includes(marker))) return lines.filter((line) => !line.includes(marker))
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`the marker request never reached nginx's access log; last lines: ${loggedSince(offset).slice(-10).join('; ')}`)
}

function checks (): void {
  t.test('the driver installs no browser: playwright-core has no install script and no dependencies', async (t) => {
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> }
    const entry = lock.packages['node_modules/playwright-core']
    t.ok(entry, 'playwright-core is locked')
    t.equal(entry?.hasInstallScript, undefined, 'npm ci runs nothing for it (the full `playwright` package would download browsers)')
    t.equal(entry?.dependencies, undefined, 'and pulls in nothing else')
  })

  t.test('signing in through the login form lands on the page given in next', async (t) => {
    const { page } = await newPage(t)
    await page.goto(site.base + '/login?next=%2Faccount')
    t.equal(await page.inputValue('input[name="next"]'), '/account')
    await page.fill('input[name="name"]', 'ann')
    await screenshot(page, 'login')
    await page.click('button:has-text("Sign in")')
    t.equal(page.url(), site.base + '/account')
    t.match(await page.textContent('main'), /Signed in as ann\./)
    t.match(await page.textContent('header nav'), /Sign out ann/)
    await screenshot(page, 'account')
  })

  t.test('a message posted through the home page form carries the page\'s _xsrf and is listed', async (t) => {
    const { page } = await newPage(t)
    await signIn(page, 'ann', '/login?next=%2F')
    t.equal(page.url(), site.base + '/')
    const token = await page.inputValue('form[action="/messages"] input[name="_xsrf"]')
    const post = page.waitForRequest((request) => request.method() === 'POST' && request.url() === site.base + '/messages')
    await page.fill('input[name="text"]', 'Hello from a real browser <b>not bold</b>')
    await page.click('button:has-text("Post")')
    const sent = new URLSearchParams((await post).postData() ?? '')
    t.equal(sent.get('_xsrf'), token, 'the form sent the token the page carried')
    await page.waitForURL(site.base + '/')
    t.ok((await page.locator('ul.messages li').allTextContents()).includes('ann: Hello from a real browser <b>not bold</b>'), 'listed, as text (escaped, not markup)')
    await screenshot(page, 'home')
  })

  t.test('signing out forgets the user: the header offers sign-in again', async (t) => {
    const { context, page } = await newPage(t)
    await signIn(page, 'bob', '/login?next=%2F')
    t.ok((await context.cookies()).some((cookie) => cookie.name === 'user'), 'signed in first')
    await page.click('button:has-text("Sign out bob")')
    await page.waitForURL(site.base + '/')
    t.notOk((await context.cookies()).some((cookie) => cookie.name === 'user'), 'the user cookie is gone')
    t.equal(await page.locator('header nav a', { hasText: 'Sign in' }).count(), 1)
    t.equal(await page.locator('button', { hasText: 'Sign out' }).count(), 0)
  })

  t.test('an authenticated page sends a signed-out browser to the login form', async (t) => {
    const { page } = await newPage(t)
    const response = await page.goto(site.base + '/account')
    t.equal(page.url(), site.base + '/login?next=%2Faccount')
    t.equal(response?.status(), 200)
    t.equal(await page.inputValue('input[name="next"]'), '/account')
    t.ok(await page.isVisible('input[name="name"]'), 'the form is shown')
  })

  t.test('a form whose token was tampered with in the DOM gets a readable HTML 403 page', async (t) => {
    const { page } = await newPage(t)
    await page.goto(site.base + '/')
    await page.evaluate(() => {
      const field = document.querySelector<HTMLInputElement>('form[action="/messages"] input[name="_xsrf"]')!
      // Same length and format, one hex digit of the masked token changed.
      field.value = field.value.replace(/\|([0-9a-f])/, (_, digit: string) => '|' + (digit === '0' ? '1' : '0'))
    })
    await page.fill('input[name="text"]', 'forged')
    const answer = page.waitForResponse((response) => response.url() === site.base + '/messages')
    await page.click('button:has-text("Post")')
    const response = await answer
    t.equal(response.status(), 403)
    t.match(response.headers()['content-type'], /^text\/html/, 'HTML, because the browser asked for it')
    t.equal(await page.title(), '403: Forbidden')
    t.match(await page.textContent('body'), /403: Forbidden: XSRF check failed/)
    await screenshot(page, 'forbidden')
    await page.goto(site.base + '/')
    t.notMatch(await page.textContent('ul.messages'), /forged/, 'nothing was posted')
  })

  t.test('a normal reload takes the versioned stylesheet and script from the cache and revalidates the unversioned logo', async (t) => {
    const { page } = await newPage(t)
    const first = statSync(site.accessLog).size
    await page.goto(site.base + '/')
    const loaded = await requestsUntilMarker(page, first)
    t.ok(loaded.some((line) => /^GET \/static\/site\.css\?v=[0-9a-f]{32} 200$/.test(line)), 'the first visit fetched the stylesheet')
    t.ok(loaded.some((line) => line === 'GET /static/logo.svg 200'), 'and the logo the stylesheet names')

    const before = statSync(site.accessLog).size
    await page.reload()
    t.equal(await page.evaluate(() => document.documentElement.dataset.loaded), 'yes', 'the script ran')
    const reload = await requestsUntilMarker(page, before)
    t.comment(`requests reaching nginx on reload: ${reload.join(', ')}`)
    t.same(reload.filter((line) => line.includes('?v=')), [], 'no versioned asset was asked for again')
    t.same(reload.filter((line) => line.startsWith('GET /static/logo.svg')), ['GET /static/logo.svg 304'], 'the unversioned logo was revalidated: 304')
    t.ok(reload.some((line) => line.startsWith('GET / ')), 'the page itself was asked for again')
    // Chromium asks for /favicon.ico by itself once a page has loaded, whenever
    // it gets to it: the first visit's request can land in this window
    // (cancelled by the reload: 499) and the reload's own may or may not. It is
    // the browser's, not one of the page's assets, so it is not counted.
    const fromPage = reload.filter((line) => !line.startsWith('GET /favicon.ico '))
    t.equal(fromPage.length, 2, 'and nothing else')
  })

  t.test('the browser received the stylesheet compressed and decoded it', async (t) => {
    const { page } = await newPage(t)
    const stylesheet = page.waitForResponse((response) => response.url().includes('/static/site.css?v='))
    await page.goto(site.base + '/')
    const response = await stylesheet
    const encoding = (await response.allHeaders())['content-encoding']
    t.comment(`site.css: Content-Encoding ${encoding}, Accept-Encoding sent: ${(await response.request().allHeaders())['accept-encoding']}`)
    t.ok(encoding === 'gzip' || encoding === 'br', `compressed on the wire (${encoding})`)
    t.match(await response.text(), /\.site-header/, 'the browser has the decoded CSS')
    t.equal(await page.evaluate(() => getComputedStyle(document.querySelector('.site-header')!).backgroundColor), HEADER_BACKGROUND, 'and applied it')
  })

  t.test('the cookies the browser stored carry the flags the docs promise', async (t) => {
    const { context, page } = await newPage(t)
    await signIn(page, 'ann')
    const cookies = Object.fromEntries((await context.cookies()).map((cookie) => [cookie.name, cookie]))
    const flags = (name: string): Record<string, unknown> => {
      const { httpOnly, secure, sameSite, path } = cookies[name]!
      return { httpOnly, secure, sameSite, path }
    }
    t.comment(`user: ${JSON.stringify(flags('user'))}; _xsrf: ${JSON.stringify(flags('_xsrf'))}`)
    t.same(flags('user'), { httpOnly: true, secure: true, sameSite: 'Lax', path: '/' }, 'signed cookie (docs/cookie.md): HttpOnly, SameSite=Lax, Secure over https')
    t.same(flags('_xsrf'), { httpOnly: false, secure: true, sameSite: 'Lax', path: '/' }, '_xsrf (docs/xsrf.md): readable by scripts, SameSite=Lax, Secure with secure: \'auto\'')
    const visible = await page.evaluate(() => document.cookie)
    t.match(visible, /(^|; )_xsrf=/, 'scripts read _xsrf')
    t.notMatch(visible, /(^|; )user=/, 'scripts cannot read the signed user cookie')
  })
}
