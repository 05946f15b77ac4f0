// A worker stuck in an endless loop is killed after workerTimeoutMs of silence and replaced in its slot, in both modes.
import t from 'tap'
import http from 'node:http'
import { get } from '../helpers/cluster.js'
import { start, statusUntil } from '../helpers/watch.js'

for (const mode of ['shared', 'ports'] as const) {
  t.test(`${mode} mode: a worker stuck in an endless loop is killed and replaced within workerTimeoutMs, the other loses no request`, async (t) => {
    const workerTimeoutMs = 2_000
    const { launched, socket } = await start(t, mode, { workerTimeoutMs })
    const doc = await statusUntil(socket, (d) => d.workers.every((w) => w.rssBytes !== null))
    const [stuck, other] = doc.workers as unknown as [{ pid: number, port: number }, { pid: number, port: number }]
    // Keep-alive connections pinned to each worker (in shared mode the primary picks the worker per connection).
    const pinned = async (pid: number, workerPort: number): Promise<http.Agent> => {
      for (let attempt = 0; attempt < 40; attempt++) {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
        if ((await get(workerPort, '/', agent)).body.pid === pid) return agent
        agent.destroy()
      }
      throw new Error(`no connection reached pid ${pid}`)
    }
    const toStuck = await pinned(stuck.pid, stuck.port)
    const toOther = await pinned(other.pid, other.port)
    t.teardown(() => { toStuck.destroy(); toOther.destroy() })
    const spinning = get(stuck.port, '/spin', toStuck).then(() => 'answered', () => 'failed')
    await launched.waitFor((line) => line.msg === 'spin request started')
    const blockedAt = Date.now() + 1_200
    let sent = 0
    let failed = 0
    const state = { done: false }
    const load = (async () => {
      while (!state.done && sent < 100_000) {
        sent++
        try {
          const answer = await get(other.port, '/', toOther)
          if (answer.status !== 200 || answer.body.pid !== other.pid) failed++
        } catch {
          failed++
        }
      }
    })()
    const [killed] = await launched.waitFor((line) => /sent no heartbeat/.test(line.msg))
    const killedAfter = Date.now() - blockedAt
    const listening = (await launched.waitFor((line) => line.msg === 'worker listening', 3))[2]
    const replacedAfter = Date.now() - blockedAt
    state.done = true
    await load
    t.equal(await spinning, 'failed', 'the stuck request dies with its worker')
    t.comment(`${mode}: stuck worker killed ${killedAfter} ms and its replacement listening ${replacedAfter} ms after its loop blocked (workerTimeoutMs ${workerTimeoutMs}); ${sent} requests to the other worker, ${failed} failed`)
    // The check runs twice per heartbeat; the margin is for a machine this loaded.
    t.ok(killedAfter < workerTimeoutMs + 2_000, `killed within workerTimeoutMs + 2 s (${killedAfter} ms)`)
    // A new worker loads the app again: on a shared 2-core machine that takes seconds.
    t.ok(replacedAfter < workerTimeoutMs + 30_000, `replaced within workerTimeoutMs + 30 s (${replacedAfter} ms)`)
    t.match(killed!.msg, new RegExp(`^worker 0 \\(pid ${stuck.pid}\\) sent no heartbeat for \\d+\\.\\d s \\(workerTimeoutMs 2000\\)`))
    t.match(killed!.msg, /1 request in flight, oldest: GET \/spin/)
    t.ok((killed!.silentMs as number) > workerTimeoutMs)
    t.equal(listening!.taskId, 0, 'the new worker is in the stuck one\'s slot')
    t.ok(sent > 10, 'the load ran')
    t.equal(failed, 0, 'zero failed requests to the other worker')
    const after = await statusUntil(socket, (d) => d.workers.length === 2 && d.workers.every((w) => w.state === 'ready'))
    t.match(after.workers[0]!.lastExit, { pid: stuck.pid, signal: 'SIGKILL', cause: 'timeout' })
    t.equal(after.workers[1]!.pid, other.pid)
  })
}
