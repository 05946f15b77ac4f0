import t from 'tap'
import { writeFileSync } from 'node:fs'
import { get, isAlive, launchFixture, workerPids } from '../helpers/cluster.js'

t.test('the handle lists the live workers, a worker\'s reload() replaces all of them, close() stops them', async (t) => {
  const dir = t.testdir({})
  const launched = launchFixture(t, { processes: 2, port: 0, host: '127.0.0.1' }, { FDK_TEST_HANDLE: dir })
  const [primary] = await launched.waitFor((line) => line.msg === 'handle workers' && line.role === 'primary')
  // A replacement the worker's reload() asked for may already be listed as 'starting'.
  const listed = (primary!.workers as Array<{ taskId: number, pid: number, state: string }>).filter((worker) => worker.state === 'ready')
  t.same(listed.map((worker) => worker.taskId).sort(), [0, 1], 'one ready worker per slot')
  const [self] = await launched.waitFor((line) => line.msg === 'handle workers' && line.role === 'worker')
  t.same((self!.workers as Array<{ pid: number }>).map((worker) => worker.pid), [self!.pid], 'a worker\'s handle lists itself')
  await launched.waitFor((line) => line.msg === 'reload finished')
  const replaced = await launched.waitFor((line) => /^worker \d replaced$/.test(line.msg), 2)
  t.same(replaced.map((line) => line.oldPid).sort(), listed.map((worker) => worker.pid).sort(), 'both original workers were replaced')
  launched.child.kill('SIGUSR2')
  await launched.waitFor((line) => line.msg === 'closed by handle')
  t.same(await launched.exit(), { code: 0, signal: null })
  t.same(workerPids(launched).filter(isAlive), [])
})

t.test('a reload whose new worker fails to start stops there and the old workers keep serving', async (t) => {
  const dir = t.testdir({})
  const launched = launchFixture(t, { processes: 2, port: 0, host: '127.0.0.1' }, { FDK_TEST_CRASH_FILE: dir + '/broken' })
  const listening = await launched.waitFor((line) => line.msg === 'worker listening', 2)
  const port = listening[0]!.port as number
  writeFileSync(dir + '/broken', '')
  launched.child.kill('SIGHUP')
  const [stopped] = await launched.waitFor((line) => /reload stopped/.test(line.msg))
  t.match(stopped!.msg, /the new worker 0 exited before listening; the old workers keep serving/)
  const pids = new Set<number>()
  for (let i = 0; i < 10; i++) pids.add((await get(port)).body.pid)
  t.same([...pids].sort(), listening.map((line) => line.pid).sort(), 'the same two workers answer')
  launched.child.kill('SIGTERM')
  t.same(await launched.exit(), { code: 0, signal: null })
})
