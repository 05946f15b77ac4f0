// The primary of a multi-process launch (lib/cluster/primary.ts and
// primary-watch.ts) run in-process against fake workers
// (test/helpers/fake-primary.ts): each race it handles (a worker dying before
// it listened, during a reload, while it is being stopped) is played here in a
// fixed order instead of waited for. test/process/cluster-*.test.ts run the
// same code in real launched processes.
import t, { type Test } from 'tap'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { normalizeClusterOptions, type ClusterOptions, type LaunchHandle } from '../../lib/cluster.js'
import { runPrimary, EXIT_BOOT_FAILED } from '../../lib/cluster/primary.js'
import { controlRequest, defaultControlPath, listenControl } from '../../lib/cluster/control.js'
import type { Beat } from '../../lib/cluster/heartbeat.js'
import type { StatusDocument } from '../../lib/cluster/watch.js'
import { FakeHost, type FakeWorker } from '../helpers/fake-primary.js'
import { until } from '../helpers/wait.js'

/** Restarts after 1 ms, so a crash is answered at once. */
const POLICY = { windowMs: 60_000, backoffBaseMs: 1, backoffMaxMs: 5, stableMs: 10_000 }

function temp (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'fdk-primary-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function start (t: Test, options: ClusterOptions = {}, world = new FakeHost(), policy = POLICY): Promise<{ world: FakeHost, handle: LaunchHandle }> {
  const settings = normalizeClusterOptions({ processes: 2, port: 8000, host: '127.0.0.1', controlSocket: false, logger: world.log, ...options })
  const handle = await runPrimary(settings, policy, world.host)
  t.teardown(() => handle.close())
  return { world, handle }
}

/** New workers (from the `index`-th fork on) do only what the test tells them. */
function quietFrom (world: FakeHost, index: number): void {
  const eager = world.onFork
  world.onFork = (worker) => { if (world.workers.length <= index) eager(worker) }
}

function beat (rssBytes: number): Beat {
  return { fdk: 'heartbeat', rssBytes, heapUsedBytes: 1, heapTotalBytes: 2, externalBytes: 0, eventLoopDelayP99Ms: 1, eventLoopDelayMaxMs: 2, eventLoopUtilization: 0.5, cpuPercent: 1, openFiles: 10, served: 3, inFlight: 1, oldest: [{ method: 'GET', url: '/slow', ms: 900 }] }
}

const states = (handle: LaunchHandle): string[] => handle.workers().map((worker) => `${worker.taskId}:${worker.state}:${worker.port}`)

t.test('one worker per slot, resolved once all listen; the primary names itself and picks the scheduling', async (t) => {
  const { world, handle } = await start(t)
  t.equal(handle.role, 'primary')
  t.same(world.scheduled, ['shared'], 'shared mode round-robins')
  t.same(world.titles, ['deploy-kit primary :8000'])
  t.same(world.workers.map((worker) => worker.env), [{ FDK_CLUSTER_TASK_ID: '0', FDK_CLUSTER_PORT: '8000' }, { FDK_CLUSTER_TASK_ID: '1', FDK_CLUSTER_PORT: '8000' }])
  t.same(states(handle), ['0:ready:8000', '1:ready:8000'])
  t.match(world.lines[0], { level: 'info', msg: 'Starting 2 processes', processes: 2, mode: 'shared' })
  // Messages that are not the launcher's, or not known to it, change nothing.
  for (const message of [null, 'text', { fdk: 42 }, { fdk: 'later-version' }]) world.workers[0]!.say(message)
  t.same(states(handle), ['0:ready:8000', '1:ready:8000'])
  t.ok(world.signalHooks, 'SIGTERM, SIGINT and SIGHUP are answered')
  await handle.close()
  t.equal(world.signalHooks!.removed, true, 'close() removes the signal handlers')
})

t.test('ports mode: worker i on port + i, the kernel queues connections, the title gives the range', async (t) => {
  const { world, handle } = await start(t, { mode: 'ports', processes: 3, logger: undefined })
  t.match(world.lines[0], { msg: 'Starting 3 processes' }, 'no logger in the options: the host\'s own')
  t.same(world.scheduled, ['ports'])
  t.same(world.titles, ['deploy-kit primary :8000-8002'])
  t.same(states(handle), ['0:ready:8000', '1:ready:8001', '2:ready:8002'])
})

