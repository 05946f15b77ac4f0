import t from 'tap'
import { writeFileSync } from 'node:fs'
import { get, isAlive, launchFixture } from '../helpers/cluster.js'

t.test('a worker killed with SIGKILL comes back in the same slot while the other keeps serving', async (t) => {
  const launched = launchFixture(t, { processes: 2, port: 0, host: '127.0.0.1' })
  const listening = await launched.waitFor((line) => line.msg === 'worker listening', 2)
  const port = listening[0]!.port as number
  const victim = listening.find((line) => line.taskId === 1)!
  const survivor = listening.find((line) => line.taskId === 0)!
  process.kill(victim.pid, 'SIGKILL')
  const [restarting] = await launched.waitFor((line) => line.taskId === 1 && /restarting in/.test(line.msg))
  t.match(restarting!.msg, /worker 1 \(pid \d+\) exited with signal SIGKILL, restarting in \d+ ms/)
  // While slot 1 is down, slot 0 answers everything.
  const during = await get(port)
  t.equal(during.status, 200)
  t.equal(during.body.pid, survivor.pid)
  const [back] = await launched.waitFor((line) => line.msg === 'worker listening' && line.taskId === 1 && line.pid !== victim.pid)
  t.equal(back!.port, port)
  t.not(back!.pid, victim.pid, 'a new process')
  const seen = new Map<number, number | null>()
  for (let i = 0; i < 50 && seen.size < 2; i++) {
    const answer = await get(port)
    seen.set(answer.body.pid, answer.body.taskId)
  }
  t.equal(seen.get(back!.pid), 1, 'the new process has the killed one\'s taskId')
  t.equal(seen.get(survivor.pid), 0, 'the survivor is the same process')
  launched.child.kill('SIGTERM')
  t.same(await launched.exit(), { code: 0, signal: null })
})

t.test('a crash loop after a successful start backs off, then the primary gives up, exits non-zero and leaves no worker behind', async (t) => {
  // Started fine, then broken (the file makes buildApp throw) and both workers killed:
  // every restart fails to build, and that is a crash loop, not a first start.
  const dir = t.testdir({})
  const launched = launchFixture(t, { processes: 2, port: 0, host: '127.0.0.1', maxRestarts: 3 }, { FDK_TEST_CRASH_FILE: dir + '/broken' })
  const listening = await launched.waitFor((line) => line.msg === 'worker listening', 2)
  writeFileSync(dir + '/broken', '')
  for (const line of listening) process.kill(line.pid, 'SIGKILL')
  const exit = await launched.exit()
  t.equal(exit.code, 1, 'the primary exits with status 1')
  const delays = launched.lines.filter((line) => /restarting in/.test(line.msg)).map((line) => line.delayMs as number)
  t.equal(delays.length, 3, 'exactly maxRestarts restarts')
  t.ok(delays.every((delay) => delay > 0), 'every restart waited')
  // Three restarts over two slots: some slot restarted at least twice, each time after a longer wait.
  const twice = [0, 1].map((slot) => launched.lines.filter((line) => /restarting in/.test(line.msg) && line.taskId === slot))
    .find((restarts) => restarts.length >= 2)
  t.ok(twice !== undefined, 'a slot restarted more than once')
  const waits = (twice ?? []).map((line) => line.delayMs as number)
  t.ok(waits.every((delay, i) => i === 0 || delay > waits[i - 1]!), `a slot that crashes again waits longer (${waits.join(', ')} ms)`)
  const giveUp = launched.lines.find((line) => line.code === 'FDK_CLUSTER_TOO_MANY_RESTARTS')
  t.match(giveUp?.msg, /Too many worker restarts \(3 within 15 minutes\), giving up/)
  const started = launched.lines.filter((line) => line.msg === 'worker started').map((line) => line.pid)
  // Two first starts and up to three restarts (one may still be waiting out its backoff at the give-up).
  t.ok(started.length >= 4 && started.length <= 5, `two first starts and the restarts (${started.length} starts)`)
  t.same(started.filter(isAlive), [], 'no worker outlives the primary')
  t.notOk(launched.lines.some((line) => line.code === 'FDK_CLUSTER_WORKER_BOOT_FAILED'), 'not taken for a release that cannot start')
  t.match(launched.lines.filter((line) => /restarting in/.test(line.msg)).at(-1)?.err, { message: 'broken deploy' }, 'each restart says why the worker failed')
})

t.test('a release whose buildApp throws on the first start stops the launcher at once: error printed once, exit 3, no restart', async (t) => {
  const launched = launchFixture(t, { processes: 2, port: 0, host: '127.0.0.1' }, { FDK_TEST_APP: 'crash' })
  const exit = await launched.exit()
  t.same(exit, { code: 3, signal: null }, 'a non-zero exit systemd and supervisord see')
  const output = launched.output()
  t.equal(output.split('\n').filter((line) => line.includes('buildApp failed on purpose')).length, 1, `the error is printed once (one line):\n${output}`)
  const halt = launched.lines.filter((line) => line.code === 'FDK_CLUSTER_WORKER_BOOT_FAILED')
  t.equal(halt.length, 1)
  t.match(halt[0]!.msg, /^Worker \d failed to start \(exited with status 1 before it ever listened\), on the first start: stopping the launcher/)
  t.match(halt[0]!.err, { message: 'buildApp failed on purpose', stack: /buildApp/ }, 'with the worker\'s own error')
  t.notOk(launched.lines.some((line) => /restarting in/.test(line.msg)), 'no restart')
  const started = launched.lines.filter((line) => line.msg === 'worker started').map((line) => line.pid)
  t.equal(started.length, 2, 'the two first starts only')
  t.same(started.filter(isAlive), [], 'no worker outlives the primary')
})
