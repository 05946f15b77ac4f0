// The health route and the readiness check in-process (lib/cluster/health.ts),
// and both with processes: 1, where the process itself is the worker.
import t, { type Test } from 'tap'
import http from 'node:http'
import Fastify from 'fastify'
import { Health, awaitReady, overloadReason } from '../../lib/cluster/health.js'
import { AppServer } from '../../lib/cluster/server.js'
import { launch } from '../../lib/cluster.js'
import type { NormalizedOverload } from '../../lib/cluster/watch-options.js'

const quiet = { info: () => {}, warn: () => {}, error: () => {} }
const bounds = (extra: Partial<NormalizedOverload>): NormalizedOverload => ({ maxEventLoopDelayMs: 0, maxHeapUsedBytes: 0, maxRssBytes: 0, retryAfterSeconds: 10, ...extra })

async function healthApp (t: Test, health: Health): Promise<ReturnType<typeof Fastify>> {
  const app = Fastify()
  app.get('/', async () => 'home')
  health.install(app)
  t.teardown(async () => {
    health.stop()
    await app.close()
  })
  await app.ready()
  return app
}

function get (port: number, path: string, agent: http.Agent): Promise<{ status: number, headers: http.IncomingHttpHeaders, body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent }, (response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => { body += chunk.toString() })
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body }))
    }).on('error', reject)
  })
}

t.test('the health route answers 200 {status: ok}, never cached, GET and HEAD only', async (t) => {
  const app = await healthApp(t, new Health({ healthPath: '/healthz', overload: undefined }))
  const ok = await app.inject('/healthz')
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { status: 'ok' })
  t.equal(ok.headers['cache-control'], 'no-store')
  t.equal((await app.inject({ method: 'HEAD', url: '/healthz' })).statusCode, 200)
  t.equal((await app.inject('/healthz?probe=kubelet')).statusCode, 200, 'a query string changes nothing')
  t.equal((await app.inject({ method: 'POST', url: '/healthz', payload: 'x' })).statusCode, 404, 'another method is a 404, not a 500')
  t.equal((await app.inject('/')).body, 'home', 'the app\'s own routes are untouched')
})

t.test('without healthPath no route is added', async (t) => {
  const app = await healthApp(t, new Health({ healthPath: undefined, overload: undefined }))
  t.equal((await app.inject('/healthz')).statusCode, 404)
})

t.test('a healthPath the app already routes is refused with the setting named', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.get('/healthz', async () => 'mine')
  t.throws(() => new Health({ healthPath: '/healthz', overload: undefined }).install(app), {
    code: 'FDK_CLUSTER_OPTION_INVALID',
    message: /"healthPath": received "\/healthz", expected a path no route of the app uses/
  })
})

t.test('overloaded: 503 with Retry-After on the health route only', async (t) => {
  const app = await healthApp(t, new Health({ healthPath: '/healthz', overload: bounds({ maxHeapUsedBytes: 1, retryAfterSeconds: 7 }) }))
  const busy = await app.inject('/healthz')
  t.equal(busy.statusCode, 503)
  t.equal(busy.headers['retry-after'], '7')
  t.match(busy.json(), { status: 'overloaded', reason: /^heap used \d+ bytes is over maxHeapUsedBytes 1$/ })
  t.equal((await app.inject('/')).statusCode, 200, 'other routes keep being answered')
})

t.test('under the bounds the health route stays 200', async (t) => {
  const app = await healthApp(t, new Health({ healthPath: '/healthz', overload: bounds({ maxRssBytes: 2 ** 50, maxHeapUsedBytes: 2 ** 50, maxEventLoopDelayMs: 60_000 }) }))
  t.equal((await app.inject('/healthz')).statusCode, 200)
})

t.test('a blocked event loop turns the health route to 503 until a calm second passes', async (t) => {
  const app = await healthApp(t, new Health({ healthPath: '/healthz', overload: bounds({ maxEventLoopDelayMs: 200, retryAfterSeconds: 3 }) }))
  // Block in 300 ms stretches (each delay sample then reads about 300 ms), until the route says so;
  // 200 ms is far above what a calm loop shows, even on a busy machine.
  const deadline = Date.now() + 20_000
  let answer = await app.inject('/healthz')
  while (answer.statusCode === 200 && Date.now() < deadline) {
    const until = Date.now() + 300
    while (Date.now() < until);
    await new Promise((resolve) => setImmediate(resolve))
    answer = await app.inject('/healthz')
  }
  t.equal(answer.statusCode, 503, answer.body)
  t.equal(answer.headers['retry-after'], '3')
  t.match(answer.json(), { status: 'overloaded', reason: /^event-loop delay \d+ ms is over maxEventLoopDelayMs 200$/ })
  // Once the loop is calm, a later window reads low again (bounded poll, no fixed sleep).
  const calm = Date.now() + 20_000
  while ((answer = await app.inject('/healthz')).statusCode !== 200 && Date.now() < calm) await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(answer.statusCode, 200, 'back in once the loop is calm')
})

t.test('overloadReason names the first bound exceeded', async (t) => {
  const load = { eventLoopDelayMs: 150.4, heapUsedBytes: 500, rssBytes: 1000 }
  t.equal(overloadReason(bounds({ maxEventLoopDelayMs: 100 }), load), 'event-loop delay 150 ms is over maxEventLoopDelayMs 100')
  t.equal(overloadReason(bounds({ maxRssBytes: 999 }), load), 'resident set 1000 bytes is over maxRssBytes 999')
  t.equal(overloadReason(bounds({ maxEventLoopDelayMs: 200, maxHeapUsedBytes: 500, maxRssBytes: 1000 }), load), null, 'at a bound is not over it')
})

