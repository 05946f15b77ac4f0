import t from 'tap'
import { main, type CliIo } from '../../lib/cli/main.js'
import { appFromModule, isPlugin, parseStartArgs } from '../../lib/cli/start.js'
import { cli, get, launchFixture } from '../helpers/cluster.js'

function capture (): CliIo & { out: string, err: string } {
  const io = { out: '', err: '', stdout: (s: string) => { io.out += s }, stderr: (s: string) => { io.err += s } }
  return io
}

t.test('deploy-kit start runs an app module\'s default-exported buildApp in 2 workers', async (t) => {
  const launched = launchFixture(t, {}, {}, [], cli('start', 'test/fixtures/cluster/app.ts', '--processes', '2', '--port', '0', '--host', '127.0.0.1'))
  const listening = await launched.waitFor((line) => line.msg === 'worker listening', 2)
  const tasks = new Set<number | null>()
  for (let i = 0; i < 50 && tasks.size < 2; i++) tasks.add((await get(listening[0]!.port as number)).body.taskId)
  t.same([...tasks].sort(), [0, 1])
  launched.child.kill('SIGTERM')
  t.same(await launched.exit(), { code: 0, signal: null })
})

t.test('start flags become launch options', async (t) => {
  t.same(parseStartArgs(['app.js', '--processes', '0', '--port', '8000', '--host', '0.0.0.0', '--mode', 'ports', '--shutdown-timeout', '3', '--max-restarts', '7'], {}), {
    module: 'app.js', options: { processes: 0, port: 8000, host: '0.0.0.0', mode: 'ports', shutdownTimeoutMs: 3000, maxRestarts: 7 }
  })
  t.same(parseStartArgs(['app.js'], {}), { module: 'app.js', options: {} })
  t.same(parseStartArgs(['app.js', '--health-path', '/healthz', '--readiness-timeout', '5'], {}), {
    module: 'app.js', options: { healthPath: '/healthz', readinessTimeoutMs: 5000 }
  })
})

t.test('PORT and HOST from the environment are used, and flags win over them', async (t) => {
  t.same(parseStartArgs(['app.js'], { PORT: '8001', HOST: '127.0.0.1' }), { module: 'app.js', options: { port: 8001, host: '127.0.0.1' } })
  t.same(parseStartArgs(['app.js', '--port', '9000', '--host', '::1'], { PORT: '8001', HOST: '127.0.0.1' }), { module: 'app.js', options: { port: 9000, host: '::1' } })
  t.same(parseStartArgs(['app.js'], { PORT: '', HOST: '' }), { module: 'app.js', options: {} }, 'empty variables are unset')
  t.throws(() => parseStartArgs(['app.js'], { PORT: 'http' }), /PORT must be an integer from 0 to 65535, got "http"/)
  t.throws(() => parseStartArgs(['app.js'], { PORT: '70000' }), /PORT must be an integer from 0 to 65535, got "70000"/)
})

const usageErrors: Array<[string[], RegExp]> = [
  [[], /missing the app module/],
  [['a.js', 'b.js'], /one app module expected, got 2/],
  [['a.js', '--processes', 'many'], /--processes must be an integer from 0 to 1024, got "many"/],
  [['a.js', '--processes', '5000'], /--processes must be an integer from 0 to 1024, got "5000"/],
  [['a.js', '--port', '80x'], /--port must be an integer from 0 to 65535, got "80x"/],
  [['a.js', '--port', '70000'], /--port must be an integer from 0 to 65535, got "70000"/],
  [['a.js', '--port=-1'], /--port must be an integer from 0 to 65535, got "-1"/],
  [['a.js', '--shutdown-timeout', '1.5'], /--shutdown-timeout must be an integer from 0 to 86400, got "1.5"/],
  [['a.js', '--shutdown-timeout', '100000'], /--shutdown-timeout must be an integer from 0 to 86400, got "100000"/],
  [['a.js', '--max-restarts', 'lots'], /--max-restarts must be an integer from 0 to 1000000, got "lots"/],
  [['a.js', '--mode', 'ports', '--processes', '4', '--port', '65534'], /"port": received 65534, expected a port from 1 to 65532 so that 4 consecutive ports fit/],
  [['a.js', '--host', ''], /--host must not be empty/],
  [['a.js', '--health-path', 'healthz'], /"healthPath": received "healthz", expected a URL path/],
  [['a.js', '--readiness-timeout', '0'], /--readiness-timeout must be an integer from 1 to 86400, got "0"/],
  [['a.js', '--mode', 'fork'], /--mode must be "shared" or "ports", got "fork"/],
  [['a.js', '--workers', '2'], /Unknown option '--workers'/]
]
for (const [args, message] of usageErrors) {
  t.test(`start ${args.join(' ')} is a usage error (exit 2) that says what is wrong`, async (t) => {
    const io = capture()
    t.equal(await main(['start', ...args], io), 2)
    t.match(io.err, message)
    t.match(io.err, /Usage: deploy-kit start <app module>/)
  })
}