t.test('the port a worker reports is the one shown (port 0: the kernel picked it)', async (t) => {
  const world = new FakeHost()
  world.onFork = (worker) => setImmediate(() => worker.listen(40_000 + worker.slot))
  const { handle } = await start(t, { port: 0 }, world)
  t.same(states(handle), ['0:ready:40000', '1:ready:40001'])
})

t.test('a crashed worker is restarted in its slot after its backoff, with the reason it gave', async (t) => {
  const { world, handle } = await start(t)
  const [first] = world.workers
  first!.say({ fdk: 'boot-error', error: { message: 'the database is gone' } })
  first!.die(1)
  const crashed = await world.logged('exited with status 1, restarting in 1 ms')
  t.match(crashed, { level: 'warn', taskId: 0, pid: first!.process.pid, code: 1, cause: 'crash', err: { message: 'the database is gone' }, delayMs: 1 })
  const replacement = await world.forked(2)
  t.equal(replacement.slot, 0)
  t.match(await world.logged('worker restarted'), { taskId: 0, pid: replacement.process.pid })
  await until('the replacement listening', () => handle.workers().length === 2 && handle.workers().every((worker) => worker.state === 'ready'), { last: () => world.tail() })
  t.same(handle.workers().map((worker) => worker.pid).sort(), [world.workers[1]!.process.pid, replacement.process.pid].sort())
  world.workers[1]!.die(null, 'SIGSEGV')
  t.match(await world.logged('exited with signal SIGSEGV'), { level: 'warn', taskId: 1, signal: 'SIGSEGV' })
  t.notOk('err' in (world.lines.find((line) => line.msg.includes('SIGSEGV')) ?? {}), 'no boot error, none shown')
})

t.test('status 0 ends a slot for good; when the last slot ends the primary exits 0', async (t) => {
  const { world, handle } = await start(t)
  world.workers[0]!.die(0)
  t.match(await world.logged('exited normally; not restarted'), { taskId: 0, code: 0 })
  t.same(world.exits, [], 'one slot is still serving')
  world.workers[1]!.die(0)
  await world.logged('no workers left')
  t.equal(await world.exited(), 0)
  t.equal(world.workers.length, 2, 'nothing was restarted')
  await handle.close() // nothing left to stop: resolves at once
})

t.test('a slot that ends while another waits for its restart does not end the primary', async (t) => {
  const { world } = await start(t, {}, new FakeHost(), { ...POLICY, backoffBaseMs: 60_000, backoffMaxMs: 60_000 })
  world.workers[0]!.die(1)
  await world.logged('restarting in 60000 ms')
  world.workers[1]!.die(0)
  await world.logged('exited normally')
  t.same(world.exits, [], 'slot 0 is still to come back')
})

t.test('a worker failing before the launch ever listened halts it with status 3, and stops the ones still building', async (t) => {
  const world = new FakeHost()
  world.onFork = (worker) => {
    if (worker.slot === 0) setImmediate(() => worker.listen())
    if (worker.slot === 1) {
      setImmediate(() => {
        worker.say({ fdk: 'boot-error', error: { message: 'cookieSecret is missing' } })
        worker.die(1)
      })
    }
    // slot 2 is still building: it says nothing.
  }
  const { handle } = await start(t, { processes: 3 }, world)
  t.equal(await world.exited(), EXIT_BOOT_FAILED)
  const error = world.lines.find((line) => line.level === 'error')
  t.match(error, { code: 'FDK_CLUSTER_WORKER_BOOT_FAILED', taskId: 1, err: { message: 'cookieSecret is missing' } })
  t.same(world.lines.filter((line) => line.level === 'error').length, 1, 'printed once')
  t.same(world.workers[2]!.signals, ['SIGTERM'], 'the building worker is ended at once')
  t.equal(world.workers[0]!.sent[0]?.fdk, 'stop', 'the listening one is asked to stop')
  t.same(handle.workers(), [])
  t.equal(world.workers.length, 3, 'nothing restarted')
})

t.test('more restarts than maxRestarts within the window: the primary gives up with status 1', async (t) => {
  const { world } = await start(t, { maxRestarts: 0 })
  world.workers[0]!.die(1)
  t.equal(await world.exited(), 1)
  t.match(world.lines.find((line) => line.level === 'error'), { code: 'FDK_CLUSTER_TOO_MANY_RESTARTS', restarts: 0 })
  t.equal(world.workers[1]!.sent[0]?.fdk, 'stop')
  t.equal(world.workers.length, 2)
})

