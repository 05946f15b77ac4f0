// Readiness-gated reloads in launched workers, both modes: a new worker that
// does not get ready stops the reload with its reason (deploy-kit reload
// exits 1) while the old workers serve on with 0 failed requests; a ready
// one lets the reload finish; healthPath alone gates the first start.
import t from 'tap'
import http from 'node:http'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { get, launchFixture } from '../helpers/cluster.js'
import { cli, start, status, tempDir } from '../helpers/watch.js'

/** Keep-alive GETs on each port until stopped (at most 100,000). */
function load (ports: number[]): { stop: () => Promise<{ sent: number, failed: number }> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 })
  const state = { running: true }
  let sent = 0
  let failed = 0
  const loops = [0, 1, 2, 3].map(async (i) => {
    while (state.running && sent < 100_000) {
      sent++
      try {
        if ((await get(ports[i % ports.length]!, '/', agent)).status !== 200) failed++
      } catch {
        failed++
      }
    }
  })
  return {
    stop: async () => {
      state.running = false
      await Promise.all(loops)
      agent.destroy()
      return { sent, failed }
    }
  }
}

for (const mode of ['shared', 'ports'] as const) {
  t.test(`${mode} mode: a reload whose new worker never gets ready stops with its reason, the old workers serving with 0 failed requests; then a ready one finishes`, async (t) => {
    const dir = tempDir(t)
    const notReady = join(dir, 'not-ready')
    const { socket, port } = await start(t, mode, { healthPath: '/healthz', readinessTimeoutMs: 4000 }, { FDK_TEST_NOT_READY_FILE: notReady })
    const ports = mode === 'ports' ? [port, port + 1] : [port]
    const before = (await status(socket)).workers.map((w) => w.pid).sort()
    writeFileSync(notReady, '')
    const traffic = load(ports)
    const failed = await cli('reload', '--socket', socket)
    const result = await traffic.stop()
    t.comment(`${mode}: ${result.sent} requests during the failed reload, ${result.failed} failed`)
    t.equal(failed.code, 1)
    t.match(failed.stderr, /^deploy-kit reload: Worker 0 did not become ready within readinessTimeoutMs \(4000 ms\): the readiness check did not pass \(\d+ tries\), the last time it returned false; the old workers keep serving\n$/)
    t.ok(result.sent > 10, 'the load ran')
    t.equal(result.failed, 0, 'zero failed requests')
    const after = await status(socket)
    t.same(after.workers.map((w) => w.pid).sort(), before, 'the old workers keep serving')
    t.ok(after.workers.every((w) => w.state === 'ready'))
    t.match(after.primary.reload.last, { ok: false, reason: /did not become ready within readinessTimeoutMs/ })

    rmSync(notReady)
    const good = load(ports)
    const reloaded = await cli('reload', '--socket', socket)
    const goodResult = await good.stop()
    t.same(reloaded, { code: 0, stdout: 'reload finished\n', stderr: '' })
    t.equal(goodResult.failed, 0, `zero failed requests of ${goodResult.sent} during the good reload`)
    const serving = (await status(socket)).workers.filter((w) => w.state === 'ready')
    t.equal(serving.length, 2)
    t.ok(serving.every((w) => !before.includes(w.pid)), 'every serving worker is new')
  })
}

t.test('healthPath alone gates the first start: workers whose route answers 503 never join, the launcher stops with the reason', async (t) => {
  const dir = tempDir(t)
  const launched = launchFixture(t, { processes: 2, port: 0, host: '127.0.0.1', controlSocket: join(dir, 'control.sock'), healthPath: '/healthz', readinessTimeoutMs: 300, overload: { maxRssBytes: 1024 } })
  t.same(await launched.exit(), { code: 3, signal: null })
  t.match(launched.output(), /Worker \d did not become ready within readinessTimeoutMs \(300 ms\): GET \/healthz did not pass \(\d+ tr(y|ies)\), the last time it threw: answered 503/)
  t.notOk(launched.lines.some((line) => line.msg === 'worker listening'), 'no worker ever listened')
})
