// xheaders.proxyProtocol on a real listener (loopback sockets): a trusted
// proxy's PROXY header (v1 or v2, in one piece or byte by byte) sets
// request.ip for every request of the connection, also under TLS the app
// terminates itself (TLS passthrough at the balancer); a trusted peer without
// a header, an untrusted peer with one, an invalid header and a silent
// connection are closed before HTTP sees them; untrusted direct clients are
// served as before.
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { connect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { readFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import proxy from '../../lib/proxy.js'
import { acceptProxyProtocol } from '../../lib/proxy/proxy-protocol.js'

const SIG = Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1')
/** v2 PROXY TCP4 from 198.51.100.4:5555 to 127.0.0.1:80. */
const V2 = Buffer.concat([SIG, Buffer.from([0x21, 0x11, 0, 12, 198, 51, 100, 4, 127, 0, 0, 1, 0x15, 0xb3, 0, 80])])
const V2_LOCAL = Buffer.concat([SIG, Buffer.from([0x20, 0x00, 0, 0])])
const V1 = Buffer.from('PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\n')
const GET = 'GET /who HTTP/1.1\r\nHost: app\r\nX-Real-IP: 192.0.2.66\r\nX-Scheme: https\r\n\r\n'

async function start (t: Test, xheaders: object, https?: { cert: Buffer, key: Buffer }): Promise<{ app: FastifyInstance, port: number, warnings: string[] }> {
  const warnings: string[] = []
  const app = Fastify({
    ...(https === undefined ? {} : { https }),
    logger: { level: 'warn', stream: { write: (line: string) => { warnings.push(line) } } }
  })
  await app.register(proxy, { xheaders })
  app.get('/who', async (request) => ({ ip: request.ip, protocol: request.protocol }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { app, port: (app.server.address() as { port: number }).port, warnings }
}

/** Writes `chunks` (one write each), then reads until the server closes or `expect` answers have arrived. */
function exchange (port: number, chunks: Array<string | Buffer>, options: { localAddress?: string, expect?: number } = {}): Promise<{ bodies: Array<{ ip: string, protocol: string }>, closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: options.localAddress })
    let text = ''
    const bodies = (): Array<{ ip: string, protocol: string }> => [...text.matchAll(/\r\n\r\n(\{[^}]*\})/g)].map((m) => JSON.parse(m[1]!))
    socket.on('data', (data: Buffer) => {
      text += data.toString()
      if (options.expect !== undefined && bodies().length >= options.expect) { socket.destroy(); resolve({ bodies: bodies(), closedByServer: false }) }
    })
    socket.on('close', () => resolve({ bodies: bodies(), closedByServer: true }))
    socket.on('error', (error: NodeJS.ErrnoException) => { if (error.code !== 'ECONNRESET') reject(error) })
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')))
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        await new Promise((resolve) => socket.write(chunk, resolve))
        await new Promise((resolve) => setImmediate(resolve))
      }
    })
  })
}

t.test('a trusted proxy\'s v2 and v1 headers set request.ip for every request of the connection', async (t) => {
  const { port } = await start(t, { proxyProtocol: true, trustedProxies: ['127.0.0.1'] })
  const v2 = await exchange(port, [Buffer.concat([V2, Buffer.from(GET + GET)])], { expect: 2 })
  t.same(v2.bodies, [{ ip: '198.51.100.4', protocol: 'http' }, { ip: '198.51.100.4', protocol: 'http' }],
    'the header\'s source, not the client\'s X-Real-IP / X-Scheme (198.51.100.4 is not a trusted proxy)')
  const v1 = await exchange(port, [V1, GET], { expect: 1 })
  t.same(v1.bodies, [{ ip: '203.0.113.7', protocol: 'http' }])
  const split = await exchange(port, [...V2].map((byte) => Buffer.from([byte])).concat([Buffer.from(GET)]), { expect: 1 })
  t.same(split.bodies, [{ ip: '198.51.100.4', protocol: 'http' }], 'a header arriving byte by byte')
  const local = await exchange(port, [V2_LOCAL, GET], { expect: 1 })
  t.same(local.bodies, [{ ip: '192.0.2.66', protocol: 'https' }], 'LOCAL (a health check): the proxy itself is the peer, its headers count')
})

