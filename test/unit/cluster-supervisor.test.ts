import t from 'tap'
import { DEFAULT_POLICY, Supervisor, describeExit, isAbnormal, slotPort, workerTitle } from '../../lib/cluster/supervisor.js'

const policy = { ...DEFAULT_POLICY, maxRestarts: 3 }
const crash = { code: 1, signal: null }

t.test('a crashing slot is restarted after a delay that doubles each time, up to the cap', async (t) => {
  const supervisor = new Supervisor(1, { ...policy, maxRestarts: 100 })
  const delays = []
  let now = 0
  for (let i = 0; i < 8; i++) {
    supervisor.ready(0, now)
    const decision = supervisor.exited(0, now + 10, crash)
    t.equal(decision.action, 'restart')
    if (decision.action === 'restart') delays.push(decision.delayMs)
    now += 20
  }
  t.same(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000])
})

t.test('a worker that listened for stableMs resets its slot\'s backoff; one that never listened does not', async (t) => {
  const supervisor = new Supervisor(1, { ...policy, maxRestarts: 100 })
  supervisor.ready(0, 0)
  supervisor.exited(0, 1, crash)
  supervisor.ready(0, 2)
  t.same(supervisor.exited(0, 3, crash), { action: 'restart', delayMs: 200 })
  supervisor.ready(0, 1_000)
  t.same(supervisor.exited(0, 1_000 + DEFAULT_POLICY.stableMs, crash), { action: 'restart', delayMs: 100 })
  t.same(supervisor.exited(0, 100_000, crash), { action: 'restart', delayMs: 200 }, 'a slow start-up crash is still a crash loop')
})

t.test('a worker failing before it ever listened, before every slot listened once, halts; afterwards it backs off', async (t) => {
  const first = new Supervisor(2, { ...policy, maxRestarts: 100 })
  t.same(first.exited(1, 1, crash), { action: 'halt' }, 'the first start of a release that cannot boot')
  const partly = new Supervisor(2, { ...policy, maxRestarts: 100 })
  partly.ready(0, 0)
  t.same(partly.exited(1, 1, { code: null, signal: 'SIGSEGV' }), { action: 'halt' }, 'one slot up is not a started launch')
  t.same(partly.exited(0, 2, crash), { action: 'restart', delayMs: 100 }, 'a worker that had listened is a crash')
  t.same(partly.exited(0, 3, { code: 0, signal: null }), { action: 'done' }, 'status 0 is never a boot failure')
  const started = new Supervisor(2, { ...policy, maxRestarts: 100 })
  started.ready(0, 0)
  started.ready(1, 0)
  started.exited(1, 1, crash)
  t.same(started.exited(1, 2, crash), { action: 'restart', delayMs: 200 }, 'a restart that fails to build after the start backs off')
})

t.test('slots back off independently', async (t) => {
  const supervisor = new Supervisor(2, { ...policy, maxRestarts: 100 })
  supervisor.ready(0, 0)
  supervisor.ready(1, 0)
  t.same(supervisor.exited(0, 1, crash), { action: 'restart', delayMs: 100 })
  t.same(supervisor.exited(0, 2, crash), { action: 'restart', delayMs: 200 })
  t.same(supervisor.exited(1, 3, { code: null, signal: 'SIGKILL' }), { action: 'restart', delayMs: 100 })
})

t.test('the restart after maxRestarts within the window gives up; restarts older than the window no longer count', async (t) => {
  const supervisor = new Supervisor(1, policy)
  supervisor.ready(0, 0)
  for (let i = 0; i < 3; i++) t.equal(supervisor.exited(0, i, crash).action, 'restart')
  t.same(supervisor.exited(0, 3, crash), { action: 'give-up', restarts: 3 })
  const later = new Supervisor(1, policy)
  later.ready(0, 0)
  for (let i = 0; i < 3; i++) later.exited(0, i, crash)
  t.equal(later.exited(0, DEFAULT_POLICY.windowMs + 5, crash).action, 'restart', 'the window slid past the old restarts')
})

t.test('maxRestarts 0 gives up on the first crash', async (t) => {
  const supervisor = new Supervisor(1, { ...policy, maxRestarts: 0 })
  supervisor.ready(0, 0)
  t.same(supervisor.exited(0, 1, crash), { action: 'give-up', restarts: 0 })
})

t.test('exit status 0 ends the slot without a restart, as in Tornado', async (t) => {
  const supervisor = new Supervisor(1, policy)
  supervisor.ready(0, 0)
  t.same(supervisor.exited(0, 1, { code: 0, signal: null }), { action: 'done' })
  t.notOk(isAbnormal({ code: 0, signal: null }))
  t.ok(isAbnormal({ code: null, signal: 'SIGTERM' }))
})

t.test('exits are described the way Tornado logs them', async (t) => {
  t.equal(describeExit({ code: 3, signal: null }), 'status 3')
  t.equal(describeExit({ code: null, signal: 'SIGKILL' }), 'signal SIGKILL')
  t.equal(describeExit({ code: null, signal: null }), 'status 0')
})

t.test('ports mode gives slot i port + i; shared mode gives every slot the same port; titles name slot and port', async (t) => {
  t.same([0, 1, 2].map((slot) => slotPort('ports', 8000, slot)), [8000, 8001, 8002])
  t.same([0, 1, 2].map((slot) => slotPort('shared', 8000, slot)), [8000, 8000, 8000])
  t.equal(workerTitle(2, 8002), 'deploy-kit worker 2 :8002')
})
