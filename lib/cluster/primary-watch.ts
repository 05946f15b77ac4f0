// The primary's half of "watching the processes", kept out of primary.ts so
// that file only calls in at fork, message and exit: heartbeats in, stuck
// workers killed (workerTimeoutMs), oversized ones replaced gracefully
// (maxMemoryBytes), the control socket answering status/reload/stop, and the
// pidfile.
import { createServer, type Server } from 'node:http'
import type { ClusterMetrics } from './metrics-primary.js'
import type { MetricsJson } from './metrics.js'
import { unlinkSync, writeFileSync, readFileSync } from 'node:fs'
import type { Logger, NormalizedClusterOptions } from './types.js'
import { defaultControlPath, listenControl, type ControlRequest, type ControlServer } from './control.js'
import { HEARTBEAT_MS, type Beat } from './heartbeat.js'
import { Watcher, describeSilence, type ExitCause, type ReloadOutcome, type WorkerRecord, type WorkerState, type StatusDocument } from './watch.js'
import { tell } from './ipc.js'
import type { PrimaryHost, PrimaryWorker } from './primary-host.js'

export interface WatchedWorker {
  worker: PrimaryWorker
  slot: number
  port: number
  state: WorkerState
  watch: WorkerRecord
  /** Why a new worker did not become ready (its readiness check's reason). */
  notReady?: string
}

export interface PrimaryHooks {
  live: () => Iterable<WatchedWorker>
  reload: () => Promise<ReloadOutcome>
  /** Replaces one slot's worker gracefully (start, wait ready, drain the old). */
  replace: (slot: number, cause: ExitCause) => Promise<ReloadOutcome>
  shutdown: () => Promise<void>
  reloading: () => boolean
  lastReload: () => ReloadOutcome | null
}

export class PrimaryWatch {
  readonly watcher: Watcher
  private control: ControlServer | null = null
  private readonly check: NodeJS.Timeout
  private readonly startedAt = Date.now()
  private metrics: ClusterMetrics | null = null
  private metricsServer: Server | null = null
  private metricsUrl: string | null = null
  private readonly asked = new Map<number, (metrics: MetricsJson) => void>()
  private nextAsk = 0
  private readonly finalSent = new Set<number>()

  private constructor (private readonly settings: NormalizedClusterOptions, private readonly log: Logger, private readonly hooks: PrimaryHooks, windowMs: number, private readonly host: PrimaryHost) {
    this.watcher = new Watcher(settings.processes, windowMs)
    // Twice per heartbeat, so a stuck worker is found within half a beat of its timeout.
    this.check = setInterval(() => this.inspect(), HEARTBEAT_MS / 2)
    this.check.unref()
  }

  static async start (settings: NormalizedClusterOptions, log: Logger, hooks: PrimaryHooks, windowMs: number, host: PrimaryHost): Promise<PrimaryWatch> {
    const watch = new PrimaryWatch(settings, log, hooks, windowMs, host)
    try {
      if (settings.controlSocket !== false) {
        watch.control = await listenControl(settings.controlSocket, (request) => watch.answer(request), (request) => {
          // `deploy-kit stop` waits for this answer, so exit only once it is written.
          if (request.command === 'stop') host.exit(0)
        })
        log.info({ controlSocket: settings.controlSocket }, 'control socket listening')
      }
    } catch (error) {
      // A socket the user named must work; the default one is a convenience
      // that must not keep a launch from starting (e.g. two launches on one
      // port in separate network namespaces).
      if (settings.controlSocket !== defaultControlPath(settings.port, settings.host)) {
        clearInterval(watch.check)
        throw error
      }
      log.warn({ err: error, controlSocket: settings.controlSocket }, `no control socket: ${(error as Error).message}; deploy-kit status/reload/stop cannot reach this launch (give it a controlSocket of its own)`)
    }
    if (settings.metricsPort !== undefined) await watch.listenMetrics(settings.metricsPort, settings.metricsHost)
    if (settings.pidFile !== undefined) {
      writeFileSync(settings.pidFile, `${host.pid}\n`)
      const pidFile = settings.pidFile
      host.atExit(() => {
        try {
          if (readFileSync(pidFile, 'utf8').trim() === String(host.pid)) unlinkSync(pidFile)
        } catch {}
      })
    }
    host.atExit(() => {
      if (watch.control !== null) {
        try {
          unlinkSync(watch.control.path)
        } catch {}
      }
    })
    return watch
  }

  record (slot: number, pid: number, port: number): WorkerRecord {
    return this.watcher.started(slot, pid, port, Date.now())
  }

  /** Handles a worker's watch messages; false for messages that are not ours. */
  message (entry: WatchedWorker, message: { fdk?: string, reason?: string }): boolean {
    if (message.fdk === 'heartbeat') {
      this.watcher.heartbeat(entry.watch, message as unknown as Beat, Date.now())
      return true
    }
    if (message.fdk === 'metrics') {
      const { id, final, metrics } = message as unknown as { id?: number, final?: boolean, metrics: MetricsJson }
      if (final === true) {
        this.finalSent.add(entry.watch.pid)
        this.metrics?.retire(entry.watch.pid, metrics).then(() => { tell(entry.worker, { fdk: 'metrics-ack' }) })
      } else {
        this.asked.get(id!)?.(metrics)
      }
      return true
    }
    if (message.fdk === 'not-ready') {
      entry.notReady = message.reason
      return true
    }
    return false
  }

