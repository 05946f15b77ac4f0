// A worker of a multi-process launch (lib/cluster/worker.ts) run in-process:
// a real Fastify app on a real port, its IPC channel and signals a fake
// process (below) that records what the worker tells the primary and lets the
// test play the primary's part. test/process/cluster-*.test.ts run the same
// code in real launched workers.
import t, { type Test } from 'tap'
import { EventEmitter } from 'node:events'
import Fastify from 'fastify'
import { normalizeClusterOptions, taskId, type ClusterOptions } from '../../lib/cluster.js'
import { runWorker } from '../../lib/cluster/worker.js'
import { clearTaskId } from '../../lib/cluster/task-id.js'
import type { WorkerHost } from '../../lib/cluster/worker-host.js'
import type { BuildApp } from '../../lib/cluster/server.js'
import type { Logger } from '../../lib/cluster/types.js'
import { within } from '../helpers/wait.js'

const REACT_MS = 5_000

type Message = Record<string, unknown>

/** The worker's process as the worker sees it: environment, IPC channel, signals, exit. */
class FakeProcess {
  readonly env: Record<string, string | undefined>
  readonly sent: Message[] = []
  readonly exits: number[] = []
  readonly titles: string[] = []
  readonly logged: Array<{ obj: object, msg?: string }> = []
  open = true
  /** The channel refuses writes (the primary is gone). */
  refuse = false
  private readonly events = new EventEmitter()

  readonly host: WorkerHost

  constructor (slot = 1, port = 0) {
    this.env = { FDK_CLUSTER_TASK_ID: String(slot), FDK_CLUSTER_PORT: String(port), PATH: '/usr/bin' }
    const log: Logger = { info: () => {}, warn: () => {}, error: (obj, msg) => { this.logged.push({ obj, msg }) } }
    this.host = {
      env: this.env,
      pid: 777,
      connected: () => this.open,
      send: (message, callback) => {
        this.sent.push(message as Message)
        this.events.emit('sent', message)
        if (callback !== undefined) setImmediate(() => callback(this.refuse ? new Error('channel closed') : null))
      },
      on: (event, listener) => { this.events.on(event, listener) },
      exit: (code) => {
        this.exits.push(code)
        this.events.emit('exit', code)
      },
      title: (title) => { this.titles.push(title) },
      logger: () => log
    }
  }

  /** The primary (or the kernel) says something to the worker. */
  deliver (event: 'message' | 'SIGTERM' | 'SIGINT' | 'disconnect', message?: unknown): void {
    this.events.emit(event, message)
  }

  /** The first message (past or future) with this `fdk`. */
  async told (fdk: string, match: (message: Message) => boolean = () => true): Promise<Message> {
    const found = (): Message | undefined => this.sent.find((message) => message.fdk === fdk && match(message))
    const already = found()
    if (already !== undefined) return already
    return await within(`the worker saying "${fdk}"`, new Promise((resolve) => {
      const listener = (): void => {
        const message = found()
        if (message === undefined) return
        this.events.off('sent', listener)
        resolve(message)
      }
      this.events.on('sent', listener)
    }), { ms: REACT_MS, last: () => JSON.stringify(this.sent.map((message) => message.fdk)) })
  }

  async exited (): Promise<number> {
    if (this.exits.length > 0) return this.exits[0]!
    return await within('the worker exiting', new Promise((resolve) => this.events.once('exit', resolve)), { ms: REACT_MS, last: () => JSON.stringify(this.sent.map((message) => message.fdk)) })
  }
}

const app: BuildApp = () => {
  const fastify = Fastify()
  fastify.get('/hello', async () => ({ hello: 'world' }))
  return fastify
}

function settings (options: ClusterOptions = {}): ReturnType<typeof normalizeClusterOptions> {
  return normalizeClusterOptions({ processes: 2, host: '127.0.0.1', controlSocket: false, ...options })
}

/** A started worker, stopped (and its slot forgotten) when the test ends. */
async function start (t: Test, options: ClusterOptions = {}, fake = new FakeProcess()): Promise<{ fake: FakeProcess, handle: Awaited<ReturnType<typeof runWorker>> }> {
  const handle = await runWorker(app, settings(options), fake.host)
  t.teardown(async () => {
    fake.deliver('message', { fdk: 'stop' })
    await fake.exited()
    clearTaskId()
  })
  return { fake, handle }
}

t.test('a worker builds, listens, says so, beats, and takes its slot out of the environment', async (t) => {
  const { fake, handle } = await start(t)
  t.same(fake.sent.slice(0, 2).map((message) => message.fdk), ['building', 'ready'], 'the first word, then ready')
  const { port } = fake.sent[1] as { port: number }
  t.ok(port > 0, 'the port the kernel picked')
  t.same(await (await fetch(`http://127.0.0.1:${port}/hello`)).json(), { hello: 'world' })
  t.same(fake.titles, ['deploy-kit worker 1 :0'])
  t.equal(taskId(), 1)
  t.same(fake.env, { PATH: '/usr/bin' }, 'processes the app spawns are not workers')
  t.match(await fake.told('heartbeat'), { rssBytes: Number, served: Number })
  t.same(handle.workers(), [{ taskId: 1, pid: 777, port, state: 'ready' }])
  t.equal(handle.role, 'worker')
  await handle.reload()
  await fake.told('reload')
  fake.deliver('SIGINT') // Ctrl-C reaches every process of the group: the primary decides
  fake.deliver('message', null)
  fake.deliver('message', { fdk: 'metrics-req', id: 1 }) // metrics are off: nothing to answer
  t.same(fake.exits, [])
  t.notOk(fake.sent.some((message) => message.fdk === 'metrics'))
})

