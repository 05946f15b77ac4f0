// A server facing clients directly (issue 14): the header, body and idle
// timeouts launch() turns on, the 408s, and the app's own Fastify options
// winning. Real loopback sockets against launch() in this process (so the
// code counts for coverage), with short bounds; one test checks that the
// defaults are the documented ones.
import t from 'tap'
import net from 'node:net'
import http from 'node:http'
import http2 from 'node:http2'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import Fastify, { type FastifyInstance } from 'fastify'
import { launch, normalizeClusterOptions, type ClusterOptions } from '../../lib/cluster.js'
import { CLIENT_LIMIT_DEFAULTS, LINGERING_TIMEOUT_MS, checkingIntervalMs, lingeringClose } from '../../lib/cluster/client-limits.js'

const quiet = { info: () => {}, warn: () => {}, error: () => {} }

function app (): FastifyInstance {
  const fastify = Fastify()
  fastify.get('/', async () => ({ ok: true }))
  fastify.post('/echo', async (request) => ({ got: request.body }))
  fastify.post('/slow', async () => {
    await new Promise((resolve) => setTimeout(resolve, 800))
    return { slow: true }
  })
  // A parser that leaves the body unread, and a route that answers before reading it.
  fastify.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload))
  fastify.post('/unread', async () => ({ unread: true }))
  fastify.post('/wait', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1000))
    return { waited: true }
  })
  return fastify
}

async function start (t: { teardown: (fn: () => unknown) => void }, options: ClusterOptions, build: () => FastifyInstance = app): Promise<{ port: number, server: FastifyInstance }> {
  let built: FastifyInstance | undefined
  const handle = await launch(() => (built = build()), { port: 0, host: '127.0.0.1', logger: quiet, ...options })
  t.teardown(() => handle.close())
  return { port: handle.workers()[0]!.port, server: built! }
}

interface Raw { data: string, closedAfterMs: number }

/** Writes `head` on a raw connection, then waits (bounded) until the server closes it. */
function rawExchange (port: number, head: string, limitMs = 10_000): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head))
    let data = ''
    socket.on('data', (chunk: Buffer) => { data += chunk.toString('latin1') })
    socket.on('error', () => {})
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`still open after ${limitMs} ms; received ${JSON.stringify(data)}`))
    }, limitMs)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve({ data, closedAfterMs: Date.now() - started })
    })
  })
}

function statusOf (data: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1])
}

t.test('the defaults are the documented ones: nginx 60 s header and body timeouts, a 620 s idle timeout, a 1 MiB body limit', async (t) => {
  t.same(normalizeClusterOptions().clientLimits, {
    clientHeaderTimeoutMs: 60_000,
    clientBodyTimeoutMs: 60_000,
    idleConnectionTimeoutMs: 620_000,
    maxBodySize: 1_048_576
  })
  const docs = readFileSync(new URL('../../docs/cluster.md', import.meta.url), 'utf8')
  for (const [name, value] of Object.entries(CLIENT_LIMIT_DEFAULTS)) {
    t.match(docs, new RegExp(`\\| \`${name}\` \\| \`${value}\` \\|`), `docs/cluster.md states ${name} = ${value}`)
  }
  const { port, server } = await start(t, {})
  t.equal(server.server.headersTimeout, 60_000, 'Node checks the request head against 60 s')
  t.equal(server.server.keepAliveTimeout, 620_000)
  t.equal((server.server as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval, 1000, 'checked every second, not Node\'s 30 s')
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent: new http.Agent({ keepAlive: true }) }, resolve).on('error', reject)
  })
  response.resume()
  t.equal(response.headers['keep-alive'], 'timeout=620', 'clients are told the idle timeout')
  response.socket.destroy()
})

t.test('the checking interval is a tenth of the header timeout, within 10 ms and 1 s', async (t) => {
  t.equal(checkingIntervalMs(60_000), 1000)
  t.equal(checkingIntervalMs(2000), 200)
  t.equal(checkingIntervalMs(20), 10)
})

t.test('a connection stalled mid-headers gets 408 and is closed within clientHeaderTimeoutMs', async (t) => {
  const bound = 500
  const { port } = await start(t, { clientHeaderTimeoutMs: bound })
  const stalled = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: localhost\r\nX-Half: ')
  t.equal(statusOf(stalled.data), 408, 'a 408, not a silent close or a 400')
  t.ok(stalled.closedAfterMs >= bound - 20, `not cut before the bound (${stalled.closedAfterMs} ms)`)
  t.ok(stalled.closedAfterMs < bound + checkingIntervalMs(bound) + 2000, `cut within the bound plus the check interval (${stalled.closedAfterMs} ms)`)
  t.comment(`stalled headers cut after ${stalled.closedAfterMs} ms (bound ${bound} ms)`)
  const silent = await rawExchange(port, '')
  t.equal(statusOf(silent.data), 408, 'a connection that sends nothing is cut the same way')
})

