// A worker's heartbeat: about once a second it tells the primary it is alive
// and how it is doing (memory, event-loop delay and utilisation, CPU,
// requests served and in flight, open descriptors, the oldest requests in
// flight). The beat is a timer on the worker's own event loop, so a loop
// blocked by a `while (true)` stops beating: that silence is what the
// primary's workerTimeoutMs watches (gunicorn's worker "check-in").
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http'
import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks'
import { countOpenFiles } from './limits.js'

export const HEARTBEAT_MS = 1_000
/** How many of the oldest requests in flight a beat carries (what a stuck worker was doing). */
const OLDEST_SHOWN = 3

export interface InFlightRequest {
  method: string
  url: string
  ms: number
}

export interface Beat {
  fdk: 'heartbeat'
  rssBytes: number
  heapUsedBytes: number
  heapTotalBytes: number
  externalBytes: number
  /** Event-loop delay over the last beat, from monitorEventLoopDelay (ms). */
  eventLoopDelayP99Ms: number
  eventLoopDelayMaxMs: number
  /** Share of the last beat the event loop was busy, 0..1. */
  eventLoopUtilization: number
  /** CPU time over the last beat as a share of one core, in percent. */
  cpuPercent: number
  openFiles: number | null
  served: number
  inFlight: number
  oldest: InFlightRequest[]
}

/** Told of every finished response and how long it took (the metrics count there). */
export type ResponseDone = (response: ServerResponse, seconds: number) => void

/** Counts the requests of one http server: served, in flight, and when each in-flight one started. */
export class RequestTracker {
  served = 0
  private readonly active = new Map<IncomingMessage, number>()

  /**
   * `done` rides on the one listener per response this already has, so the
   * metrics add none, and on its one clock read at the start: a clock read
   * costs about as much as the rest of the metrics' counting together
   * (docs/benchmarks.md), so the metrics add only the one at the end.
   */
  constructor (server: HttpServer, done?: ResponseDone) {
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const startedAt = performance.now()
      this.active.set(request, startedAt)
      response.once('close', () => {
        this.active.delete(request)
        this.served++
        done?.(response, (performance.now() - startedAt) / 1000)
      })
    })
  }

  get inFlight (): number {
    return this.active.size
  }

  /** The oldest requests in flight, oldest first; `now` is a performance.now() reading. */
  oldest (now: number, count = OLDEST_SHOWN): InFlightRequest[] {
    const result: InFlightRequest[] = []
    for (const [request, startedAt] of this.active) { // a Map iterates in insertion order: oldest first
      if (result.length === count) break
      result.push({ method: request.method!, url: request.url!, ms: Math.round(now - startedAt) }) // a server's requests always have both
    }
    return result
  }
}

const ns = (value: number): number => Math.round(value / 1e4) / 100 // ns to ms, two decimals

/** Takes samples over intervals: each call describes the time since the previous one. */
export class Sampler {
  private readonly delay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 })
  private elu: EventLoopUtilization = performance.eventLoopUtilization()
  private cpu = process.cpuUsage()
  private at = performance.now()

  constructor (private readonly tracker: RequestTracker) {
    this.delay.enable()
  }

  sample (): Beat {
    const memory = process.memoryUsage()
    const elu = performance.eventLoopUtilization(this.elu)
    this.elu = performance.eventLoopUtilization()
    const now = performance.now()
    const cpu = process.cpuUsage(this.cpu)
    this.cpu = process.cpuUsage()
    const elapsedMs = Math.max(now - this.at, 1)
    this.at = now
    // An empty histogram (no sample yet) reports max 0 and a huge min; percentile is 0.
    const beat: Beat = {
      fdk: 'heartbeat',
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      externalBytes: memory.external,
      eventLoopDelayP99Ms: ns(this.delay.percentile(99)),
      eventLoopDelayMaxMs: ns(this.delay.max),
      eventLoopUtilization: Math.round(elu.utilization * 1000) / 1000,
      cpuPercent: Math.round((cpu.user + cpu.system) / 10 / elapsedMs * 10) / 10,
      openFiles: countOpenFiles(),
      served: this.tracker.served,
      inFlight: this.tracker.inFlight,
      oldest: this.tracker.oldest(now)
    }
    this.delay.reset()
    return beat
  }

  stop (): void {
    this.delay.disable()
  }
}

/** Sends a beat now and every `intervalMs`; the timer does not keep the process alive. */
export function startHeartbeat (sampler: Sampler, send: (beat: Beat) => void, intervalMs = HEARTBEAT_MS): () => void {
  const timer = setInterval(() => send(sampler.sample()), intervalMs)
  timer.unref()
  send(sampler.sample())
  return () => {
    clearInterval(timer)
    sampler.stop()
  }
}
