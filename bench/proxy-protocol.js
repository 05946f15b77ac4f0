// The cost of xheaders.proxyProtocol on GET /hello, with the method of
// bench/harness.js (every contender up at once; the apps pinned to CPU 0,
// wrk and HAProxy to CPU 1; responses checked before timing; each case's
// two sides back to back in every round). Two ways in:
// - direct: wrk's keep-alive connections straight to the app; wrk is not a
//   trusted proxy, so with the option on every connection is inspected for a
//   header and then served as before;
// - HAProxy TCP mode (`deploy-kit haproxy --tcp`), with and without
//   `--send-proxy v2`: every connection through the balancer starts with a
//   v2 header the app decodes.
// `npm run build && node bench/proxy-protocol.js`; needs wrk, haproxy and taskset.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { compareCases, fetchOnce, pinned, serveUntilStdinEnds, startServer, stopServer } from './harness.js'

async function serve (mode, trusted) {
  // One app process, xheaders trusting `trusted`, with or without the PROXY protocol.
  const { default: Fastify } = await import('fastify')
  const { default: proxy } = await import('../dist/proxy.js')
  const app = Fastify({ logger: false })
  await app.register(proxy, { xheaders: { proxyProtocol: mode === 'on', trustedProxies: [trusted] } })
  app.get('/hello', (request) => ({ hello: 'world', ip: request.ip }))
  await serveUntilStdinEnds(app)
}

const freePort = () => new Promise((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)) })
})

/** HAProxy in TCP mode in front of `app`, from `deploy-kit haproxy --tcp`, on CPU 1 beside wrk. */
async function haproxy (name, app, sendProxy, dir) {
  const port = await freePort()
  const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
  let config = execFileSync(process.execPath, [cli, 'haproxy', '--upstream', `127.0.0.1:${app.port}`, '--listen', `127.0.0.1:${port}`, '--tcp', '--send-proxy', 'v2'], { encoding: 'utf8' })
  if (!sendProxy) config = config.replace(/ send-proxy-v2 check-send-proxy/, '')
  const file = join(dir, `${port}.cfg`)
  writeFileSync(file, config)
  const command = pinned(1, ['/usr/sbin/haproxy', '-db', '-f', file])
  const child = spawn(command[0], command.slice(1), { stdio: 'ignore' })
  const server = { name, port, child, cpuPid: app.child.pid }
  // Bounded: 100 tries 100 ms apart for the balancer to pass a request through.
  for (let i = 0; i < 100; i++) {
    const answered = await fetchOnce(port, { method: 'GET', path: '/hello', headers: {} }).then((r) => r.status === 200, () => false)
    if (answered) return server
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await stopServer(server)
  throw new Error(`haproxy in front of ${app.name} did not pass a request in 10 s`)
}

async function main () {
  const script = fileURLToPath(import.meta.url)
  const dir = mkdtempSync(join(tmpdir(), 'fdk-bench-haproxy-'))
  const servers = []
  const add = (server) => { servers.push(server); return server }
  try {
    // Direct: the app trusts a proxy that is not wrk (10.255.255.1), on or off alike.
    const directOff = add(await startServer('direct, off', script, ['off', '10.255.255.1']))
    const directOn = add(await startServer('direct, on', script, ['on', '10.255.255.1']))
    const viaOff = add(await haproxy('HAProxy, no header', add(await startServer('app behind HAProxy, off', script, ['off', '127.0.0.1'])), false, dir))
    const viaOn = add(await haproxy('HAProxy, send-proxy-v2', add(await startServer('app behind HAProxy, on', script, ['on', '127.0.0.1'])), true, dir))
    // Without a header the app sees HAProxy's address (127.0.0.1); with one, the client's (wrk's, also 127.0.0.1).
    const hello = { method: 'GET', path: '/hello', headers: {}, expect: { encoding: 'identity', body: Buffer.from('{"hello":"world","ip":"127.0.0.1"}') } }
    await compareCases([
      { label: 'direct: proxyProtocol on (wrk untrusted) vs off', contender: directOn, baseline: directOff, load: hello, target: 0.98 },
      { label: 'HAProxy tcp: send-proxy-v2 (app decodes it) vs no header (option off)', contender: viaOn, baseline: viaOff, load: hello, target: 0.98 }
    ])
  } finally {
    await Promise.all(servers.reverse().map(stopServer))
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[2] === 'serve') await serve(process.argv[3], process.argv[4])
else await main()
