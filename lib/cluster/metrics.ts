// Prometheus metrics of a worker: requests by route pattern and status
// class, their duration, and the static file cache. Each worker keeps its
// own prom-client Registry and hands its JSON to the primary on request
// (lib/cluster/metrics-primary.ts merges them); nothing here listens.
import { Counter, Gauge, Registry, type Histogram, type MetricObjectWithValues, type MetricValue } from 'prom-client'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { ServerResponse } from 'node:http'
import { staticStores } from '../static/store.js'

export type MetricsJson = Array<MetricObjectWithValues<MetricValue<string>>>

type Done = () => void
interface HookRequest { routeOptions: { url?: string } }
interface HookReply { statusCode: number, elapsedTime: number, raw: TaggedResponse }
type Handler = (this: unknown, request: unknown, reply: HookReply) => unknown
/** The few things of a Fastify instance the metrics need. */
interface HookableApp {
  addHook: ((name: 'onResponse', hook: (request: HookRequest, reply: HookReply, done: Done) => void) => unknown) &
  ((name: 'onError', hook: (request: HookRequest, reply: HookReply, error: unknown, done: Done) => void) => unknown) &
  ((name: 'onRoute', hook: (route: { url: string, handler: Handler }) => void) => unknown)
}

/** Where a route's handler leaves its counts for the response's close listener. */
const ROUTE = Symbol('fastify-deploy-kit.metrics.route')
type TaggedResponse = ServerResponse & { [ROUTE]?: RouteCounts }

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'other']
/** prom-client's default buckets (seconds), so the exposition is what a prom-client Histogram gives. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const DURATION = 'http_request_duration_seconds'

/** One route pattern's counts: plain numbers, written on every request. */
interface RouteCounts {
  /** Requests by status class, in STATUS_CLASSES order. */
  statuses: number[]
  /** Requests by duration bucket (not cumulative); the last one is above every bound (+Inf). */
  buckets: number[]
  sum: number
  count: number
}

type HistogramJson = MetricObjectWithValues<MetricValue<string>>

/** A Map lookup-free count: a few additions, nothing allocated. */
function count (counts: RouteCounts, statusCode: number, seconds: number): void {
  const statusClass = Math.floor(statusCode / 100)
  counts.statuses[statusClass >= 1 && statusClass <= 5 ? statusClass - 1 : 5]!++
  let bucket = 0
  while (bucket < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[bucket]!) bucket++
  counts.buckets[bucket]!++
  counts.sum += seconds
  counts.count++
}

export class WorkerMetrics {
  readonly registry = new Registry()
  // Counted per request in plain arrays, turned into prom-client metrics
  // only when scraped: prom-client's labelled inc() and observe() hash the
  // labels on every call, which cost GET /hello about a quarter of its
  // throughput (docs/benchmarks.md).
  private readonly routes = new Map<string, RouteCounts>()
  private readonly tagged = new WeakSet<object>()
  private hooked = false
  private readonly unmatched: RouteCounts

  constructor (readonly slot: number) {
    this.unmatched = this.counts('unmatched')
    const registers = [this.registry]
    const routes = this.routes
    new Counter({ // eslint-disable-line no-new -- registered, read through the registry
      name: 'http_requests_total',
      help: 'Requests answered, by route pattern and status class (all workers summed).',
      labelNames: ['route', 'status_class'],
      registers,
      collect () {
        this.reset()
        for (const [route, counts] of routes) {
          counts.statuses.forEach((count, i) => { if (count > 0) this.labels(route, STATUS_CLASSES[i]!).inc(count) })
        }
      }
    })
    this.registry.registerMetric(this.durationMetric() as unknown as Histogram)
    const worker = String(slot)
    const stores = (): Array<{ hits: number, misses: number, memoryUsed: number }> => [...staticStores()]
    new Counter({ // eslint-disable-line no-new -- registered, read through the registry
      name: 'deploy_kit_static_cache_hits_total',
      help: 'Static files served from memory without a disk check (all workers summed).',
      registers,
      collect () { this.reset(); this.inc(stores().reduce((sum, store) => sum + store.hits, 0)) }
    })
    new Counter({ // eslint-disable-line no-new -- registered, read through the registry
      name: 'deploy_kit_static_cache_misses_total',
      help: 'Static file lookups that had to check the disk (all workers summed).',
      registers,
      collect () { this.reset(); this.inc(stores().reduce((sum, store) => sum + store.misses, 0)) }
    })
    new Gauge({ // eslint-disable-line no-new -- registered, read through the registry
      name: 'deploy_kit_static_cache_memory_bytes',
      help: 'Bytes of static files (and their compressed variants) held in memory, per worker.',
      labelNames: ['worker'],
      registers,
      collect () { this.set({ worker }, stores().reduce((sum, store) => sum + store.memoryUsed, 0)) }
    })
  }

