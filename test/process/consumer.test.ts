// The user's path, as a user takes it: `npm pack` the package, install the
// tarball into a fresh app with its own fastify (the oldest and the newest of
// the declared peer range), @fastify/view and nunjucks; compile the app's
// TypeScript strict under NodeNext and bundler without skipLibCheck; run it
// with `deploy-kit start` under the supervisord configuration the installed
// CLI generates, behind the nginx configuration it generates; and send a
// request through each part (compressResponse included: @fastify/compress is
// loaded when it is on, from wherever the package is installed). Also the systemd unit: `systemd-analyze verify`,
// then its ExecStart with its Environment lines starts the app on its port.
// Loopback only; every wait and every process bounded.
import t, { type Test } from 'tap'
import { execFile, spawn } from 'node:child_process'
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { NGINX, SUPERVISORD, freePort, freePortRange, need, startProcess, stopProcess, tempDir, waitForPort } from '../helpers/tools.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const fixture = join(root, 'test', 'fixtures', 'consumer')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { peerDependencies: { fastify: string }, devDependencies: { fastify: string } }
const SECRET = 'consumer-test-secret-0123456789abcdefghijkl'
const ANALYZE = '/usr/bin/systemd-analyze'

// Installs, compiles and two supervisord + nginx runs: minutes on a shared machine.
t.setTimeout(600_000)

/** The environment a user's shell would have: none of npm's or tap's variables (npm test sets npm_config_*). */
function userEnv (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(npm_|NODE_OPTIONS$|TAP|_TAPJS|NODE_ENV$|PORT$|HOST$)/i.test(key)) env[key] = value
  }
  return { ...env, ...extra }
}

interface Result { code: number, stdout: string, stderr: string }

function exec (file: string, args: string[], options: { cwd?: string, env?: NodeJS.ProcessEnv, timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: options.cwd, env: options.env ?? userEnv(), timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr })
    })
  })
}

interface Response { status: number, headers: IncomingHttpHeaders, body: string }

function request (port: number, path: string, options: { method?: string, headers?: Record<string, string>, body?: string, agent?: Agent } = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false, timeout: 10_000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
    })
    req.on('timeout', () => req.destroy(new Error(`timeout on ${path}`)))
    req.on('error', reject)
    req.end(options.body)
  })
}

function cookiesOf (response: Response): string[] {
  return (response.headers['set-cookie'] ?? []).map((line) => line.split(';')[0]!)
}

function form (fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString()
}

/** Polls `check` every 100 ms, at most `limitMs`; fails with `describe()` (the last log lines). */
async function until (check: () => boolean, limitMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up after ${limitMs} ms: ${describe()}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const tail = (file: string): string => existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-15).join('\n') : `(no ${file})`

interface App { dir: string, fastify: string, install: Result }

/** A fresh app directory with the tarball and `fastify@spec` installed. */
async function installApp (tmp: string, tarball: string, label: string, spec: string): Promise<App> {
  const dir = join(tmp, label)
  cpSync(fixture, dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `user-app-${label}`, private: true, type: 'module' }, null, 2))
  const install = await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, `fastify@${spec}`,
    '@fastify/view@^12', 'nunjucks@^3', '@types/nunjucks@^3', '@types/node@^20'], { cwd: dir, timeoutMs: 300_000 })
  const version = existsSync(join(dir, 'node_modules', 'fastify', 'package.json'))
    ? (JSON.parse(readFileSync(join(dir, 'node_modules', 'fastify', 'package.json'), 'utf8')) as { version: string }).version
    : 'none'
  return { dir, fastify: version, install }
}

const floor = /^\^(\d+\.\d+\.\d+)$/.exec(pkg.peerDependencies.fastify)?.[1]

if (need(t, SUPERVISORD, 'supervisor') && need(t, NGINX, 'nginx')) {
  if (!existsSync(join(root, 'dist', 'index.js'))) t.fail('dist/ is missing: run `npm run build` (npm test does it first)')
  else consumer()
}

