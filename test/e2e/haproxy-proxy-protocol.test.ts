// The PROXY protocol end to end through the real HAProxy (`deploy-kit
// haproxy --send-proxy v2`): in HTTP mode, and in TCP mode with TLS passed
// through to the app (`--tcp`), the app's request.ip is the client's
// (127.0.0.2; HAProxy itself connects from 127.0.0.1) and request.protocol
// the scheme the client used, whatever headers the client sends; HAProxy's
// health checks (LOCAL headers) keep the app up; a direct connection from
// the trusted proxy address without a header is refused.
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect } from 'node:net'
import { request as httpsRequest } from 'node:https'
import proxy from '../../lib/proxy.js'
import { main } from '../../lib/cli/main.js'
import { HAPROXY, freePort, need, startProcess, tempDir, waitForPort } from '../helpers/tools.js'
import { get } from '../helpers/launcher.js'

const fixtures = new URL('../fixtures/deploy/', import.meta.url)
const cert = readFileSync(new URL('tls-cert.pem', fixtures))
const key = readFileSync(new URL('tls-key.pem', fixtures))
const SPOOF = { 'X-Real-IP': '203.0.113.9', 'X-Forwarded-For': '203.0.113.9', 'X-Scheme': 'https' }

/** HAProxy's HTTP health checks (Host: localhost) seen by the app, with the address it read. */
const checks: string[] = []

async function app (t: Test, https: boolean): Promise<number> {
  // One type for both: the https and http instances differ only in their server.
  const server = (https ? Fastify({ https: { cert, key } }) : Fastify()) as unknown as FastifyInstance
  await server.register(proxy, { xheaders: { proxyProtocol: true, trustedProxies: ['127.0.0.1'] } })
  server.get('/who', async (request) => {
    if (request.headers.host === 'localhost') checks.push(request.ip)
    return { ip: request.ip, protocol: request.protocol }
  })
  await server.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => server.close())
  return (server.server.address() as { port: number }).port
}

async function haproxy (t: Test, args: string[]): Promise<{ port: number, output: () => string }> {
  const port = await freePort()
  let config = ''
  t.equal(await main(['haproxy', '--listen', `127.0.0.1:${port}`, ...args], { stdout: (text) => { config += text }, stderr: (text) => { t.comment(text) } }), 0)
  const file = join(tempDir(t, 'haproxy-pp'), 'haproxy.cfg')
  writeFileSync(file, config)
  const child = startProcess(t, HAPROXY, ['-db', '-f', file])
  await waitForPort(port, '127.0.0.1', child)
  return { port, output: child.output }
}

/** Resolves once the connection closes; true when the server closed it without a byte. */
function refusedWithoutAnswer (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => socket.write('GET /who HTTP/1.1\r\nHost: app\r\n\r\n'))
    let answered = false
    socket.on('data', () => { answered = true })
    socket.on('error', () => {})
    socket.on('close', () => resolve(!answered))
  })
}

if (need(t, HAPROXY, 'haproxy')) {
  t.test('HTTP mode with send-proxy-v2: the app reads the client from the PROXY header', async (t) => {
    const appPort = await app(t, false)
    const balancer = await haproxy(t, ['--upstream', `127.0.0.1:${appPort}`, '--send-proxy', 'v2', '--health', '/who'])
    for (let i = 0; i < 3; i++) {
      const response = await get(balancer.port, '/who', { localAddress: '127.0.0.2', headers: SPOOF })
      t.equal(response.status, 200, 'served through HAProxy', { haproxy: balancer.output() })
      t.same(JSON.parse(response.body), { ip: '127.0.0.2', protocol: 'http' })
    }
    for (let i = 0; i < 200 && checks.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    t.equal(checks[0], '127.0.0.1', 'a health check (LOCAL header) reached the route: HAProxy itself is the peer', { haproxy: balancer.output() })
    t.ok(await refusedWithoutAnswer(appPort), 'the trusted proxy address without a header is refused')
  })

  t.test('TCP mode, TLS passed through to the app: request.ip from the PROXY header, request.protocol https', async (t) => {
    const appPort = await app(t, true)
    const balancer = await haproxy(t, ['--upstream', `127.0.0.1:${appPort}`, '--tcp', '--send-proxy', 'v2'])
    for (let i = 0; i < 3; i++) {
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port: balancer.port, path: '/who', ca: cert, localAddress: '127.0.0.2', agent: false, headers: SPOOF, timeout: 10_000 }, (res) => {
          let text = ''
          res.on('data', (chunk: Buffer) => { text += chunk.toString() })
          res.on('end', () => resolve(text))
        })
        req.on('timeout', () => req.destroy(new Error('no answer through HAProxy within 10 s')))
        req.on('error', reject)
        req.end()
      })
      t.same(JSON.parse(body), { ip: '127.0.0.2', protocol: 'https' }, 'the TLS session ends at the app, the address comes from HAProxy', { haproxy: balancer.output() })
    }
  })
}