  ready (entry: WatchedWorker, port: number): void {
    this.watcher.ready(entry.watch, port, Date.now())
  }

  exited (entry: WatchedWorker, exit: { code: number | null, signal: string | null }, stopping: boolean): ExitCause {
    const cause = this.watcher.exited(entry.watch, exit, stopping ? 'stop' : entry.state === 'draining' ? 'reload' : null, Date.now())
    if (this.metrics !== null) {
      this.metrics.restarted(cause)
      // A worker that died without its final snapshot keeps the last one the primary saw.
      if (!this.finalSent.delete(entry.watch.pid)) this.metrics.retire(entry.watch.pid).catch(() => {})
    }
    return cause
  }

  private async listenMetrics (port: number, host: string): Promise<void> {
    const { ClusterMetrics } = await import('./metrics-primary.js')
    const metrics = new ClusterMetrics()
    this.metrics = metrics
    const server = createServer((request, response) => {
      if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: the metrics are at /metrics\n')
        return
      }
      this.scrape(metrics).then((text) => {
        response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text)
      }, (error: unknown) => {
        this.log.error({ err: error }, 'metrics scrape failed')
        response.writeHead(500).end()
      })
    })
    server.listen(port, host)
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve)
      server.once('error', reject)
    })
    server.unref()
    this.metricsServer = server
    const bound = (server.address() as { port: number }).port
    this.metricsUrl = `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`
    this.log.info({ metrics: this.metricsUrl, port: bound }, 'metrics listening')
  }

  /** Asks every serving worker for its snapshot (1 s at most each), then renders. */
  private async scrape (metrics: ClusterMetrics): Promise<string> {
    const entries = [...this.hooks.live()].filter((entry) => entry.state !== 'starting' && entry.worker.isConnected())
    await Promise.all(entries.map((entry) => new Promise<void>((resolve) => {
      const id = ++this.nextAsk
      const timer = setTimeout(() => {
        this.asked.delete(id)
        resolve() // a stuck worker: its last snapshot stands in
      }, 1_000)
      this.asked.set(id, (snapshot) => {
        clearTimeout(timer)
        this.asked.delete(id)
        metrics.update(entry.watch.pid, snapshot)
        resolve()
      })
      tell(entry.worker, { fdk: 'metrics-req', id })
    })))
    return await metrics.render(this.entries().map(({ record }) => ({ slot: record.slot, beat: record.beat })))
  }

  restarted (slot: number): void {
    this.watcher.restarted(slot, Date.now())
  }

  private entries (): Array<{ record: WorkerRecord, state: WorkerState, entry: WatchedWorker }> {
    return [...this.hooks.live()].map((entry) => ({ record: entry.watch, state: entry.state, entry }))
  }

  private inspect (): void {
    const now = Date.now()
    const entries = this.entries()
    for (const { record, silentMs } of this.watcher.silent(entries, this.settings.workerTimeoutMs, now)) {
      const entry = entries.find((e) => e.record === record)!.entry
      record.cause = 'timeout'
      this.log.error({ taskId: record.slot, pid: record.pid, silentMs, workerTimeoutMs: this.settings.workerTimeoutMs, oldestInFlight: record.beat?.oldest ?? [] }, describeSilence(record, silentMs, this.settings.workerTimeoutMs))
      // SIGKILL: a blocked event loop runs no signal handler, so SIGTERM would do nothing.
      entry.worker.process.kill('SIGKILL')
    }
    for (const record of this.watcher.overMemory(entries, this.settings.maxMemoryBytes)) {
      record.cause = 'memory'
      this.log.warn({ taskId: record.slot, pid: record.pid, rssBytes: record.beat!.rssBytes, maxMemoryBytes: this.settings.maxMemoryBytes },
        `worker ${record.slot} (pid ${record.pid}) uses ${record.beat!.rssBytes} bytes, over maxMemoryBytes ${this.settings.maxMemoryBytes}: replacing it (drained, not killed)`)
      this.watcher.restarted(record.slot, Date.now())
      this.hooks.replace(record.slot, 'memory').catch(() => {})
    }
  }

  status (): StatusDocument {
    return this.watcher.status(this.entries(), {
      pid: this.host.pid,
      startedAt: this.startedAt,
      mode: this.settings.mode,
      port: this.settings.port,
      processes: this.settings.processes,
      reloading: this.hooks.reloading(),
      lastReload: this.hooks.lastReload(),
      controlSocket: this.settings.controlSocket,
      metrics: this.metricsUrl,
      maxRestarts: this.settings.maxRestarts
    }, Date.now())
  }

  private async answer (request: ControlRequest): Promise<unknown> {
    switch (request.command) {
      case 'status':
        return { ok: true, status: this.status() }
      case 'reload': {
        this.log.info({}, 'reload asked on the control socket')
        const outcome = await this.hooks.reload()
        return { ok: outcome.ok, reason: outcome.reason, outcome }
      }
      case 'stop':
        this.log.info({}, 'stopping: asked on the control socket')
        await this.hooks.shutdown()
        return { ok: true }
      default:
        return { ok: false, error: `unknown command "${request.command}" (known: status, reload, stop)` }
    }
  }

  close (): void {
    clearInterval(this.check)
    this.metricsServer?.close()
    this.control?.close().catch(() => {})
    this.control = null
  }
}
