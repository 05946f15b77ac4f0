// The primary's Prometheus endpoint: every worker's counters summed and
// histograms merged with prom-client's AggregatorRegistry.aggregate, gauges
// per worker (label `worker`), on a listener of its own. prom-client's
// clusterMetrics() asks the live workers only, so a worker that exits takes
// its counts with it and the sum drops at every restart or reload (rate()
// then reads the drop as a reset); and one worker that does not answer fails
// the whole scrape after 5 s. So the primary keeps each worker's last
// snapshot, folds the counters and histograms of a worker that is gone into
// a "retired" total, and answers with what it has when a worker is silent.
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client'
import type { MetricsJson } from './metrics.js'
import type { ExitCause } from './watch.js'
import type { Beat } from './heartbeat.js'

/** What survives a worker: its counters and histograms (a gone worker's gauges mean nothing). */
function cumulative (metrics: MetricsJson): MetricsJson {
  // At run time `type` is the exposition's word, not the typings' enum.
  return metrics.filter((metric) => ['counter', 'histogram'].includes(metric.type as unknown as string))
}

export class ClusterMetrics {
  private readonly latest = new Map<number, MetricsJson>()
  /** Pids already folded into `retired`: a late answer from one must not count twice. */
  private readonly gone = new Set<number>()
  private retired: MetricsJson = []
  /** Retiring reads and replaces `retired` across an await: one at a time. */
  private retiring: Promise<void> = Promise.resolve()
  readonly registry = new Registry()
  private readonly restarts: Counter<'cause'>
  private readonly gauges: Array<{ gauge: Gauge<'worker'>, read: (beat: Beat) => number }>

  constructor () {
    const registers = [this.registry]
    this.restarts = new Counter({ name: 'deploy_kit_worker_restarts_total', help: 'Workers replaced, by cause: crash, timeout (workerTimeoutMs), memory (maxMemoryBytes), reload.', labelNames: ['cause'], registers })
    for (const cause of ['crash', 'timeout', 'memory', 'reload']) this.restarts.labels(cause).inc(0)
    const gauge = (name: string, help: string, read: (beat: Beat) => number): { gauge: Gauge<'worker'>, read: (beat: Beat) => number } =>
      ({ gauge: new Gauge({ name, help: help + ' Per worker, at its last heartbeat.', labelNames: ['worker'], registers }), read })
    this.gauges = [
      gauge('http_requests_in_flight', 'Requests being answered.', (beat) => beat.inFlight),
      gauge('process_resident_memory_bytes', 'Resident memory.', (beat) => beat.rssBytes),
      gauge('nodejs_heap_size_used_bytes', 'V8 heap in use.', (beat) => beat.heapUsedBytes),
      gauge('process_open_fds', 'Open file descriptors.', (beat) => beat.openFiles ?? 0),
      gauge('nodejs_eventloop_delay_p99_seconds', 'Event-loop delay, 99th percentile over the last second.', (beat) => beat.eventLoopDelayP99Ms / 1000),
      gauge('nodejs_eventloop_delay_max_seconds', 'Event-loop delay, maximum over the last second.', (beat) => beat.eventLoopDelayMaxMs / 1000),
      gauge('nodejs_eventloop_utilization_ratio', 'Share of the last second the event loop was busy.', (beat) => beat.eventLoopUtilization)
    ]
  }

  /** A worker's newest snapshot. */
  update (pid: number, metrics: MetricsJson): void {
    if (!this.gone.has(pid)) this.latest.set(pid, metrics)
  }

  /** The worker is gone (or sent its final snapshot): its counts move to the retired total. */
  retire (pid: number, final?: MetricsJson): Promise<void> {
    const last = this.gone.has(pid) ? undefined : final ?? this.latest.get(pid)
    this.gone.add(pid)
    this.latest.delete(pid)
    if (last === undefined) return this.retiring
    this.retiring = this.retiring.then(async () => {
      this.retired = await AggregatorRegistry.aggregate([this.retired, cumulative(last)]).getMetricsAsJSON() as MetricsJson
    })
    return this.retiring
  }

  /** Counts a worker replaced for `cause` (a stop is not a restart). */
  restarted (cause: ExitCause): void {
    if (cause !== 'stop') this.restarts.labels(cause).inc()
  }

  /** The exposition text: live workers' snapshots, the retired totals, the primary's own figures. */
  async render (workers: Array<{ slot: number, beat: Beat | null }>): Promise<string> {
    for (const { gauge, read } of this.gauges) {
      gauge.reset()
      for (const { slot, beat } of workers) if (beat !== null) gauge.set({ worker: String(slot) }, read(beat))
    }
    await this.retiring
    const own = await this.registry.getMetricsAsJSON() as MetricsJson
    return await AggregatorRegistry.aggregate([...this.latest.values(), this.retired, own]).metrics()
  }
}