for (const [what, tell] of [
  ['the primary\'s stop', (fake: FakeProcess) => fake.deliver('message', { fdk: 'stop' })],
  ['SIGTERM', (fake: FakeProcess) => fake.deliver('SIGTERM')],
  ['the primary\'s channel closing', (fake: FakeProcess) => fake.deliver('disconnect')]
] as const) {
  t.test(`${what} drains the worker and it exits 0`, async (t) => {
    const { fake, handle } = await start(t)
    const { port } = await fake.told('ready') as { port: number }
    tell(fake)
    t.equal(handle.workers()[0]!.state, 'draining')
    t.equal(await fake.exited(), 0)
    await t.rejects(fetch(`http://127.0.0.1:${port}/hello`), 'no longer listening')
    t.equal(handle.close(), handle.close(), 'one stop, however often asked')
  })
}

t.test('with metrics on, the worker answers the primary\'s scrapes and sends its final counts before it exits', async (t) => {
  const { fake, handle } = await start(t, { metricsPort: 0 })
  const { port } = await fake.told('ready') as { port: number }
  await fetch(`http://127.0.0.1:${port}/hello`)
  fake.deliver('message', { fdk: 'metrics-req', id: 7 })
  const answer = await fake.told('metrics', (message) => message.id === 7)
  t.match(JSON.stringify(answer.metrics), /http_requests_total/)
  const stopping = handle.close()
  const final = await fake.told('metrics', (message) => message.final === true)
  t.match(JSON.stringify(final.metrics), /"route":"\/hello"/)
  t.same(fake.exits, [], 'waits for the primary to take them')
  fake.deliver('message', { fdk: 'metrics-ack' })
  await stopping
  t.equal(await fake.exited(), 0)
})

t.test('final counts the primary never acknowledges hold the exit back 1 s at most; a closed channel not at all', async (t) => {
  const { fake, handle } = await start(t, { metricsPort: 0 })
  const started = Date.now()
  await handle.close()
  t.ok(fake.sent.some((message) => message.final === true))
  t.ok(Date.now() - started >= 900, 'waited for the ack')
  t.equal(await fake.exited(), 0)

  const gone = new FakeProcess(0)
  const second = await start(t, { metricsPort: 0 }, gone)
  gone.open = false
  gone.deliver('message', { fdk: 'metrics-req', id: 8 })
  await second.handle.close()
  t.equal(await gone.exited(), 0)
  t.notOk(gone.sent.some((message) => message.final === true || message.id === 8), 'nobody to send them to')
})

t.test('a worker whose app fails to build reports why to the primary, which prints it once, and exits 1', async (t) => {
  const fake = new FakeProcess()
  const failing: BuildApp = () => { throw Object.assign(new TypeError('cookieSecret is missing'), { code: 'FDK_SETTINGS_INVALID' }) }
  runWorker(failing, settings(), fake.host).catch(() => {}) // never settles: the worker exits instead
  t.equal(await fake.exited(), 1)
  t.match(await fake.told('boot-error'), { error: { type: 'TypeError', message: 'cookieSecret is missing', code: 'FDK_SETTINGS_INVALID', stack: /cookieSecret is missing/ } })
  t.notOk(fake.sent.some((message) => message.fdk === 'not-ready'))
  t.same(fake.logged, [], 'the primary prints it, not the worker')
  clearTaskId()
})

t.test('a thrown non-Error is reported as its text; with the primary gone the worker prints it itself', async (t) => {
  const fake = new FakeProcess()
  fake.refuse = true
  runWorker(() => { throw 'no app' }, settings(), fake.host) // eslint-disable-line no-throw-literal -- what a careless buildApp does
  t.equal(await fake.exited(), 1)
  t.same((await fake.told('boot-error')).error, { message: 'no app' })
  t.match(fake.logged, [{ obj: { err: 'no app', taskId: 1 }, msg: 'worker failed to start' }])
  clearTaskId()
})

t.test('a worker whose readiness check fails says why it is not ready, then exits 1', async (t) => {
  const fake = new FakeProcess()
  runWorker(app, settings({ readiness: () => false, readinessTimeoutMs: 50 }), fake.host)
  t.equal(await fake.exited(), 1)
  t.match(await fake.told('not-ready'), { reason: /did not become ready within readinessTimeoutMs \(50 ms\)/ })
  t.match(await fake.told('boot-error'), { error: { code: 'FDK_CLUSTER_NOT_READY' } })
  clearTaskId()
})

t.test('an app that fails to close is logged and the worker exits 1', async (t) => {
  const fake = new FakeProcess()
  const lines: string[] = []
  const stubborn: BuildApp = () => {
    const fastify = Fastify({ logger: { level: 'error', stream: { write: (line: string) => { lines.push(line) } } } })
    fastify.addHook('onClose', async () => { throw new Error('the database connection would not close') })
    return fastify
  }
  await runWorker(stubborn, settings(), fake.host)
  fake.deliver('message', { fdk: 'stop' })
  t.equal(await fake.exited(), 1)
  t.match(JSON.parse(lines.join('')), { msg: 'worker failed to close', taskId: 1, err: { message: 'the database connection would not close' } })
  clearTaskId()
})
