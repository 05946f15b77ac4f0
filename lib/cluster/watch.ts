// What the primary knows about its workers beyond "alive": the last
// heartbeat of each, when it started, why each slot's previous worker ended,
// and how often each slot was restarted in the window. lib/cluster/primary.ts
// feeds it; it decides who is silent or too big and renders `status` (the
// fields of puma's /stats and of `pm2 jlist`). No processes here, so every
// rule is unit-tested in-process.
import { basename } from 'node:path'
import type { Beat, InFlightRequest } from './heartbeat.js'

/** Why a worker ended: what "restarts by cause" counts. */
export type ExitCause = 'crash' | 'timeout' | 'memory' | 'reload' | 'stop'

export interface WorkerRecord {
  slot: number
  pid: number
  port: number
  startedAt: number
  readyAt: number | null
  beatAt: number | null
  beat: Beat | null
  /** Set once the primary decided to end it (timeout, memory): the exit is then not a plain crash. */
  cause: ExitCause | null
}

export interface LastExit {
  pid: number
  code: number | null
  signal: string | null
  cause: ExitCause
  at: number
}

export interface ReloadOutcome {
  ok: boolean
  reason?: string
  startedAt: number
  finishedAt: number
}

export interface PrimaryFacts {
  pid: number
  startedAt: number
  mode: 'shared' | 'ports'
  port: number
  processes: number
  reloading: boolean
  lastReload: ReloadOutcome | null
  controlSocket: string | false
  metrics: string | null
  maxRestarts: number
}

export type WorkerState = 'starting' | 'ready' | 'draining'

// `node -e` has no script path; a launched app always has one.
const scriptPath = (): string => process.argv[1] ?? 'app'

export class Watcher {
  private readonly restartsAt: number[][]
  private readonly total: number[]
  private readonly lastExit: Array<LastExit | null>

  constructor (slots: number, readonly windowMs: number) {
    this.restartsAt = Array.from({ length: slots }, () => [])
    this.total = new Array<number>(slots).fill(0)
    this.lastExit = new Array<LastExit | null>(slots).fill(null)
  }

  started (slot: number, pid: number, port: number, now: number): WorkerRecord {
    return { slot, pid, port, startedAt: now, readyAt: null, beatAt: null, beat: null, cause: null }
  }

  ready (record: WorkerRecord, port: number, now: number): void {
    record.port = port
    record.readyAt = now
    record.beatAt ??= now
  }

  heartbeat (record: WorkerRecord, beat: Beat, now: number): void {
    record.beat = beat
    record.beatAt = now
  }

  /** The worker ended; `stopping` when the primary had asked it to (a reload, a stop). */
  exited (record: WorkerRecord, exit: { code: number | null, signal: string | null }, stopping: 'reload' | 'stop' | null, now: number): ExitCause {
    const cause: ExitCause = record.cause ?? stopping ?? 'crash'
    this.lastExit[record.slot] = { pid: record.pid, code: exit.code, signal: exit.signal, cause, at: now }
    return cause
  }

  /** A new worker replaces one that crashed, hung or grew too big. */
  restarted (slot: number, now: number): void {
    this.restartsAt[slot]!.push(now)
    this.total[slot]!++
  }

  restartsInWindow (slot: number, now: number): number {
    const kept = this.restartsAt[slot]!.filter((at) => now - at < this.windowMs)
    this.restartsAt[slot] = kept
    return kept.length
  }

  /** Listening workers whose last heartbeat is older than `timeoutMs` (0 = never). */
  silent (records: Iterable<{ record: WorkerRecord, state: WorkerState }>, timeoutMs: number, now: number): Array<{ record: WorkerRecord, silentMs: number }> {
    if (timeoutMs === 0) return []
    const found = []
    for (const { record, state } of records) {
      if (state !== 'ready' || record.beatAt === null || record.cause !== null) continue
      const silentMs = now - record.beatAt
      if (silentMs > timeoutMs) found.push({ record, silentMs })
    }
    return found
  }

  /** Serving workers whose resident set exceeds `maxBytes` (0 = never). */
  overMemory (records: Iterable<{ record: WorkerRecord, state: WorkerState }>, maxBytes: number): WorkerRecord[] {
    if (maxBytes === 0) return []
    const found = []
    for (const { record, state } of records) {
      if (state === 'ready' && record.cause === null && record.beat !== null && record.beat.rssBytes > maxBytes) found.push(record)
    }
    return found
  }

  /** The `status --json` document. */
  status (records: Array<{ record: WorkerRecord, state: WorkerState }>, primary: PrimaryFacts, now: number, script = scriptPath()): StatusDocument {
    const name = basename(script).replace(/\.[cm]?[jt]s$/, '')
    const workers = records
      .slice()
      .sort((a, b) => a.record.slot - b.record.slot || a.record.startedAt - b.record.startedAt)
      .map(({ record, state }) => this.workerStatus(record, state, primary, now, name, script))
    return {
      primary: {
        pid: primary.pid,
        startedAt: primary.startedAt,
        uptimeSeconds: seconds(now - primary.startedAt),
        mode: primary.mode,
        port: primary.port,
        processes: primary.processes,
        nodeVersion: process.version,
        reload: { state: primary.reloading ? 'running' : 'idle', last: primary.lastReload },
        controlSocket: primary.controlSocket,
        metrics: primary.metrics
      },
      workers
    }
  }