t.test('a body that stops arriving gets Fastify\'s 408 (through the app\'s error handler) and the connection is closed', async (t) => {
  const bound = 500
  const { port } = await start(t, { clientBodyTimeoutMs: bound })
  const stalled = await rawExchange(port, 'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":')
  t.equal(statusOf(stalled.data), 408)
  t.match(stalled.data, /"code":"FDK_CLUSTER_BODY_TIMEOUT"/)
  t.match(stalled.data, /connection: close/i)
  t.ok(stalled.closedAfterMs >= bound - 20 && stalled.closedAfterMs < bound + 2000, `cut after ${stalled.closedAfterMs} ms (bound ${bound} ms)`)
  t.comment(`stalled body cut after ${stalled.closedAfterMs} ms (bound ${bound} ms)`)
})

t.test('a stalled body nobody reads yet gets the kit\'s own 408; one still due after the response is cut', async (t) => {
  const bound = 300
  const { port } = await start(t, { clientBodyTimeoutMs: bound })
  const waiting = await rawExchange(port, 'POST /wait HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nContent-Length: 10\r\n\r\nab')
  t.equal(statusOf(waiting.data), 408, 'the handler had not read the body yet: the kit answers')
  t.ok(waiting.closedAfterMs < bound + 2000, `closed after ${waiting.closedAfterMs} ms`)
  const whole = await rawExchange(port, 'POST /wait HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab')
  t.equal(statusOf(whole.data), 200, 'a whole body left unread while the handler takes longer than the bound is not cut')
  const unread = await rawExchange(port, 'POST /unread HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nContent-Length: 10\r\n\r\nab')
  t.equal(statusOf(unread.data), 200, 'the app answered without reading')
  t.ok(unread.closedAfterMs < bound + 2000, `the rest of the body never came: cut after ${unread.closedAfterMs} ms, not after the idle timeout`)
})

t.test('a body that keeps arriving slower than the bound in total is not cut, nor is a slow handler', async (t) => {
  const bound = 400
  const { port } = await start(t, { clientBodyTimeoutMs: bound })
  const body = '{"chunks":"' + 'x'.repeat(8) + '"}'
  const result = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    let data = ''
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString()
      if (data.includes('\r\n\r\n') && data.endsWith('}')) { socket.end(); resolve(data) }
    })
    socket.on('error', reject)
    socket.write(`POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`)
    let i = 0
    // 21 pauses of 100 ms: 2.1 s in all, five times the bound, never one pause over it.
    const timer = setInterval(() => {
      socket.write(body[i++]!)
      if (i === body.length) clearInterval(timer)
    }, 100)
  })
  t.equal(statusOf(result), 200, 'every pause was under the bound')
  const slow = await rawExchange(port, 'POST /slow HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}')
  t.equal(statusOf(slow.data), 200, 'a handler slower than the bound is not a slow client')
})

t.test('an idle keep-alive connection is closed after idleConnectionTimeoutMs', async (t) => {
  const { port } = await start(t, { idleConnectionTimeoutMs: 300 })
  const idle = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')
  t.equal(statusOf(idle.data), 200)
  t.match(idle.data, /keep-alive: timeout=0/i)
  // Node adds a second to what it advertises, against the race with the client's next request.
  t.ok(idle.closedAfterMs >= 300 && idle.closedAfterMs < 300 + 1000 + 2000, `closed after ${idle.closedAfterMs} ms idle`)
})