function consumer (): void {
  const tmp = tempDir(t, 'consumer')
  // nginx's workers (nobody / www-data when the master is root) read the
  // static files: mkdtemp made this directory 0700 (docs/cli.md says so too).
  chmodSync(tmp, 0o755)
  const apps: App[] = []

  t.before(async () => {
    const packed = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: root })
    if (packed.code !== 0) throw new Error(`npm pack failed: ${packed.stderr}`)
    const tarball = join(tmp, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]!.filename)
    // Both at once: the installs wait on the network, not on the CPU.
    apps.push(...await Promise.all([installApp(tmp, tarball, 'oldest', floor!), installApp(tmp, tarball, 'newest', pkg.peerDependencies.fastify)]))
  })

  t.test('the peer range has a floor the oldest app installs', async (t) => {
    t.ok(floor, `peerDependencies.fastify is ^X.Y.Z: ${pkg.peerDependencies.fastify}`)
  })

  for (const [index, label] of ['oldest', 'newest'].entries()) {
    t.test(`${label} fastify of the peer range`, async (t) => {
      const app = apps[index]!
      t.equal(app.install.code, 0, `npm install: ${app.install.stderr}`)
      if (label === 'oldest') t.equal(app.fastify, floor, 'the floor of the peer range')
      else t.ok(app.fastify.localeCompare(pkg.devDependencies.fastify.slice(1), undefined, { numeric: true }) >= 0, `fastify ${app.fastify}: at least the version developed against`)
      t.notOk(existsSync(join(app.dir, 'node_modules', 'fastify-deploy-kit', 'node_modules', 'fastify')), 'no second, nested fastify')
      t.notMatch(app.install.stderr, /install-scripts|prepare/, 'npm has no install script to ask about')
      t.ok(existsSync(join(app.dir, 'node_modules', 'fastify-deploy-kit', 'LICENSE')), 'the package carries its LICENSE')

      await t.test('the app compiles: strict, exactOptionalPropertyTypes, no skipLibCheck, NodeNext and bundler', async (t) => {
        const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
        const [nodenext, bundler] = await Promise.all([
          exec(process.execPath, [tsc, '-p', 'tsconfig.nodenext.json'], { cwd: app.dir, timeoutMs: 180_000 }),
          exec(process.execPath, [tsc, '-p', 'tsconfig.bundler.json'], { cwd: app.dir, timeoutMs: 180_000 })
        ])
        t.equal(nodenext.code, 0, `NodeNext: ${nodenext.stdout}${nodenext.stderr}`)
        t.equal(bundler.code, 0, `bundler: ${bundler.stdout}${bundler.stderr}`)
        t.ok(existsSync(join(app.dir, 'dist', 'app.js')))
      })

      await t.test('CommonJS can require() the package', async (t) => {
        const required = await exec(process.execPath, ['-e', "const kit = require('fastify-deploy-kit'); console.log(typeof kit.default, typeof kit.launch)"], { cwd: app.dir })
        t.equal(required.code, 0, required.stderr)
        t.equal(required.stdout.trim(), 'function function')
      })

      await t.test('deploy-kit start under the generated supervisord config, behind the generated nginx config', (t) => runStack(t, app))
      await t.test('the generated systemd unit verifies, and its ExecStart with its Environment starts the app on its port', (t) => runSystemdUnit(t, app))
    })
  }
}

