// `deploy-kit status --json` against a real launch whose worker was restarted, in both modes.
import t from 'tap'
import { statSync } from 'node:fs'
import { get } from '../helpers/cluster.js'
import { cli, start, statusUntil } from '../helpers/watch.js'
import type { StatusDocument } from '../../lib/cluster/watch.js'

for (const mode of ['shared', 'ports'] as const) {
  t.test(`${mode} mode: status --json is right for a launch with a restarted worker`, async (t) => {
    const { launched, socket, port } = await start(t, mode)
    t.equal(statSync(socket).mode & 0o777, 0o600, 'the socket is mode 0600')
    for (let i = 0; i < 6; i++) t.equal((await get(port)).status, 200)
    // Wait for heartbeats sent after the six requests.
    const before = await statusUntil(socket, (doc) => doc.workers.length === 2 && doc.workers.reduce((sum, w) => sum + w.requestsServed, 0) === 6)
    const victim = before.workers[1]!
    process.kill(victim.pid, 'SIGKILL')
    await launched.waitFor((line) => line.msg === 'worker listening', 3)
    const doc = await statusUntil(socket, (d) => d.workers.length === 2 && d.workers.every((w) => w.state === 'ready' && w.rssBytes !== null && w.pid !== victim.pid))
    t.equal(doc.primary.pid, launched.child.pid)
    t.equal(doc.primary.mode, mode)
    t.equal(doc.primary.processes, 2)
    t.equal(doc.primary.reload.state, 'idle')
    t.ok(doc.primary.uptimeSeconds >= 0)
    t.same(doc.workers.map((w) => w.taskId), [0, 1])
    const [kept, restarted] = doc.workers as [StatusDocument['workers'][0], StatusDocument['workers'][0]]
    t.equal(kept.pid, before.workers[0]!.pid, 'slot 0 kept its worker')
    t.equal(kept.restarts, 0)
    t.equal(kept.lastExit, null)
    t.equal(restarted.restarts, 1, 'slot 1 restarted once in the window')
    t.match(restarted.lastExit, { pid: victim.pid, code: null, signal: 'SIGKILL', cause: 'crash' })
    t.equal(restarted.port, mode === 'ports' ? port + 1 : port)
    t.equal(kept.port, port)
    for (const w of doc.workers) {
      t.ok(w.rssBytes! > 10_000_000 && w.heapUsedBytes! > 1_000_000, 'memory figures')
      t.ok(w.eventLoopDelayMaxMs! >= w.eventLoopDelayP99Ms! && w.eventLoopDelayP99Ms! >= 0, 'event-loop delay')
      t.ok(w.eventLoopUtilization! >= 0 && w.eventLoopUtilization! <= 1, 'utilisation')
      t.ok(w.lastHeartbeatSecondsAgo! < 5, 'a recent heartbeat')
      t.ok(w.uptimeSeconds >= 0 && w.openFiles! > 3)
      t.equal(w.requestsInFlight, 0)
      // pm2 jlist's fields
      t.equal(w.pm_id, w.taskId)
      t.equal(w.name, 'launch')
      t.same(w.monit, { memory: w.rssBytes, cpu: w.cpuPercent })
      t.match(w.pm2_env, { status: 'online', pm_id: w.taskId, instances: 2, exec_mode: 'cluster_mode', restart_time: w.restartsTotal, unstable_restarts: w.restarts })
    }
    if (mode === 'ports') t.equal(before.workers[0]!.requestsServed, 6, 'requests served by slot 0 (all went to its port)')
    t.ok(kept.requestsServed >= before.workers[0]!.requestsServed, 'slot 0 kept its count')
    const table = await cli('status', '--socket', socket)
    t.equal(table.code, 0)
    t.match(table.stdout, new RegExp(`primary pid ${launched.child.pid}, up \\d+s, mode ${mode}`))
    t.match(table.stdout, /TASK\s+PID\s+PORT\s+STATE\s+UPTIME\s+RESTARTS\s+LAST EXIT/)
    t.match(table.stdout, new RegExp(`\\n1\\s+${restarted.pid}\\s+\\d+\\s+ready\\s+\\d+s\\s+1\\s+SIGKILL \\(crash\\)`))
  })
}
