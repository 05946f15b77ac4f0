// launch(): Tornado's multi-process mode (`server.start(0)`, fork_processes,
// task_id) for a Fastify app, with the parts Tornado leaves hard done: crashed
// workers come back in their slot with backoff, SIGTERM drains in-flight
// requests, SIGHUP replaces workers one at a time without dropping a request,
// and no worker outlives its primary. 'shared' mode puts every worker on one
// port (node:cluster's shared handle); 'ports' mode gives worker i port + i,
// the layout Tornado's guide recommends behind nginx.
import cluster from 'node:cluster'
import { availableParallelism } from 'node:os'
import { FDK_CLUSTER_BUILD_APP_INVALID, FDK_CLUSTER_OPTION_INVALID } from './shared/errors.js'
import { describeValue, invalidOption } from './shared/invalid-option.js'
import { DEFAULT_POLICY } from './cluster/supervisor.js'
import type { BuildApp, LaunchableApp } from './cluster/server.js'
import { currentTaskId } from './cluster/task-id.js'
import { WATCH_KEYS, normalizeWatchOptions, type WatchOptions } from './cluster/watch-options.js'
import { LAUNCH_OPTIONS } from './cluster/options.js'
import { settingNames } from './shared/declarations.js'
import { suggestSetting } from './shared/settings.js'
import type { LaunchHandle, Logger, NormalizedClusterOptions, WorkerInfo } from './cluster/types.js'

export type { BuildApp, LaunchableApp, LaunchHandle, Logger, NormalizedClusterOptions, WorkerInfo }

export interface ClusterOptions extends WatchOptions {
  /** Port to listen on; in 'ports' mode the first of `processes` ports. Default 8888. */
  port?: number
  /** Address to listen on. Default Fastify's (localhost). */
  host?: string
  /** Worker processes; 0 = one per available CPU (Tornado's meaning), 1 = in-process. Default 1. */
  processes?: number
  /** 'shared': all workers on `port`; 'ports': worker i on `port + i`. Default 'shared'. */
  mode?: 'shared' | 'ports'
  /** Restarts allowed within 15 minutes before the primary gives up (Tornado's max_restarts). Default 100. */
  maxRestarts?: number
  /** How long a stopping worker may drain before its connections are cut. Default 10000. */
  shutdownTimeoutMs?: number
  /** Warn at start-up when the open-file soft limit is below this. Default 1024. */
  minOpenFiles?: number
  /** Logger for the primary (pino-compatible); workers log with their app's logger. Default pino. */
  logger?: Logger
  /** nginx client_header_timeout: a request head must arrive within this (408 otherwise); 0 = off. Default 60000. */
  clientHeaderTimeoutMs?: number
  /** nginx client_body_timeout: the longest pause while a body arrives (408 otherwise); 0 = off. Default 60000. */
  clientBodyTimeoutMs?: number
  /** Tornado idle_connection_timeout: idle keep-alive connections close after this. Default 620000. */
  idleConnectionTimeoutMs?: number
  /** Tornado max_body_size: a larger Content-Length gets 413 before the app sees it. Default 1048576. */
  maxBodySize?: number
}

const KNOWN: readonly string[] = [...settingNames<Omit<ClusterOptions, keyof WatchOptions>, typeof LAUNCH_OPTIONS>(LAUNCH_OPTIONS), ...WATCH_KEYS]

function bad (name: string, value: unknown, expected: string): Error {
  return invalidOption(FDK_CLUSTER_OPTION_INVALID, 'launch option', name, value, expected)
}

function integer (name: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw bad(name, value, `an integer from ${min} to ${max}`)
  }
  return value
}

