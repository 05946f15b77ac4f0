// healthPath in launched workers, both modes: 200 while serving, 503 on a
// connection the worker still serves once it drains (before it closes it),
// and with overload 503 + Retry-After on that route while other routes answer.
import t from 'tap'
import http from 'node:http'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { get } from '../helpers/cluster.js'
import { cli, start } from '../helpers/watch.js'

interface Health { status: number, connection: string | undefined, retryAfter: string | undefined, body: { status: string, reason?: string }, socket: Socket }

function health (port: number, agent: http.Agent | false): Promise<Health> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/healthz', agent }, (response) => {
      const socket = response.socket // before 'end': a closed connection's response lets go of it
      let data = ''
      response.on('data', (chunk: Buffer) => { data += chunk.toString() })
      response.on('end', () => resolve({ status: response.statusCode!, connection: response.headers.connection, retryAfter: response.headers['retry-after'], body: JSON.parse(data), socket }))
    }).on('error', reject)
  })
}

for (const mode of ['shared', 'ports'] as const) {
  t.test(`${mode} mode: the health route flips to 503 on a kept-alive connection as soon as its worker drains, before the connection closes`, async (t) => {
    const { launched, socket, port } = await start(t, mode, { healthPath: '/healthz' })
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    t.teardown(() => agent.destroy())
    const first = await health(port, agent)
    t.same([first.status, first.body], [200, { status: 'ok' }])
    t.equal(first.connection, 'keep-alive')
    const reload = cli('reload', '--socket', socket)
    // Ask again and again on the same connection (never idle, so the drain
    // does not end it) until its worker, replaced by the reload, answers 503.
    const answers: number[] = []
    let last = first
    for (let i = 0; i < 100_000 && last.status === 200; i++) {
      const previous = last
      last = await health(port, agent)
      if (last.socket !== first.socket) {
        t.fail('the connection changed', { previous: [previous.status, previous.connection, previous.body], now: [last.status, last.connection, last.body], answers: answers.length, log: launched.output().slice(-1500) })
        break
      }
      answers.push(last.status)
    }
    t.equal(last.status, 503, `${answers.length} answers, the last 503`)
    t.same(last.body, { status: 'draining' })
    t.equal(last.connection, 'close', 'and told to close: the balancer reconnects, to a serving worker')
    t.ok(answers.slice(0, -1).every((status) => status === 200), 'only 200s before it')
    t.same(await reload, { code: 0, stdout: 'reload finished\n', stderr: '' })
    t.equal((await health(port, false)).status, 200, 'a new connection reaches a serving worker')
  })

  t.test(`${mode} mode: with overload, the health route answers 503 with Retry-After past a bound; the app's routes still answer`, async (t) => {
    // The readiness function of the fixture gates the start (the route itself would never pass).
    const { port, dir } = await start(t, mode, { healthPath: '/healthz', overload: { maxRssBytes: 1024, retryAfterSeconds: 5 } }, { FDK_TEST_NOT_READY_FILE: '/nonexistent/not-ready' })
    const busy = await health(port, false)
    t.equal(busy.status, 503)
    t.equal(busy.retryAfter, '5')
    t.match(busy.body, { status: 'overloaded', reason: /^resident set \d+ bytes is over maxRssBytes 1024$/ })
    t.equal((await get(port, '/')).status, 200)
    t.ok(join(dir))
  })
}