t.test('a bad PORT in the environment is a usage error too', async (t) => {
  const saved = process.env.PORT
  process.env.PORT = '8o8o'
  t.teardown(() => { if (saved === undefined) delete process.env.PORT; else process.env.PORT = saved })
  const io = capture()
  t.equal(await main(['start', 'a.js'], io), 2)
  t.match(io.err, /PORT must be an integer from 0 to 65535, got "8o8o"/)
})

t.test('a fastify-cli style plugin is told apart from buildApp by its (fastify, opts) parameters, as fastify-cli does', async (t) => {
  t.equal(isPlugin(async function buildApp () { return null }), false)
  t.equal(isPlugin(async (fastify: unknown, opts: unknown) => [fastify, opts]), true)
  t.equal(isPlugin(function (fastify: unknown, opts: unknown, done: () => void) { done() }), true)
  const plugin = await import(new URL('../fixtures/cluster/plugin.mjs', import.meta.url).href) as { default: unknown, options: unknown }
  const app = await appFromModule(plugin, 'plugin.mjs')()
  t.teardown(() => app.close())
  const reply = await (app as unknown as { inject: (url: string) => Promise<{ json: () => unknown }> }).inject('/')
  t.match(reply.json(), { plugin: true, trailingSlashIgnored: true }, 'the plugin ran on a Fastify built with the module\'s options export')
  const commonjs = appFromModule({ default: { default: async () => null } }, 'app.cjs')
  t.equal(typeof commonjs, 'function', 'compiled CommonJS (module.exports.default) is found')
  const bare = await appFromModule({ default: async (fastify: { get: (path: string, handler: () => unknown) => void }, opts: unknown) => { fastify.get('/', async () => ({ opts })) } }, 'p.js')()
  t.teardown(() => bare.close())
  t.same((await (bare as unknown as { inject: (url: string) => Promise<{ json: () => unknown }> }).inject('/')).json(), { opts: {} }, 'without an options export Fastify gets its defaults')
})

t.test('deploy-kit start runs a fastify-cli style plugin module in worker processes', async (t) => {
  const launched = launchFixture(t, {}, {}, [], cli('start', 'test/fixtures/cluster/plugin.mjs', '--processes', '2', '--port', '0', '--host', '127.0.0.1'))
  const listening = await launched.waitFor((line) => line.msg === 'worker listening', 2)
  const answer = await get(listening[0]!.port as number, '/')
  t.match(answer.body, { plugin: true, trailingSlashIgnored: true })
  launched.child.kill('SIGTERM')
  t.same(await launched.exit(), { code: 0, signal: null })
})

t.test('a buildApp that calls listen() itself gets a clear error instead of running on its own port', async (t) => {
  const io = capture()
  await t.rejects(main(['start', 'test/fixtures/cluster/listens.mjs', '--port', '0', '--host', '127.0.0.1'], io), {
    code: 'FDK_CLUSTER_BUILD_APP_INVALID', message: /buildApp called listen\(\) itself: return the app without listening, the launcher listens on --port \/ PORT/
  })
})

t.test('start --help prints the usage and exits 0; the command list names start', async (t) => {
  const io = capture()
  t.equal(await main(['start', '--help'], io), 0)
  t.match(io.out, /--mode M\s+shared/)
  const top = capture()
  await main(['--help'], top)
  t.match(top.out, /start\s+run an app module/)
})

t.test('a module without a default-exported buildApp is a usage error', async (t) => {
  const io = capture()
  t.equal(await main(['start', 'test/fixtures/cluster/no-default.mjs'], io), 2)
  t.match(io.err, /must default-export buildApp\(\), a function returning a Fastify instance, or a plugin async \(fastify, opts\) => \{\}/)
})