async function runStack (t: Test, app: App): Promise<void> {
  const run = join(app.dir, 'run')
  mkdirSync(run)
  const envFile = join(run, 'app.env')
  writeFileSync(envFile, `COOKIE_SECRET=${SECRET}\n`, { mode: 0o600 })
  const bin = join(app.dir, 'node_modules', '.bin', 'deploy-kit')
  const first = await freePortRange(2)
  const nginxPort = await freePort()

  const supervisord = await exec(bin, ['supervisord', '--command', `${bin} start dist/app.js --host 127.0.0.1 --shutdown-timeout 2`,
    '--processes', '2', '--port', String(first), '--directory', app.dir, '--environment-file', envFile,
    '--shutdown-timeout', '2', '--prefix', run], { cwd: app.dir })
  t.equal(supervisord.code, 0, supervisord.stderr)
  t.notMatch(supervisord.stdout, SECRET, 'the secret stays in the environment file')
  t.notMatch(supervisord.stdout, /npx/)
  const reload = /supervisorctl -c <this file> (signal HUP '([^']+)')/.exec(supervisord.stdout)
  t.ok(reload, 'the file names its reload command')
  const supervisordConf = join(run, 'supervisord.conf')
  writeFileSync(supervisordConf, supervisord.stdout)

  const nginx = await exec(bin, ['nginx', '--upstream', `127.0.0.1:${first}-${first + 1}`, '--listen', `127.0.0.1:${nginxPort}`,
    '--static-root', join(app.dir, 'static'), '--aliases', '', '--prefix', run], { cwd: app.dir })
  t.equal(nginx.code, 0, nginx.stderr)
  const nginxConf = join(run, 'nginx.conf')
  writeFileSync(nginxConf, nginx.stdout)
  // The worker user reads the static files through every parent directory.
  for (const dir of [app.dir, join(app.dir, 'static')]) chmodSync(dir, 0o755)
  for (const file of readdirSync(join(app.dir, 'static'))) chmodSync(join(app.dir, 'static', file), 0o644)
  t.equal((statSync(envFile).mode & 0o777), 0o600)

  const env = userEnv()
  const manager = startProcess(t, SUPERVISORD, ['-n', '-c', supervisordConf], env)
  const logs = [first, first + 1].map((port) => join(run, `app_${port}.log`))
  const describe = (): string => `${manager.output()}\n${logs.map(tail).join('\n')}`
  try {
    await waitForPort(first, '127.0.0.1', manager)
    await waitForPort(first + 1, '127.0.0.1', manager)
  } catch (error) {
    t.fail(`${(error as Error).message}\n${describe()}`)
    return
  }
  const proxy = startProcess(t, NGINX, ['-p', run, '-c', nginxConf, '-e', 'stderr', '-g', 'daemon off;'], env)
  await waitForPort(nginxPort, '127.0.0.1', proxy)

  const direct = [await request(first, '/port'), await request(first + 1, '/port')].map((r) => JSON.parse(r.body) as { port: number })
  t.same(direct.map((d) => d.port), [first, first + 1], 'each process on its own port (PORT from supervisord)')

  // compressResponse: a 2.5 KB JSON answer gzipped for a client that accepts
  // it, as sent by the app itself; plain for one that does not.
  const gzipped = await request(first, '/report', { headers: { 'accept-encoding': 'gzip' } })
  t.equal(gzipped.status, 200)
  t.equal(gzipped.headers['content-encoding'], 'gzip', 'compressResponse compresses a large dynamic response')
  const plain = await request(first, '/report')
  t.equal(plain.headers['content-encoding'], undefined, 'and not for a client that does not accept it')
  t.equal((JSON.parse(plain.body) as { rows: string[] }).rows.length, 100)

  // A page with staticUrl() and xsrfFormHtml(), through nginx.
  const page = await request(nginxPort, '/')
  t.equal(page.status, 200, page.body)
  const css = /<link rel="stylesheet" href="([^"]+)">/.exec(page.body)?.[1]
  t.match(css, /^\/static\/site\.css\?v=[0-9a-f]+$/, 'staticUrl() in the nunjucks page')
  const token = /<input type="hidden" name="_xsrf" value="([^"]+)"\/>/.exec(page.body)?.[1]
  t.ok(token, `xsrfFormHtml() rendered as HTML by nunjucks: ${page.body}`)
  t.match(page.body, 'escaped &lt;b&gt;', 'nunjucks still escapes the rest')
  const stylesheet = await request(nginxPort, css!)
  t.equal(stylesheet.status, 200, 'nginx serves the static file')
  t.equal(stylesheet.body, readFileSync(join(fixture, 'static', 'site.css'), 'utf8'))
  t.match(stylesheet.headers['cache-control'], /immutable/)
  const xsrfCookie = cookiesOf(page).find((c) => c.startsWith('_xsrf='))!

  // A posted form: signing in (the token from the page, the cookie from the response).
  const refused = await request(nginxPort, '/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form({ name: 'ann' }) })
  t.equal(refused.status, 403, 'a form without the token is refused')
  const login = await request(nginxPort, '/login', {
    method: 'POST', headers: { cookie: xsrfCookie, 'content-type': 'application/x-www-form-urlencoded' }, body: form({ name: 'ann', _xsrf: token! })
  })
  t.equal(login.status, 302, login.body)
  const userCookie = cookiesOf(login).find((c) => c.startsWith('user='))
  t.ok(userCookie, 'the signed cookie, signed with COOKIE_SECRET from the environment file')

  // A signed-in request, answered by both processes alike.
  for (let i = 0; i < 4; i++) {
    const account = await request(nginxPort, '/account', { headers: { cookie: `${userCookie}; ${xsrfCookie}` } })
    t.equal(account.status, 200, account.body)
    t.equal((JSON.parse(account.body) as { name: string }).name, 'ann')
  }
  const anonymous = await request(nginxPort, '/account')
  t.equal(anonymous.status, 302)
  t.equal(anonymous.headers.location, '/login?next=%2Faccount')
  const note = await request(nginxPort, '/note', {
    method: 'POST', headers: { cookie: `${userCookie}; ${xsrfCookie}`, 'content-type': 'application/x-www-form-urlencoded' }, body: form({ note: 'hello', _xsrf: token! })
  })
  t.same(JSON.parse(note.body), { saved: 'hello' }, 'a posted form with the page\'s token')

  // The documented reload, under load through nginx: not one failed request.
  const agent = new Agent({ keepAlive: true, maxSockets: 4 })
  t.teardown(() => agent.destroy())
  const before = logs.map((file) => (readFileSync(file, 'utf8').match(/"reload finished"/g) ?? []).length)
  let sent = 0
  const failures: string[] = []
  const load$ = { stop: false }
  const worker = async (): Promise<void> => {
    while (!load$.stop && sent < 5000) {
      sent++
      try {
        const answer = await request(nginxPort, '/port', { agent })
        if (answer.status !== 200) failures.push(`status ${answer.status}`)
      } catch (error) {
        failures.push((error as Error).message)
      }
    }
  }
  const load = Promise.all([worker(), worker(), worker(), worker()])
  await until(() => sent >= 50, 30_000, () => `load did not start (${sent} sent)`)
  const signal = await exec('/usr/bin/supervisorctl', ['-c', supervisordConf, ...reload![1]!.split(' ').slice(0, 2), reload![2]!], { env })
  t.equal(signal.code, 0, `supervisorctl ${reload![1]}: ${signal.stdout}${signal.stderr}`)
  try {
    await until(() => logs.every((file, i) => (readFileSync(file, 'utf8').match(/"reload finished"/g) ?? []).length > before[i]!), 30_000, describe)
  } finally {
    const after = sent
    await until(() => sent >= after + 50 || sent >= 5000, 30_000, () => `load stalled at ${sent}`).catch(() => {})
    load$.stop = true
    await load
  }
  t.ok(sent > 100, `${sent} requests during the reload`)
  t.same(failures, [], `0 failed requests of ${sent} while both processes reloaded`)
  const again = [await request(first, '/port'), await request(first + 1, '/port')].map((r) => JSON.parse(r.body) as { port: number })
  t.same(again.map((d) => d.port), [first, first + 1], 'still each on its port after the reload')

  await stopProcess(proxy)
  await stopProcess(manager)
}

