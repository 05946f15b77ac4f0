// In-process: a worker's metrics from a real Fastify app, and the primary's
// merge of several workers with retired ones kept (monotonic sums).
import t from 'tap'
import Fastify from 'fastify'
import { Counter, Histogram, Registry } from 'prom-client'
import { DURATION_BUCKETS, WorkerMetrics, type MetricsJson } from '../../lib/cluster/metrics.js'
import { ClusterMetrics } from '../../lib/cluster/metrics-primary.js'
import http from 'node:http'
import { RequestTracker, type Beat } from '../../lib/cluster/heartbeat.js'

function total (text: string, name: string): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (line.startsWith(name + '{') || line.startsWith(name + ' ')) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

/** Requests as a worker counts them: the app built inside watchRoutes(), real HTTP through the RequestTracker. */
async function worker (slot: number, requests: Array<[string, number]>): Promise<WorkerMetrics> {
  const metrics = new WorkerMetrics(slot)
  const unwatch = metrics.watchRoutes()
  const app = Fastify()
  unwatch()
  Fastify() // created after: not watched, and nothing breaks
  app.get('/users/:id', { schema: { querystring: { type: 'object', properties: { code: { type: 'integer' } } } } },
    async (request, reply) => reply.code((request.query as { code?: number }).code ?? 200).send({ ok: true }))
  app.register(async (child) => {
    child.addHook('onRequest', async (request, reply) => { if (request.headers.authorization === undefined) await reply.code(401).send() })
    child.get('/private', async () => 'secret')
  })
  metrics.instrument(app)
  const tracker = new RequestTracker(app.server, metrics.finished)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  for (const [url] of requests) {
    await new Promise<void>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: url, agent: false }, (response) => { response.resume(); response.on('end', resolve) }).on('error', reject)
    })
  }
  await app.close()
  if (tracker.served !== requests.length) throw new Error(`served ${tracker.served} of ${requests.length}`)
  return metrics
}

const beat: Beat = {
  fdk: 'heartbeat', rssBytes: 5e7, heapUsedBytes: 1e7, heapTotalBytes: 2e7, externalBytes: 1, eventLoopDelayP99Ms: 10, eventLoopDelayMaxMs: 20, eventLoopUtilization: 0.5, cpuPercent: 1, openFiles: null, served: 1, inFlight: 2, oldest: []
}

t.test('requests by route pattern and status class; unmatched URLs share one series', async (t) => {
  const metrics = await worker(0, [['/users/1', 200], ['/users/2?code=404', 404], ['/nowhere/1', 404], ['/nowhere/2', 404], ['/users/3?code=500', 500], ['/users/4?code=302', 302],
    ['/users/5?code=many', 400], ['/private', 401]])
  metrics.observe('/odd', 99, 0.001)
  metrics.observe('/odd', 101, 0.001)
  const text = await metrics.registry.metrics()
  t.match(text, /^http_requests_total\{route="\/users\/:id",status_class="2xx"\} 1$/m)
  t.match(text, /^http_requests_total\{route="\/users\/:id",status_class="4xx"\} 2$/m, 'a 400 of the route\'s schema keeps its route')
  t.match(text, /^http_requests_total\{route="unmatched",status_class="4xx"\} 3$/m, 'no route, or refused by a hook before the handler (a 401)')
  t.match(text, /^http_requests_total\{route="\/users\/:id",status_class="5xx"\} 1$/m)
  t.match(text, /^http_requests_total\{route="\/users\/:id",status_class="3xx"\} 1$/m)
  t.match(text, /^http_requests_total\{route="\/odd",status_class="other"\} 1$/m)
  t.match(text, /^http_requests_total\{route="\/odd",status_class="1xx"\} 1$/m)
  t.notMatch(text, /route="\/private"/, 'a route never reached has no series')
  t.equal(total(text, 'http_request_duration_seconds_count'), 10)
  t.match(text, /^deploy_kit_static_cache_hits_total 0$/m)
  t.match(text, /^deploy_kit_static_cache_memory_bytes\{worker="0"\} 0$/m)
})

t.test('an app created outside watchRoutes() is counted through an onResponse hook, the same way', async (t) => {
  const metrics = new WorkerMetrics(0)
  const app = Fastify()
  app.get('/users/:id', async () => ({ ok: true }))
  metrics.instrument(app)
  const tracker = new RequestTracker(app.server, metrics.finished)
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as { port: number }).port
  for (const path of ['/users/1', '/nope']) {
    await new Promise<void>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path, agent: false }, (response) => { response.resume(); response.on('end', resolve) }).on('error', reject)
    })
  }
  const text = await metrics.registry.metrics()
  t.match(text, /^http_requests_total\{route="\/users\/:id",status_class="2xx"\} 1$/m)
  t.match(text, /^http_requests_total\{route="unmatched",status_class="4xx"\} 1$/m)
  t.equal(total(text, 'http_requests_total'), 2, 'each request counted once, not by the tracker as well')
  t.equal(tracker.served, 2)
})

