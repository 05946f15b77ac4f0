// lib/cli/generate.ts: the frame every generator runs in. A bad option value
// is one line on stderr and exit status 2; any other error from a renderer
// is a bug, and surfaces as itself instead of as a usage message.
import t from 'tap'
import { runGenerator, type Generator } from '../../lib/cli/generate.js'
import { invalidOption } from '../../lib/cli/validate.js'
import type { CliIo } from '../../lib/cli/io.js'

function generator (build: Generator['build']): Generator {
  return { command: 'demo', usage: 'usage: deploy-kit demo\n', options: {}, build }
}

/** A CliIo that keeps what is written. */
function recorder (): CliIo & { out: string, err: string } {
  const io = { out: '', err: '', stdout: (text: string) => { io.out += text }, stderr: (text: string) => { io.err += text } }
  return io
}

t.test('a coded option error from build() is one line on stderr and exit status 2', async (t) => {
  const io = recorder()
  t.equal(await runGenerator(generator(() => { throw invalidOption('--port', 'x', 'a port') }), [], io), 2)
  t.match(io.err, /^deploy-kit demo: .*--port/)
  t.equal(io.out, '')
})

t.test('any other error from build() is thrown as it is: a bug is not dressed as a usage mistake', async (t) => {
  const io = recorder()
  const bug = new TypeError('renderer bug')
  await t.rejects(runGenerator(generator(() => { throw bug }), [], io), bug)
  t.equal(io.err, '', 'nothing printed as if it were the user\'s mistake')
})
