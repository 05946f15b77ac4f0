// What a worker process of a multi-process launch does to the world around
// it: read its slot from the environment, talk to the primary over the IPC
// channel, hear its signals, name itself, exit. One object, so that runWorker
// (worker.ts) takes it as a parameter: test/unit/cluster-worker.test.ts runs
// a worker in-process, a real app on a real port, against a fake primary, and
// only PROCESS_HOST below needs a launched worker (test/process/cluster-*.test.ts).
import type { Logger } from './types.js'
import { defaultLogger } from './logger.js'

export interface WorkerHost {
  /** The environment the primary forked the worker with (its slot and port are taken out of it). */
  readonly env: NodeJS.ProcessEnv
  readonly pid: number
  /** The IPC channel to the primary is open. */
  connected: () => boolean
  /** A message to the primary; `callback` hears whether it was written. */
  send: (message: object, callback?: (error: Error | null) => void) => void
  /** The primary's messages, the signals the worker answers, and the channel closing. */
  on: (event: 'message' | 'SIGTERM' | 'SIGINT' | 'disconnect', listener: (message?: unknown) => void) => void
  exit: (code: number) => void
  /** What ps and top show for the worker. */
  title: (title: string) => void
  /** The logger for a failure the app's logger cannot report (the app was never built). */
  logger: () => Logger
}

/* c8 ignore start -- the real process wiring, used only by a launched worker; test/process/cluster-*.test.ts run it */
export const PROCESS_HOST: WorkerHost = {
  env: process.env,
  pid: process.pid,
  connected: () => process.connected,
  send: (message, callback) => { process.send!(message, undefined, undefined, callback) },
  on: (event, listener) => { process.on(event, listener) },
  exit: (code) => process.exit(code),
  title: (title) => { process.title = title },
  logger: defaultLogger
}
/* c8 ignore stop */