/** The order of forks and stops, as "fork <slot>" and "stop <pid>". */
function record (world: FakeHost): string[] {
  const events: string[] = []
  const watchWorker = (worker: FakeWorker): void => {
    worker.on('sent', (message: Record<string, unknown>) => { if (message.fdk === 'stop') events.push(`stop ${worker.process.pid}`) })
  }
  world.workers.forEach(watchWorker)
  world.on('fork', (worker: FakeWorker) => {
    events.push(`fork ${worker.slot}`)
    watchWorker(worker)
  })
  return events
}

t.test('a reload replaces one slot at a time: the new worker listens before the old one drains', async (t) => {
  const { world, handle } = await start(t)
  const [a, b] = world.workers
  const events = record(world)
  await handle.reload()
  t.same(events, ['fork 0', `stop ${a!.process.pid}`, 'fork 1', `stop ${b!.process.pid}`])
  t.match(await world.logged('worker 0 replaced'), { taskId: 0, pid: world.workers[2]!.process.pid, oldPid: a!.process.pid })
  await world.logged('reload finished')
  await until('the old workers gone', () => handle.workers().length === 2, { last: () => world.tail() })
  t.same(states(handle), ['0:ready:8000', '1:ready:8000'])
  t.match(world.lines.filter((line) => line.msg === 'worker stopped'), [{ cause: 'reload' }, { cause: 'reload' }], 'a drained worker is not a crash')
  t.equal(world.workers.length, 4, 'no restarts')
})

t.test('a worker asking for a reload (its SIGHUP) and the signal handler both reload', async (t) => {
  const { world } = await start(t)
  world.workers[0]!.say({ fdk: 'reload' })
  await until('the reload asked by a worker', () => world.lines.some((line) => line.msg === 'reload finished'), { last: () => world.tail() })
  await world.signalHooks!.reload()
  t.equal(world.lines.filter((line) => line.msg === 'reload finished').length, 2)
  t.equal(world.workers.length, 6)
})

t.test('a new worker that exits before listening stops the reload; the old ones keep serving', async (t) => {
  const { world, handle } = await start(t)
  world.onFork = (worker) => setImmediate(() => {
    worker.say({ fdk: 'boot-error', error: { message: 'syntax error in the new release' } })
    worker.die(1)
  })
  await handle.reload()
  t.match(await world.logged('replacement for worker 0 exited with status 1 before listening'), { level: 'warn', err: { message: 'syntax error in the new release' } })
  t.match(await world.logged('reload stopped'), { level: 'error', reason: 'the new worker 0 exited before listening; the old workers keep serving' })
  t.same(world.workers[0]!.sent, [], 'the old worker was never told to stop')
  t.same(states(handle), ['0:ready:8000', '1:ready:8000'])
  t.equal(world.workers.length, 3, 'slot 1 was not tried')
})

t.test('with a readiness gate, a new worker silent after its first word is killed at the backstop', async (t) => {
  const { world, handle } = await start(t, { healthPath: '/healthz', readinessTimeoutMs: 1 })
  world.onFork = (worker) => setImmediate(() => worker.say({ fdk: 'building' }))
  await handle.reload()
  t.same(world.workers[2]!.signals, ['SIGKILL'])
  t.match(await world.logged('reload stopped'), { reason: /^Worker 0 did not become ready within readinessTimeoutMs \(1 ms\): it sent no word since it started building .*; killed; the old workers keep serving$/ })
  t.same(states(handle), ['0:ready:8000', '1:ready:8000'])
})

t.test('the reason a new worker gave for not being ready is the reason the reload reports', async (t) => {
  const { world, handle } = await start(t, { healthPath: '/healthz', readinessTimeoutMs: 1 })
  world.onFork = (worker) => setImmediate(() => worker.say({ fdk: 'not-ready', reason: 'GET /healthz answered 503' }))
  await handle.reload()
  t.same(world.workers[2]!.signals, ['SIGKILL'], 'it hung after saying so')
  t.match(await world.logged('reload stopped'), { reason: 'GET /healthz answered 503; the old workers keep serving' })
})

