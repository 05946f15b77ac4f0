// Cost of the launcher's Prometheus metrics on GET /hello (issue 16: metrics
// on must stay >= 0.97x metrics off): two launches of 2 workers in shared
// mode, one with metricsPort and one without, loaded with the method of
// bench/harness.js (both up at once and pinned to CPU 0 with their workers,
// wrk pinned to CPU 1, the response checked before timing, interleaved
// rounds, medians and per-round ratios). The launch with metrics scrapes its
// own /metrics every second, as Prometheus would (the scrape's cost, the
// primary asking every worker for its counts, lands on the server's CPU).
//   npm run build && flock -x /work/.locks/quiet node bench/metrics.js
//   BENCH_ROUNDS=5 BENCH_SECONDS=2 BENCH_CONNECTIONS=50 (the defaults)
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import { compareCases, startServer, stopServer } from './harness.js'

async function serve (metrics) {
  const { launch } = await import('../dist/cluster.js')
  const { default: Fastify } = await import('fastify')
  let reported = false
  // The harness stops a server by closing its stdin: stop the launch as SIGTERM would.
  process.stdin.resume()
  process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'))
  await launch(() => {
    const app = Fastify()
    app.get('/hello', async () => ({ hello: 'world' }))
    return app
  }, {
    processes: 2,
    port: 0,
    host: '127.0.0.1',
    controlSocket: false,
    ...(metrics ? { metricsPort: 0 } : {}),
    logger: {
      info: (obj, msg) => {
        if (msg === 'metrics listening') {
          const scrape = setInterval(() => http.get({ host: '127.0.0.1', port: obj.port, path: '/metrics' }, (response) => response.resume()), 1000)
          scrape.unref()
        }
        if (!reported && msg === 'worker listening') {
          reported = true
          process.stdout.write(`PORT ${obj.port}\n`)
        }
      },
      warn () {},
      error: console.error
    }
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
      { label: 'GET /hello, 2 workers (shared port): metricsPort + a scrape a second vs no metrics', contender: servers.on, baseline: servers.off, load: hello, target: 0.97 }
    ])
  } finally {
    await Promise.all(Object.values(servers).map(stopServer))
  }
}

if (process.argv[2] === 'serve') await serve(process.argv[3] === 'on')
else await main()
