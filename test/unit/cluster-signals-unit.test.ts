// What SIGTERM, SIGINT and SIGHUP do to a primary or a processes: 1 launch
// (lib/cluster/signals.ts), on a stand-in for `process` so that the signals
// and the exits stay inside the test. test/process/cluster-signals.test.ts
// sends real signals to real launches.
import t from 'tap'
import { EventEmitter } from 'node:events'
import { handleSignals, type SignalTarget } from '../../lib/cluster/signals.js'
import type { Logger } from '../../lib/cluster/types.js'

function world (stopResult: 'resolves' | 'rejects' | 'hangs' = 'resolves'): { target: SignalTarget & EventEmitter, exits: number[], calls: string[], lines: string[], log: Logger, stop: () => Promise<void>, force: () => void, reload: () => Promise<void> } {
  const exits: number[] = []
  const calls: string[] = []
  const lines: string[] = []
  const target = Object.assign(new EventEmitter(), { exit: (code?: number) => { exits.push(code ?? 0) } }) as unknown as SignalTarget & EventEmitter
  const log: Logger = { info: (_obj, msg) => lines.push(`info ${msg}`), warn: (_obj, msg) => lines.push(`warn ${msg}`), error: (_obj, msg) => lines.push(`error ${msg}`) }
  return {
    target,
    exits,
    calls,
    lines,
    log,
    stop: async () => {
      calls.push('stop')
      if (stopResult === 'rejects') throw new Error('a worker would not stop')
      if (stopResult === 'hangs') await new Promise(() => {})
    },
    force: () => { calls.push('force') },
    reload: async () => {
      calls.push('reload')
      throw new Error('reload failed (it logs its own reason)')
    }
  }
}

const settle = async (): Promise<void> => await new Promise((resolve) => setImmediate(resolve))

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${signal} drains, then exits 0`, async (t) => {
    const w = world()
    handleSignals(w.log, w.stop, w.force, w.reload, w.target)
    w.target.emit(signal, signal)
    await settle()
    t.same(w.calls, ['stop'])
    t.same(w.exits, [0])
    t.same(w.lines, ['info stopping: draining in-flight requests', 'info stopped'])
  })
}

t.test('a second signal while draining forces: every worker killed, exit 1 at once', async (t) => {
  const w = world('hangs')
  handleSignals(w.log, w.stop, w.force, w.reload, w.target)
  w.target.emit('SIGTERM', 'SIGTERM')
  w.target.emit('SIGINT', 'SIGINT')
  await settle()
  t.same(w.calls, ['stop', 'force'], 'the second signal does not start another drain')
  t.same(w.exits, [1])
  t.same(w.lines, ['info stopping: draining in-flight requests', 'warn second signal: stopping now without draining'])
})

t.test('a drain that fails exits 1', async (t) => {
  const w = world('rejects')
  handleSignals(w.log, w.stop, w.force, w.reload, w.target)
  w.target.emit('SIGTERM', 'SIGTERM')
  await settle()
  t.same(w.exits, [1])
})

t.test('SIGHUP reloads and never exits, even when the reload fails', async (t) => {
  const w = world()
  handleSignals(w.log, w.stop, w.force, w.reload, w.target)
  w.target.emit('SIGHUP', 'SIGHUP')
  await settle()
  t.same(w.calls, ['reload'])
  t.same(w.exits, [])
})

t.test('the remover takes every handler off', async (t) => {
  const w = world()
  const remove = handleSignals(w.log, w.stop, w.force, w.reload, w.target)
  t.same(['SIGTERM', 'SIGINT', 'SIGHUP'].map((signal) => w.target.listenerCount(signal)), [1, 1, 1])
  remove()
  t.same(['SIGTERM', 'SIGINT', 'SIGHUP'].map((signal) => w.target.listenerCount(signal)), [0, 0, 0])
})
