import t from 'tap'
import http from 'node:http'
import net from 'node:net'
import { EventEmitter, once } from 'node:events'
import Fastify from 'fastify'
import { launch, taskId } from '../../lib/cluster.js'
import { AppServer, IDLE_GRACE_MS } from '../../lib/cluster/server.js'
import { WAIT_MS, within } from '../helpers/wait.js'

const quiet = { info: () => {}, warn: () => {}, error: () => {} }

/** Emits the path of a slow request once its handler runs: the test then knows it is in flight. */
const arrivals = new EventEmitter()

function request (port: number, path: string, agent: http.Agent | false = false): Promise<{ status: number, connection: string | undefined, body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent }, (response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => { body += chunk.toString() })
      response.on('end', () => resolve({ status: response.statusCode!, connection: response.headers.connection, body }))
    }).on('error', reject)
  })
}

function slowApp (): ReturnType<typeof Fastify> {
  const app = Fastify()
  let builds = (globalThis as { builds?: number }).builds ?? 0
  ;(globalThis as { builds?: number }).builds = ++builds
  app.get('/', async () => ({ build: builds, taskId: taskId() }))
  app.get('/slow', async () => {
    arrivals.emit('/slow')
    await new Promise((resolve) => setTimeout(resolve, 300))
    return { build: builds }
  })
  return app
}

t.test('processes: 1 serves in-process as task 0; reload() swaps in a freshly built app; close() drains', async (t) => {
  const handle = await launch(slowApp, { port: 0, host: '127.0.0.1', logger: quiet })
  t.teardown(() => handle.close())
  t.equal(handle.role, 'single')
  const [me] = handle.workers()
  t.same(me, { taskId: 0, pid: process.pid, port: me!.port, state: 'ready' })
  const first = JSON.parse((await request(me!.port, '/')).body)
  t.equal(first.taskId, 0, 'taskId() is 0 in the single process')
  const arrived = once(arrivals, '/slow')
  const slow = request(me!.port, '/slow')
  await arrived
  await handle.reload()
  t.equal((await slow).status, 200, 'a request in flight during the reload completes')
  const second = JSON.parse((await request(me!.port, '/')).body)
  t.equal(second.build, first.build + 1, 'the new app answers on the same port')
  await handle.close()
  t.equal(handle.workers()[0]!.state, 'draining')
  await t.rejects(request(me!.port, '/'), { code: 'ECONNREFUSED' })
  const builds = (globalThis as { builds?: number }).builds
  await handle.reload()
  t.equal((globalThis as { builds?: number }).builds, builds, 'reload after close builds no new app')
  await t.rejects(request(me!.port, '/'), { code: 'ECONNREFUSED' }, 'and nothing listens again')
})

t.test('a reload whose buildApp throws keeps the old app serving', async (t) => {
  let fail = false
  const errors: string[] = []
  const handle = await launch(() => {
    if (fail) throw new Error('broken deploy')
    return slowApp()
  }, { port: 0, host: '127.0.0.1', logger: { ...quiet, error: (_: object, msg?: string) => { errors.push(msg!) } } })
  t.teardown(() => handle.close())
  fail = true
  await handle.reload()
  t.match(errors, [/reload failed: the new app did not build/])
  t.equal((await request(handle.workers()[0]!.port, '/')).status, 200)
})

t.test('draining answers with Connection: close, ends idle keep-alive sockets and closes the app', async (t) => {
  const server = await AppServer.build(slowApp)
  const port = await server.listen(0, '127.0.0.1')
  const agent = new http.Agent({ keepAlive: true })
  t.teardown(() => agent.destroy())
  t.equal((await request(port, '/', agent)).connection, 'keep-alive')
  const idle = net.connect(port, '127.0.0.1')
  await once(idle, 'connect')
  const idleClosed = once(idle, 'close')
  const arrived = once(arrivals, '/slow')
  const inFlight = request(port, '/slow', agent)
  await arrived
  const drained = server.drain(5_000)
  const answer = await inFlight
  t.equal(answer.status, 200)
  t.equal(answer.connection, 'close', 'the client is told not to reuse the connection')
  await within('the server ending the idle keep-alive socket', idleClosed, { ms: IDLE_GRACE_MS + WAIT_MS })
  t.equal(idle.readyState, 'closed', `the idle socket was ended (after its ${IDLE_GRACE_MS} ms grace)`)
  t.equal(await drained, true, 'nothing was cut off')
  t.equal(server.connections, 0)
})

