// The calls of the network namespace harness (test/helpers/netns.ts) the
// fleet test relies on, at their edges: refused names, exit codes and time
// limits, client errors, load counts. A file of its own so each netns file
// stays well inside tap's per-file time limit on a busy machine.
import t from 'tap'
import { fileURLToPath } from 'node:url'
import { FIXTURE_ENV, createNetwork, firstJsonLine, netnsSkipReason, type Network } from '../helpers/netns.js'

const ECHO_SERVER = fileURLToPath(new URL('../fixtures/netns/echo-server.js', import.meta.url))
const skip = netnsSkipReason()

async function startEcho (network: Network, host: string): Promise<string> {
  const server = network.spawn(host, process.execPath, [ECHO_SERVER, network.address(host), host], { env: FIXTURE_ENV })
  const { port } = await firstJsonLine<{ port: number }>(server)
  return `http://${network.address(host)}:${port}/`
}

t.test('bad host names and unknown hosts are refused with the reason', { skip }, async (t) => {
  await t.rejects(createNetwork(t, ['app-a']), /host names must be distinct/)
  await t.rejects(createNetwork(t, ['appA', 'appA']), /distinct/)
  await t.rejects(createNetwork(t, ['switch']), /not "switch"/)
  await t.rejects(createNetwork(t, []), /distinct/)
  const network = await createNetwork(t, ['appA'])
  t.throws(() => network.address('appB'), /no host "appB" in this network \(hosts: appA\)/)
  await t.rejects(network.linkUp('appB'), /no host "appB"/)
})

t.test('exec returns the exit status and output, and kills a command that outlives its time limit', { skip }, async (t) => {
  const network = await createNetwork(t, ['appA'])
  t.same(await network.exec('appA', 'sh', ['-c', 'echo out; echo err >&2; exit 3']), { code: 3, signal: null, stdout: 'out\n', stderr: 'err\n' })
  const slow = await network.exec('appA', 'sleep', ['30'], 200)
  t.equal(slow.signal, 'SIGKILL')
  t.equal(slow.code, null)
})

t.test('a request the client cannot make is answered with its error code', { skip }, async (t) => {
  const network = await createNetwork(t, ['appA'])
  t.same(await network.request('appA', 'not a url'), { error: 'ERR_INVALID_URL' })
  t.same(await network.request('appA', `http://${network.address('appA')}:1/`), { error: 'ECONNREFUSED' })
})

t.test('a client process that dies fails its pending and later requests with its stderr', { skip }, async (t) => {
  const network = await createNetwork(t, ['appA'])
  const client = network.client('appA')
  t.equal(network.client('appA'), client, 'one client process per host')
  const pending = client.request(`http://${network.address('appA')}:1/`)
  client.process.kill('SIGKILL')
  await t.rejects(pending, /the HTTP client in appA has exited/)
  await t.rejects(client.request('http://127.0.0.1:1/'), /has exited/)
})

t.test('a server that exits before saying it listens is reported with its stderr', { skip }, async (t) => {
  const network = await createNetwork(t, ['appA'])
  const broken = network.spawn('appA', process.execPath, ['-e', 'console.error("port in use"); process.exit(3)'])
  await t.rejects(firstJsonLine(broken), /process exited \(3\) before printing a line: port in use/)
})

t.test('load sends exactly the requested count and tells answers from failures', { skip }, async (t) => {
  const network = await createNetwork(t, ['appA', 'client'])
  const url = await startEcho(network, 'appA')
  const good = await network.load('client', url, { count: 25, concurrency: 5 })
  t.match(good, { sent: 25, failed: 0, statuses: { 200: 25 }, errors: {} })
  t.equal(good.results.length, 25)
  t.ok(good.slowestMs > 0 && good.slowestMs < 20_000, `the slowest request is timed (${good.slowestMs.toFixed(1)} ms)`)
  const bad = await network.load('client', `http://${network.address('appA')}:1/`, { count: 3 })
  t.match(bad, { sent: 3, failed: 3, statuses: {}, errors: { ECONNREFUSED: 3 } })
  const stop = new AbortController()
  const running = network.load('client', url, { count: 10_000, concurrency: 2, signal: stop.signal })
  await network.request('client', url)
  stop.abort()
  const stopped = await running
  t.ok(stopped.sent > 0 && stopped.sent < 10_000, `an aborted load stops starting requests (${stopped.sent} sent)`)
  t.equal(stopped.results.length, stopped.sent, 'and every request it started has ended')
})
