// Issue 13's table: a feature costs nothing on a request that does not use it.
// Every contender is its own server process, all of them up at once, loaded
// by wrk with the method of bench/harness.js (pinned CPUs, responses checked
// before timing, each case's baseline and contender loaded at the same time
// in every round, medians and per-round ranges).
//
//   npm run build && node bench/pay-per-use.js
//   BENCH_ROUNDS=5 BENCH_SECONDS=2 BENCH_CONNECTIONS=50 (the defaults)
//   BENCH_TOGETHER=0: each case's two sides one after the other instead of
//   at the same time, sharing CPU 0 (harness.js)
//   BENCH_PROFILE=1: no ratios; each case's two servers up alone under
//   node --cpu-prof, CPU per request by whose code ran (profile-harness.js)
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { profileCases } from './profile-harness.js'
import { OTHER_PACKAGES, compareCases, fetchOnce, selectCases, serveUntilStdinEnds, startServer, stopServer } from './harness.js'

const SECRET = 'bench-only-secret-0123456789abcdefghijklmnopqrstuvwxyz'
const HELLO_BODY = '{"hello":"world"}'
// A valid Tornado v2 token pair: the cookie and the submitted argument mask
// the same raw token (9f1c2e7a55b04d3e8a61c0ffee123456) differently.
const XSRF_COOKIE = '2|deadbeef|41b190958b1df3d154cc7e1030bf8ab9|1700000000'
const XSRF_ARGUMENT = '2|11223344|8e3e1d3e44927e7a9b43f3bbff300712|5'
const FORM_BODY = `name=ann&message=hello+world&_xsrf=${encodeURIComponent(XSRF_ARGUMENT)}`
const POST_BODY = '{"ok":true,"name":"ann"}'

// ---------------------------------------------------------------- servers

function staticFiles (root) {
  writeFileSync(join(root, 'hot.txt'), Buffer.alloc(1024, 'The quick brown fox jumps over the lazy dog. '))
  const css = Array.from({ length: 2200 }, (_, i) => `.rule-${i} { margin: ${i % 17}px; color: #${(i * 2654435761 % 0xffffff).toString(16).padStart(6, '0')}; }`).join('\n')
  writeFileSync(join(root, 'site.css'), css.slice(0, 100 * 1024))
}

/** The settings of one contender: the whole bundle, or one part of it. */
function settingsFor (kind, root) {
  const getCurrentUser = (request) => request.getSignedCookie('user')
  const all = {
    staticPath: root,
    cookieSecret: SECRET,
    xsrfCookies: true,
    loginUrl: '/login',
    getCurrentUser,
    xheaders: true,
    compressResponse: true
  }
  switch (kind) {
    case 'bundle': return all
    case 'static': return { staticPath: root }
    case 'cookie': return { cookieSecret: SECRET }
    case 'xsrf': return { xsrfCookies: true }
    // getCurrentUser reads a signed cookie, so the cookie part comes along.
    case 'auth': return { cookieSecret: SECRET, loginUrl: '/login', getCurrentUser }
    case 'compress': return { compressResponse: true }
    case 'proxy': return { xheaders: true }
  }
  throw new Error('unknown server kind ' + kind)
}

// A kind may end in `+` and one of these: that server, with more done at
// start-up than bare Fastify does, to tell what the kit does per request
// from what loading code does to V8's code for Node's own request path
// (docs/benchmarks.md, "The size of the process").
const START_UP = {
  // One empty plugin registered first: every application registers one.
  plugin: async ({ app }) => { await app.register(async function emptyPlugin () {}) },
  // The kit's modules loaded, nothing of it registered on the app served.
  // `modules:<kind>` loads what that kind's settings load too (a feature's
  // package is loaded when it is registered), by registering them on a
  // throwaway instance: the same code in memory as that contender.
  modules: async ({ Fastify, root, loadsLike }) => {
    const { default: deployKit } = await import('../dist/index.js')
    if (loadsLike === undefined) return
    const throwaway = Fastify()
    await throwaway.register(deployKit, settingsFor(loadsLike, root))
    await throwaway.close()
  },
  // Other packages' modules, none of them registered: the same effect without the kit.
  others: async () => { for (const name of OTHER_PACKAGES) await import(name) }
}

