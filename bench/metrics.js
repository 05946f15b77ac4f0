// Cost of the launcher's Prometheus metrics on GET /hello: two launches of 2
// workers in shared mode, one with metricsPort and one without, both up at
// once and pinned to CPU 0; wrk (pinned to CPU 1) loads them in interleaved
// rounds, and a scrape runs each second during the metrics rounds, as
// Prometheus would. Prints each round and the median and range of on/off.
//   npm run build && flock /work/.locks/bench node bench/metrics.js [rounds] [seconds]
import { spawn, execFileSync } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'

if (process.argv[2] === '--serve') {
  const { launch } = await import('../dist/cluster.js')
  const { default: Fastify } = await import('fastify')
  const metrics = process.argv[3] === 'on'
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
    logger: { info: (obj, msg) => { if (msg === 'worker listening' || msg === 'metrics listening') console.log(JSON.stringify({ msg, ...obj })) }, warn () {}, error: console.error }
  })
} else {
  const rounds = Number(process.argv[2] ?? 6)
  const seconds = Number(process.argv[3] ?? 5)
  async function serve (mode) {
    const child = spawn('taskset', ['-c', '0', process.execPath, new URL(import.meta.url).pathname, '--serve', mode], { stdio: ['ignore', 'pipe', 'inherit'] })
    let text = ''
    child.stdout.on('data', (chunk) => { text += chunk })
    const want = mode === 'on' ? 3 : 2
    while (text.split('\n').filter(Boolean).length < want) await once(child.stdout, 'data')
    const lines = text.split('\n').filter(Boolean).map((line) => JSON.parse(line))
    return { child, port: lines.find((l) => l.msg === 'worker listening').port, metricsPort: lines.find((l) => l.msg === 'metrics listening')?.port }
  }
  const wrk = (port) => {
    const out = execFileSync('taskset', ['-c', '1', 'wrk', '-t1', '-c32', `-d${seconds}s`, `http://127.0.0.1:${port}/hello`]).toString()
    return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1])
  }
  const off = await serve('off')
  const on = await serve('on')
  const scraper = setInterval(() => http.get({ host: '127.0.0.1', port: on.metricsPort, path: '/metrics' }, (r) => r.resume()), 1000)
  const ratios = []
  for (let round = 0; round < rounds; round++) {
    // Alternate which goes first, so a burst from outside hits both alike.
    const [a, b] = round % 2 === 0 ? [off, on] : [on, off]
    const first = wrk(a.port)
    const second = wrk(b.port)
    const offRps = a === off ? first : second
    const onRps = a === on ? first : second
    ratios.push(onRps / offRps)
    console.log(`round ${round + 1}: off ${Math.round(offRps)} req/s, on ${Math.round(onRps)} req/s, on/off ${(onRps / offRps).toFixed(3)}`)
  }
  clearInterval(scraper)
  ratios.sort((x, y) => x - y)
  const median = ratios.length % 2 ? ratios[(ratios.length - 1) / 2] : (ratios[ratios.length / 2 - 1] + ratios[ratios.length / 2]) / 2
  console.log(`metrics on/off: median ${median.toFixed(3)}x, range ${ratios[0].toFixed(3)}-${ratios.at(-1).toFixed(3)} over ${rounds} rounds of ${seconds} s`)
  for (const server of [off, on]) server.child.kill('SIGTERM')
  await Promise.all([off, on].map((server) => once(server.child, 'exit')))
}
