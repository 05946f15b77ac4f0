// The real HAProxy with the generated configuration (`deploy-kit haproxy
// --health /healthz --stats-socket FILE`) in front of the launcher in ports
// mode, three workers: one worker is told to drain (SIGTERM to its pid, a
// stop of that worker alone) while it still has a request in flight, and
// HAProxy's runtime API (`show stat`) shows its server DOWN while that
// process and its connection are still there; under load through HAProxy
// meanwhile, no request fails.
import t from 'tap'
import { existsSync, writeFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { main } from '../../lib/cli/main.js'
import { HAPROXY, childEnv, freePort, freePortRange, need, run, startProcess, tempDir, waitForPort } from '../helpers/tools.js'
import { HEALTH_PATH, cli, load, root, who } from '../helpers/launcher.js'

async function generate (args: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const code = await main(['haproxy', ...args], { stdout: (text) => { out += text }, stderr: (text) => { err += text } })
  return { code, out, err }
}

interface ServerStat { status: string, check: string }

/** `show stat` on HAProxy's runtime socket: each server of the backend with its status (UP, DOWN...) and last check. */
async function serverStats (socket: string): Promise<Record<string, ServerStat>> {
  const text = await new Promise<string>((resolve, reject) => {
    const connection = createConnection(socket)
    let data = ''
    connection.setTimeout(5_000, () => connection.destroy(new Error('the stats socket did not answer in 5 s')))
    connection.on('data', (chunk: Buffer) => { data += chunk.toString() })
    connection.on('end', () => resolve(data))
    connection.on('error', reject)
    connection.end('show stat\n')
  })
  const [header, ...rows] = text.trim().split('\n')
  const columns = header!.replace(/^# /, '').split(',')
  const stats: Record<string, ServerStat> = {}
  for (const row of rows) {
    const fields = Object.fromEntries(row.split(',').map((value, i) => [columns[i], value]))
    if (fields.pxname === 'frontends' && /^app[0-9]+$/.test(fields.svname!)) stats[fields.svname!] = { status: fields.status!, check: `${fields.check_status} ${fields.check_code ?? ''}`.trim() }
  }
  return stats
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

t.test('a bad --stats-socket is refused with the option named', async (t) => {
  const result = await generate(['--upstream', '127.0.0.1:8000', '--stats-socket', 'haproxy.sock'])
  t.equal(result.code, 2)
  t.match(result.err, 'Invalid option --stats-socket')
})

if (need(t, HAPROXY, 'haproxy')) {
  t.test('every generated variant with --stats-socket passes the real haproxy -c', async (t) => {
    const dir = tempDir(t, 'haproxy-stats-check')
    for (const args of [['--upstream', '127.0.0.1:8000-8003', '--health', HEALTH_PATH], ['--upstream', '127.0.0.1:8000', '--tcp', '--send-proxy', 'v2']]) {
      const result = await generate([...args, '--stats-socket', join(dir, 'admin.sock')])
      t.equal(result.code, 0, result.err)
      writeFileSync(join(dir, 'haproxy.cfg'), result.out)
      const check = await run(HAPROXY, ['-c', '-f', join(dir, 'haproxy.cfg')])
      t.equal(check.code, 0, args.join(' '), { output: check.stdout + check.stderr })
    }
  })

  if (!existsSync(cli)) {
    t.fail('dist/ is missing: run `npm run build` (npm ci does it through "prepare")')
  } else {
    t.test('HAProxy marks a draining worker DOWN while its process and its connection are still there; 0 failed requests', async (t) => {
      const dir = tempDir(t, 'haproxy-drain')
      const holdFile = join(dir, 'release')
      const workers = 3
      const first = await freePortRange(workers)
      const launcher = startProcess(t, process.execPath, [cli, 'start', join(root, 'test', 'fixtures', 'deploy', 'held-app.js'), '--mode', 'ports',
        '--processes', String(workers), '--port', String(first), '--host', '127.0.0.1', '--health-path', HEALTH_PATH],
      childEnv({ NODE_ENV: 'production', LOG_LEVEL: 'warn', HOLD_FILE: holdFile }))
      for (let i = 0; i < workers; i++) await waitForPort(first + i, '127.0.0.1', launcher)

      const port = await freePort()
      const socket = join(dir, 'admin.sock')
      const generated = await generate(['--upstream', `127.0.0.1:${first}-${first + workers - 1}`, '--listen', `127.0.0.1:${port}`, '--health', HEALTH_PATH, '--stats-socket', socket])
      t.equal(generated.code, 0, generated.err)
      writeFileSync(join(dir, 'haproxy.cfg'), generated.out)
      const haproxy = startProcess(t, HAPROXY, ['-db', '-f', join(dir, 'haproxy.cfg')])
      await waitForPort(port, '127.0.0.1', haproxy)

      // Bounded waits on what HAProxy itself says, failing with the last answer.
      const waitFor = async (what: string, done: (stats: Record<string, ServerStat>) => boolean, until: () => boolean): Promise<Record<string, ServerStat> | undefined> => {
        let last: Record<string, ServerStat> = {}
        for (let i = 0; i < 600 && until(); i++) {
          last = await serverStats(socket).catch(() => ({}))
          if (done(last)) return last
          await sleep(50)
        }
        t.fail(`HAProxy never showed ${what}`, { last, haproxy: haproxy.output().slice(-2000), launcher: launcher.output().slice(-2000) })
        return undefined
      }
      // UP after a first check of the health route (before it, HAProxy shows "INI").
      const up = await waitFor('every server UP, checked', (stats) => Object.values(stats).length === workers && Object.values(stats).every((s) => s.status === 'UP' && s.check === 'L7OK 200'), () => true)
      if (up === undefined) return
      t.same(Object.keys(up).sort(), ['app1', 'app2', 'app3'], 'HAProxy checks the health route of each worker: 200')

      const worker = await who(first)
      t.equal(worker.task, 0, 'app1 is worker 0')
      // A request in flight on worker 0, answered only when the test says so.
      let heldEnded = false
      let startedHold = (): void => {}
      const holding = new Promise<void>((resolve) => { startedHold = resolve })
      const held = new Promise<{ status: number, body: string }>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: first, path: '/hold', agent: false, timeout: 30_000 }, (res) => {
          let body = ''
          res.on('data', (chunk: Buffer) => { body += chunk.toString(); if (body.startsWith('held\n')) startedHold() })
          res.on('end', () => { heldEnded = true; resolve({ status: res.statusCode!, body }) })
          res.on('error', (error) => { heldEnded = true; reject(new Error(`/hold cut off after "${body}": ${error.message}`)) })
        })
        req.on('timeout', () => req.destroy(new Error('/hold: no answer in 30 s')))
        req.on('error', (error) => { heldEnded = true; reject(error) })
        req.end()
      })
      // Resolves once the answer has started, or rejects with why it did not.
      await Promise.race([holding, held.then(() => { throw new Error('/hold ended before the test released it') })])

      const traffic = load(port, 20_000)
      process.kill(worker.pid, 'SIGTERM')
      const down = await waitFor('app1 DOWN', (stats) => stats.app1?.status.startsWith('DOWN') === true, () => !heldEnded)
      const processThere = alive(worker.pid)
      const connectionOpen = !heldEnded
      writeFileSync(holdFile, '')
      const answer = await held
      const result = await traffic.stop()
      if (down === undefined) return
      t.ok(processThere, 'the draining worker\'s process is still running when HAProxy shows it DOWN')
      t.ok(connectionOpen, 'and its connection is still open, with a request in flight')
      t.same(answer, { status: 200, body: 'held\nreleased\n' }, 'that request is answered in full after the server went DOWN')
      // The drain closes the worker's listener at once, so the check that
      // takes it out is refused (L4CON); a check on a connection the worker
      // still held would read the health route's 503 (L7STS 503).
      t.match(down.app1!.check, /^(?:L4CON|L7STS 503)$/, 'out because the draining worker refused the check')
      t.same([down.app2?.status, down.app3?.status], ['UP', 'UP'], 'the other servers stay UP')
      t.ok(result.sent > 0, `${result.sent} requests through HAProxy`)
      t.equal(result.failed, 0, 'no failed request while the worker drained', { failures: result.failures.slice(0, 10), haproxy: haproxy.output().slice(-2000) })
      t.comment(`app1 DOWN with check "${down.app1!.check}"; ${result.sent} requests, ${result.failed} failed`)

      // The worker exits by itself once drained, and is not restarted (exit status 0).
      for (let i = 0; i < 200 && alive(worker.pid); i++) await sleep(50)
      t.notOk(alive(worker.pid), 'the drained worker exited')
    })
  }
}