async function serve (kindArgument, root) {
  const { default: Fastify } = await import('fastify')
  const app = Fastify()
  const [kind, startUp] = kindArgument.split('+')
  if (startUp !== undefined) {
    const [name, loadsLike] = startUp.split(':')
    await START_UP[name]({ app, Fastify, root, loadsLike })
  }
  if (kind === 'bare' || kind === 'bare-headers') {
    const hot = readFileSync(join(root, 'hot.txt'))
    const cssGzip = readFileSync(join(root, 'site.css.kit.gz'))
    const extra = kind === 'bare' ? { hot: {}, css: {} } : JSON.parse(readFileSync(join(root, 'kit-headers.json'), 'utf8'))
    app.get('/static/hot.txt', (request, reply) => reply.headers(extra.hot).type('text/plain; charset=utf-8').send(hot))
    app.get('/static/site.css', (request, reply) => reply.headers(extra.css).type('text/css; charset=utf-8').header('content-encoding', 'gzip').send(cssGzip))
  } else if (kind === 'bare-onsend') {
    // The floor of what compression adds to a response it does not
    // compress: one synchronous onSend hook that passes the payload on.
    app.addHook('onSend', (request, reply, payload, done) => done(null, payload))
  } else if (kind === 'bare-formbody') {
    const { default: formbody } = await import('@fastify/formbody')
    await app.register(formbody)
  } else {
    const { default: deployKit } = await import('../dist/index.js')
    await app.register(deployKit, settingsFor(kind, root))
  }
  app.get('/hello', async () => ({ hello: 'world' }))
  app.post('/submit', async (request) => ({ ok: true, name: request.body.name }))
  await serveUntilStdinEnds(app)
}

