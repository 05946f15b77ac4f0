// The launch options of "watching the processes" (docs/cluster.md): the
// control socket, the pidfile, the stuck-worker timeout, the memory bound,
// the metrics listener, the health route and the readiness check. Kept apart
// from lib/cluster.ts so its option list only gains one spread.
import { defaultControlPath } from './control.js'
import { settingNames } from '../shared/declarations.js'

/** A readiness check, run in a new worker after buildApp and before it listens (retried until readinessTimeoutMs); false or a throw means not ready. */
export type Readiness = (app: unknown) => boolean | undefined | Promise<boolean | undefined>

export interface OverloadOptions {
  /** 503 while the event loop's delay (p99 over the last second) is above this. */
  maxEventLoopDelayMs?: number
  /** 503 while the heap in use is above this. */
  maxHeapUsedBytes?: number
  /** 503 while the resident set is above this. */
  maxRssBytes?: number
  /** The Retry-After header of those 503s, in seconds. Default 10. */
  retryAfterSeconds?: number
}

export interface WatchOptions {
  /** Unix socket `deploy-kit status|reload|stop` talk to; false for none. Default: under the runtime directory (then a socket in use only costs a warning). */
  controlSocket?: string | false
  /** A file the primary writes its pid to, removed when it exits. Default none. */
  pidFile?: string
  /** A worker silent (no heartbeat) this long after listening is killed and replaced; 0 = never. Default 30000. */
  workerTimeoutMs?: number
  /** A worker whose resident set exceeds this is replaced gracefully (drained); 0 = never. Default 0. */
  maxMemoryBytes?: number
  /** Port of the Prometheus metrics listener (on the primary); undefined = no metrics. */
  metricsPort?: number
  /** Address of the metrics listener. Default 127.0.0.1. */
  metricsHost?: string
  /** A route every worker answers: 200 while serving, 503 once draining or overloaded. Default none. */
  healthPath?: string
  /** Must pass in a new worker before it listens (and, in a reload, before the old one drains); without it, GET healthPath answering 200 is the check. */
  readiness?: Readiness
  /** How long buildApp, and then the readiness check, may each take in a new worker. Default 30000. */
  readinessTimeoutMs?: number
  /** Opt-in: answer 503 + Retry-After past these bounds (@fastify/under-pressure's behaviour). */
  overload?: OverloadOptions
}

export interface NormalizedOverload {
  maxEventLoopDelayMs: number
  maxHeapUsedBytes: number
  maxRssBytes: number
  retryAfterSeconds: number
}

export interface NormalizedWatchOptions {
  controlSocket: string | false
  pidFile: string | undefined
  workerTimeoutMs: number
  maxMemoryBytes: number
  metricsPort: number | undefined
  metricsHost: string
  healthPath: string | undefined
  readiness: Readiness | undefined
  readinessTimeoutMs: number
  overload: NormalizedOverload | undefined
}

/** gunicorn's `timeout` default: far above any legitimate synchronous stretch (a large JSON.parse, a long GC pause), short enough that a stuck worker is gone within half a minute. */
export const DEFAULT_WORKER_TIMEOUT_MS = 30_000

/**
 * The watching options, declared once: names, the defaults read below and
 * the rows of docs/cluster.md's "Watching the processes" table
 * (lib/shared/declarations.ts). The `tornado` cell is the table's "like"
 * column: what PM2, puma or gunicorn call it.
 */
export const WATCH_OPTIONS = {
  controlSocket: { shown: '`<runtime dir>/deploy-kit/port-<port>.sock`', tornado: 'puma `--control-url`, pm2\'s daemon socket', doc: 'the primary\'s Unix socket; `false` for none' },
  pidFile: { shown: 'none', tornado: 'gunicorn `--pid`, puma `--pidfile`', doc: 'a file the primary writes its pid to, removed when it exits' },
  workerTimeoutMs: { default: DEFAULT_WORKER_TIMEOUT_MS, tornado: 'gunicorn `--timeout`', doc: 'a listening worker silent this long is killed and replaced in its slot; `0` = never; at least `2000`' },
  maxMemoryBytes: { default: 0, shown: '(off)', tornado: 'pm2 `max_memory_restart`', doc: 'a worker whose resident set exceeds this is replaced gracefully' },
  metricsPort: { shown: 'none (no metrics)', tornado: 'prom-client\'s `AggregatorRegistry` behind a listener of your own', doc: 'port of the primary\'s Prometheus listener (`GET /metrics`, [below](#metrics-prometheus)); never one of the public ports' },
  metricsHost: { default: '127.0.0.1', tornado: '—', doc: 'address of the metrics listener' },
  healthPath: { shown: 'none', tornado: 'puma\'s `/stats`, @fastify/under-pressure\'s status route', doc: 'a route every worker answers: 200 while serving, 503 once draining or overloaded ([below](#health-and-readiness))' },
  readiness: { shown: 'none', tornado: 'a Kubernetes readiness probe', doc: '`(app) => boolean \\| Promise<boolean>`: must pass in a new worker before it joins the port (and, in a reload, before the old one drains); `false` or a throw means not yet' },
  readinessTimeoutMs: { default: 30_000, tornado: '—', doc: 'how long `buildApp`, and then the readiness check, may each take in a new worker' },
  overload: { shown: 'none (off)', tornado: '@fastify/under-pressure', doc: '`{ maxEventLoopDelayMs, maxHeapUsedBytes, maxRssBytes, retryAfterSeconds: 10 }`: the health route answers 503 with `Retry-After` past a bound' }
} as const

