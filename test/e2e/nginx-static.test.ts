// Issue 10 item 2, through the real nginx: with `deploy-kit nginx
// --static-root`, every promise the app makes about static files holds for a
// client talking to nginx. Dotfiles, .git and a symlink out of the root are
// refused, only the current content hash gets far-future caching, the ETag is
// the app's content ETag, and each response has one Cache-Control line.
import t from 'tap'
import { request } from 'node:http'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Fastify from 'fastify'
import deployKit from '../../lib/index.js'
import { IMMUTABLE_CACHE_CONTROL, REVALIDATE_CACHE_CONTROL } from '../../lib/static/response.js'
import { main } from '../../lib/cli/main.js'
import { NGINX, freePort, need, startProcess, tempDir, waitForPort } from '../helpers/tools.js'

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, raw: string[], body: string }

function get (port: number, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('latin1')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, raw: res.rawHeaders, body }))
    })
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer for ${path} within 10s`)))
    req.on('error', reject)
    req.end()
  })
}

/** How many header lines named `name` (case-insensitive) the response carried. */
const count = (answer: Answer, name: string): number => answer.raw.filter((_, i) => i % 2 === 0 && answer.raw[i]!.toLowerCase() === name).length

if (need(t, NGINX, 'nginx')) {
  t.test('the generated nginx keeps every static promise the app makes', async (t) => {
    const dir = tempDir(t, 'nginx-static')
    const staticDir = join(dir, 'static')
    mkdirSync(join(staticDir, '.git'), { recursive: true })
    mkdirSync(join(dir, 'outside'))
    writeFileSync(join(staticDir, 'site.css'), 'body { color: teal }\n')
    writeFileSync(join(staticDir, 'robots.txt'), 'User-agent: *\n')
    writeFileSync(join(staticDir, '.env'), 'SECRET=dotenv-secret\n')
    writeFileSync(join(staticDir, '.git', 'config'), '[remote] url = git-secret\n')
    writeFileSync(join(dir, 'outside', 'secret.txt'), 'symlink-secret\n')
    symlinkSync(join(dir, 'outside', 'secret.txt'), join(staticDir, 'escape.txt'))
    symlinkSync(join(dir, 'outside'), join(staticDir, 'escape-dir'))

    const app = Fastify()
    await app.register(deployKit, { staticPath: staticDir, staticRootAliases: ['robots.txt'] })
    t.teardown(() => app.close())
    await app.listen({ port: 0, host: '127.0.0.1' })
    const appPort = (app.server.address() as { port: number }).port

    const prefix = join(dir, 'nginx')
    mkdirSync(prefix)
    const nginxPort = await freePort()
    let config = ''
    let errors = ''
    const code = await main(['nginx', '--upstream', `127.0.0.1:${appPort}`, '--listen', `127.0.0.1:${nginxPort}`,
      '--static-root', staticDir, '--aliases', 'robots.txt', '--prefix', prefix], { stdout: (text) => { config += text }, stderr: (text) => { errors += text } })
    t.equal(code, 0, errors)
    writeFileSync(join(prefix, 'nginx.conf'), config)
    const nginx = startProcess(t, NGINX, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', 'stderr', '-g', 'daemon off;'])
    await waitForPort(nginxPort, '127.0.0.1', nginx)
    t.teardown(() => { if (t.passing() === false) console.error(nginx.output()) })

    for (const [path, secret] of [['/static/.env', 'dotenv-secret'], ['/static/.git/config', 'git-secret'], ['/static/escape.txt', 'symlink-secret'],
      ['/static/escape-dir/secret.txt', 'symlink-secret'], ['/static/%2e%65nv', 'dotenv-secret'], ['/static/./.env', 'dotenv-secret'],
      ['/static/sub/../.env', 'dotenv-secret'], ['/static/..%2foutside/secret.txt', 'symlink-secret']] as const) {
      const direct = await get(appPort, path)
      const viaNginx = await get(nginxPort, path)
      t.ok(viaNginx.status >= 400 && viaNginx.status < 500, `${path}: refused through nginx (${viaNginx.status})`)
      t.notMatch(viaNginx.body, secret, `${path}: no byte of it through nginx`)
      t.equal(viaNginx.status, direct.status, `${path}: the app's answer`)
    }

    const direct = await get(appPort, '/static/site.css')
    const etag = direct.headers.etag as string
    t.match(etag, /^"[0-9a-f]{32}"$/, 'the app\'s content ETag')
    const version = etag.slice(1, -1)

    const current = `/static/site.css?v=${version}`
    const first = await get(nginxPort, current)
    const second = await get(nginxPort, current)
    for (const answer of [first, second]) {
      t.equal(answer.status, 200)
      t.equal(answer.body, 'body { color: teal }\n')
      t.equal(answer.headers['cache-control'], IMMUTABLE_CACHE_CONTROL, 'far-future for the current hash, as the app says')
      t.equal(count(answer, 'cache-control'), 1, 'one Cache-Control line')
      t.equal(answer.headers.etag, etag, 'the app\'s ETag')
      t.equal(answer.headers.expires, undefined, 'no second, nginx-made expiry')
    }
    t.equal(second.headers['x-cache-status'], 'HIT', 'then kept by nginx: the app is not asked again')

    for (const wrong of ['0123456789abcdef', 'f'.repeat(32), '']) {
      for (let i = 0; i < 2; i++) {
        const answer = await get(nginxPort, `/static/site.css?v=${wrong}`)
        t.equal(answer.status, 200)
        t.equal(answer.headers['cache-control'], REVALIDATE_CACHE_CONTROL, `?v=${wrong}: not far-future`)
        t.equal(count(answer, 'cache-control'), 1)
        t.equal(answer.headers.expires, undefined)
        t.equal(answer.headers.etag, etag, 'the same ETag')
        t.not(answer.headers['x-cache-status'], 'HIT', `?v=${wrong}: never kept by nginx`)
      }
    }

    const unversioned = await get(nginxPort, '/static/site.css')
    t.equal(unversioned.headers.etag, etag, 'unversioned: the app\'s ETag')
    t.equal(unversioned.headers['cache-control'], REVALIDATE_CACHE_CONTROL)
    t.equal((await get(nginxPort, '/static/site.css', { 'if-none-match': etag })).status, 304, 'revalidates against the content ETag')
    const gzipped = await get(nginxPort, current, { 'accept-encoding': 'gzip' })
    t.equal(count(gzipped, 'cache-control'), 1)
    t.equal(gzipped.headers.etag, (await get(appPort, current, { 'accept-encoding': 'gzip' })).headers.etag, 'a compressed variant keeps the app\'s ETag for it')

    const robots = await get(nginxPort, '/robots.txt')
    t.equal(robots.status, 200)
    t.equal(robots.body, 'User-agent: *\n')
    t.equal(robots.headers.etag, (await get(appPort, '/robots.txt')).headers.etag)
    t.equal(count(robots, 'cache-control'), 1)
  })
}
