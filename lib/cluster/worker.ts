// A cluster worker process: one slot, told to stop by the primary, and
// exiting by itself when the primary is gone. (processes: 1 is single.ts.)
import type { AppServer, BuildApp } from './server.js'
import { workerTitle } from './supervisor.js'
import { RequestTracker, Sampler, startHeartbeat } from './heartbeat.js'
import type { WorkerMetrics } from './metrics.js'
import { defaultLogger } from './logger.js'
import { buildReady } from './build-ready.js'
import { setTaskId } from './task-id.js'
import type { LaunchHandle, NormalizedClusterOptions } from './types.js'

/* c8 ignore start -- runs only in a launched process; test/process/cluster-*.test.ts exercise it through real processes, whose coverage is not recorded (see test/helpers/cluster.ts) */
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

export async function runWorker (buildApp: BuildApp, settings: NormalizedClusterOptions): Promise<LaunchHandle> {
  const slot = Number(process.env.FDK_CLUSTER_TASK_ID)
  const port = Number(process.env.FDK_CLUSTER_PORT)
  // Not inherited by processes the app spawns: they are not workers.
  delete process.env.FDK_CLUSTER_TASK_ID
  delete process.env.FDK_CLUSTER_PORT
  setTaskId(slot)
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
