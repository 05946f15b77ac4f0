// The launcher behind the real nginx, as docs/deploying.md runs it:
// `deploy-kit start --mode ports` and `deploy-kit nginx` pointing at its ports.
// A killed worker is covered by nginx and brought back by the launcher; a
// SIGHUP rolls every worker under load without a failed request.
import t from 'tap'
import { Agent, request as httpRequest } from 'node:http'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { main } from '../lib/cli/main.js'
import { NGINX, childEnv, freePort, freePortRange, need, startProcess, tempDir, waitForPort } from './helpers/tools.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const cli = join(root, 'dist', 'cli', 'main.js')
const app = join(root, 'test', 'fixtures', 'deploy', 'launched-app.js')
const WORKERS = 2

interface Who { pid: number, task: number, ip: string }

function get (port: number, path: string, agent?: Agent): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: agent ?? false, timeout: 10_000 }, (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => { body += chunk.toString() })
      res.on('end', () => resolve({ status: res.statusCode!, body }))
    })
    req.on('timeout', () => req.destroy(new Error(`timeout on ${path}`)))
    req.on('error', reject)
    req.end()
  })
}

async function who (port: number): Promise<Who> {
  const response = await get(port, '/whoami')
  if (response.status !== 200) throw new Error(`/whoami answered ${response.status}`)
  return JSON.parse(response.body) as Who
}

/** Keep-alive GETs through nginx until `stop()`; bounded by `maxRequests`. */
function load (port: number, maxRequests = 20_000): { stop: () => Promise<{ sent: number, failed: number, failures: string[] }> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 })
  const state = { running: true }
  let sent = 0
  let failed = 0
  const failures: string[] = []
  const clients = Array.from({ length: 8 }, async () => {
    while (state.running && sent < maxRequests) {
      sent++
      try {
        const response = await get(port, '/whoami', agent)
        if (response.status !== 200) { failed++; failures.push(`status ${response.status}`) }
      } catch (error) {
        failed++
        failures.push((error as Error).message)
      }
    }
  })
  return {
    stop: async () => {
      state.running = false
      await Promise.all(clients)
      agent.destroy()
      return { sent, failed, failures }
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

if (need(t, NGINX, 'nginx')) {
  if (!existsSync(cli)) {
    t.fail('dist/ is missing: run `npm run build` (npm test does it first)')
  } else {
    t.test('the launcher behind nginx: kill a worker, then reload under load', async (t) => {
      const first = await freePortRange(WORKERS)
      const launcher = startProcess(t, process.execPath, [cli, 'start', app, '--mode', 'ports', '--processes', String(WORKERS), '--port', String(first), '--host', '127.0.0.1'],
        childEnv({ NODE_ENV: 'production', LOG_LEVEL: 'warn' }))
      for (let i = 0; i < WORKERS; i++) await waitForPort(first + i, '127.0.0.1', launcher)

      const prefix = tempDir(t, 'deploy-launcher')
      const nginxPort = await freePort()
      let config = ''
      const code = await main(['nginx', '--upstream', `127.0.0.1:${first}-${first + WORKERS - 1}`, '--listen', `127.0.0.1:${nginxPort}`,
        '--static-root', join(root, 'example', 'static'), '--prefix', prefix], { stdout: (text) => { config += text }, stderr: () => {} })
      t.equal(code, 0)
      writeFileSync(join(prefix, 'nginx.conf'), config)
      const nginx = startProcess(t, NGINX, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', 'stderr', '-g', 'daemon off;'])
      await waitForPort(nginxPort, '127.0.0.1', nginx)

      const before = await Promise.all(Array.from({ length: WORKERS }, (_, i) => who(first + i)))
      t.same(before.map((w) => w.task), [0, 1], 'worker i answers on port + i')

      // kill -9 worker 0: nginx retries the other one, the launcher restarts slot 0.
      const traffic = load(nginxPort)
      process.kill(before[0]!.pid, 'SIGKILL')
      let back: Who | undefined
      for (let i = 0; i < 200 && back === undefined; i++) {
        await sleep(100)
        back = await who(first).catch(() => undefined)
        if (back?.pid === before[0]!.pid) back = undefined
      }
      const afterKill = await traffic.stop()
      t.ok(afterKill.sent > 0, `${afterKill.sent} requests through nginx while worker 0 was down and back`)
      t.equal(afterKill.failed, 0, 'requests keep succeeding through nginx (proxy_next_upstream error)', { failures: afterKill.failures })
      t.equal(back?.task, 0, 'slot 0 is back on its port with the same taskId')
      t.not(back?.pid, before[0]!.pid)

      // SIGHUP: rolling reload under load, zero failed requests, every pid new.
      const pidsBeforeReload = new Set((await Promise.all([who(first), who(first + 1)])).map((w) => w.pid))
      const rolling = load(nginxPort)
      await sleep(300)
      launcher.kill('SIGHUP')
      let renewed = false
      for (let i = 0; i < 300 && !renewed; i++) {
        await sleep(100)
        const now = await Promise.all([who(first), who(first + 1)]).catch(() => [])
        renewed = now.length === WORKERS && now.every((w) => !pidsBeforeReload.has(w.pid))
      }
      await sleep(300)
      const afterReload = await rolling.stop()
      t.ok(renewed, 'every worker was replaced')
      t.ok(afterReload.sent > 0, `${afterReload.sent} requests through nginx during the reload`)
      t.equal(afterReload.failed, 0, 'no failed request during the rolling reload', { failures: afterReload.failures.slice(0, 10), nginxErrors: readFileSync(join(prefix, 'error.log'), 'utf8').slice(-4000), launcher: launcher.output().slice(-4000) })
      t.comment(`kill: ${afterKill.sent} sent, ${afterKill.failed} failed ${JSON.stringify(afterKill.failures)}; reload: ${afterReload.sent} sent, ${afterReload.failed} failed`)
    })
  }
}
