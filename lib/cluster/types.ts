// The types the launcher's files share: what launch() resolves to, the
// options once normalised, the logger it writes to. Here, not in
// lib/cluster.ts, so that the files under lib/cluster/ never import the module
// that imports them.
import type { ClientLimits } from './client-limits.js'
import type { NormalizedWatchOptions } from './watch-options.js'

/** The pino methods launch() uses; any pino logger (e.g. `app.log`) fits. */
export interface Logger {
  info: (obj: object, msg?: string) => void
  warn: (obj: object, msg?: string) => void
  error: (obj: object, msg?: string) => void
}

/** One entry of handle.workers(). */
export interface WorkerInfo {
  taskId: number
  pid: number
  port: number
  state: 'starting' | 'ready' | 'draining'
}

export interface NormalizedClusterOptions extends NormalizedWatchOptions {
  port: number
  host: string | undefined
  processes: number
  mode: 'shared' | 'ports'
  maxRestarts: number
  shutdownTimeoutMs: number
  minOpenFiles: number
  logger: Logger | undefined
  clientLimits: ClientLimits
}

/** What launch() resolves to. In a worker it describes that worker. */
export interface LaunchHandle {
  /** 'primary' supervises workers; 'worker' is one of them; 'single' is processes: 1. */
  role: 'primary' | 'worker' | 'single'
  /** The live workers (in a worker or single process: itself). */
  workers: () => WorkerInfo[]
  /** Rolling replace of every worker, one slot at a time (what SIGHUP does). */
  reload: () => Promise<void>
  /** Graceful stop of everything (what SIGTERM does, without exiting the process). */
  close: () => Promise<void>
}
