// Cleaning up after the network namespace harness (test/helpers/netns.ts):
// teardown, a run stopped by SIGTERM, a run killed by SIGKILL, a network
// that fails half-way. Apart from test/e2e/netns.test.ts so that each file stays
// well inside tap's per-file time limit on a busy machine.
import t, { type Test } from 'tap'
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { FIXTURE_ENV, cleanLeftovers, createNetwork, firstJsonLine, listNamespaces, netnsSkipReason, runPrefix, PREFIX } from '../helpers/netns.js'

const ECHO_SERVER = fileURLToPath(new URL('../fixtures/netns/echo-server.js', import.meta.url))
const HOLD_NETWORK = fileURLToPath(new URL('../fixtures/netns/hold-network.ts', import.meta.url))
const skip = netnsSkipReason()

function rootLinks (): string {
  return execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' })
}

// A zombie still answers kill(pid, 0); /proc tells a finished process apart.
function isGone (pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') === true
  } catch {
    return true
  }
}

async function waitUntilGone (pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && !isGone(pid); i++) await sleep(50)
  return isGone(pid)
}

t.test('teardown stops the processes and removes every namespace, veth and the bridge', { skip }, async (t) => {
  const network = await createNetwork(t, ['appA', 'client'])
  const server = network.spawn('appA', process.execPath, [ECHO_SERVER, network.address('appA'), 'appA'], { env: FIXTURE_ENV })
  await firstJsonLine(server)
  const ports = execFileSync('ip', ['-n', network.switchNamespace, '-o', 'link'], { encoding: 'utf8' })
  t.match(ports, /br0: .*UP/)
  t.match(ports, /appA@.* master br0/)
  t.match(ports, /client@.* master br0/)
  const exited = once(server, 'exit')
  await network.teardown()
  t.same(await exited, [0, null], 'the server got SIGTERM and exited cleanly')
  t.same(listNamespaces().filter((name) => name.startsWith(network.prefix)), [])
  t.notMatch(rootLinks(), PREFIX)
  t.throws(() => execFileSync('ip', ['-n', network.switchNamespace, 'link'], { stdio: 'ignore' }), 'the switch and its veths are gone')
  t.throws(() => network.spawn('appA', 'true'), /torn down/)
  await network.teardown()
  t.pass('a second teardown does nothing')
})

async function holdNetwork (t: Test, owner?: number): Promise<{ child: ReturnType<typeof spawn>, prefix: string, serverPid: number }> {
  // tap's TypeScript loader without type checking (tsc --noEmit does that)
  // or coverage hooks: the child only has to run, and starts far faster.
  const loader = process.execArgv.filter((arg) => !arg.includes('processinfo'))
  const args = [...loader, HOLD_NETWORK, ...(owner === undefined ? [] : [String(owner)])]
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...FIXTURE_ENV, TS_NODE_TRANSPILE_ONLY: '1' } })
  t.teardown(() => { child.kill('SIGKILL') })
  const { prefix, serverPid } = await firstJsonLine<{ prefix: string, serverPid: number }>(child)
  return { child, prefix, serverPid }
}

t.test('a test process stopped by SIGTERM removes its network and processes on the way out', { skip }, async (t) => {
  const { child, prefix, serverPid } = await holdNetwork(t)
  t.ok(listNamespaces().some((name) => name.startsWith(prefix)))
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  t.same(await exited, [null, 'SIGTERM'], 'the signal still ends the process')
  t.same(listNamespaces().filter((name) => name.startsWith(prefix)), [])
  t.ok(await waitUntilGone(serverPid), 'the server inside was killed')
})

t.test('a network left by a SIGKILLed run is removed, with its processes, by the next run', { skip }, async (t) => {
  // The network's owner is a stand-in process, so no parallel test's
  // cleanLeftovers() can remove it before this test has looked at it.
  const owner = spawn('sleep', ['600'], { stdio: 'ignore' })
  t.teardown(() => { owner.kill('SIGKILL') })
  const { child, prefix, serverPid } = await holdNetwork(t, owner.pid)
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
  const left = (): string[] => listNamespaces().filter((name) => name.startsWith(prefix)).sort()
  t.same(left(), [prefix + 'appA', prefix + 'switch'], 'SIGKILL leaves it behind')
  t.notOk(isGone(serverPid))
  cleanLeftovers()
  t.same(left(), [prefix + 'appA', prefix + 'switch'], 'a network whose owner is alive is left alone')
  const ownerExited = once(owner, 'exit')
  owner.kill('SIGKILL')
  await ownerExited
  cleanLeftovers()
  t.same(left(), [], 'once its owner is gone, the next run removes it')
  t.ok(await waitUntilGone(serverPid), 'the orphaned server was killed')
})

t.test('a network that fails half-way is removed before the error is reported', { skip }, async (t) => {
  // iproute2 takes a 251-byte switch name but refuses the 257-byte host name after it.
  const prefix = runPrefix() + 'x'.repeat(245 - runPrefix().length)
  await t.rejects(createNetwork(t, ['appA12345678'], prefix), /ip -batch - failed: Invalid netns name/)
  t.same(listNamespaces().filter((name) => name.startsWith(prefix)), [], 'the switch made before the failure is gone')
})
