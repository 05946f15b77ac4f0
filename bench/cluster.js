// Requests/s of one worker (processes: 1) against N workers in shared mode
// (processes: 0 = one per CPU, at least 2) on a small dynamic JSON route.
// Each server runs in its own process tree; autocannon runs here.
//   npm run build && node bench/cluster.js [seconds]
import { spawn } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { once } from 'node:events'
import autocannon from 'autocannon'

if (process.argv[2] === '--serve') {
  const { launch } = await import('../dist/cluster.js')
  const { default: Fastify } = await import('fastify')
  const processes = Number(process.argv[3])
  await launch(() => {
    const app = Fastify()
    app.get('/work/:n', async (request) => {
      const n = Number(request.params.n)
      let sum = 0
      for (let i = 0; i < n; i++) sum += Math.sqrt(i)
      return { sum, pid: process.pid }
    })
    return app
  }, { processes, port: 0, host: '127.0.0.1', logger: { info: (obj, msg) => { if (msg === 'worker listening' || /listening in-process/.test(msg)) console.log(JSON.stringify(obj)) }, warn () {}, error: console.error } })
} else {
  const seconds = Number(process.argv[2] ?? 5)
  const cores = availableParallelism()
  const many = Math.max(2, cores)

  async function measure (processes) {
    const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--serve', String(processes)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let ports = []
    let text = ''
    child.stdout.on('data', (chunk) => { text += chunk })
    while (ports.length < processes) {
      await once(child.stdout, 'data')
      ports = text.split('\n').filter(Boolean).map((line) => JSON.parse(line).port)
    }
    const result = await autocannon({ url: `http://127.0.0.1:${ports[0]}/work/2000`, connections: 64, duration: seconds })
    child.kill('SIGTERM')
    await once(child, 'exit')
    return result
  }

  const one = await measure(1)
  const n = await measure(many)
  console.log(`cores (os.availableParallelism): ${cores}`)
  console.log(`1 worker : ${Math.round(one.requests.average)} req/s, p99 ${one.latency.p99} ms, errors ${one.errors}, non2xx ${one.non2xx}`)
  console.log(`${many} workers: ${Math.round(n.requests.average)} req/s, p99 ${n.latency.p99} ms, errors ${n.errors}, non2xx ${n.non2xx}`)
  console.log(`ratio ${many} workers / 1 worker: ${(n.requests.average / one.requests.average).toFixed(2)}x`)
}
