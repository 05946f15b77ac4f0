import t from 'tap'
import { availableParallelism } from 'node:os'
import Fastify from 'fastify'
import { launch, normalizeClusterOptions, taskId } from '../../lib/cluster.js'

t.test('defaults: port 8888, one in-process worker, shared mode, 100 restarts, 10 s drain, 1024 files', async (t) => {
  t.match(normalizeClusterOptions(), {
    port: 8888, host: undefined, processes: 1, mode: 'shared', maxRestarts: 100, shutdownTimeoutMs: 10_000, minOpenFiles: 1024, logger: undefined
  })
})

t.test('processes: 0 means one per available CPU, as in Tornado', async (t) => {
  t.equal(normalizeClusterOptions({ processes: 0 }).processes, availableParallelism())
})

t.test('options are copied, not mutated', async (t) => {
  const options = Object.freeze({ port: 9000, mode: 'ports' as const, processes: 2 })
  t.equal(normalizeClusterOptions(options).port, 9000)
})

const cases: Array<[string, unknown, RegExp]> = [
  ['port', -1, /"port": received -1, expected an integer from 0 to 65535/],
  ['port', '80', /"port": received "80"/],
  ['processes', 1.5, /"processes": received 1.5/],
  ['mode', 'fork', /"mode": received "fork", expected "shared" or "ports"/],
  ['maxRestarts', -1, /"maxRestarts"/],
  ['shutdownTimeoutMs', 'soon', /"shutdownTimeoutMs"/],
  ['minOpenFiles', null, /"minOpenFiles": received null/],
  ['host', '', /"host": received "", expected a non-empty string/],
  ['logger', console.log, /"logger": received a function, expected a logger with info, warn and error methods/],
  ['logger', null, /"logger": received null/],
  ['workers', 2, /"workers": received 2, expected no such option \(known: port, host, processes/]
]
for (const [name, value, message] of cases) {
  t.test(`launch option ${name} = ${JSON.stringify(value) ?? String(value)} fails with FDK_CLUSTER_OPTION_INVALID naming it`, async (t) => {
    t.throws(() => normalizeClusterOptions({ [name]: value } as never), { code: 'FDK_CLUSTER_OPTION_INVALID', message })
  })
}

t.test('ports mode needs every port of the range to exist, and cannot use port 0', async (t) => {
  t.throws(() => normalizeClusterOptions({ mode: 'ports', port: 65535, processes: 2 }), { code: 'FDK_CLUSTER_OPTION_INVALID', message: /a port from 1 to 65534 so that 2 consecutive ports fit/ })
  t.throws(() => normalizeClusterOptions({ mode: 'ports', port: 0, processes: 2 }), { code: 'FDK_CLUSTER_OPTION_INVALID' })
})

t.test('options that are not an object are refused', async (t) => {
  t.throws(() => normalizeClusterOptions([] as never), { code: 'FDK_CLUSTER_OPTION_INVALID', message: /"options": received array\(0\), expected an object/ })
})

t.test('launch refuses a buildApp that is not a function, and one that returns no Fastify instance', async (t) => {
  await t.rejects(launch('app.js' as never), { code: 'FDK_CLUSTER_BUILD_APP_INVALID', message: /buildApp is "app.js"/ })
  await t.rejects(launch((() => ({ hello: 'world' })) as never, { port: 0 }), { code: 'FDK_CLUSTER_BUILD_APP_INVALID', message: /not a Fastify instance/ })
})

t.test('taskId() is null outside a launched worker', async (t) => {
  t.equal(taskId(), null)
})

t.test('a launch with a bad option fails before buildApp runs', async (t) => {
  let built = false
  await t.rejects(launch(() => { built = true; return Fastify() }, { mode: 'forks' as never }), { code: 'FDK_CLUSTER_OPTION_INVALID' })
  t.notOk(built)
})
