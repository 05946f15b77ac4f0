// SIGTERM, SIGINT and SIGHUP for a process that answers them itself: the
// primary of a multi-process launch, and the process of processes: 1.
import type { Logger } from './types.js'

/** The process the handlers sit on: `process`, or a stand-in in test/unit/cluster-signals-unit.test.ts. */
export type SignalTarget = Pick<NodeJS.Process, 'on' | 'off' | 'exit'>

/**
 * Signal handling shared by the primary and processes: 1. The first SIGTERM
 * or SIGINT stops gracefully and exits 0; a second one exits 1 at once.
 */
export function handleSignals (log: Logger, stop: () => Promise<void>, force: () => void, reload: () => Promise<void>, target: SignalTarget = process): () => void {
  let stopping = false
  const onStop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: stopping now without draining')
      force()
      target.exit(1)
      return
    }
    stopping = true
    log.info({ signal }, 'stopping: draining in-flight requests')
    stop().then(() => {
      log.info({ signal }, 'stopped')
      target.exit(0)
    }, () => target.exit(1))
  }
  const onReload = (): void => {
    reload().catch(() => {}) // reload() logs its own failures
  }
  target.on('SIGTERM', onStop)
  target.on('SIGINT', onStop)
  target.on('SIGHUP', onReload)
  return () => {
    target.off('SIGTERM', onStop)
    target.off('SIGINT', onStop)
    target.off('SIGHUP', onReload)
  }
}
