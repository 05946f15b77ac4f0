// Issue 15's last line under Tests: the generated nginx (`deploy-kit nginx
// --static-root`, proxy_cache in front of the app) keeps the static
// guarantees for each new feature. Real nginx as generated, the app behind it:
// - compressed representations (build siblings, the kit's own background
//   copies, memory variants) negotiated through the cache: every client gets
//   bytes it accepted that decode to the file, the cache keeps one answer per
//   Accept-Encoding (Vary), and an identity answer sent while compression is
//   still running is never kept for gzip / br clients;
// - staticManifest and staticBundlerManifest: the current hash (or a name the
//   bundler hashed) far-future, a wrong version never kept;
// - staticDefaultFilename: /static/docs/ and the /static/docs redirect;
// - staticUrlHost: what a CDN pulling from the origin through nginx gets.
import t, { type Test } from 'tap'
import { request } from 'node:http'
import { cpSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib'
import Fastify, { type FastifyInstance } from 'fastify'
import deployKit, { type DeployKitSettings } from '../../lib/index.js'
import { IMMUTABLE_CACHE_CONTROL, REVALIDATE_CACHE_CONTROL } from '../../lib/static/response.js'
import { main } from '../../lib/cli/main.js'
import { NGINX, freePort, need, startProcess, tempDir, waitForPort } from '../helpers/tools.js'

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, raw: string[], body: Buffer }

function get (port: number, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, raw: res.rawHeaders, body: Buffer.concat(chunks) }))
    })
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer for ${path} within 10s`)))
    req.on('error', reject)
    req.end()
  })
}

const count = (answer: Answer, name: string): number => answer.raw.filter((_, i) => i % 2 === 0 && answer.raw[i]!.toLowerCase() === name).length

/** The body as the client reads it: decoded as its Content-Encoding says. */
function decoded (answer: Answer): Buffer {
  const encoding = answer.headers['content-encoding']
  if (encoding === 'br') return brotliDecompressSync(answer.body)
  if (encoding === 'gzip') return gunzipSync(answer.body)
  return answer.body
}

// ~320 KiB of JavaScript: above the 256 KiB memory limit, so streamed from disk.
const BIG = Buffer.from(Array.from({ length: 6000 }, (_, i) => `export function f${i} (a, b) { return a * ${i} + b }\n`).join(''))
const OTHER_BIG = Buffer.from(BIG.toString().replace(/return/g, 'yield'))
const CSS = Buffer.from(Array.from({ length: 200 }, (_, i) => `.rule-${i} { margin: ${i % 7}px }\n`).join(''))

// Clients as browsers and tools send them, and what each one accepts.
const CLIENTS: Array<{ header: string | undefined, accepts: string[] }> = [
  { header: 'gzip, deflate, br', accepts: ['br', 'gzip', 'identity'] },
  { header: undefined, accepts: ['identity'] },
  { header: 'gzip', accepts: ['gzip', 'identity'] },
  { header: 'br', accepts: ['br', 'identity'] },
  { header: 'deflate', accepts: ['identity'] },
  { header: 'br;q=0, gzip', accepts: ['gzip', 'identity'] },
  { header: 'identity', accepts: ['identity'] }
]

interface Stack { app: FastifyInstance, appPort: number, nginxPort: number, staticDir: string }

/** The app with `settings` on a copy of `files`, behind the nginx `deploy-kit nginx` generates for it. */
async function behindNginx (t: Test, label: string, staticDir: string, settings: DeployKitSettings, extra: string[] = []): Promise<Stack> {
  const app = Fastify()
  await app.register(deployKit, { staticPath: staticDir, ...settings })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const appPort = (app.server.address() as { port: number }).port
  const prefix = join(staticDir, '..', `nginx-${label}`)
  mkdirSync(prefix)
  const nginxPort = await freePort()
  let config = ''
  let errors = ''
  const code = await main(['nginx', '--upstream', `127.0.0.1:${appPort}`, '--listen', `127.0.0.1:${nginxPort}`,
    '--static-root', staticDir, '--prefix', prefix, ...extra], { stdout: (text) => { config += text }, stderr: (text) => { errors += text } })
  t.equal(code, 0, errors)
  writeFileSync(join(prefix, 'nginx.conf'), config)
  const nginx = startProcess(t, NGINX, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', 'stderr', '-g', 'daemon off;'])
  await waitForPort(nginxPort, '127.0.0.1', nginx)
  t.teardown(() => { if (t.passing() === false) console.error(nginx.output()) })
  return { app, appPort, nginxPort, staticDir }
}

/** Every client in turn through nginx: an accepted representation, decoding to exactly `bytes`. */
async function everyClient (t: Test, port: number, path: string, bytes: Buffer, what: string): Promise<Answer[]> {
  const answers: Answer[] = []
  for (const client of CLIENTS) {
    const answer = await get(port, path, client.header === undefined ? {} : { 'accept-encoding': client.header })
    const encoding = (answer.headers['content-encoding'] as string | undefined) ?? 'identity'
    t.equal(answer.status, 200, `${what}, Accept-Encoding ${client.header}: 200`)
    t.ok(client.accepts.includes(encoding), `${what}, Accept-Encoding ${client.header}: got ${encoding}, which it accepts`)
    t.ok(decoded(answer).equals(bytes), `${what}, Accept-Encoding ${client.header}: exactly the file's bytes`)
    t.equal(count(answer, 'cache-control'), 1, `${what}: one Cache-Control`)
    answers.push(answer)
  }
  return answers
}

