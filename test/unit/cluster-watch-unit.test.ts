// The pure and in-process parts of watching the processes: option checks,
// the control socket's protocol and errors, heartbeat sampling, the
// primary's silence/memory rules and the status table.
import t, { type Test } from 'tap'
import http from 'node:http'
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { tmpdir } from 'node:os'
import { normalizeClusterOptions } from '../../lib/cluster.js'
import { controlDir, controlRequest, defaultControlPath, describeConnectError, listControlSockets, listenControl, runtimeDir } from '../../lib/cluster/control.js'
import { RequestTracker, Sampler, startHeartbeat, type Beat } from '../../lib/cluster/heartbeat.js'
import { Watcher, describeSilence, type PrimaryFacts, type WorkerRecord } from '../../lib/cluster/watch.js'
import { formatStatus, resolveSocket } from '../../lib/cli/control.js'
import { main } from '../../lib/cli/main.js'

function temp (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'fdk-watch-unit-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function cli (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await main(args, { stdout: (text) => { stdout += text }, stderr: (text) => { stderr += text } })
  return { code, stdout, stderr }
}

t.test('watch options: defaults, and each bad value named by FDK_CLUSTER_OPTION_INVALID', async (t) => {
  const defaults = normalizeClusterOptions({ port: 8000 })
  t.match(defaults, {
    controlSocket: defaultControlPath(8000),
    pidFile: undefined,
    workerTimeoutMs: 30_000,
    maxMemoryBytes: 0,
    metricsPort: undefined,
    metricsHost: '127.0.0.1',
    healthPath: undefined,
    readiness: undefined,
    readinessTimeoutMs: 30_000,
    overload: undefined
  })
  t.equal(normalizeClusterOptions({ controlSocket: false }).controlSocket, false)
  t.equal(normalizeClusterOptions({ controlSocket: '/tmp/x.sock' }).controlSocket, '/tmp/x.sock')
  t.equal(normalizeClusterOptions({ workerTimeoutMs: 0 }).workerTimeoutMs, 0)
  t.same(normalizeClusterOptions({ overload: { maxEventLoopDelayMs: 200 } }).overload, { maxEventLoopDelayMs: 200, maxHeapUsedBytes: 0, maxRssBytes: 0, retryAfterSeconds: 10 })
  const readiness = async (): Promise<boolean> => true
  t.equal(normalizeClusterOptions({ readiness, healthPath: '/healthz', metricsPort: 9100 }).readiness, readiness)
  const cases: Array<[string, unknown, RegExp]> = [
    ['controlSocket', 'relative.sock', /"controlSocket": received "relative.sock", expected an absolute path/],
    ['controlSocket', '/' + 'x'.repeat(120), /"controlSocket": received .*, expected an absolute path of at most 107 bytes/],
    ['pidFile', 3, /"pidFile": received 3/],
    ['workerTimeoutMs', 500, /"workerTimeoutMs": received 500, expected 0 \(never\) or at least 2000/],
    ['workerTimeoutMs', 'long', /"workerTimeoutMs"/],
    ['maxMemoryBytes', -1, /"maxMemoryBytes"/],
    ['metricsPort', 70_000, /"metricsPort"/],
    ['metricsPort', 8888, /"metricsPort": received 8888, expected a port other than the public one/],
    ['metricsHost', '', /"metricsHost"/],
    ['healthPath', 'healthz', /"healthPath": received "healthz", expected a URL path/],
    ['readiness', true, /"readiness": received true, expected a function/],
    ['readinessTimeoutMs', 0, /"readinessTimeoutMs"/],
    ['overload', [], /"overload": received/],
    ['overload', {}, /"overload": received .*, expected at least one of/],
    ['overload', { maxLag: 3 }, /"overload.maxLag": received 3, expected no such option/],
    ['overload', { maxRssBytes: 0.5 }, /"overload.maxRssBytes"/]
  ]
  for (const [name, value, message] of cases) {
    t.throws(() => normalizeClusterOptions({ [name]: value } as never), { code: 'FDK_CLUSTER_OPTION_INVALID', message }, `${name} = ${JSON.stringify(value)}`)
  }
})

