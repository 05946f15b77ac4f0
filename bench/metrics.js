// Cost of the launcher's Prometheus metrics on GET /hello (issue 16: metrics
// on must stay >= 0.97x metrics off): two launches of 2 workers in shared
// mode, one with metricsPort and one without, loaded with the method of
// bench/harness.js (both up at once and pinned to CPU 0 with their workers,
// wrk pinned to CPU 1, the response checked before timing, interleaved
// rounds, medians and per-round ratios). The launch with metrics scrapes its
// own /metrics every second (BENCH_SCRAPE_MS), as Prometheus would (the scrape's cost, the
// primary asking every worker for its counts, lands on the server's CPU).
//   npm run build && flock -x /work/.locks/quiet node bench/metrics.js
//   BENCH_ROUNDS=5 BENCH_SECONDS=2 BENCH_CONNECTIONS=50 BENCH_SCRAPE_MS=1000 (the defaults)
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import { compareCases, serveLaunch, startServer, stopServer } from './harness.js'

// Prometheus' own default is 60 s, 15 s a common choice; 1 s puts a
// scrape's cost (the primary asking every worker) in every round.
const SCRAPE_MS = Number(process.env.BENCH_SCRAPE_MS ?? 1000)

async function serve (metrics) {
  const { default: Fastify } = await import('fastify')
  await serveLaunch(() => {
    const app = Fastify()
    app.get('/hello', async () => ({ hello: 'world' }))
    return app
  }, { processes: 2, ...(metrics ? { metricsPort: 0 } : {}) }, (obj, msg) => {
    if (msg !== 'metrics listening') return
    // A scrape that meets the listener closing at the end is no matter.
    const scrape = setInterval(() => http.get({ host: '127.0.0.1', port: obj.port, path: '/metrics' }, (response) => response.resume()).on('error', () => {}), SCRAPE_MS)
    scrape.unref()
  })
}

async function main () {
  const script = fileURLToPath(import.meta.url)
  const servers = {}
  try {
    servers.off = await startServer('metrics off', script, ['off'])
    servers.on = await startServer('metrics on', script, ['on'])
    const hello = { method: 'GET', path: '/hello', headers: {}, expect: { encoding: 'identity', body: Buffer.from('{"hello":"world"}') } }
    await compareCases([
      { label: `GET /hello, 2 workers (shared port): metricsPort + a scrape every ${SCRAPE_MS / 1000} s vs no metrics`, contender: servers.on, baseline: servers.off, load: hello, target: 0.97 }
    ])
  } finally {
    await Promise.all(Object.values(servers).map(stopServer))
  }
}

if (process.argv[2] === 'serve') await serve(process.argv[3] === 'on')
else await main()
