import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { readFileSync } from 'node:fs'
import { main, type CliIo } from '../../lib/cli/main.js'

const run = promisify(execFile)
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string, bin: Record<string, string> }

function capture (): CliIo & { out: string, err: string } {
  const io = { out: '', err: '', stdout: (s: string) => { io.out += s }, stderr: (s: string) => { io.err += s } }
  return io
}

t.test('--version prints the package version', async (t) => {
  const io = capture()
  t.equal(await main(['--version'], io), 0)
  t.equal(io.out, pkg.version + '\n')
})

t.test('--help lists the usage and exits 0; no arguments prints it and exits 2', async (t) => {
  const io = capture()
  t.equal(await main(['--help'], io), 0)
  t.match(io.out, /Usage: deploy-kit <command>/)
  const bare = capture()
  t.equal(await main([], bare), 2)
  t.match(bare.out, /Usage/)
})

t.test('an unknown command is a usage error (exit 2) that names it', async (t) => {
  const io = capture()
  t.equal(await main(['deploy'], io), 2)
  t.match(io.err, /unknown command "deploy"/)
})

t.test('the installed bin runs as a program', async (t) => {
  const bin = new URL('../../' + pkg.bin['deploy-kit'], import.meta.url).pathname
  const { stdout } = await run(process.execPath, [bin, '--version'])
  t.equal(stdout.trim(), pkg.version)
})

t.test('a registered command receives the remaining arguments and its exit code is returned', async (t) => {
  const { COMMANDS } = await import('../../lib/cli/main.js')
  COMMANDS.echo = { summary: 'test only', load: async () => async (args, io) => { io.stdout(args.join(' ')); return 3 } }
  t.teardown(() => { delete COMMANDS.echo })
  const io = capture()
  t.equal(await main(['echo', 'a', 'b'], io), 3)
  t.equal(io.out, 'a b')
})