t.test('an old worker crashing during its reload: the new one takes the slot, the crash\'s restart finds it filled', async (t) => {
  const { world, handle } = await start(t, {}, new FakeHost(), { ...POLICY, backoffBaseMs: 30, backoffMaxMs: 30 })
  quietFrom(world, 2)
  const [a, b] = world.workers
  const reloading = handle.reload()
  const fresh = await world.forked(2)
  a!.die(1)
  await world.logged('worker 0 (pid 5000) exited with status 1, restarting in 30 ms')
  fresh.listen()
  const next = await world.forked(3)
  t.same(a!.sent, [], 'the crashed worker is not told to stop')
  next.listen()
  await reloading
  // The slot-1 worker below crashes after the slot-0 timer was set, with the
  // same delay: once its restart arrives, the slot-0 timer has fired too.
  t.equal(b!.sent[0]?.fdk, 'stop')
  next.die(1)
  const restarted = await world.forked(4)
  t.equal(restarted.slot, 1)
  t.equal(world.lines.filter((line) => line.msg === 'worker restarted').length, 1, 'slot 0 was not forked a second time')
  t.same(world.workers.map((worker) => worker.slot), [0, 1, 0, 1, 1])
})

t.test('a reload while a slot waits for its restart skips that slot', async (t) => {
  const { world, handle } = await start(t, {}, new FakeHost(), { ...POLICY, backoffBaseMs: 60_000, backoffMaxMs: 60_000 })
  world.workers[0]!.die(1)
  await world.logged('restarting in 60000 ms')
  await handle.reload()
  t.same(world.workers.map((worker) => worker.slot), [0, 1, 1], 'only slot 1 was replaced')
  await world.logged('reload finished')
  await handle.close() // clears the pending restart: nothing is forked after the stop
  t.equal(world.workers.length, 3)
})

t.test('stop: every worker drains; one that ignores the stop is killed past its deadline', async (t) => {
  const { world, handle } = await start(t, { shutdownTimeoutMs: 0 })
  const [a, b] = world.workers
  b!.hung = true
  const stopping = world.signalHooks!.stop()
  t.equal(world.signalHooks!.stop(), stopping, 'a second stop waits for the same one')
  await stopping
  await handle.close()
  t.same(a!.signals, [])
  t.same(b!.signals, ['SIGKILL'])
  t.match(world.lines.filter((line) => line.msg === 'worker stopped'), [{ cause: 'stop', code: 0 }, { cause: 'stop', signal: 'SIGKILL' }])
  t.same(world.exits, [], 'close() leaves the process to the caller')
})

t.test('a second signal forces: every worker is killed without draining', async (t) => {
  const { world } = await start(t)
  for (const worker of world.workers) worker.hung = true
  const stopping = world.signalHooks!.stop()
  world.signalHooks!.force()
  await stopping
  t.same(world.workers.map((worker) => worker.signals), [['SIGKILL'], ['SIGKILL']])
})

t.test('a reload asked while stopping, or reaching its next slot after a stop began, does nothing', async (t) => {
  const { world, handle } = await start(t)
  quietFrom(world, 2)
  const reloading = handle.reload()
  const fresh = await world.forked(2)
  fresh.listen()
  const closing = handle.close() // before the reload moves on to slot 1
  await reloading
  t.match(await world.logged('reload stopped'), { reason: 'the primary is stopping' })
  t.equal(world.workers.length, 3, 'slot 1 was not replaced')
  await closing
  await handle.reload()
  t.equal(world.lines.filter((line) => line.msg === 'reload stopped: the primary is stopping').length, 2)
  t.equal(world.workers.length, 3)
})

t.test('the control socket answers status, reload and stop; the pidfile holds the primary\'s pid', async (t) => {
  const dir = temp(t)
  const socket = join(dir, 'control.sock')
  const pidFile = join(dir, 'primary.pid')
  const { world } = await start(t, { controlSocket: socket, pidFile })
  t.equal(readFileSync(pidFile, 'utf8'), '4242\n')
  await world.logged('control socket listening')
  const status = await controlRequest(socket, { command: 'status' }, 5_000) as { ok: boolean, status: StatusDocument }
  t.equal(status.ok, true)
  t.match(status.status.primary, { pid: 4242, mode: 'shared', port: 8000, processes: 2, reload: { state: 'idle', last: null }, controlSocket: socket, metrics: null })
  t.equal(status.status.workers.length, 2)
  const reload = await controlRequest(socket, { command: 'reload' }, 5_000)
  t.match(reload, { ok: true, outcome: { ok: true } })
  await world.logged('reload asked on the control socket')
  const after = await controlRequest(socket, { command: 'status' }, 5_000) as { status: StatusDocument }
  t.match(after.status.primary.reload, { state: 'idle', last: { ok: true } })
  t.match(await controlRequest(socket, { command: 'restart' }, 5_000), { ok: false, error: 'unknown command "restart" (known: status, reload, stop)' })
  t.same(await controlRequest(socket, { command: 'stop' }, 5_000), { ok: true })
  t.equal(await world.exited(), 0, 'the primary exits once the stop is answered')
  await world.logged('stopping: asked on the control socket')
  // What the primary's exit does: the pidfile and the socket go.
  t.equal(world.exitListeners.length, 2)
  for (const listener of world.exitListeners) listener()
  t.notOk(existsSync(pidFile))
  t.notOk(existsSync(socket))
  for (const listener of world.exitListeners) listener() // already gone: nothing to do, nothing thrown
})

