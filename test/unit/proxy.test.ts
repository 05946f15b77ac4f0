import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { request as httpRequest, Agent, type IncomingHttpHeaders } from 'node:http'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import deployKit from '../../lib/index.js'
import fastifyDeployProxy, { normalizeProxyOptions, type ProxyOptions } from '../../lib/proxy.js'
import { isValidIp, resolveForwarded, compileTrust, trustNone } from '../../lib/proxy/forwarded.js'

interface Vectors {
  xheaders: Array<{ config: string, socket_peer: string, protocol: string | null, trusted_downstream: string[] | null, cases: Array<{ headers: Array<[string, string]>, remote_ip: string, protocol: string }> }>
  is_valid_ip: Array<{ input: string, valid: boolean }>
}
const vectors = JSON.parse(readFileSync(new URL('../fixtures/proxy/tornado-vectors.json', import.meta.url), 'utf8')) as Vectors

// Deliberate deviations (docs/proxy.md): net.isIP refuses inet_aton shorthands
// that Tornado's getaddrinfo accepts; nothing else differs.
const SHORTHANDS = new Set(['127.1', '1', '0', '1.2.3', '4294967295', '0x7f.0.0.1', '010.0.0.1', '01.02.03.04'])

/** Headers as Node presents them: lower-case names, repeated lines joined with ", ". */
function nodeHeaders (pairs: Array<[string, string]>): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of pairs) {
    const key = name.toLowerCase()
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`
  }
  return headers
}

async function echoApp (options: ProxyOptions, fastifyOptions: Record<string, unknown> = {}): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions)
  await app.register(fastifyDeployProxy, options)
  app.get('/who', async (request) => ({ ip: request.ip, ips: request.ips, protocol: request.protocol }))
  return app
}

t.test('Tornado\'s xheaders vectors give the same client address and scheme (trustedProxies "all")', async (t) => {
  for (const config of vectors.xheaders.filter((c) => c.protocol === null)) {
    const app = await echoApp({ xheaders: { trustedProxies: 'all', trustedDownstream: config.trusted_downstream ?? [] } })
    for (const vector of config.cases) {
      const response = await app.inject({ url: '/who', remoteAddress: config.socket_peer, headers: nodeHeaders(vector.headers) })
      const body = response.json()
      const forwardedFor = vector.headers.find(([name]) => name === 'X-Forwarded-For')?.[1]
      const expected = forwardedFor !== undefined && SHORTHANDS.has(vector.remote_ip) ? config.socket_peer : vector.remote_ip
      t.equal(response.statusCode, 200)
      t.same([body.ip, body.protocol], [expected, vector.protocol], `${config.config}: ${JSON.stringify(vector.headers)}`)
    }
    await app.close()
  }
})

t.test('with an https socket the scheme vectors of protocol="https" hold, including the downgrade to http', async (t) => {
  const config = vectors.xheaders.find((c) => c.protocol === 'https')!
  const policy = { trustProxy: compileTrust('all'), trustDownstream: trustNone }
  for (const vector of config.cases) {
    const result = resolveForwarded(config.socket_peer, true, nodeHeaders(vector.headers), policy, true)
    t.equal(result.protocol, vector.protocol, JSON.stringify(vector.headers))
  }
})

t.test('address validity follows Tornado\'s is_valid_ip except for inet_aton shorthands and zone ids', async (t) => {
  for (const { input, valid } of vectors.is_valid_ip) {
    t.equal(isValidIp(input), valid && !SHORTHANDS.has(input), JSON.stringify(input))
  }
  t.equal(isValidIp('fe80::1%lo'), false, 'zone ids are refused even for existing interfaces')
})

t.test('headers from an untrusted peer are ignored: a direct client cannot choose its address or scheme', async (t) => {
  const app = await echoApp({ xheaders: true })
  const response = await app.inject({ url: '/who', remoteAddress: '198.51.100.7', headers: { 'x-real-ip': '1.2.3.4', 'x-forwarded-for': '5.6.7.8', 'x-scheme': 'https' } })
  t.same(response.json(), { ip: '198.51.100.7', ips: ['198.51.100.7'], protocol: 'http' })
})

t.test('by default loopback, private, unique-local and link-local peers (also IPv4-mapped) are trusted', async (t) => {
  const app = await echoApp({ xheaders: true })
  for (const peer of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '10.1.2.3', '172.16.0.9', '192.168.1.1', 'fd00::5', '169.254.1.1', 'fe80::1']) {
    const response = await app.inject({ url: '/who', remoteAddress: peer, headers: { 'x-real-ip': '203.0.113.9' } })
    t.equal(response.json().ip, '203.0.113.9', peer)
  }
})

t.test('request.ips lists the socket peer then each hop walked towards the client', async (t) => {
  const app = await echoApp({ xheaders: { trustedDownstream: ['10.0.0.0/8'] } })
  const response = await app.inject({ url: '/who', headers: { 'x-forwarded-for': '203.0.113.1, 198.51.100.2, 10.9.8.7, 10.0.0.1' } })
  t.same(response.json().ips, ['127.0.0.1', '10.0.0.1', '10.9.8.7', '198.51.100.2'])
  t.equal(response.json().ip, '198.51.100.2', 'trustedDownstream takes CIDRs')
})

t.test('X-Scheme: https from a trusted proxy makes request.protocol https', async (t) => {
  const app = await echoApp({ xheaders: true })
  const response = await app.inject({ url: '/who', headers: { 'x-scheme': 'https' } })
  t.equal(response.json().protocol, 'https')
})

t.test('hostile header values never cause an error; the socket values stay', async (t) => {
  const app = await echoApp({ xheaders: true })
  for (const headers of [{ 'x-forwarded-for': ','.repeat(5000) }, { 'x-real-ip': '\u00ff\u00fe' }, { 'x-forwarded-for': 'a'.repeat(8000) }, { 'x-scheme': 'javascript' }]) {
    const response = await app.inject({ url: '/who', headers })
    t.equal(response.statusCode, 200)
    t.same(response.json(), { ip: '127.0.0.1', ips: ['127.0.0.1'], protocol: 'http' })
  }
})

t.test('hand-built header arrays are joined like repeated lines', async (t) => {
  const headers: IncomingHttpHeaders = { 'x-forwarded-for': ['1.1.1.1', '2.2.2.2'] as unknown as string }
  const result = resolveForwarded('127.0.0.1', false, headers, { trustProxy: compileTrust(['loopback']), trustDownstream: trustNone }, true)
  t.equal(result.ip, '2.2.2.2')
})

t.test('the request log line shows the client address, not the proxy', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const app = await echoApp({ xheaders: true }, { logger: { level: 'info', stream } })
  await app.inject({ url: '/who', headers: { 'x-real-ip': '203.0.113.44' } })
  const incoming = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'incoming request')
  t.equal(incoming.req.remoteAddress, '203.0.113.44')
})

function get (port: number, options: { localAddress?: string, headers?: Record<string, string>, agent?: Agent, socketPath?: string }): Promise<{ ip: string, ips: string[], protocol: string, localPort: number }> {
  return new Promise((resolve, reject) => {
    const target = options.socketPath === undefined ? { host: '127.0.0.1', port } : { socketPath: options.socketPath }
    const req = httpRequest({ ...target, path: '/who', localAddress: options.localAddress, headers: options.headers, agent: options.agent ?? false }, (res) => {
      const localPort = res.socket.localPort as number
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ ...JSON.parse(body), localPort }))
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('over real sockets only the configured proxy address may set the headers', async (t) => {
  const app = await echoApp({ xheaders: { trustedProxies: ['127.0.0.1'] } })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  const spoofed = await get(port, { localAddress: '127.0.0.5', headers: { 'x-real-ip': '203.0.113.5', 'x-forwarded-for': '203.0.113.6' } })
  t.equal(spoofed.ip, '127.0.0.5', 'an untrusted peer is seen as itself')
  const proxied = await get(port, { localAddress: '127.0.0.1', headers: { 'x-real-ip': '203.0.113.5' } })
  t.equal(proxied.ip, '203.0.113.5', 'the trusted proxy passes the client on')
})

t.test('a client bound to 127.0.0.5 behind the default loopback trust is seen by its forwarded address', async (t) => {
  const app = await echoApp({ xheaders: true })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  t.equal((await get(port, { localAddress: '127.0.0.5' })).ip, '127.0.0.5')
  t.equal((await get(port, { localAddress: '127.0.0.5', headers: { 'x-forwarded-for': '198.51.100.1' } })).ip, '198.51.100.1')
})

t.test('on a keep-alive connection each request is judged on its own headers', async (t) => {
  const app = await echoApp({ xheaders: true })
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(async () => { agent.destroy(); await app.close() })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  const first = await get(port, { agent, localAddress: '127.0.0.6', headers: { 'x-real-ip': '203.0.113.7', 'x-scheme': 'https' } })
  const second = await get(port, { agent, localAddress: '127.0.0.6' })
  t.equal(first.localPort, second.localPort, 'the same connection was reused')
  t.same([first.ip, first.protocol], ['203.0.113.7', 'https'])
  t.same([second.ip, second.protocol], ['127.0.0.6', 'http'])
})

t.test('a Unix-socket peer counts as loopback', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fdk-proxy-'))
  const socketPath = join(dir, 'app.sock')
  const trusting = await echoApp({ xheaders: true })
  const strict = await echoApp({ xheaders: { trustedProxies: '10.0.0.0/8' } })
  t.teardown(async () => { await trusting.close(); await strict.close(); rmSync(dir, { recursive: true, force: true }) })
  await trusting.listen({ path: socketPath })
  t.equal((await get(0, { socketPath, headers: { 'x-real-ip': '203.0.113.8' } })).ip, '203.0.113.8')
  await trusting.close()
  await strict.listen({ path: socketPath })
  const untrusted = await get(0, { socketPath, headers: { 'x-real-ip': '203.0.113.8' } })
  t.equal(untrusted.ip, undefined, 'no address, as Fastify reports for Unix sockets')
})

t.test('a connection closed before request.ip is read is not mistaken for a trusted Unix socket', async (t) => {
  const app = Fastify()
  await app.register(fastifyDeployProxy, { xheaders: { trustedProxies: ['127.0.0.1'] } })
  let seen: unknown
  const done = new Promise<void>((resolve) => {
    app.get('/who', (request) => {
      request.raw.socket.destroy()
      setImmediate(() => { seen = [request.ip, request.protocol]; resolve() })
      return new Promise(() => {})
    })
  })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  await t.rejects(get(port, { localAddress: '127.0.0.5', headers: { 'x-real-ip': '203.0.113.99', 'x-scheme': 'https' } }))
  await done
  t.same(seen, [undefined, 'http'], 'neither the spoofed address nor the spoofed scheme')
})

t.test('xheaders off (or false) leaves request.ip alone', async (t) => {
  for (const options of [{}, { xheaders: false }]) {
    const app = await echoApp(options)
    const response = await app.inject({ url: '/who', headers: { 'x-real-ip': '203.0.113.9' } })
    t.equal(response.json().ip, '127.0.0.1')
  }
})

t.test('combining xheaders with Fastify\'s trustProxy is refused with a coded error', async (t) => {
  await t.rejects(echoApp({ xheaders: true }, { trustProxy: true }), { code: 'FDK_PROXY_TRUST_PROXY_CONFLICT', message: /trustProxy/ })
})

t.test('invalid xheaders settings fail at registration and name the setting', async (t) => {
  const cases: Array<[unknown, RegExp, string]> = [
    ['yes', /"xheaders"/, 'FDK_SETTINGS_INVALID'],
    [[], /"xheaders"/, 'FDK_SETTINGS_INVALID'],
    [{ trustedProxies: ['not-an-ip'] }, /"xheaders.trustedProxies".*not-an-ip/, 'FDK_SETTINGS_INVALID'],
    [{ trustedProxies: 5 }, /"xheaders.trustedProxies"/, 'FDK_SETTINGS_INVALID'],
    [{ trustedProxies: ['10.0.0.0/99'] }, /"xheaders.trustedProxies"/, 'FDK_SETTINGS_INVALID'],
    [{ trustedDownstream: 'all' }, /"xheaders.trustedDownstream"/, 'FDK_SETTINGS_INVALID'],
    [{ trusted_proxies: ['127.0.0.1'] }, /did you mean "trustedProxies"/, 'FDK_SETTINGS_UNKNOWN']
  ]
  for (const [xheaders, message, code] of cases) {
    await t.rejects(echoApp({ xheaders } as ProxyOptions), { code, message }, JSON.stringify(xheaders))
  }
})

t.test('normalizeProxyOptions never changes the caller\'s object', async (t) => {
  const xheaders = Object.freeze({ trustedProxies: Object.freeze(['127.0.0.1']) as unknown as string[] })
  const options = Object.freeze({ xheaders })
  t.not(normalizeProxyOptions(options), false)
  t.same(options, { xheaders: { trustedProxies: ['127.0.0.1'] } })
})

t.test('the umbrella registers xheaders from the settings, before the other parts', async (t) => {
  const app = Fastify()
  await app.register(deployKit, { xheaders: { trustedProxies: 'loopback' } })
  app.get('/who', async (request) => ({ ip: request.ip, protocol: request.protocol }))
  const response = await app.inject({ url: '/who', headers: { 'x-forwarded-for': '203.0.113.10', 'x-forwarded-proto': 'https' } })
  t.same(response.json(), { ip: '203.0.113.10', protocol: 'https' })
})

t.test('a signed cookie is Secure when a trusted proxy says the client used https, and not when a direct client claims it', async (t) => {
  const app = Fastify()
  await app.register(deployKit, { xheaders: true, cookieSecret: 'a-test-secret-that-is-long-enough-for-the-check' })
  app.get('/login', async (request, reply) => { reply.setSignedCookie('user', 'ada'); return 'ok' })
  const proxied = await app.inject({ url: '/login', remoteAddress: '10.0.0.2', headers: { 'x-scheme': 'https' } })
  t.match(proxied.headers['set-cookie'], /; Secure/)
  const direct = await app.inject({ url: '/login', remoteAddress: '198.51.100.3', headers: { 'x-scheme': 'https' } })
  t.notMatch(direct.headers['set-cookie'], /Secure/)
})
