// The two ways an app is served: as a cluster worker (one slot, told to stop
// by the primary, and exiting by itself when the primary is gone), or
// in-process with processes: 1 (the same signals as the primary: SIGTERM and
// SIGINT drain, a second one forces, SIGHUP swaps in a freshly built app).
import pino from 'pino'
import type { LaunchHandle, NormalizedClusterOptions } from '../cluster.js'
import { AppServer, type BuildApp } from './server.js'
import { openFilesWarning, readOpenFileLimit } from './limits.js'
import { workerTitle } from './supervisor.js'
import { RequestTracker, Sampler, startHeartbeat } from './heartbeat.js'
import type { WorkerMetrics } from './metrics.js'
import { Health, awaitReady } from './health.js'
import { FDK_CLUSTER_NOT_READY } from '../errors.js'

/** The pino methods launch() uses; any pino logger (e.g. `app.log`) fits. */
export interface Logger {
  info: (obj: object, msg?: string) => void
  warn: (obj: object, msg?: string) => void
  error: (obj: object, msg?: string) => void
}

// On globalThis so a second copy of this module (lib/ and dist/) agrees.
const TASK_ID = Symbol.for('fastify-deploy-kit.taskId')
const slotHolder = globalThis as { [TASK_ID]?: number }

export function currentTaskId (): number | null {
  return slotHolder[TASK_ID] ?? null
}

export function defaultLogger (): Logger {
  return pino({ name: 'deploy-kit' })
}

/** Logs the open-file warning (with the fixes) when the soft limit is too low. */
export function warnOpenFiles (log: Logger, minOpenFiles: number, limitsPath?: string): void {
  const warning = openFilesWarning(readOpenFileLimit(limitsPath), minOpenFiles)
  /* c8 ignore next -- a low limit is met only in the prlimit test, a launched process */
  if (warning !== null) log.warn({ minOpenFiles }, warning)
}

/**
 * Signal handling shared by the primary and processes: 1. The first SIGTERM
 * or SIGINT stops gracefully and exits 0; a second one exits 1 at once.
 */
export function handleSignals (log: Logger, stop: () => Promise<void>, force: () => void, reload: () => Promise<void>): () => void {
  let stopping = false
  /* c8 ignore start -- runs only in a launched process; test/cluster-*.test.ts exercise it through real processes, whose coverage is not recorded (see test/fixtures/cluster/spawn.ts) */
  const onStop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: stopping now without draining')
      force()
      process.exit(1)
    }
    stopping = true
    log.info({ signal }, 'stopping: draining in-flight requests')
    stop().then(() => {
      log.info({ signal }, 'stopped')
      process.exit(0)
    }, () => process.exit(1))
  }
  const onReload = (): void => {
    reload().catch(() => {}) // reload() logs its own failures
  }
  /* c8 ignore stop */
  process.on('SIGTERM', onStop)
  process.on('SIGINT', onStop)
  process.on('SIGHUP', onReload)
  return () => {
    process.off('SIGTERM', onStop)
    process.off('SIGINT', onStop)
    process.off('SIGHUP', onReload)
  }
}

/* c8 ignore start -- runs only in a launched process; test/cluster-*.test.ts exercise it through real processes, whose coverage is not recorded (see test/fixtures/cluster/spawn.ts) */
/** A drained worker's last counts, so the primary's sums lose nothing; waits for the ack (at most 1 s). */
async function sendFinalMetrics (metrics: WorkerMetrics | undefined): Promise<void> {
  if (metrics === undefined || !process.connected) return
  const snapshot = await metrics.snapshot()
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 1_000)
    process.on('message', (message: { fdk?: string }) => {
      if (message?.fdk === 'metrics-ack') {
        clearTimeout(timer)
        resolve()
      }
    })
    process.send!({ fdk: 'metrics', final: true, metrics: snapshot })
  })
}