t.test('a draining server\'s health route answers 503 on a connection it still serves', async (t) => {
  const health = new Health({ healthPath: '/healthz', overload: undefined })
  const server = await AppServer.build(() => Fastify(), undefined, (app) => health.install(app))
  health.serve(server)
  const port = await server.listen(0, '127.0.0.1')
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  const before = await get(port, '/healthz', agent)
  t.equal(before.status, 200)
  t.equal(before.headers.connection, 'keep-alive')
  const drained = server.drain(5_000)
  const during = await get(port, '/healthz', agent)
  t.equal(during.status, 503)
  t.same(JSON.parse(during.body), { status: 'draining' })
  t.equal(during.headers.connection, 'close', 'and the balancer is told to reconnect elsewhere')
  t.equal(during.headers['retry-after'], undefined, 'no Retry-After: this worker will not be back')
  t.equal(await drained, true)
  health.stop()
})

t.test('awaitReady: the function passes, fails with its reason, or retries until it passes', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  t.equal(await awaitReady(app, undefined, undefined, Date.now() + 1_000), null, 'no gate: ready at once')
  let seen: unknown
  t.equal(await awaitReady(app, (given) => { seen = given; return undefined }, undefined, Date.now() + 1_000), null, 'undefined counts as ready')
  t.equal(seen, app, 'the check is given the app')
  let calls = 0
  t.equal(await awaitReady(app, async () => ++calls >= 3, undefined, Date.now() + 10_000), null)
  t.equal(calls, 3, 'tried again until it passed')
  t.match(await awaitReady(app, () => false, undefined, Date.now() + 250), /^the readiness check did not pass \(\d+ tries\), the last time it returned false$/)
  t.match(await awaitReady(app, () => { throw new Error('no database') }, undefined, Date.now() + 50), /^the readiness check did not pass \(1 try\), the last time it threw: no database$/)
  t.match(await awaitReady(app, async () => await Promise.reject('plain'), undefined, Date.now() + 50), /it threw: plain$/) // eslint-disable-line prefer-promise-reject-errors -- a thrown non-Error is what is tested
  t.match(await awaitReady(app, () => new Promise(() => {}), undefined, Date.now() + 150), /the last time it did not answer in time$/)
})

t.test('awaitReady with only healthPath asks the route through app.inject', async (t) => {
  const ok = await healthApp(t, new Health({ healthPath: '/healthz', overload: undefined }))
  t.equal(await awaitReady(ok, undefined, '/healthz', Date.now() + 1_000), null)
  const busy = await healthApp(t, new Health({ healthPath: '/healthz', overload: bounds({ maxRssBytes: 1 }) }))
  t.match(await awaitReady(busy, undefined, '/healthz', Date.now() + 50), /^GET \/healthz did not pass \(1 try\), the last time it threw: answered 503 \{"status":"overloaded","reason":"resident set \d+ bytes/)
  t.equal(await awaitReady(busy, () => true, '/healthz', Date.now() + 50), null, 'a readiness function takes the place of the route')
})

t.test('processes: 1 with healthPath: 200 while serving, 503 on a kept-alive connection once close() drains', async (t) => {
  const handle = await launch(() => Fastify(), { port: 0, host: '127.0.0.1', logger: quiet, healthPath: '/healthz' })
  const port = handle.workers()[0]!.port
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  t.equal((await get(port, '/healthz', agent)).status, 200)
  const closed = handle.close()
  t.equal((await get(port, '/healthz', agent)).status, 503)
  await closed
})

t.test('processes: 1: a first start that never gets ready rejects with FDK_CLUSTER_NOT_READY', async (t) => {
  await t.rejects(launch(() => Fastify(), { port: 0, host: '127.0.0.1', logger: quiet, readiness: () => false, readinessTimeoutMs: 200 }), {
    code: 'FDK_CLUSTER_NOT_READY',
    message: /^Worker 0 did not become ready within readinessTimeoutMs \(200 ms\): the readiness check did not pass \(\d+ tries\), the last time it returned false$/
  })
})

t.test('processes: 1: with a readiness gate, a buildApp that never finishes fails the start instead of hanging it', async (t) => {
  await t.rejects(launch(async () => await new Promise<never>(() => {}), { port: 0, host: '127.0.0.1', logger: quiet, healthPath: '/healthz', readinessTimeoutMs: 100 }), {
    code: 'FDK_CLUSTER_NOT_READY',
    message: 'Worker 0 did not become ready within readinessTimeoutMs (100 ms): buildApp did not finish'
  })
})

t.test('processes: 1: a reload whose new app is not ready keeps the old one; a ready one takes over', async (t) => {
  let build = 0
  let ready = true
  const errors: string[] = []
  const handle = await launch(() => {
    const app = Fastify()
    const mine = ++build
    app.get('/', async () => ({ build: mine }))
    return app
  }, { port: 0, host: '127.0.0.1', logger: { ...quiet, error: (_: object, msg?: string) => { errors.push(msg!) } }, readiness: () => ready, readinessTimeoutMs: 200 })
  t.teardown(() => handle.close())
  const port = handle.workers()[0]!.port
  const agent = new http.Agent({ keepAlive: false })
  ready = false
  await handle.reload()
  t.match(errors, ['reload failed: the new app did not become ready; the old one keeps serving'])
  t.same(JSON.parse((await get(port, '/', agent)).body), { build: 1 }, 'the old app still answers')
  ready = true
  await handle.reload()
  t.same(JSON.parse((await get(port, '/', agent)).body), { build: 3 }, 'the ready one serves after the reload')
})