async function runSystemdUnit (t: Test, app: App): Promise<void> {
  if (!existsSync(ANALYZE)) {
    if (process.env.CI === 'true') t.fail(`${ANALYZE} is missing: install systemd`)
    else t.plan(0, `SKIPPED LOUDLY: ${ANALYZE} not found (apt-get install systemd)`)
    return
  }
  const dir = join(app.dir, 'systemd')
  mkdirSync(dir)
  const envFile = join(dir, 'app.env')
  writeFileSync(envFile, `COOKIE_SECRET=${SECRET}\n`, { mode: 0o600 })
  const bin = join(app.dir, 'node_modules', '.bin', 'deploy-kit')
  const generated = await exec(bin, ['systemd', '--command', `${bin} start dist/app.js --host 127.0.0.1`, '--directory', app.dir,
    '--environment-file', envFile], { cwd: app.dir })
  t.equal(generated.code, 0, generated.stderr)
  t.notMatch(generated.stdout, SECRET)
  const port = await freePort()
  const unit = join(dir, `app@${port}.service`)
  writeFileSync(unit, generated.stdout)
  const verify = await exec(ANALYZE, ['verify', '--man=no', unit])
  t.equal(verify.code, 0, `systemd-analyze verify: ${verify.stderr}`)

  // What systemd would run: ExecStart, with %i = the instance, and the environment it builds.
  const lines = generated.stdout.split('\n')
  const value = (key: string): string[] => lines.filter((line) => line.startsWith(`${key}=`)).map((line) => line.slice(key.length + 1).replaceAll('%i', String(port)))
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH }
  for (const assignment of value('Environment')) {
    const at = assignment.indexOf('=')
    env[assignment.slice(0, at)] = assignment.slice(at + 1)
  }
  for (const file of value('EnvironmentFile')) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const at = line.indexOf('=')
      if (at > 0) env[line.slice(0, at)] = line.slice(at + 1)
    }
  }
  const [program, ...args] = value('ExecStart')[0]!.split(' ')
  t.same(value('WorkingDirectory'), [app.dir])
  const child = spawn(program!, args, { cwd: value('WorkingDirectory')[0], env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  t.teardown(() => stopProcess(child))
  try {
    await waitForPort(port, '127.0.0.1', child)
  } catch (error) {
    t.fail(`${(error as Error).message}\n${output}`)
    return
  }
  t.equal((JSON.parse((await request(port, '/port')).body) as { port: number }).port, port, 'PORT=%i reached deploy-kit start')
  const page = await request(port, '/')
  const token = /name="_xsrf" value="([^"]+)"/.exec(page.body)![1]!
  const login = await request(port, '/login', {
    method: 'POST', headers: { cookie: cookiesOf(page).join('; '), 'content-type': 'application/x-www-form-urlencoded' }, body: form({ name: 'bo', _xsrf: token })
  })
  t.equal(login.status, 302, 'COOKIE_SECRET came from the EnvironmentFile: signing works')
  await stopProcess(child)
}