async function main () {
  const { createSignedValue, encodeCookieValue } = await import('../dist/index.js')
  const root = mkdtempSync(join(tmpdir(), 'fdk-bench-pay-'))
  staticFiles(root)
  const servers = {}
  try {
    // A signed-in browser behind the generated nginx: its cookies (the kit's
    // signed user cookie, its _xsrf cookie, two of the site's own) and
    // nginx's proxy headers on every request, to every contender alike.
    const userCookie = encodeCookieValue(createSignedValue(SECRET, 'user', 'ann'))
    const browser = {
      host: 'app.example',
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
      accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'accept-language': 'en-GB,en;q=0.5',
      cookie: `_ga=GA1.1.1234567890.1700000000; user=${userCookie}; _xsrf=${XSRF_COOKIE}; theme=dark`,
      'x-real-ip': '203.0.113.7',
      'x-forwarded-for': '203.0.113.7',
      'x-scheme': 'http',
      'x-forwarded-proto': 'http'
    }
    const hello = { method: 'GET', path: '/hello', headers: { ...browser, 'accept-encoding': 'gzip, deflate, br' }, expect: { encoding: 'identity', body: Buffer.from(HELLO_BODY) } }
    const post = {
      method: 'POST',
      path: '/submit',
      headers: { ...browser, 'accept-encoding': 'gzip, deflate, br', 'content-type': 'application/x-www-form-urlencoded' },
      body: FORM_BODY,
      expect: { encoding: 'identity', body: Buffer.from(POST_BODY) }
    }
    const hot = { method: 'GET', path: '/static/hot.txt', headers: browser, expect: { encoding: 'identity', body: readFileSync(join(root, 'hot.txt')) } }
    const css = { method: 'GET', path: '/static/site.css', headers: { ...browser, 'accept-encoding': 'gzip' }, expect: { encoding: 'gzip', body: readFileSync(join(root, 'site.css')) } }

    const script = fileURLToPath(import.meta.url)
    // The compress part once more with a request of two headers, to tell a
    // cost that grows with the request's headers from one of compression
    // itself (docs/benchmarks.md: 0.97x without the browser's headers).
    const plainHello = { ...hello, headers: { host: 'app.example', 'accept-encoding': 'gzip, deflate, br' } }
    // The bare routes send the very bytes the bundle sends (the gzip buffer
    // for site.css), and the "same headers" ones its caching headers too:
    // both read from a bundle server started first, alone.
    const first = await startServer('bundle', script, ['bundle', root])
    let kitHot, kitCss
    try {
      kitHot = await fetchOnce(first.port, hot)
      kitCss = await fetchOnce(first.port, css)
    } finally {
      await stopServer(first)
    }
    writeFileSync(join(root, 'site.css.kit.gz'), kitCss.body)
    const cachingHeaders = (response) => Object.fromEntries(['etag', 'last-modified', 'cache-control', 'accept-ranges', 'vary']
      .filter((name) => response.headers[name] !== undefined).map((name) => [name, response.headers[name]]))
    writeFileSync(join(root, 'kit-headers.json'), JSON.stringify({ hot: cachingHeaders(kitHot), css: cachingHeaders(kitCss) }))

    // One process per side of every case, so that every server runs as often
    // as every other: on the virtual machines measured, a process that sat
    // idle while the others ran was up to 20% slower than one loaded often,
    // even after a warm-up (the shared bare baseline always won). A side is
    // [server, kind]; only the servers of the cases selected (BENCH_CASES,
    // harness.js: '#issue' is issue 13's table) are started, so that the
    // number of processes sharing CPU 0 can be varied too.
    const PARTS = ['static', 'cookie', 'xsrf', 'auth', 'compress', 'proxy']
    const part = (name) => ({ group: 'issue', label: `GET /hello, ${name} part only, vs bare`, contender: [name, name], baseline: [`bare-${name}`, 'bare'], load: hello, target: 0.98 })
    const partVsModules = (name) => ({ group: 'modules', label: `GET /hello, ${name} part only, vs bare + the same modules loaded`, contender: [`${name}-m`, name], baseline: [`modules-${name}`, `bare+modules:${name}`], load: hello, target: 0.98 })
    const cases = selectCases([
      { group: 'issue', label: 'GET /hello, whole bundle, signed-in cookies, vs bare Fastify', contender: ['bundle-hello', 'bundle'], baseline: ['bare-hello', 'bare'], load: hello, target: 0.95 },
      { group: 'issue', label: 'POST form with _xsrf, whole bundle, vs bare Fastify + @fastify/formbody', contender: ['bundle-post', 'bundle'], baseline: ['bare-formbody', 'bare-formbody'], load: post, target: 0.93 },
      { group: 'issue', label: 'hot 1 KiB static file (whole bundle) vs bare route, same bytes', contender: ['bundle-hot', 'bundle'], baseline: ['bare-hot', 'bare'], load: hot, target: 0.95 },
      { group: 'issue', label: '100 KiB CSS, gzip (whole bundle) vs bare route, same gzip buffer', contender: ['bundle-css', 'bundle'], baseline: ['bare-css', 'bare'], load: css, target: 0.95 },
      ...PARTS.map(part),
      // The bare routes send the bundle's caching headers too (ETag,
      // Last-Modified, Cache-Control, Accept-Ranges, Vary): the cost of the
      // kit's work apart from that of the headers it adds.
      { group: 'headers', label: 'hot 1 KiB static file vs bare route, same bytes and caching headers', contender: ['bundle-hot-headers', 'bundle'], baseline: ['bare-headers-hot', 'bare-headers'], load: hot },
      { group: 'headers', label: '100 KiB CSS, gzip, vs bare route, same gzip buffer and caching headers', contender: ['bundle-css-headers', 'bundle'], baseline: ['bare-headers-css', 'bare-headers'], load: css },
      // The same cases against bare Fastify that has loaded the very modules
      // its contender loads, without registering anything of the kit on the
      // app it serves: what is left is the kit's work per request.
      { group: 'modules', label: 'GET /hello, whole bundle, signed-in cookies, vs bare + the same modules loaded', contender: ['bundle-hello-m', 'bundle'], baseline: ['modules-hello', 'bare+modules:bundle'], load: hello, target: 0.95 },
      { group: 'modules', label: 'POST form with _xsrf, whole bundle, vs bare + @fastify/formbody + the same modules loaded', contender: ['bundle-post-m', 'bundle'], baseline: ['modules-formbody', 'bare-formbody+modules:bundle'], load: post, target: 0.93 },
      { group: 'modules', label: 'hot 1 KiB static file (whole bundle) vs bare route + the same modules loaded', contender: ['bundle-hot-m', 'bundle'], baseline: ['modules-hot', 'bare+modules:bundle'], load: hot, target: 0.95 },
      { group: 'modules', label: '100 KiB CSS, gzip (whole bundle) vs bare route + the same modules loaded', contender: ['bundle-css-m', 'bundle'], baseline: ['modules-css', 'bare+modules:bundle'], load: css, target: 0.95 },
      ...PARTS.map(partVsModules),
      // The method's own noise: two processes of the very same server.
      { group: 'controls', label: 'GET /hello, bare vs an identical bare process', contender: ['bare-twin', 'bare'], baseline: ['bare-for-twin', 'bare'], load: hello },
      // What start-up alone does to the same GET /hello.
      { group: 'controls', label: 'GET /hello, bare + one empty plugin registered, vs bare', contender: ['plugin-floor', 'bare+plugin'], baseline: ['bare-for-plugin', 'bare'], load: hello },
      { group: 'controls', label: 'GET /hello, bare + the kit\'s modules loaded (nothing registered), vs bare', contender: ['modules-floor', 'bare+modules'], baseline: ['bare-for-modules', 'bare'], load: hello },
      { group: 'controls', label: 'GET /hello, bare + other packages\' modules loaded (template engines, @fastify/static, ...), vs bare', contender: ['others-floor', 'bare+others'], baseline: ['bare-for-others', 'bare'], load: hello },
      { group: 'controls', label: 'GET /hello, bare + a no-op sync onSend hook, vs bare', contender: ['onsend-hello', 'bare-onsend'], baseline: ['bare-for-onsend', 'bare'], load: hello },
      { group: 'controls', label: 'GET /hello, compress part only, Host and Accept-Encoding only, vs bare', contender: ['compress-plain', 'compress'], baseline: ['bare-compress-plain', 'bare'], load: plainHello }
    ])
    if (process.env.BENCH_PROFILE === '1') {
      await profileCases(cases, ([name, kind], nodeFlags) => startServer(name, script, [kind, root], { nodeFlags }))
      return
    }
    const sides = new Map(cases.flatMap((c) => [c.contender, c.baseline]))
    console.log(`servers: ${sides.size}, for ${cases.length} cases`)
    const started = await Promise.allSettled([...sides].map(([name, kind]) => startServer(name, script, [kind, root])))
    for (const result of started) if (result.status === 'fulfilled') servers[result.value.name] = result.value
    for (const result of started) if (result.status === 'rejected') throw result.reason
    await compareCases(cases.map((c) => ({ ...c, contender: servers[c.contender[0]], baseline: servers[c.baseline[0]] })), { together: true })
  } finally {
    await Promise.all(Object.values(servers).map(stopServer))
    rmSync(root, { recursive: true, force: true })
  }
}

if (process.argv[2] === 'serve') await serve(process.argv[3], process.argv[4])
else await main()