/** True when a new worker must pass a readiness check before it counts as ready. */
export function hasReadinessGate (settings: NormalizedClusterOptions): boolean {
  return settings.readiness !== undefined || settings.healthPath !== undefined
}

/**
 * Builds the app with the launcher's routes (health) and hooks (metrics),
 * then waits until its readiness check passes; throws FDK_CLUSTER_NOT_READY.
 * Nothing listens yet: an app that is not ready never gets a connection.
 */
export async function buildReady (buildApp: BuildApp, settings: NormalizedClusterOptions, slot: number, metrics?: WorkerMetrics): Promise<{ server: AppServer, health: Health }> {
  const health = new Health(settings)
  const notReady = (reason: string): Error => new FDK_CLUSTER_NOT_READY(String(slot), String(settings.readinessTimeoutMs), reason)
  let server: AppServer
  let timer: NodeJS.Timeout | undefined
  const unwatch = metrics?.watchRoutes()
  try {
    const building = AppServer.build(buildApp, settings.clientLimits, (app) => {
      metrics?.instrument(app)
      health.install(app)
    })
    // With a gate, a buildApp that never finishes must not hold a reload forever.
    server = !hasReadinessGate(settings)
      ? await building
      : await Promise.race([building, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(notReady('buildApp did not finish')), settings.readinessTimeoutMs) })])
  } catch (error) {
    health.stop()
    throw error
  } finally {
    clearTimeout(timer)
    unwatch?.()
  }
  health.serve(server)
  // From here, not from the start: a busy machine's slow start must not eat the check's time.
  const reason = await awaitReady(server.app, settings.readiness, settings.healthPath, Date.now() + settings.readinessTimeoutMs)
  if (reason !== null) {
    health.stop()
    await server.app.close()
    throw notReady(reason)
  }
  return { server, health }
}

export async function runWorker (buildApp: BuildApp, settings: NormalizedClusterOptions): Promise<LaunchHandle> {
  const slot = Number(process.env.FDK_CLUSTER_TASK_ID)
  const port = Number(process.env.FDK_CLUSTER_PORT)
  // Not inherited by processes the app spawns: they are not workers.
  delete process.env.FDK_CLUSTER_TASK_ID
  delete process.env.FDK_CLUSTER_PORT
  slotHolder[TASK_ID] = slot
  process.title = workerTitle(slot, port)
  // Ctrl-C reaches the whole process group; the primary decides what happens.
  process.on('SIGINT', () => {})
  let server: AppServer
  let bound: number
  let tracker: RequestTracker
  let metrics: WorkerMetrics | undefined
  // The first word to the primary: from here the build and the readiness check are bounded.
  process.send!({ fdk: 'building' })
  try {
    // prom-client is loaded only when metrics are on.
    if (settings.metricsPort !== undefined) metrics = new (await import('./metrics.js')).WorkerMetrics(slot)
    server = (await buildReady(buildApp, settings, slot, metrics)).server
    tracker = new RequestTracker(server.app.server, metrics?.finished)
    bound = await server.listen(port, settings.host)
  } catch (error) {
    // The primary prints it, once, whatever the number of workers failing alike.
    const err = error instanceof Error ? { type: error.name, message: error.message, stack: error.stack, code: (error as { code?: unknown }).code } : { message: String(error) }
    if (err.code === 'FDK_CLUSTER_NOT_READY') process.send!({ fdk: 'not-ready', reason: (error as Error).message })
    process.send!({ fdk: 'boot-error', error: err }, (sendError: Error | null) => {
      if (sendError !== null) (settings.logger ?? defaultLogger()).error({ err: error, taskId: slot }, 'worker failed to start')
      process.exit(1)
    })
    return await new Promise<never>(() => {})
  }
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= server.drain(settings.shutdownTimeoutMs).then(async (clean) => {
      server.app.log.info({ taskId: slot, clean }, 'worker drained')
      await sendFinalMetrics(metrics)
      process.exit(0)
    }, (error: unknown) => {
      server.app.log.error({ err: error, taskId: slot }, 'worker failed to close')
      process.exit(1)
    })
    return stopping
  }
  process.on('message', (message: { fdk?: string, id?: number }) => {
    if (message?.fdk === 'stop') stop()
    else if (message?.fdk === 'metrics-req' && metrics !== undefined) {
      metrics.snapshot().then((snapshot) => { if (process.connected) process.send!({ fdk: 'metrics', id: message.id, metrics: snapshot }) })
    }
  })
  process.on('SIGTERM', () => { stop() })
  // The IPC channel closes when the primary dies, however it died: never an orphan.
  process.on('disconnect', () => { stop() })
  process.send!({ fdk: 'ready', port: bound })
  // The primary's workerTimeoutMs watches these; a blocked loop sends none.
  startHeartbeat(new Sampler(tracker), (beat) => { if (process.connected) process.send!(beat) })
  return {
    role: 'worker',
    workers: () => [{ taskId: slot, pid: process.pid, port: bound, state: stopping === undefined ? 'ready' : 'draining' }],
    reload: async () => { process.send!({ fdk: 'reload' }) },
    close: stop
  }
}
/* c8 ignore stop */

