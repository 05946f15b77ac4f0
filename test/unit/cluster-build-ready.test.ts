// buildReady() in-process (lib/cluster/build-ready.ts): what every worker does
// before it listens, with the worker's metrics. The rest of its paths (no
// metrics, readiness checks, timeouts) run through launch() with processes: 1
// in test/unit/cluster-single.test.ts and test/unit/cluster-health-unit.test.ts.
import t from 'tap'
import Fastify from 'fastify'
import http from 'node:http'
import { buildReady } from '../../lib/cluster/build-ready.js'
import { normalizeClusterOptions } from '../../lib/cluster.js'
import { WorkerMetrics } from '../../lib/cluster/metrics.js'
import { RequestTracker } from '../../lib/cluster/heartbeat.js'

function get (port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 10_000 }, (response) => {
      response.resume()
      response.on('end', () => resolve(response.statusCode!))
    })
    request.on('timeout', () => request.destroy(new Error(`no answer to ${path} in 10 s`)))
    request.on('error', reject)
  })
}

t.test('with a worker\'s metrics, the app buildApp returns has its requests counted by route pattern, and apps created after it are not watched', async (t) => {
  const metrics = new WorkerMetrics(0)
  const { server, health } = await buildReady(() => {
    const app = Fastify()
    app.get('/users/:id', async () => ({ ok: true }))
    return app
  }, normalizeClusterOptions({}), 0, metrics)
  t.teardown(() => health.stop())
  const tracker = new RequestTracker(server.app.server, metrics.finished)
  const port = await server.listen(0, '127.0.0.1')
  t.teardown(() => server.app.close())
  t.equal(await get(port, '/users/1'), 200)
  t.equal(await get(port, '/users/2'), 200)
  t.equal(await get(port, '/nowhere'), 404)
  t.equal(tracker.served, 3)
  const text = await metrics.registry.metrics()
  t.match(text, /^http_requests_total\{route="\/users\/:id",status_class="2xx"\} 2$/m)
  t.match(text, /^http_requests_total\{route="unmatched",status_class="4xx"\} 1$/m)

  // The watch ends with buildReady: an app made later (the test's own) gets
  // no route tags, so instrument() counts it through its onResponse hook.
  const later = Fastify()
  later.get('/later', async () => 'later')
  metrics.instrument(later)
  await later.inject('/later')
  await later.close()
  t.match(await metrics.registry.metrics(), /^http_requests_total\{route="\/later",status_class="2xx"\} 1$/m)
})
