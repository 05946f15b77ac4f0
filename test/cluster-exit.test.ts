import t from 'tap'
import { get, isAlive, launchFixture, workerPids } from './fixtures/cluster/spawn.js'

t.test('workers that exit with status 0 are not restarted, and the primary exits 0 when none is left (as in Tornado)', async (t) => {
  const launched = launchFixture(t, { processes: 2, port: 0, host: '127.0.0.1' })
  const listening = await launched.waitFor((line) => line.msg === 'worker listening', 2)
  const port = listening[0]!.port as number
  for (let i = 0; i < 20 && launched.lines.filter((line) => /exited normally/.test(line.msg)).length < 2; i++) {
    await get(port, '/exit').catch(() => {})
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.same(await launched.exited, { code: 0, signal: null })
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
  t.same(await launched.exited, { code: 1, signal: null })
  t.equal(await slow, 'cut off')
  t.match(launched.output(), /second signal: stopping now without draining/)
  for (let i = 0; i < 50 && workerPids(launched).some(isAlive); i++) await new Promise((resolve) => setTimeout(resolve, 100))
  t.same(workerPids(launched).filter(isAlive), [])
})
