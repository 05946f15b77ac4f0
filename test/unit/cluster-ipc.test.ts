// tell(): the primary's messages to a worker that has just died. Its channel
// still reads as connected until the primary's event loop sees it close, and
// a plain send() then emits an EPIPE 'error' on the worker, which crashed the
// primary (status 1 instead of the boot failure's 3, in one CI run of
// cluster-readiness.test.ts, when both workers failed at once).
import t from 'tap'
import cluster, { type Worker } from 'node:cluster'
import { readdirSync, readFileSync } from 'node:fs'
import { tell } from '../../lib/cluster/ipc.js'

/**
 * Blocks this thread until `pid` has exited, at most 5 s: a zombie not yet
 * reaped (this loop has not run), its main thread the only one left, so its
 * other threads are gone too and with them its end of the channel.
 */
function blockUntilExited (pid: number): void {
  const sleeper = new Int32Array(new SharedArrayBuffer(4))
  const deadline = Date.now() + 5_000
  while (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0] !== 'Z' || readdirSync(`/proc/${pid}/task`).length > 1) {
    if (Date.now() > deadline) throw new Error(`worker ${pid} still running after 5 s`)
    Atomics.wait(sleeper, 0, 0, 5)
  }
}

/** Forks a worker that exits at once; in its 'online' handler, once it has exited, runs `send` and reports what followed. */
async function sendToDeadWorker (send: (worker: Worker) => void): Promise<{ connected: boolean, errors: unknown[] }> {
  cluster.setupPrimary({ exec: new URL('../fixtures/cluster/exits-at-once.mjs', import.meta.url).pathname, execArgv: [], silent: true })
  const worker = cluster.fork()
  const errors: unknown[] = []
  worker.on('error', (error) => errors.push(error))
  let connected = false
  worker.once('online', () => {
    blockUntilExited(worker.process.pid!)
    connected = worker.isConnected()
    send(worker)
  })
  await new Promise((resolve) => worker.once('exit', resolve))
  // An 'error' from the write comes on a later tick than the write, before the exit.
  await new Promise((resolve) => setImmediate(resolve))
  return { connected, errors }
}

t.test('a plain send() to a worker that just died emits EPIPE on it (the primary crashed on that)', async (t) => {
  const { connected, errors } = await sendToDeadWorker((worker) => worker.send({ fdk: 'stop' }))
  t.ok(connected, 'the dead worker still reads as connected')
  t.match(errors, [{ code: 'EPIPE' }])
})

t.test('tell() drops the message instead: no error event, the exit follows as always', async (t) => {
  const { connected, errors } = await sendToDeadWorker((worker) => tell(worker, { fdk: 'stop' }))
  t.ok(connected, 'the dead worker still reads as connected')
  t.same(errors, [])
})

t.test('tell() sends nothing to a worker whose channel is closed', async (t) => {
  const sent: unknown[] = []
  tell({ isConnected: () => false, send: ((message: unknown) => sent.push(message)) as unknown as Worker['send'] }, { fdk: 'stop' })
  t.same(sent, [])
})
