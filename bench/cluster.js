// Requests/s of one worker (processes: 1) against N workers in shared mode
// (processes: 0 = one per CPU, at least 2) on a small dynamic JSON route,
// both launches up at once, loaded with the method of bench/harness.js —
// except that nothing is pinned: N workers need every CPU, so wrk shares
// them (the ratio understates the gain a bigger machine shows).
//   npm run build && node bench/cluster.js
import { fileURLToPath } from 'node:url'
import { availableParallelism } from 'node:os'
import { compareCases, serveLaunch, startServer, stopServer } from './harness.js'

async function serve (processes) {
  const { default: Fastify } = await import('fastify')
  await serveLaunch(() => {
    const app = Fastify()
    app.get('/work/:n', async (request) => {
      const n = Number(request.params.n)
      let sum = 0
      for (let i = 0; i < n; i++) sum += Math.sqrt(i)
      return { sum }
    })
    return app
  }, { processes })
}

async function main () {
  const script = fileURLToPath(import.meta.url)
  const many = Math.max(2, availableParallelism())
  const servers = {}
  try {
    servers.one = await startServer('1 worker', script, ['1'], { pin: false })
    servers.many = await startServer(`${many} workers`, script, [String(many)], { pin: false })
    let sum = 0
    for (let i = 0; i < 2000; i++) sum += Math.sqrt(i)
    const work = { method: 'GET', path: '/work/2000', headers: {}, expect: { encoding: 'identity', body: Buffer.from(JSON.stringify({ sum })) } }
    await compareCases([
      { label: `${many} workers (shared port) vs 1 worker, GET /work/2000`, contender: servers.many, baseline: servers.one, load: work }
    ], { pin: false })
  } finally {
    await Promise.all(Object.values(servers).map(stopServer))
  }
}

if (process.argv[2] === 'serve') await serve(Number(process.argv[3]))
else await main()
