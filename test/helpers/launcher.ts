// The launcher behind a real balancer (nginx, HAProxy), as docs/deploying.md
// runs it: `deploy-kit start --mode ports` with test/fixtures/deploy/launched-app.js
// (its /whoami says which worker answered), and keep-alive load through the
// balancer while a worker is killed or every worker is rolled (SIGHUP).
import { Agent, request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { childEnv, freePortRange, startProcess, waitForPort } from './tools.js'
import { tail, until } from './wait.js'

export const root = fileURLToPath(new URL('../..', import.meta.url))
export const cli = join(root, 'dist', 'cli', 'main.js')
export const launchedApp = join(root, 'test', 'fixtures', 'deploy', 'launched-app.js')

export interface Who { pid: number, task: number, ip: string }
export interface Response { status: number, headers: Record<string, string | string[] | undefined>, body: string }

export function get (port: number, path: string, options: { agent?: Agent, headers?: Record<string, string>, localAddress?: string } = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: options.agent ?? false, headers: options.headers, localAddress: options.localAddress, timeout: 10_000 }, (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => { body += chunk.toString() })
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
    })
    req.on('timeout', () => req.destroy(new Error(`timeout on ${path}`)))
    req.on('error', reject)
    req.end()
  })
}

export async function who (port: number): Promise<Who> {
  const response = await get(port, '/whoami')
  if (response.status !== 200) throw new Error(`/whoami answered ${response.status}`)
  return JSON.parse(response.body) as Who
}

export interface LoadResult { sent: number, failed: number, failures: string[] }

/** Keep-alive GETs until `stop()`; bounded by `maxRequests`. `sent()` tells how far it got. */
export function load (port: number, maxRequests = 20_000): { sent: () => number, stop: () => Promise<LoadResult> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 })
  const state = { running: true }
  let sent = 0
  let failed = 0
  const failures: string[] = []
  const clients = Array.from({ length: 8 }, async () => {
    while (state.running && sent < maxRequests) {
      sent++
      try {
        const response = await get(port, '/whoami', { agent })
        if (response.status !== 200) { failed++; failures.push(`status ${response.status}`) }
      } catch (error) {
        failed++
        failures.push((error as Error).message)
      }
    }
  })
  return {
    sent: () => sent,
    stop: async () => {
      state.running = false
      await Promise.all(clients)
      agent.destroy()
      return { sent, failed, failures }
    }
  }
}

/** The launcher's health route in these tests; give the balancer the same --health. */
export const HEALTH_PATH = '/healthz'

/** `deploy-kit start --mode ports --health-path /healthz` on consecutive free loopback ports; resolves once every worker listens. */
export async function startLauncher (t: Test, workers: number, env: NodeJS.ProcessEnv = {}): Promise<{ first: number, launcher: ReturnType<typeof startProcess> }> {
  const first = await freePortRange(workers)
  const launcher = startProcess(t, process.execPath, [cli, 'start', launchedApp, '--mode', 'ports', '--processes', String(workers), '--port', String(first), '--host', '127.0.0.1', '--health-path', HEALTH_PATH],
    childEnv({ NODE_ENV: 'production', LOG_LEVEL: 'warn', ...env }))
  for (let i = 0; i < workers; i++) await waitForPort(first + i, '127.0.0.1', launcher)
  return { first, launcher }
}

/**
 * Under load through the balancer on `balancerPort`: kill -9 worker 0 (the
 * launcher restarts its slot), then SIGHUP (every worker replaced). Asserts
 * zero failed requests in each step and returns the figures.
 */
export async function killThenReload (t: Test, balancer: string, balancerPort: number, first: number, launcher: ReturnType<typeof startProcess>, logs: () => string): Promise<{ kill: LoadResult, reload: LoadResult }> {
  const workers = 2
  const before = await Promise.all(Array.from({ length: workers }, (_, i) => who(first + i)))
  t.same(before.map((w) => w.task), [0, 1], 'worker i answers on port + i')

  const traffic = load(balancerPort)
  process.kill(before[0]!.pid, 'SIGKILL')
  let back: Who | undefined
  await until('slot 0 back on its port with a new process', async () => {
    back = await who(first).catch(() => undefined)
    return back !== undefined && back.pid !== before[0]!.pid
  }, { everyMs: 100, last: () => tail(logs()) })
  const kill = await traffic.stop()
  t.ok(kill.sent > 0, `${kill.sent} requests through ${balancer} while worker 0 was down and back`)
  t.equal(kill.failed, 0, `requests keep succeeding through ${balancer}`, { failures: kill.failures.slice(0, 10), logs: logs().slice(-4000) })
  t.equal(back?.task, 0, 'slot 0 is back on its port with the same taskId')
  t.not(back?.pid, before[0]!.pid)

  const pidsBeforeReload = new Set((await Promise.all([who(first), who(first + 1)])).map((w) => w.pid))
  const rolling = load(balancerPort)
  const last = (): string => `${rolling.sent()} sent\n${tail(logs())}\n${tail(launcher.output())}`
  await until('the load under way (100 requests sent)', () => rolling.sent() >= 100, { last })
  launcher.kill('SIGHUP')
  let renewed: Who[] = []
  await until('every worker replaced', async () => {
    renewed = await Promise.all([who(first), who(first + 1)]).catch(() => [])
    return renewed.length === workers && renewed.every((w) => !pidsBeforeReload.has(w.pid))
  }, { everyMs: 100, last })
  // Keep the load on while the old workers drain behind the balancer.
  const sentAtRenewal = rolling.sent()
  await until('100 more requests after the reload', () => rolling.sent() >= sentAtRenewal + 100, { last })
  const reload = await rolling.stop()
  t.same(renewed.filter((w) => pidsBeforeReload.has(w.pid)), [], 'every worker was replaced')
  t.ok(reload.sent > 0, `${reload.sent} requests through ${balancer} during the reload`)
  t.equal(reload.failed, 0, 'no failed request during the rolling reload', { failures: reload.failures.slice(0, 10), logs: logs().slice(-4000), launcher: launcher.output().slice(-4000) })
  t.comment(`${balancer}: kill: ${kill.sent} sent, ${kill.failed} failed ${JSON.stringify(kill.failures.slice(0, 5))}; reload: ${reload.sent} sent, ${reload.failed} failed`)
  return { kill, reload }
}