/** Copies, fills in and validates launch options; never touches the caller's object. */
export function normalizeClusterOptions (options: ClusterOptions = {}): NormalizedClusterOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw bad('options', options, 'an object')
  for (const key of Object.keys(options)) {
    if (KNOWN.includes(key)) continue
    const suggestion = suggestSetting(key, KNOWN)
    throw bad(key, (options as Record<string, unknown>)[key], `no such option (known: ${KNOWN.join(', ')})${suggestion === undefined ? '' : `; did you mean "${suggestion}"?`}`)
  }
  const port = integer('port', options.port, LAUNCH_OPTIONS.port.default, 0, 65535)
  const requested = integer('processes', options.processes, LAUNCH_OPTIONS.processes.default, 0, 1024)
  const processes = requested === 0 ? availableParallelism() : requested
  const mode = options.mode ?? LAUNCH_OPTIONS.mode.default
  if (mode !== 'shared' && mode !== 'ports') throw bad('mode', mode, '"shared" or "ports"')
  if (mode === 'ports' && (port === 0 || port + processes - 1 > 65535)) {
    throw bad('port', port, `a port from 1 to ${65536 - processes} so that ${processes} consecutive ports fit ('ports' mode)`)
  }
  const host = options.host
  if (host !== undefined && (typeof host !== 'string' || host === '')) throw bad('host', host, 'a non-empty string')
  const logger = options.logger
  if (logger !== undefined && !['info', 'warn', 'error'].every((level) => typeof (logger as unknown as Record<string, unknown>)?.[level] === 'function')) {
    throw bad('logger', logger, 'a logger with info, warn and error methods (pino)')
  }
  return {
    port,
    host,
    processes,
    mode,
    maxRestarts: integer('maxRestarts', options.maxRestarts, LAUNCH_OPTIONS.maxRestarts.default, 0),
    shutdownTimeoutMs: integer('shutdownTimeoutMs', options.shutdownTimeoutMs, LAUNCH_OPTIONS.shutdownTimeoutMs.default, 0),
    minOpenFiles: integer('minOpenFiles', options.minOpenFiles, LAUNCH_OPTIONS.minOpenFiles.default, 0),
    logger,
    clientLimits: {
      clientHeaderTimeoutMs: integer('clientHeaderTimeoutMs', options.clientHeaderTimeoutMs, LAUNCH_OPTIONS.clientHeaderTimeoutMs.default, 0),
      clientBodyTimeoutMs: integer('clientBodyTimeoutMs', options.clientBodyTimeoutMs, LAUNCH_OPTIONS.clientBodyTimeoutMs.default, 0),
      // Node's keep-alive timer is a 32-bit setTimeout.
      idleConnectionTimeoutMs: integer('idleConnectionTimeoutMs', options.idleConnectionTimeoutMs, LAUNCH_OPTIONS.idleConnectionTimeoutMs.default, 1, 2 ** 31 - 2000),
      maxBodySize: integer('maxBodySize', options.maxBodySize, LAUNCH_OPTIONS.maxBodySize.default, 1)
    },
    ...normalizeWatchOptions(options, port, host, mode === 'ports' ? processes : 1, bad)
  }
}

/**
 * Runs `buildApp` in worker processes (or in-process when `processes` is 1)
 * and supervises them. Call it from your entry module; the same module runs
 * again in each worker, where buildApp is called and nothing else happens.
 */
export async function launch (buildApp: BuildApp, options?: ClusterOptions): Promise<LaunchHandle> {
  if (typeof buildApp !== 'function') throw new FDK_CLUSTER_BUILD_APP_INVALID(`is ${describeValue(buildApp)}`)
  const settings = normalizeClusterOptions(options)
  // Each way of running is loaded when launch() picks it, not when the
  // package is imported: an application that imports the kit for its
  // plugins (or runs under another launcher) never holds the launcher's
  // code and its logger (pino) in memory. A process that has loaded more
  // code serves the same requests slower (docs/benchmarks.md, "The size of
  // the process").
  /* c8 ignore next -- a launched worker process */
  if (cluster.isWorker && process.env.FDK_CLUSTER_TASK_ID !== undefined) return await (await import('./cluster/worker.js')).runWorker(buildApp, settings)
  if (settings.processes === 1) return await (await import('./cluster/single.js')).runSingle(buildApp, settings)
  /* c8 ignore next 2 -- a launched primary process */
  return await (await import('./cluster/primary.js')).runPrimary(settings, DEFAULT_POLICY)
}

/** This worker's slot (0..n-1, stable across restarts), or null outside launch(); Tornado's task_id(). */
export function taskId (): number | null {
  return currentTaskId()
}