t.test('the default socket lives under the runtime directory, named by port (or by pid for port 0)', async (t) => {
  t.equal(runtimeDir({ XDG_RUNTIME_DIR: '/run/user/1000' }, 1000), '/run/user/1000')
  t.equal(runtimeDir({}, 0), '/run')
  t.equal(runtimeDir({ XDG_RUNTIME_DIR: '' }, 1000), tmpdir())
  t.equal(controlDir({}, 0), '/run/deploy-kit')
  t.equal(defaultControlPath(8000, undefined, {}, 0), '/run/deploy-kit/port-8000.sock')
  t.equal(defaultControlPath(8000, '10.0.0.5', {}, 0), '/run/deploy-kit/10.0.0.5-8000.sock')
  t.equal(defaultControlPath(8000, 'a/b c', {}, 0), '/run/deploy-kit/a_b_c-8000.sock')
  t.equal(defaultControlPath(0, '::1', {}, 0, 4242), '/run/deploy-kit/pid-4242.sock')
  t.equal(normalizeClusterOptions({ port: 8000, host: '::1' }).controlSocket, defaultControlPath(8000, '::1'))
  t.same(listControlSockets('/nonexistent/dir'), [])
})

t.test('control socket: one JSON line in, one out; bad lines, failures and unknown paths answered in words', async (t) => {
  const dir = temp(t)
  const path = join(dir, 'sub', 'c.sock')
  const answered: string[] = []
  const server = await listenControl(path, async (request) => {
    if (request.command === 'fail') throw new Error('it broke')
    return { ok: true, echo: request.command }
  }, (request) => answered.push(request.command))
  t.equal(statSync(path).mode & 0o777, 0o600)
  t.equal(statSync(join(dir, 'sub')).mode & 0o777, 0o700)
  t.same(await controlRequest(path, { command: 'hello' }, 5_000), { ok: true, echo: 'hello' })
  t.same(await controlRequest(path, { command: 'fail' }, 5_000), { ok: false, error: 'it broke' })
  t.same(answered, ['hello', 'fail'])
  const raw = async (text: string): Promise<string> => {
    const socket = (await import('node:net')).createConnection(path)
    let data = ''
    socket.on('data', (chunk) => { data += chunk.toString() })
    socket.write(text)
    await once(socket, 'close')
    return data
  }
  t.match(await raw('not json\n'), /expected one JSON line with a/)
  t.match(await raw('{"x":1}\n'), /expected one JSON line/)
  t.equal(await raw('{'.repeat(70_000)), '', 'an endless line is cut off')
  t.same(listControlSockets(join(dir, 'sub')), [path])
  // A second server on a live socket is refused; a file that is not a socket too.
  await t.rejects(listenControl(path, async () => ({})), { code: 'FDK_CLUSTER_CONTROL_SOCKET', message: /another primary is running/ })
  const file = join(dir, 'plain')
  writeFileSync(file, '')
  await t.rejects(listenControl(file, async () => ({})), { code: 'FDK_CLUSTER_CONTROL_SOCKET', message: /exists and is not a socket/ })
  await server.close()
  t.notOk(existsSync(path))
  // A primary killed with SIGKILL leaves its socket file: the next one takes the path over.
  const stale = join(dir, 'stale.sock')
  spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`])
  t.ok(existsSync(stale), 'a stale socket file is left')
  const again = await listenControl(stale, async () => ({ ok: true }))
  t.same(await controlRequest(stale, { command: 'x' }, 5_000), { ok: true })
  await again.close()
  await t.rejects(controlRequest(path, { command: 'status' }, 5_000), /no primary is listening on .*c\.sock \(is it running\?\)/)
  await t.rejects(listenControl(join(file, 'below.sock'), async () => ({})), /EEXIST|ENOTDIR/)
  // Not even root can bind a socket in /proc: listen() itself fails.
  await t.rejects(listenControl('/proc/fdk-test.sock', async () => ({})), { code: 'FDK_CLUSTER_CONTROL_SOCKET', message: /Cannot listen on the control socket \/proc\/fdk-test\.sock: / })
})

t.test('control client: a silent server times out; one that closes without an answer is named', async (t) => {
  const dir = temp(t)
  const silent = join(dir, 'silent.sock')
  const closing = join(dir, 'closing.sock')
  const a = createServer(() => {}).listen(silent)
  const b = createServer((socket) => socket.end()).listen(closing)
  await Promise.all([once(a, 'listening'), once(b, 'listening')])
  t.teardown(() => { a.close(); b.close() })
  // A server that never answers keeps its connection: close it ourselves.
  a.on('connection', (socket) => { t.teardown(() => socket.destroy()) })
  await t.rejects(controlRequest(silent, { command: 'status' }, 200), /no answer on .*silent\.sock within 200 ms/)
  await t.rejects(controlRequest(closing, { command: 'status' }, 5_000), /closed the connection without an answer/)
  t.match(describeConnectError(closing, Object.assign(new Error('denied'), { code: 'EACCES' })), /permission denied on .*closing\.sock: only the user who started the primary \(uid 0\) may use it/)
  t.match(describeConnectError('/nowhere.sock', Object.assign(new Error('denied'), { code: 'EPERM' })), /^permission denied on \/nowhere\.sock: only the user who started the primary may use it$/)
  t.equal(describeConnectError('/x.sock', Object.assign(new Error('odd'), { code: 'EINVAL' })), 'cannot use /x.sock: odd')
})

t.test('heartbeat: requests served and in flight, the oldest named, figures in range', async (t) => {
  const server = http.createServer()
  const tracker = new RequestTracker(server)
  const held: http.ServerResponse[] = []
  server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
    if (request.url === '/hold') held.push(response)
    else response.end('ok')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const port = (server.address() as { port: number }).port
  const fetchText = (path: string): Promise<string> => new Promise((resolve, reject) => {
    http.get({ port, host: '127.0.0.1', path, agent: false }, (response) => {
      response.resume()
      response.on('end', () => resolve(path))
    }).on('error', reject)
  })
  await fetchText('/a')
  const holding = fetchText('/hold')
  while (held.length === 0) await new Promise((resolve) => setImmediate(resolve))
  const beats: Beat[] = []
  const stop = startHeartbeat(new Sampler(tracker), (beat) => beats.push(beat), 20)
  while (beats.length < 3) await new Promise((resolve) => setTimeout(resolve, 10))
  stop()
  const beat = beats[2]!
  t.equal(beat.fdk, 'heartbeat')
  t.equal(beat.served, 1)
  t.equal(beat.inFlight, 1)
  t.match(beat.oldest, [{ method: 'GET', url: '/hold' }])
  t.ok(beat.oldest[0]!.ms >= 0)
  t.ok(beat.rssBytes > beat.heapUsedBytes && beat.heapTotalBytes >= beat.heapUsedBytes && beat.externalBytes > 0)
  t.ok(beat.eventLoopUtilization >= 0 && beat.eventLoopUtilization <= 1)
  t.ok(beat.eventLoopDelayMaxMs >= 0 && beat.cpuPercent >= 0 && beat.openFiles! > 0)
  t.same(tracker.oldest(Date.now(), 0), [])
  held[0]!.end('done')
  await holding
  t.equal(tracker.inFlight, 0)
})

const beat = (over: Partial<Beat> = {}): Beat => ({
  fdk: 'heartbeat',
  rssBytes: 60_000_000,
  heapUsedBytes: 9_000_000,
  heapTotalBytes: 20_000_000,
  externalBytes: 1,
  eventLoopDelayP99Ms: 10.5,
  eventLoopDelayMaxMs: 12,
  eventLoopUtilization: 0.25,
  cpuPercent: 3,
  openFiles: 20,
  served: 7,
  inFlight: 0,
  oldest: [],
  ...over
})

const facts: PrimaryFacts = { pid: 1, startedAt: 0, mode: 'ports', port: 8000, processes: 2, reloading: false, lastReload: null, controlSocket: '/run/x.sock', metrics: null, maxRestarts: 100 }

t.test('watcher: who is silent, who is too big, restarts in the window, the status document', async (t) => {
  const watcher = new Watcher(2, 60_000)
  const a = watcher.started(0, 100, 8000, 1_000)
  const b = watcher.started(1, 101, 8001, 1_000)
  const entries = [{ record: a, state: 'ready' as const }, { record: b, state: 'starting' as const }]
  t.same(watcher.silent(entries, 2_000, 10_000), [], 'no heartbeat yet and not listening: not judged')
  watcher.ready(a, 8000, 2_000)
  watcher.heartbeat(a, beat({ rssBytes: 300 }), 3_000)
  t.same(watcher.silent(entries, 2_000, 4_000), [])
  t.same(watcher.silent(entries, 2_000, 5_500), [{ record: a, silentMs: 2_500 }])
  t.same(watcher.silent(entries, 0, 99_000), [], 'workerTimeoutMs 0: never')
  t.same(watcher.overMemory(entries, 200), [a])
  t.same(watcher.overMemory(entries, 0), [])
  t.same(watcher.overMemory(entries, 400), [])
  a.cause = 'timeout'
  t.same(watcher.silent(entries, 2_000, 5_500), [], 'already being replaced')
  t.same(watcher.overMemory(entries, 200), [])
  t.equal(watcher.exited(a, { code: null, signal: 'SIGKILL' }, null, 6_000), 'timeout')
  t.equal(watcher.exited(b, { code: 1, signal: null }, null, 6_000), 'crash')
  watcher.restarted(0, 6_100)
  watcher.restarted(0, 70_000)
  const c = watcher.started(0, 102, 8000, 70_000)
  t.equal(watcher.exited(c, { code: 0, signal: null }, 'reload', 71_000), 'reload')
  const d = watcher.started(0, 103, 8000, 71_000)
  const doc = watcher.status([{ record: b, state: 'draining' }, { record: d, state: 'starting' }], { ...facts, reloading: true, lastReload: { ok: false, reason: 'r', startedAt: 1, finishedAt: 2 } }, 71_000, '/srv/app/server.mjs')
  t.equal(doc.primary.reload.state, 'running')
  t.same(doc.workers.map((w) => w.taskId), [0, 1])
  const [w0, w1] = doc.workers
  t.match(w0, { pid: 103, restarts: 1, restartsTotal: 2, lastExit: { pid: 102, cause: 'reload', code: 0 }, rssBytes: null, lastHeartbeatSecondsAgo: null, name: 'server', requestsServed: 0 })
  t.match(w0!.pm2_env, { status: 'launching', exit_code: 0, pm_exec_path: '/srv/app/server.mjs', pm_uptime: 71_000 })
  t.match(w1!.pm2_env, { status: 'stopping', exit_code: 1 })
  t.equal(watcher.status([], facts, 0).workers.length, 0)
  const fresh = new Watcher(1, 60_000)
  t.match(fresh.status([{ record: fresh.started(0, 5, 8000, 0), state: 'starting' }], facts, 0).workers[0], { lastExit: null, pm2_env: { exit_code: null } })
  t.equal(watcher.status([{ record: a, state: 'ready' }, { record: c, state: 'ready' }], facts, 71_000).workers[0]!.pid, 100, 'same slot: the older first')
  t.match(watcher.status([{ record: a, state: 'ready' }], facts, 0).workers[0], { name: basename(process.argv[1]!).replace(/\.ts$/, '') }, 'named after the running script by default')
  const script = process.argv.splice(1, 1) // as under `node -e`
  try {
    t.match(watcher.status([{ record: a, state: 'ready' }], facts, 0).workers[0], { name: 'app', pm2_env: { pm_exec_path: 'app' } }, 'a primary without a script path is named app')
  } finally {
    process.argv.splice(1, 0, ...script)
  }
})

t.test('the log line of a stuck worker says which, how long, and what it was doing', async (t) => {
  const record: WorkerRecord = { slot: 2, pid: 42, port: 1, startedAt: 0, readyAt: 0, beatAt: 0, beat: null, cause: null }
  t.match(describeSilence(record, 2_500, 2_000), /^worker 2 \(pid 42\) sent no heartbeat for 2\.5 s \(workerTimeoutMs 2000\): .*no heartbeat received yet$/)
  record.beat = beat()
  t.match(describeSilence(record, 2_500, 2_000), /no request in flight, event-loop utilisation 25%$/)
  record.beat = beat({ inFlight: 1, oldest: [{ method: 'GET', url: '/a', ms: 1500 }] })
  t.match(describeSilence(record, 2_500, 2_000), /: 1 request in flight, oldest: GET \/a \(for 1\.5 s\),/)
  record.beat = beat({ inFlight: 2, oldest: [{ method: 'GET', url: '/a', ms: 1500 }, { method: 'POST', url: '/b', ms: 10 }] })
  t.match(describeSilence(record, 2_500, 2_000), /2 requests in flight, oldest: GET \/a \(for 1\.5 s\), POST \/b \(for 0\.0 s\)/)
})

t.test('the status table: units, missing figures, the last reload', async (t) => {
  const watcher = new Watcher(1, 60_000)
  const a = watcher.started(0, 100, 8000, 0)
  const b = watcher.started(0, 101, 8000, 0)
  watcher.exited(watcher.started(0, 99, 8000, 0), { code: 3, signal: null }, null, 0)
  watcher.ready(a, 8000, 0)
  watcher.heartbeat(a, beat({ rssBytes: 500_000 }), 0)
  const now = 2 * 3600_000 + 5 * 60_000
  const doc = watcher.status([{ record: a, state: 'ready' }, { record: b, state: 'starting' }], { ...facts, metrics: 'http://127.0.0.1:9100/metrics', lastReload: { ok: false, reason: 'not ready', startedAt: 0, finishedAt: 1 } }, now)
  const table = formatStatus(doc)
  t.match(table, /^primary pid 1, up 2h05m, mode ports, port 8000, 2 processes, reload idle, last stopped: not ready, metrics on http:\/\/127\.0\.0\.1:9100\/metrics\n/)
  t.match(table, /\n0\s+100\s+8000\s+ready\s+2h05m\s+0\s+3 \(crash\)\s+488K\s+8\.6M\s+10\.5\/12\s+25%\s+7\s+0\s+7500s\n/)
  t.match(table, /\n0\s+101\s+8000\s+starting\s+2h05m\s+0\s+3 \(crash\)\s+-\s+-\s+-\s+-\s+0\s+0\s+-\n$/)
  const short = formatStatus(watcher.status([], { ...facts, startedAt: now - 65_000, lastReload: { ok: true, startedAt: 0, finishedAt: 1 } }, now))
  t.match(short, /up 1m05s, .*reload idle, last finished\n/)
})

t.test('status, reload, stop: finding the socket, usage errors, failures', async (t) => {
  const dir = temp(t)
  t.throws(() => resolveSocket({}, dir), /no control socket in .*; is the launcher running\? \(or give --socket\)/)
  mkdirSync(join(dir, 'one.sock'))
  t.equal(resolveSocket({}, dir), join(dir, 'one.sock'))
  mkdirSync(join(dir, 'two.sock'))
  t.throws(() => resolveSocket({}, dir), /several launches run \(.*one\.sock, .*two\.sock\); choose one with --socket or --port/)
  t.equal(resolveSocket({ port: '8000' }, dir), defaultControlPath(8000))
  t.equal(resolveSocket({ port: '8000', host: '10.0.0.5' }, dir), defaultControlPath(8000, '10.0.0.5'))
  t.equal(resolveSocket({ socket: '/x.sock', port: '1' }, dir), '/x.sock')
  t.throws(() => resolveSocket({ port: '99999' }, dir), /--port must be a port number, got "99999"/)
  const help = await cli('status', '--help')
  t.equal(help.code, 0)
  t.match(help.stdout, /^Usage: deploy-kit status\|reload\|stop/)
  t.match(await cli('reload', '--timeout', 'soon'), { code: 2, stderr: /deploy-kit reload: --timeout must be milliseconds, got "soon"/ })
  t.match(await cli('stop', '--socket', join(dir, 'none.sock')), { code: 1, stderr: /deploy-kit stop: no primary is listening on/ })
  const path = join(dir, 'c.sock')
  const server = await listenControl(path, async (request) => request.command === 'stop' ? { ok: false, error: 'refused here' } : { ok: false, reason: 'a reason' })
  t.teardown(() => server.close())
  t.same(await cli('stop', '--socket', path, '--timeout', '5000'), { code: 1, stdout: '', stderr: 'deploy-kit stop: refused here\n' })
  t.same(await cli('reload', '--socket', path), { code: 1, stdout: '', stderr: 'deploy-kit reload: a reason\n' })
})
