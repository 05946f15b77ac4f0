// A cluster worker process: one slot, told to stop by the primary, and
// exiting by itself when the primary is gone. (processes: 1 is single.ts.)
import type { AppServer, BuildApp } from './server.js'
import { workerTitle } from './supervisor.js'
import { RequestTracker, Sampler, startHeartbeat } from './heartbeat.js'
import type { WorkerMetrics } from './metrics.js'
import { buildReady } from './build-ready.js'
import { setTaskId } from './task-id.js'
import type { LaunchHandle, NormalizedClusterOptions } from './types.js'
import { PROCESS_HOST, type WorkerHost } from './worker-host.js'

/** A drained worker's last counts, so the primary's sums lose nothing; waits for the ack (at most 1 s). */
async function sendFinalMetrics (host: WorkerHost, metrics: WorkerMetrics | undefined): Promise<void> {
  if (metrics === undefined || !host.connected()) return
  const snapshot = await metrics.snapshot()
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 1_000)
    host.on('message', (message) => {
      if ((message as { fdk?: string } | null)?.fdk === 'metrics-ack') {
        clearTimeout(timer)
        resolve()
      }
    })
    host.send({ fdk: 'metrics', final: true, metrics: snapshot })
  })
}

/** Runs one worker on `host`: the real process in a launch, a fake one in test/unit/cluster-worker.test.ts. */
export async function runWorker (buildApp: BuildApp, settings: NormalizedClusterOptions, host: WorkerHost = PROCESS_HOST): Promise<LaunchHandle> {
  const slot = Number(host.env.FDK_CLUSTER_TASK_ID)
  const port = Number(host.env.FDK_CLUSTER_PORT)
  // Not inherited by processes the app spawns: they are not workers.
  delete host.env.FDK_CLUSTER_TASK_ID
  delete host.env.FDK_CLUSTER_PORT
  setTaskId(slot)
  host.title(workerTitle(slot, port))
  // Ctrl-C reaches the whole process group; the primary decides what happens.
  host.on('SIGINT', () => {})
  let server: AppServer
  let bound: number
  let tracker: RequestTracker
  let metrics: WorkerMetrics | undefined
  // The first word to the primary: from here the build and the readiness check are bounded.
  host.send({ fdk: 'building' })
  try {
    // prom-client is loaded only when metrics are on.
    if (settings.metricsPort !== undefined) metrics = new (await import('./metrics.js')).WorkerMetrics(slot)
    server = (await buildReady(buildApp, settings, slot, metrics)).server
    tracker = new RequestTracker(server.app.server, metrics?.finished)
    bound = await server.listen(port, settings.host)
  } catch (error) {
    // The primary prints it, once, whatever the number of workers failing alike.
    const err = error instanceof Error ? { type: error.name, message: error.message, stack: error.stack, code: (error as { code?: unknown }).code } : { message: String(error) }
    if (err.code === 'FDK_CLUSTER_NOT_READY') host.send({ fdk: 'not-ready', reason: (error as Error).message })
    host.send({ fdk: 'boot-error', error: err }, (sendError) => {
      if (sendError !== null) (settings.logger ?? host.logger()).error({ err: error, taskId: slot }, 'worker failed to start')
      host.exit(1)
    })
    return await new Promise<never>(() => {})
  }
  // Nothing below waits: the listeners are in place before any message can arrive.
  host.send({ fdk: 'ready', port: bound })
  // The primary's workerTimeoutMs watches these; a blocked loop sends none.
  const stopBeating = startHeartbeat(new Sampler(tracker), (beat) => { if (host.connected()) host.send(beat) })
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= server.drain(settings.shutdownTimeoutMs).then(async (clean) => {
      server.app.log.info({ taskId: slot, clean }, 'worker drained')
      await sendFinalMetrics(host, metrics)
      stopBeating()
      host.exit(0)
    }, (error: unknown) => {
      server.app.log.error({ err: error, taskId: slot }, 'worker failed to close')
      stopBeating()
      host.exit(1)
    })
    return stopping
  }
  host.on('message', (received) => {
    const message = received as { fdk?: string, id?: number } | null
    if (message?.fdk === 'stop') stop()
    else if (message?.fdk === 'metrics-req' && metrics !== undefined) {
      metrics.snapshot().then((snapshot) => { if (host.connected()) host.send({ fdk: 'metrics', id: message.id, metrics: snapshot }) })
    }
  })
  host.on('SIGTERM', () => { stop() })
  // The IPC channel closes when the primary dies, however it died: never an orphan.
  host.on('disconnect', () => { stop() })
  return {
    role: 'worker',
    workers: () => [{ taskId: slot, pid: host.pid, port: bound, state: stopping === undefined ? 'ready' : 'draining' }],
    reload: async () => { host.send({ fdk: 'reload' }) },
    close: stop
  }
}
