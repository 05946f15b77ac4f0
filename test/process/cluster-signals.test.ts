import t from 'tap'
import http from 'node:http'
import { get, isAlive, launchFixture, workerPids } from '../helpers/cluster.js'
import { tail, until } from '../helpers/wait.js'

t.test('SIGTERM lets a request in flight finish with 200, then the primary exits 0 and no worker is left', async (t) => {
  const launched = launchFixture(t, { processes: 2, port: 0, host: '127.0.0.1', shutdownTimeoutMs: 20_000 })
  const listening = await launched.waitFor((line) => line.msg === 'worker listening', 2)
  const port = listening[0]!.port as number
  const slow = get(port, '/slow?ms=1000')
  await launched.waitFor((line) => line.msg === 'slow request started')
  launched.child.kill('SIGTERM')
  const answer = await slow
  t.equal(answer.status, 200)
  t.equal(answer.body.slept, 1000)
  t.same(await launched.exit(), { code: 0, signal: null })
  t.same(workerPids(launched).filter(isAlive), [])
})

t.test('SIGHUP under keep-alive load replaces every worker with zero failed and zero non-2xx requests', async (t) => {
  const launched = launchFixture(t, { processes: 2, port: 0, host: '127.0.0.1' })
  const listening = await launched.waitFor((line) => line.msg === 'worker listening', 2)
  const port = listening[0]!.port as number
  const oldPids = new Set(listening.map((line) => line.pid))
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })
  t.teardown(() => agent.destroy())
  let sent = 0
  let failed = 0
  let non2xx = 0
  const errors: string[] = []
  const state = { reloaded: false }
  const deadline = Date.now() + 90_000
  const loop = async (): Promise<void> => {
    while (!state.reloaded && Date.now() < deadline && sent < 200_000) {
      sent++
      try {
        const answer = await get(port, '/', agent)
        if (answer.status < 200 || answer.status > 299) non2xx++
      } catch (error) {
        failed++
        errors.push(String(error))
      }
    }
  }
  const loops = Array.from({ length: 8 }, loop)
  const last = (): string => `${sent} sent, ${failed} failed\n${tail(launched.output())}`
  await until('the load under way (100 requests sent)', () => sent >= 100, { last })
  launched.child.kill('SIGHUP')
  await launched.waitFor((line) => line.msg === 'reload finished')
  // Keep the load on while the old workers drain.
  await launched.waitFor((line) => line.msg === 'worker stopped', 2)
  const sentWhenStopped = sent
  await until('100 more requests to the new workers', () => sent >= sentWhenStopped + 100, { last })
  state.reloaded = true
  await Promise.all(loops)
  t.comment(`reload under load: ${sent} requests sent, ${failed} failed, ${non2xx} non-2xx`)
  t.ok(sent > 100, 'the load ran')
  t.same(errors, [], 'zero failed requests')
  t.equal(non2xx, 0, 'zero non-2xx responses')
  const after = new Set<number>()
  for (let i = 0; i < 20; i++) after.add((await get(port)).body.pid)
  t.same([...after].filter((pid) => oldPids.has(pid)), [], 'no old worker answers')
  t.equal(after.size, 2, 'both new workers answer')
  t.same([...oldPids].filter(isAlive), [], 'the old workers exited')
  launched.child.kill('SIGTERM')
  t.same(await launched.exit(), { code: 0, signal: null })
})