  /**
   * The duration histogram as prom-client's registry and AggregatorRegistry
   * read a metric (get() resolving to its JSON), built from the bucket
   * counts: prom-client's Histogram has no way to be given counts, only one
   * observation at a time. The same JSON a Histogram of these buckets gives.
   */
  private durationMetric (): { name: string, help: string, type: string, aggregator: string, get: () => Promise<HistogramJson> } {
    const help = 'Time from the request to the end of its response, by route pattern (all workers merged).'
    return {
      name: DURATION,
      help,
      type: 'histogram',
      aggregator: 'sum',
      get: async () => {
        const values: Array<{ labels: Record<string, string | number>, value: number, metricName: string, exemplar?: null }> = []
        for (const [route, counts] of this.routes) {
          if (counts.count === 0) continue // a route never asked for: no series, as with prom-client
          let cumulative = 0
          DURATION_BUCKETS.forEach((le, i) => {
            cumulative += counts.buckets[i]!
            values.push({ labels: { le, route }, value: cumulative, metricName: `${DURATION}_bucket`, exemplar: null })
          })
          values.push(
            { labels: { le: '+Inf', route }, value: counts.count, metricName: `${DURATION}_bucket`, exemplar: null },
            { labels: { route }, value: counts.sum, metricName: `${DURATION}_sum` },
            { labels: { route }, value: counts.count, metricName: `${DURATION}_count` }
          )
        }
        return { name: DURATION, help, type: 'histogram', values, aggregator: 'sum' } as unknown as HistogramJson
      }
    }
  }

  private counts (route: string): RouteCounts {
    let counts = this.routes.get(route)
    if (counts === undefined) {
      counts = { statuses: new Array<number>(STATUS_CLASSES.length).fill(0), buckets: new Array<number>(DURATION_BUCKETS.length + 1).fill(0), sum: 0, count: 0 }
      this.routes.set(route, counts)
    }
    return counts
  }

  /** Counts one answered request. */
  observe (route: string, statusCode: number, seconds: number): void {
    count(this.counts(route), statusCode, seconds)
  }

  /**
   * Until the returned function is called, every Fastify instance created
   * (Fastify's 'fastify.initialization' diagnostics channel) gets its routes
   * tagged: each handler, before it runs, leaves its route's counts on the
   * raw response, where finished() finds them. Call it around buildApp.
   * That costs a request one property write: a Fastify onResponse hook
   * instead makes Fastify add two listeners to every response and run a
   * hook chain, about a tenth of GET /hello's CPU (docs/benchmarks.md).
   */
  watchRoutes (): () => void {
    const onInit = (message: unknown): void => {
      const app = (message as { fastify: HookableApp }).fastify
      this.tagged.add(app)
      app.addHook('onRoute', (route) => {
        const counts = this.counts(route.url)
        const handler = route.handler
        route.handler = function (request, reply) {
          reply.raw[ROUTE] = counts
          return handler.call(this, request, reply)
        }
      })
      // A request refused before its handler with an error (a validation 400,
      // a thrown hook) keeps its route; errors only, so nothing per request.
      app.addHook('onError', (request, reply, _error, done) => {
        const url = request.routeOptions.url
        if (url !== undefined) reply.raw[ROUTE] = this.counts(url)
        done()
      })
    }
    subscribe('fastify.initialization', onInit)
    return () => { unsubscribe('fastify.initialization', onInit) }
  }

  /**
   * Counts the requests of `app`; call before app.ready(). An app whose
   * routes were tagged is counted by finished(); one created before
   * watchRoutes() (outside buildApp) through an onResponse hook instead.
   * An unmatched URL counts as route "unmatched", so 404 scans add no series.
   */
  instrument (app: unknown): void {
    if (this.tagged.has(app as object)) return
    this.hooked = true
    ;(app as HookableApp).addHook('onResponse', (request, reply, done) => {
      this.observe(request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000)
      done()
    })
  }

  /** A response of the server has finished (RequestTracker calls this). */
  readonly finished = (response: ServerResponse, seconds: number): void => {
    if (this.hooked) return
    count((response as TaggedResponse)[ROUTE] ?? this.unmatched, response.statusCode, seconds)
  }

  async snapshot (): Promise<MetricsJson> {
    return await this.registry.getMetricsAsJSON()
  }
}
