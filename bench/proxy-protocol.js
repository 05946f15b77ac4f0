// The cost of xheaders.proxyProtocol on GET /hello, measured with wrk
// (pinned with taskset: wrk and HAProxy on CPU 0, the app on CPU 1), every
// contender up at once and rounds interleaved, medians and ranges reported.
// Two ways in:
// - direct: wrk's keep-alive connections straight to the app; wrk is not a
//   trusted proxy, so with the option on every connection is inspected for a
//   header and then served as before;
// - HAProxy TCP mode (`deploy-kit haproxy --tcp`), with and without
//   `--send-proxy v2`: every connection through the balancer starts with a
//   v2 header the app decodes.
// `node bench/proxy-protocol.js [rounds]` after `npm run build`; needs wrk,
// haproxy and taskset. Run it under `flock /work/.locks/bench` on a shared box.
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)

if (process.argv[2] === 'serve') {
  // One app process, xheaders trusting argv[4], with or without the PROXY protocol.
  const { default: proxy } = await import('../dist/proxy.js')
  const app = Fastify({ logger: false })
  await app.register(proxy, { xheaders: { proxyProtocol: process.argv[3] === 'on', trustedProxies: [process.argv[4]] } })
  app.get('/hello', (request) => ({ hello: 'world', ip: request.ip }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  process.stdout.write(JSON.stringify({ port: app.server.address().port }) + '\n')
} else {
  const rounds = Number(process.argv[2] ?? 5)
  const children = []
  const stop = () => { for (const child of children) child.kill('SIGKILL') }
  process.on('exit', stop)

  function serve (mode, trusted) {
    const child = spawn('taskset', ['-c', '1', process.execPath, fileURLToPath(import.meta.url), 'serve', mode, trusted], { stdio: ['ignore', 'pipe', 'inherit'] })
    children.push(child)
    return new Promise((resolve) => child.stdout.once('data', (line) => resolve(JSON.parse(line).port)))
  }
  const freePort = () => new Promise((resolve) => {
    import('node:net').then(({ createServer }) => { const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)) }) })
  })
  async function haproxy (appPort, sendProxy) {
    const port = await freePort()
    const args = ['dist/cli/main.js', 'haproxy', '--upstream', `127.0.0.1:${appPort}`, '--listen', `127.0.0.1:${port}`, '--tcp', '--send-proxy', 'v2']
    let config = execFileSync(process.execPath, args, { encoding: 'utf8' })
    if (!sendProxy) config = config.replace(/ send-proxy-v2 check-send-proxy/, '')
    const file = join(mkdtempSync(join(tmpdir(), 'fdk-bench-haproxy-')), 'haproxy.cfg')
    writeFileSync(file, config)
    const child = spawn('taskset', ['-c', '0', '/usr/sbin/haproxy', '-db', '-f', file], { stdio: 'ignore' })
    children.push(child)
    for (let i = 0; i < 100; i++) {
      if (await wrk(port, 1).then(() => true, () => false)) return port
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error('haproxy did not start')
  }
  function wrk (port, seconds = SECONDS) {
    return new Promise((resolve, reject) => {
      const child = spawn('taskset', ['-c', '0', 'wrk', '-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, `http://127.0.0.1:${port}/hello`], { stdio: ['ignore', 'pipe', 'inherit'] })
      let out = ''
      child.stdout.on('data', (chunk) => { out += chunk })
      child.on('exit', (code) => {
        const rps = Number(/Requests\/sec:\s+([0-9.]+)/.exec(out)?.[1])
        if (code !== 0 || !(rps > 0) || /Non-2xx|Socket errors/.test(out)) reject(new Error(`wrk on ${port}: ${out}`))
        else resolve(rps)
      })
    })
  }

  // Direct: the app trusts a proxy that is not wrk (127.0.0.1), on or off alike.
  const directOff = await serve('off', '10.255.255.1')
  const directOn = await serve('on', '10.255.255.1')
  const viaOff = await haproxy(await serve('off', '127.0.0.1'), false)
  const viaOn = await haproxy(await serve('on', '127.0.0.1'), true)
  const contenders = { 'direct, option off': directOff, 'direct, option on (wrk untrusted)': directOn, 'HAProxy tcp, no header': viaOff, 'HAProxy tcp, send-proxy-v2': viaOn }
  const results = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]))
  for (const port of Object.values(contenders)) await wrk(port, 1)
  for (let round = 0; round < rounds; round++) {
    for (const [name, port] of Object.entries(contenders)) results[name].push(await wrk(port))
  }
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2 }
  const pairs = [['direct, option on (wrk untrusted)', 'direct, option off'], ['HAProxy tcp, send-proxy-v2', 'HAProxy tcp, no header']]
  console.log(`PROXY protocol on GET /hello: wrk -t1 -c${CONNECTIONS} -d${SECONDS}s, ${rounds} interleaved rounds, Node ${process.version}`)
  for (const [name, values] of Object.entries(results)) console.log(`  ${name.padEnd(36)} median ${Math.round(median(values))} req/s, range ${Math.round(Math.min(...values))}-${Math.round(Math.max(...values))}`)
  for (const [on, off] of pairs) {
    const ratios = results[on].map((value, i) => value / results[off][i])
    console.log(`  ${on} / ${off}: median ${median(ratios).toFixed(3)}x, range ${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)}`)
  }
  stop()
  process.exit(0)
}