t.test('the primary sums counters, merges histograms, keeps gone workers\' counts, labels gauges', async (t) => {
  const cluster = new ClusterMetrics()
  const a = await worker(0, [['/users/1', 200], ['/users/2', 200]])
  const b = await worker(1, [['/users/3', 200]])
  cluster.update(100, await a.snapshot())
  cluster.update(101, await b.snapshot())
  const first = await cluster.render([{ slot: 0, beat }, { slot: 1, beat: null }])
  t.equal(total(first, 'http_requests_total'), 3)
  t.equal(total(first, 'http_request_duration_seconds_count'), 3)
  t.match(first, /^http_requests_in_flight\{worker="0"\} 2$/m)
  t.notMatch(first, /worker="1"\} 2$/m, 'no heartbeat, no gauge')
  t.match(first, /^process_open_fds\{worker="0"\} 0$/m)
  // Worker 101 dies (its last snapshot counts); worker 100 drains and sends a final one.
  await cluster.retire(101)
  cluster.restarted('crash')
  a.observe('/users/:id', 200, 0.01)
  await cluster.retire(100, await a.snapshot())
  cluster.restarted('reload')
  cluster.restarted('stop')
  cluster.update(100, await a.snapshot()) // a late answer from a retired worker
  await cluster.retire(100) // and its exit: nothing counts twice
  await cluster.retire(999) // never seen
  const c = await worker(0, [['/users/9', 200]])
  cluster.update(102, await c.snapshot())
  const after = await cluster.render([{ slot: 0, beat }])
  t.equal(total(after, 'http_requests_total'), 5, 'retired 4 + live 1')
  t.equal(total(after, 'http_request_duration_seconds_count'), 5)
  t.match(after, /^deploy_kit_worker_restarts_total\{cause="crash"\} 1$/m)
  t.match(after, /^deploy_kit_worker_restarts_total\{cause="reload"\} 1$/m)
  t.match(after, /^deploy_kit_worker_restarts_total\{cause="memory"\} 0$/m)
  t.match(after, /^deploy_kit_static_cache_memory_bytes\{worker="0"\} 0$/m, 'a gone worker\'s gauges are dropped, the live one\'s kept')
})

t.test('the counts kept in plain arrays give exactly what prom-client\'s Counter and Histogram give for the same requests', async (t) => {
  const observations: Array<[string, number, number]> = [
    ['/a', 200, 0.0001], ['/a', 200, 0.005], ['/a', 204, 0.0051], ['/a', 404, 0.3], ['/b', 500, 10], ['/b', 302, 11], ['/b', 103, 2.5], ['/a', 200, 0.75]
  ]
  const mine = new WorkerMetrics(0)
  const registry = new Registry()
  const counter = new Counter({ name: 'http_requests_total', help: 'h', labelNames: ['route', 'status_class'], registers: [registry] })
  const histogram = new Histogram({ name: 'http_request_duration_seconds', help: 'h', labelNames: ['route'], registers: [registry], buckets: DURATION_BUCKETS })
  for (const [route, status, seconds] of observations) {
    mine.observe(route, status, seconds)
    counter.labels(route, `${Math.floor(status / 100)}xx`).inc()
    histogram.labels(route).observe(seconds)
  }
  const pick = (json: MetricsJson, name: string): unknown => {
    const metric = JSON.parse(JSON.stringify(json.find((m) => m.name === name))) as { help: string, values: Array<{ labels: object, metricName?: string }> }
    metric.help = 'h'
    // Series in any order: the exposition is the same set of lines.
    const key = (value: { labels: object, metricName?: string }): string => (value.metricName ?? '') + JSON.stringify(value.labels)
    metric.values.sort((a, b) => key(a).localeCompare(key(b)))
    return metric
  }
  const expected = await registry.getMetricsAsJSON() as MetricsJson
  const actual = await mine.snapshot()
  for (const name of ['http_requests_total', 'http_request_duration_seconds']) t.same(pick(actual, name), pick(expected, name), name)
  const text = await mine.registry.metrics()
  t.match(text, /^http_request_duration_seconds_bucket\{le="0.005",route="\/a"\} 2$/m)
  t.match(text, /^http_request_duration_seconds_bucket\{le="\+Inf",route="\/b"\} 3$/m)
  t.match(text, /^http_request_duration_seconds_sum\{route="\/b"\} 23.5$/m)
})
