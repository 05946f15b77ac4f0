// lib/shared/invalid-option.ts: one shape for an invalid option wherever it
// was passed — register() settings, launch() options, the generators' flags,
// the signed-value functions — each thrown by the real entry point here.
import t from 'tap'
import Fastify from 'fastify'
import deployKit from '../../../lib/index.js'
import { launch } from '../../../lib/cluster.js'
import { main } from '../../../lib/cli/main.js'
import { createSignedValue } from '../../../lib/cookie/signed-value.js'
import { port } from '../../../lib/cli/validate.js'

function caught (fn: () => unknown): Record<string, unknown> {
  try {
    fn()
  } catch (error) {
    return error as Record<string, unknown>
  }
  throw new Error('nothing was thrown')
}

async function rejected (promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise
  } catch (error) {
    return error as Record<string, unknown>
  }
  throw new Error('nothing was thrown')
}

t.test('every invalid option has one message form and the fields option, received, expected', async (t) => {
  const cases = [
    {
      error: await rejected((async () => { await Fastify().register(deployKit, { staticPath: t.testdir({}), staticUrlPrefix: 'static' }) })()),
      code: 'FDK_SETTINGS_INVALID',
      message: 'Invalid setting "staticUrlPrefix": received "static", expected a path that starts and ends with "/"',
      option: 'staticUrlPrefix'
    },
    {
      error: await rejected(launch(() => Fastify(), { mode: 'fork' as never })),
      code: 'FDK_CLUSTER_OPTION_INVALID',
      message: 'Invalid launch option "mode": received "fork", expected "shared" or "ports"',
      option: 'mode'
    },
    {
      error: caught(() => port('--port', '70000')),
      code: 'FDK_CLI_INVALID_OPTION',
      message: 'Invalid option --port: received "70000", expected a port from 1 to 65535',
      option: '--port'
    },
    {
      error: caught(() => createSignedValue('secret-0123456789abcdefghijklmnopqrstuvwxyz', 'n', 'v', { version: 3 as never })),
      code: 'FDK_COOKIE_OPTIONS_INVALID',
      message: /^Invalid createSignedValue\(\) "version": received 3, expected /,
      option: 'version'
    }
  ]
  for (const { error, code, message, option } of cases) {
    t.equal(error.code, code)
    t.match(error.message, message)
    t.equal(error.option, option, `${code} names the option`)
    t.match(error, { received: String, expected: String }, `${code} carries what it received and expected`)
    t.match(error.message, `received ${error.received as string}, expected ${error.expected as string}`)
  }
})

t.test('the CLI prints the same sentence and exits 2', async (t) => {
  let stderr = ''
  const code = await main(['nginx', '--upstream', '127.0.0.1:0'], { stdout: () => {}, stderr: (text) => { stderr += text } })
  t.equal(code, 2)
  t.match(stderr, /^deploy-kit nginx: Invalid option --upstream: received "0", expected a port from 1 to 65535$/m)
})