t.test('a primary whose workers all ended removes its control socket as it exits', async (t) => {
  const socket = join(temp(t), 'control.sock')
  const { world } = await start(t, { controlSocket: socket })
  for (const worker of world.workers) worker.die(0)
  t.equal(await world.exited(), 0)
  t.ok(existsSync(socket), 'still there: nothing stopped it')
  for (const listener of world.exitListeners) listener()
  t.notOk(existsSync(socket))
  for (const listener of world.exitListeners) listener() // already gone: nothing thrown
})

t.test('a pidfile another primary has written since is left to it', async (t) => {
  const dir = temp(t)
  const pidFile = join(dir, 'primary.pid')
  const { world } = await start(t, { pidFile })
  writeFileSync(pidFile, '999\n')
  t.equal(world.exitListeners.length, 2)
  for (const listener of world.exitListeners) listener()
  t.equal(readFileSync(pidFile, 'utf8'), '999\n')
})

t.test('a control socket the user named must work: the launch fails before any worker starts', async (t) => {
  const socket = join(temp(t), 'control.sock')
  const other = await listenControl(socket, async () => ({ ok: true }))
  t.teardown(() => other.close())
  const world = new FakeHost()
  await t.rejects(start(t, { controlSocket: socket }, world), { code: 'FDK_CLUSTER_CONTROL_SOCKET', message: /another primary is running/ })
  t.equal(world.workers.length, 0)
})

t.test('the default control socket in use costs a warning, not the launch', async (t) => {
  const path = defaultControlPath(0, '127.0.0.1')
  const other = await listenControl(path, async () => ({ ok: true }))
  t.teardown(() => other.close())
  const { world, handle } = await start(t, { port: 0, controlSocket: undefined })
  t.match(await world.logged('no control socket'), { level: 'warn', controlSocket: path })
  t.equal(handle.workers().length, 2)
})

t.test('metrics: the primary asks every serving worker, waits 1 s at most for each, and renders the sum', async (t) => {
  const world = new FakeHost()
  const answer = (worker: FakeWorker, metrics: unknown): void => {
    worker.on('sent', (message: Record<string, unknown>) => {
      if (message.fdk === 'metrics-req') setImmediate(() => worker.say({ fdk: 'metrics', id: message.id, metrics }))
    })
  }
  const counter = (value: number): unknown => [{ name: 'http_requests_total', help: 'Requests.', type: 'counter', aggregator: 'sum', values: [{ value, labels: {} }] }]
  const { handle } = await start(t, { metricsPort: 0, processes: 3, shutdownTimeoutMs: 0 }, world, { ...POLICY, backoffBaseMs: 60_000, backoffMaxMs: 60_000 })
  const [a, b, c] = world.workers
  answer(a!, counter(2))
  answer(b!, counter(5))
  // c never answers: its last snapshot (none) stands in after 1 s.
  const url = (await world.logged('metrics listening')).metrics as string
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
  b!.say(beat(1234))
  const first = await (await fetch(url)).text()
  t.match(first, /^http_requests_total 7$/m)
  t.match(first, /^process_resident_memory_bytes\{worker="1"\} 1234$/m)
  t.match(first, /^deploy_kit_worker_restarts_total\{cause="crash"\} 0$/m)
  t.equal(c!.sent.filter((message) => message.fdk === 'metrics-req').length, 1, 'the silent worker was asked')

  // A late answer to a request already given up is dropped.
  c!.say({ fdk: 'metrics', id: 9_999, metrics: counter(100) })
  // A worker that retires sends its final counts; they stay in the sum after it is gone.
  a!.say({ fdk: 'metrics', final: true, metrics: counter(3) })
  await a!.told('metrics-ack')
  a!.die(1)
  await world.logged('restarting in 60000 ms')
  c!.connected = false // gone from the channel: not asked
  const second = await (await fetch(url)).text()
  t.match(second, /^http_requests_total 8$/m, 'the retired worker\'s final 3 and the live one\'s 5')
  t.match(second, /^deploy_kit_worker_restarts_total\{cause="crash"\} 1$/m)
  t.equal(c!.sent.filter((message) => message.fdk === 'metrics-req').length, 1)
  b!.die(1) // no final snapshot: its last one (5) is kept
  await until('the second crash counted', () => handle.workers().length === 1, { last: () => world.tail() })
  const third = await (await fetch(url)).text()
  t.match(third, /^http_requests_total 8$/m)

  t.equal((await fetch(url.replace('/metrics', '/other'))).status, 404)
  t.equal((await fetch(url, { method: 'POST' })).status, 404)
  await handle.close()
  t.same(c!.signals, ['SIGKILL'], 'a worker the stop cannot reach is killed at its deadline')
})

