import t from 'tap'
import { get, isAlive, launchFixture, workerPids } from '../helpers/cluster.js'
import { tail, until } from '../helpers/wait.js'

t.test('workers that exit with status 0 are not restarted, and the primary exits 0 when none is left (as in Tornado)', async (t) => {
  const launched = launchFixture(t, { processes: 2, port: 0, host: '127.0.0.1' })
  const listening = await launched.waitFor((line) => line.msg === 'worker listening', 2)
  const port = listening[0]!.port as number
  // Each /exit reaches whichever worker the balancer picks: ask until both have gone.
  await until('both workers exiting normally', async () => {
    if (launched.lines.filter((line) => /exited normally/.test(line.msg)).length >= 2) return true
    await get(port, '/exit').catch(() => {})
    return false
  }, { everyMs: 100, last: () => tail(launched.output()) })
  t.same(await launched.exit(), { code: 0, signal: null })
  t.equal(launched.lines.filter((line) => /exited normally; not restarted/.test(line.msg)).length, 2)
  t.equal(launched.lines.filter((line) => /restarting/.test(line.msg)).length, 0)
})

t.test('a second SIGTERM stops at once: the primary exits 1 and no worker is left', async (t) => {
  const launched = launchFixture(t, { processes: 2, port: 0, host: '127.0.0.1', shutdownTimeoutMs: 60_000 })
  const listening = await launched.waitFor((line) => line.msg === 'worker listening', 2)
  const port = listening[0]!.port as number
  const slow = get(port, '/slow?ms=60000').then(() => 'answered', () => 'cut off')
  await launched.waitFor((line) => line.msg === 'slow request started')
  launched.child.kill('SIGTERM')
  await launched.waitFor((line) => /draining in-flight/.test(line.msg))
  launched.child.kill('SIGTERM')
  t.same(await launched.exit(), { code: 1, signal: null })
  t.equal(await slow, 'cut off')
  t.match(launched.output(), /second signal: stopping now without draining/)
  await until('every worker gone', () => !workerPids(launched).some(isAlive), { last: () => tail(launched.output()) })
  t.same(workerPids(launched).filter(isAlive), [])
})