t.test('a proxy header from a trusted client address is believed in turn; with proxyProtocol off the header is not read', async (t) => {
  const { port } = await start(t, { proxyProtocol: true, trustedProxies: ['127.0.0.1', '10.0.0.0/8'] })
  const header = Buffer.from('PROXY TCP4 10.1.2.3 127.0.0.1 5555 80\r\n')
  t.same((await exchange(port, [header, GET], { expect: 1 })).bodies, [{ ip: '192.0.2.66', protocol: 'https' }], 'a trusted nginx behind the TCP balancer')
  const off = await start(t, { trustedProxies: ['127.0.0.1'] })
  t.same((await exchange(off.port, [GET], { expect: 1 })).bodies, [{ ip: '192.0.2.66', protocol: 'https' }], 'without the option nothing changes')
})

t.test('refused before HTTP: a trusted peer without a header, an untrusted one with a header, an invalid header', async (t) => {
  const { port, warnings } = await start(t, { proxyProtocol: true, trustedProxies: ['127.0.0.1'] })
  const missing = await exchange(port, [GET])
  t.same(missing, { bodies: [], closedByServer: true }, 'a trusted proxy must send a header')
  t.match(warnings.join(''), /trusted proxy connected without a PROXY header/, 'and that is logged as a misconfiguration')
  const spoofed = await exchange(port, [V1, GET], { localAddress: '127.0.0.2' })
  t.same(spoofed, { bodies: [], closedByServer: true }, 'a client cannot claim an address with its own header')
  const direct = await exchange(port, [GET], { localAddress: '127.0.0.2', expect: 1 })
  t.same(direct.bodies, [{ ip: '127.0.0.2', protocol: 'http' }], 'a direct client without a header is served, its X-Real-IP ignored')
  const broken = await exchange(port, ['PROXY TCP4 1.2.3.4 5.6.7.8 99999 80\r\n', GET])
  t.same(broken, { bodies: [], closedByServer: true }, 'an invalid header')
  t.equal(warnings.filter((line) => line.includes('127.0.0.2')).length, 0, 'untrusted peers do not fill the log at warn')
})

t.test('through TLS the app terminates itself, the header comes first and request.protocol is https', async (t) => {
  const fixtures = new URL('../fixtures/deploy/', import.meta.url)
  const cert = readFileSync(new URL('tls-cert.pem', fixtures))
  const { port } = await start(t, { proxyProtocol: true, trustedProxies: ['127.0.0.1'] }, { cert, key: readFileSync(new URL('tls-key.pem', fixtures)) })
  const body = await new Promise<string>((resolve, reject) => {
    const raw: Socket = connect({ port, host: '127.0.0.1' }, () => {
      raw.write(V2)
      const secure = tlsConnect({ socket: raw, ca: cert, servername: '127.0.0.1' }, () => secure.write(GET.replace('HTTP/1.1', 'HTTP/1.0')))
      let text = ''
      secure.on('data', (data: Buffer) => { text += data.toString() })
      secure.on('end', () => resolve(text))
      secure.on('error', reject)
    })
    raw.on('error', reject)
  })
  t.same(JSON.parse(body.slice(body.indexOf('\r\n\r\n') + 4)), { ip: '198.51.100.4', protocol: 'https' })
})

t.test('a connection that decides nothing in time is closed; one closed early leaves nothing behind', async (t) => {
  const server = createHttpServer((request, response) => response.end('served'))
  const refused: string[] = []
  acceptProxyProtocol(server, { trusted: () => true, refused: (peer, reason) => refused.push(reason), timeoutMs: 100 })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const port = (server.address() as { port: number }).port
  // Two peers that leave before deciding: their timers must not fire later.
  await new Promise<void>((resolve) => { const s = connect(port, '127.0.0.1', () => s.end()); s.on('close', () => resolve()) })
  const errored = connect(port, '127.0.0.1', () => { errored.resetAndDestroy() })
  await new Promise((resolve) => errored.on('close', resolve))
  const silent = await exchange(port, ['PRO'])
  t.same(silent, { bodies: [], closedByServer: true })
  t.same(refused, ['no PROXY header decided in time'], 'only the silent one is refused, not the peers that left')
  const ok = await exchange(port, [V1, 'GET / HTTP/1.0\r\n\r\n'])
  t.match(ok, { closedByServer: true })
})

t.test('xheaders.proxyProtocol must be a boolean', async (t) => {
  const app = Fastify()
  await t.rejects(async () => { await app.register(proxy, { xheaders: { proxyProtocol: 'yes' } as never }) }, { code: 'FDK_SETTINGS_INVALID', message: /xheaders\.proxyProtocol/ })
})