t.test('a scrape that fails answers 500 and says why in the log', async (t) => {
  const world = new FakeHost()
  const { handle } = await start(t, { metricsPort: 0, processes: 1 + 1 }, world, { ...POLICY, backoffBaseMs: 60_000, backoffMaxMs: 60_000 })
  const url = (await world.logged('metrics listening')).metrics as string
  // A snapshot prom-client cannot read (no values): the aggregation throws.
  for (const worker of world.workers) {
    worker.on('sent', (message: Record<string, unknown>) => {
      if (message.fdk === 'metrics-req') worker.say({ fdk: 'metrics', id: message.id, metrics: [{ name: 'broken_total', help: 'x', type: 'counter', aggregator: 'sum', values: null }] })
    })
  }
  t.equal((await fetch(url)).status, 500)
  t.match(await world.logged('metrics scrape failed'), { level: 'error', err: { message: /forEach/ } })
  world.workers[0]!.die(1) // retiring the unreadable snapshot fails too, and is dropped
  await until('the crash seen', () => handle.workers().length === 1, { last: () => world.tail() })
})

t.test('the metrics listener shows an IPv6 address in brackets', async (t) => {
  const { world } = await start(t, { metricsPort: 0, metricsHost: '::1' })
  t.match((await world.logged('metrics listening')).metrics, /^http:\/\/\[::1\]:\d+\/metrics$/)
})

t.test('a worker silent past workerTimeoutMs is killed and restarted; one over maxMemoryBytes is replaced gracefully', async (t) => {
  const { world, handle } = await start(t, { workerTimeoutMs: 2_000, maxMemoryBytes: 1_000_000, processes: 3 })
  const [silent, unheard, big] = world.workers
  silent!.say(beat(10))
  big!.say(beat(2_000_000))
  const replaced = await world.logged('over maxMemoryBytes 1000000: replacing it (drained, not killed)')
  t.match(replaced, { level: 'warn', taskId: 2, rssBytes: 2_000_000 })
  await big!.told('stop')
  t.same(big!.signals, [], 'drained, not killed')
  // The other two send nothing more: after 2 s each is killed.
  const keepBeating = setInterval(() => world.workers.filter((worker) => worker !== silent && worker !== unheard && worker.exited === null).forEach((worker) => worker.say(beat(10))), 200)
  t.teardown(() => clearInterval(keepBeating))
  await until('both silent workers killed', () => silent!.exited !== null && unheard!.exited !== null, { ms: 10_000, last: () => world.tail() })
  t.same(silent!.signals, ['SIGKILL'])
  t.same(unheard!.signals, ['SIGKILL'])
  const silences = world.lines.filter((line) => line.msg.includes('sent no heartbeat'))
  t.match(silences.find((line) => line.taskId === 0), { level: 'error', workerTimeoutMs: 2_000, oldestInFlight: [{ url: '/slow' }] })
  t.match(silences.find((line) => line.taskId === 1), { oldestInFlight: [] }, 'no heartbeat yet: nothing known in flight')
  await until('both restarted', () => world.lines.filter((line) => line.msg === 'worker restarted').length === 2, { last: () => world.tail() })
  t.match(world.lines.filter((line) => line.msg.includes('restarting in')), [{ cause: 'timeout' }, { cause: 'timeout' }])
  clearInterval(keepBeating)
  t.equal(handle.workers().length, 3)
})
