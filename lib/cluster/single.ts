// processes: 1, the app in-process: the same signals as the primary (SIGTERM
// and SIGINT drain, a second one forces) and SIGHUP swaps in a freshly built
// app on the same port.
import type { AppServer, BuildApp } from './server.js'
import type { Health } from './health.js'
import { workerTitle } from './supervisor.js'
import { defaultLogger } from './logger.js'
import { handleSignals } from './signals.js'
import { warnOpenFiles } from './limits.js'
import { buildReady } from './build-ready.js'
import { clearTaskId, setTaskId } from './task-id.js'
import type { LaunchHandle, NormalizedClusterOptions } from './types.js'

export async function runSingle (buildApp: BuildApp, settings: NormalizedClusterOptions): Promise<LaunchHandle> {
  const log = settings.logger ?? defaultLogger()
  warnOpenFiles(log, settings.minOpenFiles)
  setTaskId(0)
  let current: AppServer
  let currentHealth: Health
  let port: number
  try {
    ({ server: current, health: currentHealth } = await buildReady(buildApp, settings, 0))
    port = await current.listen(settings.port, settings.host)
  } catch (error) {
    clearTaskId() // this process did not become a worker after all
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
      // The new app takes over the listening socket: the port never closes.
      const old = current
      try {
        await next.takeOver(old, settings.host)
      } catch (error) /* c8 ignore start -- listen() on a socket already listening fails only if the kernel refuses it; Node then closes the socket */ {
        log.error({ err: error, port }, 'reload failed: the listening socket could not be handed to the new app; exiting so the process manager restarts us')
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