export async function runSingle (buildApp: BuildApp, settings: NormalizedClusterOptions): Promise<LaunchHandle> {
  const log = settings.logger ?? defaultLogger()
  warnOpenFiles(log, settings.minOpenFiles)
  slotHolder[TASK_ID] = 0
  let current: AppServer
  let currentHealth: Health
  let port: number
  try {
    ({ server: current, health: currentHealth } = await buildReady(buildApp, settings, 0))
    port = await current.listen(settings.port, settings.host)
  } catch (error) {
    delete slotHolder[TASK_ID] // this process did not become a worker after all
    throw error
  }
  process.title = workerTitle(0, port)
  log.info({ taskId: 0, port }, 'listening in-process (processes: 1)')
  let reloading: Promise<void> = Promise.resolve()
  let state: 'ready' | 'draining' = 'ready'
  const reload = (): Promise<void> => {
    reloading = reloading.then(async () => {
      if (state === 'draining') return
      log.info({ taskId: 0 }, 'reload started')
      let next: AppServer
      let nextHealth: Health
      try {
        ({ server: next, health: nextHealth } = await buildReady(buildApp, settings, 0))
      } catch (error) {
        const why = (error as { code?: string }).code === 'FDK_CLUSTER_NOT_READY' ? 'did not become ready' : 'did not build'
        log.error({ err: error }, `reload failed: the new app ${why}; the old one keeps serving`)
        return
      }
      // No SO_REUSEPORT in Node 20: the port is free for the instant between these two calls.
      const old = current
      old.stopAccepting()
      try {
        await next.listen(port, settings.host)
      } catch (error) /* c8 ignore start -- only when another process grabs the port in that instant */ {
        log.error({ err: error, port }, 'reload failed: the port was taken while switching; exiting so the process manager restarts us')
        process.exit(1)
      } /* c8 ignore stop */
      const oldHealth = currentHealth
      current = next
      currentHealth = nextHealth
      await old.drain(settings.shutdownTimeoutMs)
      oldHealth.stop()
      log.info({ taskId: 0 }, 'reload finished')
    })
    return reloading
  }
  let stopped: Promise<void> | undefined
  const close = (): Promise<void> => {
    state = 'draining'
    stopped ??= reloading.then(() => current.drain(settings.shutdownTimeoutMs)).then(() => {
      currentHealth.stop()
      removeSignals()
    })
    return stopped
  }
  const removeSignals = handleSignals(log, close, () => {}, reload)
  return {
    role: 'single',
    workers: () => [{ taskId: 0, pid: process.pid, port, state }],
    reload,
    close
  }
}