/** Polls the app (not nginx) until `path` comes back br: the background copies exist. Bounded. */
async function compressedByApp (t: Test, port: number, path: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if ((await get(port, path, { 'accept-encoding': 'br' })).headers['content-encoding'] === 'br') return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.fail(`${path} never compressed by the app`)
}

if (need(t, NGINX, 'nginx')) {
  t.test('compressed representations are negotiated through nginx\'s cache', async (t) => {
    const dir = tempDir(t, 'nginx-features')
    const staticDir = join(dir, 'static')
    mkdirSync(staticDir)
    writeFileSync(join(staticDir, 'built.js'), BIG)
    const builtBr = brotliCompressSync(BIG)
    writeFileSync(join(staticDir, 'built.js.br'), builtBr)
    writeFileSync(join(staticDir, 'built.js.gz'), gzipSync(BIG, { level: 1 }))
    writeFileSync(join(staticDir, 'stale.js'), OTHER_BIG)
    writeFileSync(join(staticDir, 'stale.js.gz'), gzipSync(BIG)) // an older build's sibling: never sent
    writeFileSync(join(staticDir, 'plain.js'), OTHER_BIG.toString() + '// no siblings\n')
    writeFileSync(join(staticDir, 'site.css'), CSS)
    const { app, appPort, nginxPort } = await behindNginx(t, 'compress', staticDir, {
      staticCompressDir: join(dir, 'compressed'),
      staticWarmup: false // plain.js is first loaded (and its compression queued) by the first request below
    })

    // Build siblings (streamed) and memory variants: right bytes for each client, then each kept once.
    for (const [name, bytes] of [['built.js', BIG], ['site.css', CSS]] as const) {
      const url = app.staticUrl(name)
      const first = await everyClient(t, nginxPort, url, bytes, name)
      t.equal(first[0]!.headers['content-encoding'], 'br', `${name}: a browser gets br through nginx`)
      t.equal(first[2]!.headers['content-encoding'], 'gzip', `${name}: a gzip client gets gzip`)
      for (const answer of first) t.equal(answer.headers['cache-control'], IMMUTABLE_CACHE_CONTROL)
      const second = await everyClient(t, nginxPort, url, bytes, name + ' again')
      for (const [i, answer] of second.entries()) {
        t.equal(answer.headers['x-cache-status'], 'HIT', `${name}, Accept-Encoding ${CLIENTS[i]!.header}: from nginx's cache`)
        t.equal(answer.headers['content-encoding'], first[i]!.headers['content-encoding'], 'the same representation as before (Vary kept apart)')
        t.equal(answer.headers.etag, first[i]!.headers.etag, 'with the app\'s ETag for it')
      }
    }
    const built = await get(nginxPort, app.staticUrl('built.js'), { 'accept-encoding': 'gzip' })
    t.ok(built.body.equals(gzipSync(BIG, { level: 1 })), 'the build\'s own .gz, byte for byte')
    // Ranges: nginx answers them from the representation it keeps for that Accept-Encoding (RFC 9110:
    // a range of the selected representation, with its own ETag); the app alone always ranges identity bytes.
    const brRange = await get(nginxPort, app.staticUrl('built.js'), { 'accept-encoding': 'gzip, deflate, br', range: 'bytes=0-99' })
    t.equal(brRange.status, 206)
    t.equal(brRange.headers['content-encoding'], 'br')
    t.equal(brRange.headers['content-range'], `bytes 0-99/${builtBr.length}`)
    t.ok(brRange.body.equals(builtBr.subarray(0, 100)), 'the first 100 bytes of the br representation')
    const identityRange = await get(nginxPort, app.staticUrl('built.js'), { range: 'bytes=0-99' })
    t.equal(identityRange.status, 206)
    t.equal(identityRange.headers['content-encoding'], undefined)
    t.ok(identityRange.body.equals(BIG.subarray(0, 100)), 'an identity client: the file\'s first 100 bytes')

    // A stale sibling is not the file: gzip clients get the file, never the old build.
    await everyClient(t, nginxPort, app.staticUrl('stale.js'), OTHER_BIG, 'stale.js')
    await everyClient(t, nginxPort, app.staticUrl('stale.js'), OTHER_BIG, 'stale.js again')

    // The kit's own background compression: identity first (nginx may gzip it on
    // the fly), and that answer is not kept for compressing clients...
    const plain = Buffer.from(OTHER_BIG.toString() + '// no siblings\n')
    const url = app.staticUrl('plain.js')
    const during = await everyClient(t, nginxPort, url, plain, 'plain.js while compressing')
    t.not(during[0]!.headers['content-encoding'], 'br', 'the first request finds no br copy yet')
    t.not(during[0]!.headers['cache-control'], IMMUTABLE_CACHE_CONTROL, 'and nobody may keep that answer')
    await compressedByApp(t, appPort, url)
    // ...so once the copies exist, nginx fetches and keeps them.
    const after = await everyClient(t, nginxPort, url, plain, 'plain.js compressed')
    t.equal(after[0]!.headers['content-encoding'], 'br', 'a browser now gets the kit\'s br through nginx')
    t.equal(after[3]!.headers['content-encoding'], 'br', 'a br-only client too, not an identity copy kept from before')
    t.equal(after[2]!.headers['content-encoding'], 'gzip')
    t.equal(after[2]!.headers.etag, (await get(appPort, url, { 'accept-encoding': 'gzip' })).headers.etag, 'the kit\'s gzip, with its ETag')
    t.ok(after[0]!.body.length < plain.length / 5, `${after[0]!.body.length} bytes on the wire instead of ${plain.length}`)
    const again = await everyClient(t, nginxPort, url, plain, 'plain.js compressed, again')
    for (const answer of again) t.equal(answer.headers['x-cache-status'], 'HIT')
    t.equal(again[1]!.headers['content-encoding'], undefined, 'the identity client keeps getting identity')
  })

  t.test('staticManifest: the manifest\'s hash is kept far-future through nginx, a wrong or stale one never', async (t) => {
    const dir = tempDir(t, 'nginx-manifest')
    const staticDir = join(dir, 'static')
    mkdirSync(staticDir)
    writeFileSync(join(staticDir, 'site.css'), CSS)
    writeFileSync(join(staticDir, 'edited.css'), CSS.toString().replace('margin', 'padding'))
    let output = ''
    t.equal(await main(['assets', staticDir, '--quiet'], { stdout: (text) => { output += text }, stderr: (text) => { output += text } }), 0, output)
    // Edited after the build: the manifest's hash for it names other bytes.
    writeFileSync(join(staticDir, 'edited.css'), 'body { color: red }\n')
    const { app, nginxPort } = await behindNginx(t, 'manifest', staticDir, { staticManifest: join(staticDir, '.deploy-kit-assets.json') })

    const url = app.staticUrl('site.css')
    t.match(url, /^\/static\/site\.css\?v=[0-9a-f]{32}$/)
    const answers = [...await everyClient(t, nginxPort, url, CSS, 'site.css'), ...await everyClient(t, nginxPort, url, CSS, 'site.css again')]
    for (const answer of answers) t.equal(answer.headers['cache-control'], IMMUTABLE_CACHE_CONTROL)
    t.equal(answers.at(-1)!.headers['x-cache-status'], 'HIT', 'kept by nginx')
    t.equal(answers[0]!.headers['content-encoding'], 'br', 'the br sibling deploy-kit assets wrote')

    const stale = app.staticUrl('edited.css') // the manifest's hash, before the file was first used
    for (const path of [stale, '/static/site.css?v=' + 'f'.repeat(32), '/static/site.css?v=1']) {
      for (let i = 0; i < 2; i++) {
        const answer = await get(nginxPort, path, { 'accept-encoding': 'gzip' })
        t.equal(answer.status, 200)
        t.equal(answer.headers['cache-control'], REVALIDATE_CACHE_CONTROL, `${path}: revalidate, never far-future`)
        t.not(answer.headers['x-cache-status'], 'HIT', `${path}: never kept by nginx`)
      }
    }
    t.equal(decoded(await get(nginxPort, stale)).toString(), 'body { color: red }\n', 'the real bytes')
    const real = app.staticUrl('edited.css')
    t.not(real, stale, 'staticUrl() now gives the real hash')
    t.equal((await get(nginxPort, real)).headers['cache-control'], IMMUTABLE_CACHE_CONTROL)
  })

  t.test('staticBundlerManifest: names the bundler hashed are far-future through nginx, look-alikes are not', async (t) => {
    const dir = tempDir(t, 'nginx-bundler')
    const staticDir = join(dir, 'static')
    cpSync(fileURLToPath(new URL('../fixtures/vite/build', import.meta.url)), staticDir, { recursive: true })
    writeFileSync(join(staticDir, 'assets', 'fake-AbCdEf12.js'), 'console.log("not from the bundler")\n')
    // The app and nginx read the same manifest: the app's setting, relative to the static root.
    const { app, nginxPort } = await behindNginx(t, 'bundler', staticDir, { staticBundlerManifest: '.vite/manifest.json' },
      ['--static-bundler-manifest', '.vite/manifest.json'])

    const url = app.staticUrl('src/main.ts')
    t.equal(url, '/static/assets/main-Bdcveeea.js')
    const answers: Answer[] = []
    for (let i = 0; i < 2; i++) {
      const answer = await get(nginxPort, url, { 'accept-encoding': 'gzip, deflate, br' })
      t.equal(answer.status, 200)
      t.equal(answer.headers['cache-control'], IMMUTABLE_CACHE_CONTROL, 'far-future without ?v=, as the app says')
      t.equal(count(answer, 'cache-control'), 1)
      t.equal(answer.headers.expires, undefined)
      t.match(decoded(answer).toString(), /lazy/, 'the bundle')
      answers.push(answer)
    }
    t.equal(answers[1]!.headers['x-cache-status'], 'HIT', 'a name the bundler hashed is kept by nginx, without ?v=')
    const css = app.staticUrl('assets/main-Bx_pKM84.css')
    await get(nginxPort, css)
    t.equal((await get(nginxPort, css)).headers['x-cache-status'], 'HIT', 'its CSS too')
    t.equal((await get(nginxPort, url, { 'if-none-match': answers[0]!.headers.etag as string, 'accept-encoding': 'gzip, deflate, br' })).status, 304,
      'a browser revalidating it gets a 304 from nginx')
    for (const path of ['/static/assets/fake-AbCdEf12.js', '/static/assets/fake-AbCdEf12.js?v=0123456789abcdef', '/static/assets/main-Bdcveeea.js.map']) {
      for (let i = 0; i < 2; i++) {
        const answer = await get(nginxPort, path)
        if (path.endsWith('.map')) {
          t.equal(answer.status, 404, 'a file not in the build is not found, and not kept')
        } else {
          t.equal(answer.headers['cache-control'], REVALIDATE_CACHE_CONTROL, `${path}: looks hashed, is not listed: revalidate`)
        }
        t.not(answer.headers['x-cache-status'], 'HIT', `${path}: never kept by nginx`)
      }
    }
    const fake = await get(nginxPort, '/static/assets/fake-AbCdEf12.js')
    t.equal((await get(nginxPort, '/static/assets/fake-AbCdEf12.js', { 'if-none-match': fake.headers.etag as string })).status, 304,
      'an unversioned file revalidates through nginx')
  })

  t.test('--static-bundler-manifest: mistakes are option errors', async (t) => {
    const dir = tempDir(t, 'nginx-bundler-options')
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ 'src/a.ts': { file: 'assets/a b-123.js' } }))
    writeFileSync(join(dir, 'broken.json'), '{')
    const generate = async (args: string[]): Promise<{ code: number, stderr: string }> => {
      let stderr = ''
      const code = await main(['nginx', '--upstream', '127.0.0.1:8000', ...args], { stdout: () => {}, stderr: (text) => { stderr += text } })
      return { code, stderr }
    }
    t.match(await generate(['--static-bundler-manifest', 'manifest.json']), { code: 2, stderr: /--static-bundler-manifest.*together with --static-root/ })
    t.match(await generate(['--static-root', dir, '--static-bundler-manifest', 'missing.json']), { code: 2, stderr: /--static-bundler-manifest.*a readable Vite manifest/ })
    t.match(await generate(['--static-root', dir, '--static-bundler-manifest', 'broken.json']), { code: 2, stderr: /--static-bundler-manifest.*a readable Vite manifest/ })
    t.match(await generate(['--static-root', dir, '--static-bundler-manifest', join(dir, 'manifest.json')]), { code: 2, stderr: /file names nginx can match as they are, not "assets\/a b-123.js"/ })
  })

  t.test('staticDefaultFilename through nginx: directory URLs and their redirect', async (t) => {
    const dir = tempDir(t, 'nginx-default')
    const staticDir = join(dir, 'static')
    mkdirSync(join(staticDir, 'docs'), { recursive: true })
    mkdirSync(join(staticDir, 'my docs'))
    writeFileSync(join(staticDir, 'docs', 'index.html'), '<h1>docs</h1>\n')
    writeFileSync(join(staticDir, 'my docs', 'index.html'), '<h1>mine</h1>\n')
    const { nginxPort } = await behindNginx(t, 'default', staticDir, { staticDefaultFilename: 'index.html' })

    for (let i = 0; i < 2; i++) {
      const index = await get(nginxPort, '/static/docs/', { host: 'www.example.com' })
      t.equal(index.status, 200)
      t.equal(index.body.toString(), '<h1>docs</h1>\n')
      t.match(index.headers['content-type'], /^text\/html/)
      t.equal(index.headers['cache-control'], REVALIDATE_CACHE_CONTROL)
    }
    for (const [path, location] of [['/static/docs', '/static/docs/'], ['/static/docs?v=1', '/static/docs/?v=1'], ['/static/my%20docs', '/static/my%20docs/']] as const) {
      for (const headers of [{ host: 'www.example.com' }, { host: 'www.example.com', 'x-forwarded-proto': 'https' }] as Array<Record<string, string>>) {
        const answer = await get(nginxPort, path, headers)
        t.equal(answer.status, 301, `${path}: redirected`)
        // A path, not a URL: right whatever scheme, host and port the client used to reach nginx.
        t.equal(answer.headers.location, location, `${path}: Location ${location}`)
        t.not(answer.headers['x-cache-status'], 'HIT', `${path}: the redirect is not kept by nginx`)
      }
    }
    t.equal((await get(nginxPort, '/static/my%20docs/')).body.toString(), '<h1>mine</h1>\n')
  })

  t.test('staticUrlHost: a CDN pulling from the origin through nginx gets the right caching headers', async (t) => {
    const dir = tempDir(t, 'nginx-cdn')
    const staticDir = join(dir, 'static')
    mkdirSync(staticDir)
    writeFileSync(join(staticDir, 'site.css'), CSS)
    const { app, nginxPort } = await behindNginx(t, 'cdn', staticDir, { staticUrlHost: 'https://cdn.example.com', cookieSecret: 'c'.repeat(40), xsrfCookies: true })

    const url = new URL(app.staticUrl('site.css'))
    t.equal(url.origin, 'https://cdn.example.com', 'pages point at the CDN')
    // The CDN asks the origin for the same path and query, with its own Host and forwarding headers.
    const pull = { host: 'origin.example.com', via: '1.1 cdn', 'x-forwarded-for': '198.51.100.1', 'accept-encoding': 'gzip, br' }
    for (let i = 0; i < 2; i++) {
      const answer = await get(nginxPort, url.pathname + url.search, pull)
      t.equal(answer.status, 200)
      t.equal(answer.headers['cache-control'], IMMUTABLE_CACHE_CONTROL, 'the CDN may keep it a year')
      t.equal(count(answer, 'cache-control'), 1)
      t.equal(answer.headers.expires, undefined, 'no second expiry for the CDN to reconcile')
      t.match(answer.headers.vary, /Accept-Encoding/, 'the CDN keeps one copy per encoding')
      t.equal(answer.headers['set-cookie'], undefined, 'no cookie: a CDN would not cache it, or would hand it to everyone')
      t.match(answer.headers.etag, /^"[0-9a-f]{32}-(br|gzip)"$/)
      t.ok(decoded(answer).equals(CSS))
    }
    const unversioned = await get(nginxPort, url.pathname, pull)
    t.equal(unversioned.headers['cache-control'], REVALIDATE_CACHE_CONTROL, 'an unversioned pull must be revalidated by the CDN')
    t.equal((await get(nginxPort, url.pathname, { ...pull, 'if-none-match': unversioned.headers.etag as string })).status, 304,
      'and its revalidation reaches the app')
    const wrong = await get(nginxPort, url.pathname + '?v=' + 'e'.repeat(32), pull)
    t.equal(wrong.headers['cache-control'], REVALIDATE_CACHE_CONTROL, 'a version this host does not have: never kept a year')
  })
}