t.test('at the drain deadline remaining connections are cut', async (t) => {
  const app = Fastify()
  app.get('/hang', () => {
    arrivals.emit('/hang')
    return new Promise(() => {})
  })
  const server = await AppServer.build(() => app)
  const port = await server.listen(0, '127.0.0.1')
  const arrived = once(arrivals, '/hang')
  const hung = request(port, '/hang').catch((error: Error & { code: string }) => error.code)
  await arrived
  t.equal(await server.drain(100), false, 'the drain reports it was not clean')
  t.equal(await hung, 'ECONNRESET')
})

t.test('a server error after listen is logged instead of crashing the process, EMFILE at most once per interval', async (t) => {
  const app = Fastify()
  const logged: Array<[string, object, string]> = []
  const server = await AppServer.build(() => app)
  app.log.warn = ((obj: object, msg: string) => { logged.push(['warn', obj, msg]) }) as never
  app.log.error = ((obj: object, msg: string) => { logged.push(['error', obj, msg]) }) as never
  await server.listen(0, '127.0.0.1')
  t.teardown(() => server.drain(0))
  const emfile = Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' })
  app.server.emit('error', emfile)
  app.server.emit('error', emfile)
  app.server.emit('error', Object.assign(new Error('odd'), { code: 'EODD' }))
  t.equal(logged.length, 2)
  t.match(logged[0], ['warn', { code: 'EMFILE' }, /out of file descriptors/])
  t.match(logged[1], ['error', {}, 'server error'])
})

t.test('a listen error rejects listen() and is not logged as a server error', async (t) => {
  const blocker = net.createServer().listen(0, '127.0.0.1')
  await once(blocker, 'listening')
  t.teardown(() => blocker.close())
  const server = await AppServer.build(() => Fastify())
  await t.rejects(server.listen((blocker.address() as net.AddressInfo).port, '127.0.0.1'), { code: 'EADDRINUSE' })
})

t.test('listen without a host uses Fastify\'s default address', async (t) => {
  const server = await AppServer.build(() => Fastify())
  const port = await server.listen(0, undefined)
  t.teardown(() => server.drain(0))
  t.ok(port > 0)
})

// Connects `count` sockets from a thread of its own and sends a request on
// each; signals once every connection is established (waiting in the
// server's accept queue while this thread is blocked), then reports the answers.
const QUEUED_CLIENTS = `
const net = require('node:net')
const { workerData, parentPort } = require('node:worker_threads')
const { port, count, flag } = workerData
const answers = []
let connected = 0
for (let i = 0; i < count; i++) {
  const socket = net.connect(port, '127.0.0.1', () => {
    socket.write('GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n')
    if (++connected === count) { Atomics.store(flag, 0, 1); Atomics.notify(flag, 0) }
  })
  let text = ''
  socket.on('data', (chunk) => { text += chunk })
  socket.on('error', (error) => { text = error.code })
  socket.on('close', () => { answers.push(text.split('\\r\\n')[0] || text); if (answers.length === count) parentPort.postMessage(answers) })
}
`

t.test('takeOver() hands the listening socket to the new app: connections waiting in its accept queue are answered, none refused or reset', async (t) => {
  const { Worker } = await import('node:worker_threads')
  const first = await AppServer.build(slowApp)
  const port = await first.listen(0, '127.0.0.1')
  const second = await AppServer.build(slowApp)
  t.teardown(() => second.drain(0))
  const flag = new Int32Array(new SharedArrayBuffer(4))
  const count = 8
  const clients = new Worker(QUEUED_CLIENTS, { eval: true, workerData: { port, count, flag } })
  t.teardown(() => clients.terminate())
  const answers = once(clients, 'message')
  // This thread does not run its event loop until every client is connected:
  // all eight wait, unaccepted, in the kernel's queue of the listening socket.
  t.equal(Atomics.wait(flag, 0, 0, WAIT_MS), 'ok', `the clients connected within ${WAIT_MS} ms`)
  const switched = second.takeOver(first, '127.0.0.1')
  t.equal(await switched, port, 'the new app listens on the same port')
  t.equal(first.app.server.listening, false, 'the old app no longer listens')
  const drained = first.drain(5_000)
  const [lines] = await within('the queued clients\' answers', answers) as [string[]]
  t.same(lines, Array(count).fill('HTTP/1.1 200 OK'), 'every queued connection is answered')
  t.equal(await drained, true)
  t.equal((await request(port, '/')).status, 200, 'the port stays open after the old app closed')
})
