// maxMemoryBytes: a worker over the bound is replaced gracefully (a new one
// listens first, then the old one drains), with no failed request, in both modes.
import t from 'tap'
import http from 'node:http'
import { get } from '../helpers/cluster.js'
import { start, statusUntil } from '../helpers/watch.js'

for (const mode of ['shared', 'ports'] as const) {
  t.test(`${mode} mode: a worker over maxMemoryBytes is drained and replaced in its slot with 0 failed requests`, async (t) => {
    // Far above a fresh worker (~60-90 MB here), far below one holding the 100 MB /grow allocates.
    const maxMemoryBytes = 160 * 1024 * 1024
    const { launched, socket, port } = await start(t, mode, { maxMemoryBytes })
    const before = await statusUntil(socket, (d) => d.workers.every((w) => w.rssBytes !== null))
    t.ok(before.workers.every((w) => w.rssBytes! < maxMemoryBytes), 'fresh workers are under the bound')
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 })
    t.teardown(() => agent.destroy())
    const state = { done: false }
    let sent = 0
    let failed = 0
    const loop = async (): Promise<void> => {
      while (!state.done && sent < 100_000) {
        sent++
        try {
          if ((await get(port, '/', agent)).status !== 200) failed++
        } catch {
          failed++
        }
      }
    }
    const loops = [loop(), loop()]
    // In shared mode either worker may grow; in ports mode it is slot 0.
    const grown = (await get(port, '/grow')).body
    const [warned] = await launched.waitFor((line) => /over maxMemoryBytes/.test(line.msg))
    await launched.waitFor((line) => line.msg === `worker ${grown.taskId} replaced`)
    await launched.waitFor((line) => line.msg === 'worker stopped' && line.cause === 'memory')
    state.done = true
    await Promise.all(loops)
    t.comment(`${mode}: ${sent} requests during the replacement, ${failed} failed`)
    t.match(warned!.msg, new RegExp(`^worker ${grown.taskId} \\(pid ${grown.pid}\\) uses \\d+ bytes, over maxMemoryBytes ${maxMemoryBytes}: replacing it \\(drained, not killed\\)`))
    t.ok(sent > 10, 'the load ran')
    t.equal(failed, 0, 'zero failed requests')
    const after = await statusUntil(socket, (d) => d.workers.length === 2 && d.workers.every((w) => w.state === 'ready' && w.pid !== grown.pid))
    const slot = after.workers[grown.taskId!]!
    t.match(slot.lastExit, { pid: grown.pid, code: 0, cause: 'memory' })
    t.equal(slot.restarts, 1)
  })
}
