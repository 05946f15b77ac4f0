// What the primary of a multi-process launch does to the world around it:
// fork workers, signal them, answer SIGTERM/SIGHUP, name itself, exit. One
// object, so that runPrimary (primary.ts) and PrimaryWatch (primary-watch.ts)
// take it as a parameter: test/unit/cluster-primary.test.ts runs both
// in-process against fake workers, every decision and every race they handle
// (a worker dying before it listened, during a reload, while being stopped)
// played in a fixed order, and only CLUSTER_HOST below needs a real launched
// primary (test/process/cluster-*.test.ts).
import cluster, { type Worker } from 'node:cluster'
import type { Logger } from './types.js'
import { handleSignals } from './signals.js'
import { defaultLogger } from './logger.js'

/** The part of a node:cluster Worker the primary uses. */
export type PrimaryWorker = Pick<Worker, 'isConnected' | 'send' | 'on' | 'once'> & {
  readonly process: Pick<Worker['process'], 'pid' | 'kill'>
}

export interface PrimaryHost {
  /** This process's pid (the status document's and the pidfile's). */
  readonly pid: number
  /** A worker process with these extra environment variables. */
  fork: (env: Record<string, string>) => PrimaryWorker
  /** Ports mode lets the kernel queue connections; shared mode round-robins (primary.ts says why). */
  schedule: (mode: 'shared' | 'ports') => void
  /** What ps and top show for the primary. */
  title: (title: string) => void
  /** Ends the primary with this status. */
  exit: (code: number) => void
  /** Runs `listener` as the primary exits (removes the pidfile and the control socket). */
  atExit: (listener: () => void) => void
  /** SIGTERM/SIGINT stop (a second one forces), SIGHUP reloads; returns the remover. */
  signals: (log: Logger, stop: () => Promise<void>, force: () => void, reload: () => Promise<void>) => () => void
  /** The primary's logger when the options name none. */
  logger: () => Logger
  /** A worker asked to stop is killed if still alive this long after its own deadline. */
  readonly killMarginMs: number
}

/* c8 ignore start -- the real process wiring, used only by a launched primary; test/process/cluster-*.test.ts run it */
export const CLUSTER_HOST: PrimaryHost = {
  pid: process.pid,
  fork: (env) => cluster.fork(env),
  schedule: (mode) => { cluster.schedulingPolicy = mode === 'ports' ? cluster.SCHED_NONE : cluster.SCHED_RR },
  title: (title) => { process.title = title },
  exit: (code) => process.exit(code),
  atExit: (listener) => { process.on('exit', listener) },
  signals: handleSignals,
  logger: defaultLogger,
  killMarginMs: 2_000
}
/* c8 ignore stop */
