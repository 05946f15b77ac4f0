// SIGTERM, SIGINT and SIGHUP for a process that answers them itself: the
// primary of a multi-process launch, and the process of processes: 1.
import type { Logger } from './types.js'

/**
 * Signal handling shared by the primary and processes: 1. The first SIGTERM
 * or SIGINT stops gracefully and exits 0; a second one exits 1 at once.
 */
export function handleSignals (log: Logger, stop: () => Promise<void>, force: () => void, reload: () => Promise<void>): () => void {
  let stopping = false
  /* c8 ignore start -- runs only in a launched process; test/process/cluster-*.test.ts exercise it through real processes, whose coverage is not recorded (see test/helpers/cluster.ts) */
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
