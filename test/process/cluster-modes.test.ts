import t from 'tap'
import { get, launchFixture, freePorts } from '../helpers/cluster.js'

t.test('shared mode with 2 workers answers on one port from both worker pids', async (t) => {
  const launched = launchFixture(t, { processes: 2, port: 0, host: '127.0.0.1' })
  const listening = await launched.waitFor((line) => line.msg === 'worker listening', 2)
  const port = listening[0]!.port as number
  t.equal(listening[1]!.port, port, 'both workers report the same port')
  const pids = new Set<number>()
  const tasks = new Set<number | null>()
  for (let i = 0; i < 50 && pids.size < 2; i++) {
    const answer = await get(port)
    t.equal(answer.status, 200)
    pids.add(answer.body.pid)
    tasks.add(answer.body.taskId)
  }
  t.same([...pids].sort(), listening.map((line) => line.pid).sort(), 'responses came from both workers')
  t.same([...tasks].sort(), [0, 1], 'taskId() is the slot in each worker')
  launched.child.kill('SIGTERM')
  t.same(await launched.exit(), { code: 0, signal: null })
})

t.test('ports mode: worker i listens on port + i, answers with its own taskId and names it in its title', async (t) => {
  const base = await freePorts(2)
  const launched = launchFixture(t, { processes: 2, port: base, host: '127.0.0.1', mode: 'ports' })
  await launched.waitFor((line) => line.msg === 'worker listening', 2)
  for (const slot of [0, 1]) {
    const answers = await Promise.all([get(base + slot), get(base + slot), get(base + slot)])
    for (const answer of answers) {
      t.equal(answer.body.taskId, slot, `port ${base + slot} is served by slot ${slot}`)
      t.equal(answer.body.title, `deploy-kit worker ${slot} :${base + slot}`)
    }
  }
  launched.child.kill('SIGTERM')
  t.same(await launched.exit(), { code: 0, signal: null })
})