  private workerStatus (record: WorkerRecord, state: WorkerState, primary: PrimaryFacts, now: number, name: string, script: string): WorkerStatus {
    const beat = record.beat
    const restarts = this.restartsInWindow(record.slot, now)
    const lastExit = this.lastExit[record.slot]!
    return {
      taskId: record.slot,
      pid: record.pid,
      port: record.port,
      state,
      startedAt: record.startedAt,
      uptimeSeconds: seconds(now - record.startedAt),
      restarts,
      restartsTotal: this.total[record.slot]!,
      lastExit,
      rssBytes: beat?.rssBytes ?? null,
      heapUsedBytes: beat?.heapUsedBytes ?? null,
      heapTotalBytes: beat?.heapTotalBytes ?? null,
      eventLoopDelayP99Ms: beat?.eventLoopDelayP99Ms ?? null,
      eventLoopDelayMaxMs: beat?.eventLoopDelayMaxMs ?? null,
      eventLoopUtilization: beat?.eventLoopUtilization ?? null,
      cpuPercent: beat?.cpuPercent ?? null,
      openFiles: beat?.openFiles ?? null,
      requestsServed: beat?.served ?? 0,
      requestsInFlight: beat?.inFlight ?? 0,
      oldestInFlight: beat?.oldest ?? [],
      lastHeartbeatSecondsAgo: record.beatAt === null ? null : seconds(now - record.beatAt),
      // The fields `pm2 jlist` gives for a process, under its names, so tools
      // written for PM2 read this too.
      name,
      pm_id: record.slot,
      monit: { memory: beat?.rssBytes ?? 0, cpu: beat?.cpuPercent ?? 0 },
      pm2_env: {
        name,
        pm_id: record.slot,
        status: state === 'ready' ? 'online' : state === 'starting' ? 'launching' : 'stopping',
        pm_uptime: record.readyAt ?? record.startedAt,
        created_at: primary.startedAt,
        restart_time: this.total[record.slot]!,
        unstable_restarts: restarts,
        exit_code: lastExit?.code ?? null,
        exec_mode: 'cluster_mode',
        instances: primary.processes,
        node_version: process.versions.node,
        pm_exec_path: script,
        pm_cwd: process.cwd(),
        exec_interpreter: 'node',
        max_restarts: primary.maxRestarts,
        autorestart: true,
        username: process.env.USER ?? null,
        axm_monitor: {
          'Heap Size': { value: beat?.heapTotalBytes ?? 0 },
          'Used Heap Size': { value: beat?.heapUsedBytes ?? 0 },
          'Event Loop Latency p95': { value: beat?.eventLoopDelayP99Ms ?? 0, unit: 'ms' },
          'Active requests': { value: beat?.inFlight ?? 0 }
        }
      }
    }
  }
}

export interface WorkerStatus {
  taskId: number
  pid: number
  port: number
  state: WorkerState
  startedAt: number
  uptimeSeconds: number
  restarts: number
  restartsTotal: number
  lastExit: LastExit | null
  rssBytes: number | null
  heapUsedBytes: number | null
  heapTotalBytes: number | null
  eventLoopDelayP99Ms: number | null
  eventLoopDelayMaxMs: number | null
  eventLoopUtilization: number | null
  cpuPercent: number | null
  openFiles: number | null
  requestsServed: number
  requestsInFlight: number
  oldestInFlight: InFlightRequest[]
  lastHeartbeatSecondsAgo: number | null
  name: string
  pm_id: number
  monit: { memory: number, cpu: number }
  pm2_env: Record<string, unknown>
}

export interface StatusDocument {
  primary: {
    pid: number
    startedAt: number
    uptimeSeconds: number
    mode: 'shared' | 'ports'
    port: number
    processes: number
    nodeVersion: string
    reload: { state: 'running' | 'idle', last: ReloadOutcome | null }
    controlSocket: string | false
    metrics: string | null
  }
  workers: WorkerStatus[]
}

function seconds (ms: number): number {
  return Math.round(ms / 100) / 10
}

function describeRequests (requests: InFlightRequest[], inFlight: number): string {
  if (inFlight === 0) return 'no request in flight'
  const oldest = requests.map((r) => `${r.method} ${r.url} (for ${(r.ms / 1000).toFixed(1)} s)`).join(', ')
  return `${inFlight} request${inFlight === 1 ? '' : 's'} in flight, oldest: ${oldest}`
}

/** The log line of a stuck worker: which one, how long silent, what it was doing. */
export function describeSilence (record: WorkerRecord, silentMs: number, timeoutMs: number): string {
  const beat = record.beat
  const doing = beat === null ? 'no heartbeat received yet' : `at its last heartbeat: ${describeRequests(beat.oldest, beat.inFlight)}, event-loop utilisation ${Math.round(beat.eventLoopUtilization * 100)}%`
  return `worker ${record.slot} (pid ${record.pid}) sent no heartbeat for ${(silentMs / 1000).toFixed(1)} s (workerTimeoutMs ${timeoutMs}): its event loop is blocked; killing it and starting a new one in its slot; ${doing}`
}
