// A world for runPrimary without processes (test/unit/cluster-primary.test.ts):
// fake workers the test makes listen, crash or hang in an order it chooses,
// and a host that records what the primary did to them and to itself (exit
// statuses, titles, exit listeners). lib/cluster/primary-host.ts is the real
// one; nothing here forks, signals or exits the test process.
import { EventEmitter } from 'node:events'
import type { Logger } from '../../lib/cluster/types.js'
import type { PrimaryHost, PrimaryWorker } from '../../lib/cluster/primary-host.js'
import { within } from './wait.js'

/** How long a test waits for the primary to react: everything here is in-process, so a second is plenty. */
const REACT_MS = 5_000

export interface LogLine {
  level: 'info' | 'warn' | 'error'
  msg: string
  [field: string]: unknown
}

export class FakeWorker extends EventEmitter {
  readonly env: Record<string, string>
  readonly slot: number
  readonly sent: Array<Record<string, unknown>> = []
  readonly signals: string[] = []
  connected = true
  /** A cooperative worker exits 0 when told to stop; a hung one ignores it. */
  hung = false
  exited: { code: number | null, signal: string | null } | null = null
  readonly process: { pid: number, kill: (signal?: NodeJS.Signals) => boolean }

  constructor (env: Record<string, string>, pid: number) {
    super()
    this.env = env
    this.slot = Number(env.FDK_CLUSTER_TASK_ID)
    this.process = {
      pid,
      kill: (signal = 'SIGTERM') => {
        this.signals.push(signal)
        // SIGKILL ends any worker, a hung one too; SIGTERM ends all but a hung one.
        if (signal === 'SIGKILL' || !this.hung) setImmediate(() => this.die(null, signal))
        return true
      }
    }
  }

  isConnected (): boolean {
    return this.connected
  }

  send (message: Record<string, unknown>, _handle: unknown, callback: (error: Error | null) => void): boolean {
    this.sent.push(message)
    this.emit('sent', message)
    if (message.fdk === 'stop' && !this.hung) setImmediate(() => this.die(0, null))
    setImmediate(() => callback(null))
    return true
  }

  /** The worker says something to the primary. */
  say (message: unknown): void {
    this.emit('message', message)
  }

  /** The worker is listening on `port` (its slot's port by default). */
  listen (port = Number(this.env.FDK_CLUSTER_PORT)): void {
    this.say({ fdk: 'ready', port })
  }

  /** The worker process ends; a second call does nothing (a process exits once). */
  die (code: number | null, signal: string | null = null): void {
    if (this.exited !== null) return
    this.exited = { code, signal }
    this.connected = false
    this.emit('exit', code, signal)
  }

  /** Resolves with the first message the primary sends that matches `fdk`. */
  async told (fdk: string): Promise<Record<string, unknown>> {
    const already = this.sent.find((message) => message.fdk === fdk)
    if (already !== undefined) return already
    return await within(`worker ${this.slot} (pid ${this.process.pid}) told "${fdk}"`, new Promise((resolve) => {
      const listener = (message: Record<string, unknown>): void => {
        if (message.fdk !== fdk) return
        this.off('sent', listener)
        resolve(message)
      }
      this.on('sent', listener)
    }), { ms: REACT_MS, last: () => JSON.stringify(this.sent) })
  }
}

export interface SignalHooks {
  stop: () => Promise<void>
  force: () => void
  reload: () => Promise<void>
  removed: boolean
}

export class FakeHost extends EventEmitter {
  readonly workers: FakeWorker[] = []
  readonly exits: number[] = []
  readonly titles: string[] = []
  readonly scheduled: string[] = []
  readonly exitListeners: Array<() => void> = []
  readonly lines: LogLine[] = []
  signalHooks: SignalHooks | undefined
  private nextPid = 5000
  /** What every new worker does on its own once forked (listen at once, by default). */
  onFork: (worker: FakeWorker) => void = (worker) => setImmediate(() => worker.listen())

  readonly log: Logger = {
    info: (obj, msg) => this.line('info', obj, msg),
    warn: (obj, msg) => this.line('warn', obj, msg),
    error: (obj, msg) => this.line('error', obj, msg)
  }

  readonly host: PrimaryHost = {
    pid: 4242,
    fork: (env) => {
      const worker = new FakeWorker(env, this.nextPid++)
      this.workers.push(worker)
      this.onFork(worker)
      this.emit('fork', worker)
      return worker as unknown as PrimaryWorker
    },
    schedule: (mode) => { this.scheduled.push(mode) },
    title: (title) => { this.titles.push(title) },
    exit: (code) => {
      this.exits.push(code)
      this.emit('exit', code)
    },
    atExit: (listener) => { this.exitListeners.push(listener) },
    signals: (_log, stop, force, reload) => {
      const hooks: SignalHooks = { stop, force, reload, removed: false }
      this.signalHooks = hooks
      return () => { hooks.removed = true }
    },
    logger: () => this.log,
    killMarginMs: 20
  }

  private line (level: LogLine['level'], obj: object, msg = ''): void {
    const line = { ...obj, level, msg }
    this.lines.push(line)
    this.emit('line', line)
  }

  /** The last log lines, for a failure message. */
  tail (count = 15): string {
    return this.lines.slice(-count).map((line) => JSON.stringify(line)).join('\n')
  }

  /** The first log line (past or future) whose message includes `text`. */
  async logged (text: string): Promise<LogLine> {
    const already = this.lines.find((line) => line.msg.includes(text))
    if (already !== undefined) return already
    return await within(`a log line with "${text}"`, new Promise((resolve) => {
      const listener = (line: LogLine): void => {
        if (!line.msg.includes(text)) return
        this.off('line', listener)
        resolve(line)
      }
      this.on('line', listener)
    }), { ms: REACT_MS, last: () => this.tail() })
  }

  /** The `index`-th worker forked (0-based), once it exists. */
  async forked (index: number): Promise<FakeWorker> {
    if (this.workers[index] !== undefined) return this.workers[index]
    return await within(`worker #${index} forked`, new Promise((resolve) => {
      const listener = (): void => {
        if (this.workers[index] === undefined) return
        this.off('fork', listener)
        resolve(this.workers[index])
      }
      this.on('fork', listener)
    }), { ms: REACT_MS, last: () => this.tail() })
  }

  /** The primary's exit status, once it calls exit. */
  async exited (): Promise<number> {
    if (this.exits.length > 0) return this.exits[0]!
    return await within('the primary exiting', new Promise((resolve) => this.once('exit', resolve)), { ms: REACT_MS, last: () => this.tail() })
  }
}
