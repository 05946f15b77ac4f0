import t from 'tap'
import { main, type CliIo } from '../lib/cli/main.js'
import { parseStartArgs } from '../lib/cli/start.js'
import { cli, get, launchFixture } from './fixtures/cluster/spawn.js'

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
  t.same(await launched.exited, { code: 0, signal: null })
})

t.test('start flags become launch options', async (t) => {
  t.same(parseStartArgs(['app.js', '--processes', '0', '--port', '8000', '--host', '0.0.0.0', '--mode', 'ports']), {
    module: 'app.js', options: { processes: 0, port: 8000, host: '0.0.0.0', mode: 'ports' }
  })
  t.same(parseStartArgs(['app.js']), { module: 'app.js', options: {} })
})

const usageErrors: Array<[string[], RegExp]> = [
  [[], /missing the app module/],
  [['a.js', 'b.js'], /one app module expected, got 2/],
  [['a.js', '--processes', 'many'], /--processes must be a non-negative integer, got "many"/],
  [['a.js', '--port', '80x'], /--port must be a non-negative integer, got "80x"/],
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
  t.match(io.err, /must default-export buildApp\(\)/)
})
