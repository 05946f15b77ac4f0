// In-process: a worker's metrics from a real Fastify app, and the primary's
// merge of several workers with retired ones kept (monotonic sums).
import t from 'tap'
import Fastify from 'fastify'
import { WorkerMetrics } from '../lib/cluster/metrics.js'
import { ClusterMetrics } from '../lib/cluster/metrics-primary.js'
import type { Beat } from '../lib/cluster/heartbeat.js'

function total (text: string, name: string): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (line.startsWith(name + '{') || line.startsWith(name + ' ')) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

async function worker (slot: number, requests: Array<[string, number]>): Promise<WorkerMetrics> {
  const metrics = new WorkerMetrics(slot)
  const app = Fastify()
  app.get('/users/:id', async (request, reply) => reply.code(Number((request.query as { code?: string }).code ?? 200)).send({ ok: true }))
  metrics.instrument(app)
  await app.ready()
  for (const [url] of requests) await app.inject(url)
  await app.close()
  return metrics
}

const beat: Beat = {
  fdk: 'heartbeat', rssBytes: 5e7, heapUsedBytes: 1e7, heapTotalBytes: 2e7, externalBytes: 1, eventLoopDelayP99Ms: 10, eventLoopDelayMaxMs: 20, eventLoopUtilization: 0.5, cpuPercent: 1, openFiles: null, served: 1, inFlight: 2, oldest: []
}

t.test('requests by route pattern and status class; unmatched URLs share one series', async (t) => {
  const metrics = await worker(0, [['/users/1', 200], ['/users/2?code=404', 404], ['/nowhere/1', 404], ['/nowhere/2', 404], ['/users/3?code=500', 500], ['/users/4?code=302', 302], ['/users/5?code=103', 103]])
  metrics.observe('/odd', 99, 0.001)
  const text = await metrics.registry.metrics()
  t.match(text, /^http_requests_total\{route="\/users\/:id",status_class="2xx"\} 1$/m)
  t.match(text, /^http_requests_total\{route="\/users\/:id",status_class="4xx"\} 1$/m)
  t.match(text, /^http_requests_total\{route="unmatched",status_class="4xx"\} 2$/m)
  t.match(text, /^http_requests_total\{route="\/users\/:id",status_class="5xx"\} 1$/m)
  t.match(text, /^http_requests_total\{route="\/odd",status_class="other"\} 1$/m)
  t.equal(total(text, 'http_request_duration_seconds_count'), 8)
  t.match(text, /^deploy_kit_static_cache_hits_total 0$/m)
  t.match(text, /^deploy_kit_static_cache_memory_bytes\{worker="0"\} 0$/m)
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