t.test('an app\'s own Fastify timeouts win over the kit\'s defaults', async (t) => {
  const { port, server } = await start(t, {}, () => {
    const fastify = Fastify({ http: { headersTimeout: 5000, connectionsCheckingInterval: 2000 }, keepAliveTimeout: 4000, connectionTimeout: 3000 })
    fastify.get('/', async () => 'ok')
    return fastify
  })
  t.equal(server.server.headersTimeout, 5000, 'the app\'s header timeout (Fastify\'s http options)')
  t.equal(server.server.keepAliveTimeout, 4000)
  t.equal(server.server.timeout, 3000)
  t.equal((server.server as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval, 2000, 'the app\'s checking interval')
  t.ok(port > 0)
})

t.test('an HTTP/2 app is served as it is: the HTTP/1 limits do not apply to it', async (t) => {
  const { port, server } = await start(t, {}, () => {
    const fastify = Fastify({ http2: true }) as unknown as FastifyInstance
    fastify.post('/echo', async (request) => ({ got: request.body }))
    return fastify
  })
  t.equal((server.server as { headersTimeout?: number }).headersTimeout, undefined)
  const session = http2.connect(`http://127.0.0.1:${port}`)
  t.teardown(() => session.close())
  const stream = session.request({ ':method': 'POST', ':path': '/echo', 'content-type': 'application/json' })
  stream.end('{"a":1}')
  let body = ''
  stream.on('data', (chunk: Buffer) => { body += chunk.toString() })
  const [headers] = await once(stream, 'response') as [http2.IncomingHttpHeaders]
  await once(stream, 'end')
  t.equal(headers[':status'], 200)
  t.same(JSON.parse(body), { got: { a: 1 } })
})

t.test('timeouts set to 0 are off', async (t) => {
  const { port, server } = await start(t, { clientHeaderTimeoutMs: 0, clientBodyTimeoutMs: 0 })
  t.equal(server.server.headersTimeout, 0)
  const posted = await rawExchange(port, 'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}')
  t.equal(statusOf(posted.data), 200)
})

t.test('a chunked body (no Content-Length) passes the gate and is served', async (t) => {
  const { port } = await start(t, { maxBodySize: 1000 })
  const chunked = await rawExchange(port, 'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n')
  t.equal(statusOf(chunked.data), 200)
})

t.test('the lingering close also ends at its total time and at its byte bound while the client keeps sending', async (t) => {
  // The idle bound is sampled every idleMs in this same process as the
  // client: a stall of the event loop longer than idleMs (a loaded machine)
  // runs the check before the bytes sent meanwhile are read, and the trickle
  // is cut as idle. 500 ms keeps the idle cut out of this test's way.
  const bounds = { timeMs: 1500, idleMs: 500, maxBytes: 256 * 1024 }
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.resume()
    lingeringClose(socket, bounds)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const port = (server.address() as net.AddressInfo).port
  const keepSending = (chunk: Buffer, everyMs: number): Promise<number> => new Promise((resolve) => {
    const started = Date.now()
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    const timer = setInterval(() => { if (socket.writable) socket.write(chunk) }, everyMs)
    socket.on('error', () => {})
    socket.on('close', () => { clearInterval(timer); resolve(Date.now() - started) })
    // A write after the server closed gets a reset: that is how this side learns it.
    setTimeout(() => { clearInterval(timer); socket.destroy() }, 10_000)
  })
  const slow = await keepSending(Buffer.alloc(10, 1), 20)
  t.ok(slow >= bounds.timeMs - 50 && slow < 5000, `a trickle is cut at the total time (${slow} ms)`)
  const flood = await keepSending(Buffer.alloc(64 * 1024, 1), 5)
  t.ok(flood < bounds.timeMs + 200, `a flood is cut at the byte bound, before the total time (${flood} ms)`)
})

t.test('invalid limits are refused naming the option', async (t) => {
  for (const [name, value] of [['clientHeaderTimeoutMs', -1], ['clientBodyTimeoutMs', 1.5], ['idleConnectionTimeoutMs', 0], ['maxBodySize', 0], ['maxBodySize', '1M']] as const) {
    t.throws(() => normalizeClusterOptions({ [name]: value } as never), { code: 'FDK_CLUSTER_OPTION_INVALID', message: new RegExp(`"${name}"`) })
  }
})

t.test('Expect: 100-continue over maxBodySize is answered 413 before the body is sent; under it, 100 Continue', async (t) => {
  const { port } = await start(t, { maxBodySize: 1000 })
  const refused = await new Promise<{ data: string, continued: boolean }>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write('POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n')
    })
    let data = ''
    socket.on('data', (chunk: Buffer) => { data += chunk.toString() })
    socket.on('error', reject)
    // Nothing of the body is ever sent: the answer must come without it.
    socket.on('end', () => { socket.end(); resolve({ data, continued: data.includes('100 Continue') }) })
  })
  t.equal(statusOf(refused.data), 413)
  t.notOk(refused.continued, 'no 100 Continue, so the client never sends the body')
  t.match(refused.data, /"code":"FDK_CLUSTER_BODY_TOO_LARGE"/)
  const accepted = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write('POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n')
    })
    let data = ''
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString()
      if (data === 'HTTP/1.1 100 Continue\r\n\r\n') socket.write('{}')
    })
    socket.on('error', reject)
    socket.on('end', () => resolve(data))
  })
  t.match(accepted, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /)
})

t.test('after a 413 the server reads and discards for a bounded time: a client that neither sends nor closes is cut after LINGERING_TIMEOUT_MS', async (t) => {
  const { port, server } = await start(t, { maxBodySize: 1000 })
  // allowHalfOpen: this client keeps its side open after the server's FIN, as a slow uploader would.
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
  t.teardown(() => socket.destroy())
  socket.on('error', () => {})
  let data = ''
  socket.on('data', (chunk: Buffer) => { data += chunk.toString() })
  socket.write('POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n' + 'x'.repeat(2000))
  await once(socket, 'end')
  const finAt = Date.now()
  t.equal(statusOf(data), 413, 'the client read its 413, then the server half-closed')
  const open = (): Promise<number> => new Promise((resolve) => server.server.getConnections((_error, count) => resolve(count)))
  for (let i = 0; i < 200 && await open() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 100))
  const lingeredMs = Date.now() - finAt
  t.equal(await open(), 0, 'the server closed its side')
  t.ok(lingeredMs >= LINGERING_TIMEOUT_MS - 100, `after reading for a while (${lingeredMs} ms)`)
  t.ok(lingeredMs < 2 * LINGERING_TIMEOUT_MS + 3000, `and no longer than its bound (${lingeredMs} ms)`)
})
