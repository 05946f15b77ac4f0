// Prometheus metrics of a worker: requests by route pattern and status
// class, their duration, and the static file cache. Each worker keeps its
// own prom-client Registry and hands its JSON to the primary on request
// (lib/cluster/metrics-primary.ts merges them); nothing here listens.
import { Counter, Gauge, Histogram, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client'
import { staticStores } from '../static/store.js'

export type MetricsJson = Array<MetricObjectWithValues<MetricValue<string>>>

/** The few things of a Fastify instance the request hook needs. */
interface HookableApp {
  addHook: (name: 'onResponse', hook: (request: { routeOptions: { url?: string } }, reply: { statusCode: number, elapsedTime: number }, done: () => void) => void) => unknown
}

interface RouteChildren {
  count: Counter.Internal
  duration: Histogram.Internal<'route'>
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx']

export class WorkerMetrics {
  readonly registry = new Registry()
  private readonly requests: Counter<'route' | 'status_class'>
  private readonly duration: Histogram<'route'>
  // One lookup per request instead of prom-client hashing the labels each time.
  private readonly children = new Map<string, RouteChildren>()

  constructor (readonly slot: number) {
    const registers = [this.registry]
    this.requests = new Counter({ name: 'http_requests_total', help: 'Requests answered, by route pattern and status class (all workers summed).', labelNames: ['route', 'status_class'], registers })
    this.duration = new Histogram({ name: 'http_request_duration_seconds', help: 'Time from the request to the end of its response, by route pattern (all workers merged).', labelNames: ['route'], registers })
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

  /** Counts one answered request. */
  observe (route: string, statusCode: number, seconds: number): void {
    const statusClass = STATUS_CLASSES[Math.floor(statusCode / 100) - 1] ?? 'other'
    const key = route + '\0' + statusClass
    let children = this.children.get(key)
    if (children === undefined) {
      children = { count: this.requests.labels(route, statusClass), duration: this.duration.labels(route) }
      this.children.set(key, children)
    }
    children.count.inc()
    children.duration.observe(seconds)
  }

  /** Adds the request hook; call before app.ready(). An unmatched URL counts as route "unmatched", so 404 scans add no series. */
  instrument (app: unknown): void {
    (app as HookableApp).addHook('onResponse', (request, reply, done) => {
      this.observe(request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000)
      done()
    })
  }

  async snapshot (): Promise<MetricsJson> {
    return await this.registry.getMetricsAsJSON()
  }
}