export const WATCH_KEYS = settingNames<WatchOptions, typeof WATCH_OPTIONS>(WATCH_OPTIONS)
/** Below two heartbeats a worker busy for a moment would be killed. */
export const MIN_WORKER_TIMEOUT_MS = 2_000

type Bad = (name: string, value: unknown, expected: string) => Error

function whole (bad: Bad, name: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw bad(name, value, `an integer from ${min} to ${max}`)
  return value
}

function path (bad: Bad, name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !value.startsWith('/')) throw bad(name, value, 'an absolute path')
  return value
}

function overload (bad: Bad, value: unknown): NormalizedOverload | undefined {
  if (value === undefined) return undefined
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad('overload', value, 'an object with maxEventLoopDelayMs, maxHeapUsedBytes or maxRssBytes')
  const given = value as Record<string, unknown>
  for (const key of Object.keys(given)) {
    if (!['maxEventLoopDelayMs', 'maxHeapUsedBytes', 'maxRssBytes', 'retryAfterSeconds'].includes(key)) throw bad(`overload.${key}`, given[key], 'no such option (known: maxEventLoopDelayMs, maxHeapUsedBytes, maxRssBytes, retryAfterSeconds)')
  }
  const result = {
    maxEventLoopDelayMs: whole(bad, 'overload.maxEventLoopDelayMs', given.maxEventLoopDelayMs, 0, 1),
    maxHeapUsedBytes: whole(bad, 'overload.maxHeapUsedBytes', given.maxHeapUsedBytes, 0, 1),
    maxRssBytes: whole(bad, 'overload.maxRssBytes', given.maxRssBytes, 0, 1),
    retryAfterSeconds: whole(bad, 'overload.retryAfterSeconds', given.retryAfterSeconds, 10, 0)
  }
  if (result.maxEventLoopDelayMs + result.maxHeapUsedBytes + result.maxRssBytes === 0) throw bad('overload', value, 'at least one of maxEventLoopDelayMs, maxHeapUsedBytes, maxRssBytes')
  return result
}

/** Validates the watching options; `bad` makes the launcher's coded error. */
export function normalizeWatchOptions (options: WatchOptions, port: number, host: string | undefined, processes: number, bad: Bad): NormalizedWatchOptions {
  const socket = options.controlSocket
  let controlSocket: string | false
  if (socket === false) controlSocket = false
  else controlSocket = path(bad, 'controlSocket', socket) ?? defaultControlPath(port, host)
  // Longer socket paths do not fit sockaddr_un; Node would silently bind a truncated one.
  if (controlSocket !== false && Buffer.byteLength(controlSocket) > 107) throw bad('controlSocket', controlSocket, 'an absolute path of at most 107 bytes (a Unix socket address)')
  const workerTimeoutMs = whole(bad, 'workerTimeoutMs', options.workerTimeoutMs, WATCH_OPTIONS.workerTimeoutMs.default, 0)
  if (workerTimeoutMs !== 0 && workerTimeoutMs < MIN_WORKER_TIMEOUT_MS) throw bad('workerTimeoutMs', workerTimeoutMs, `0 (never) or at least ${MIN_WORKER_TIMEOUT_MS}`)
  const metricsPort = options.metricsPort === undefined ? undefined : whole(bad, 'metricsPort', options.metricsPort, 0, 0, 65535)
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort >= port && metricsPort < port + processes) throw bad('metricsPort', metricsPort, 'a port other than the public one(s)')
  const metricsHost = options.metricsHost ?? WATCH_OPTIONS.metricsHost.default
  if (typeof metricsHost !== 'string' || metricsHost === '') throw bad('metricsHost', metricsHost, 'a non-empty string')
  const healthPath = options.healthPath
  if (healthPath !== undefined && (typeof healthPath !== 'string' || !/^\/[\w\-./~]*$/.test(healthPath))) throw bad('healthPath', healthPath, 'a URL path such as "/healthz"')
  if (options.readiness !== undefined && typeof options.readiness !== 'function') throw bad('readiness', options.readiness, 'a function (app) => boolean | Promise<boolean>')
  return {
    controlSocket,
    pidFile: path(bad, 'pidFile', options.pidFile),
    workerTimeoutMs,
    maxMemoryBytes: whole(bad, 'maxMemoryBytes', options.maxMemoryBytes, WATCH_OPTIONS.maxMemoryBytes.default, 0),
    metricsPort,
    metricsHost,
    healthPath,
    readiness: options.readiness,
    readinessTimeoutMs: whole(bad, 'readinessTimeoutMs', options.readinessTimeoutMs, WATCH_OPTIONS.readinessTimeoutMs.default, 1),
    overload: overload(bad, options.overload)
  }
}
