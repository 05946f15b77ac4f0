// Building an app to serve: buildApp with the launcher's routes (health) and
// hooks (metrics), then its readiness check. Used by every worker and by
// processes: 1 (on start and on reload); the primary asks hasReadinessGate()
// whether a new worker has a check to pass before it counts as ready.
import { AppServer, type BuildApp } from './server.js'
import type { WorkerMetrics } from './metrics.js'
import { Health, awaitReady } from './health.js'
import { FDK_CLUSTER_NOT_READY } from '../shared/errors.js'
import type { NormalizedClusterOptions } from './types.js'

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
