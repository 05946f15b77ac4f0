// The primary of a multi-process launch: forks one worker per slot, restarts
// crashed ones as lib/cluster/supervisor.ts decides, drains everything on
// SIGTERM/SIGINT and replaces workers one slot at a time on SIGHUP. It never
// calls buildApp. In 'ports' mode each port is still a node:cluster shared
// handle held here, so during a reload the old and the new worker of a slot
// are both on the port and the handover has no gap at all.
import { FDK_CLUSTER_NOT_READY, FDK_CLUSTER_TOO_MANY_RESTARTS, FDK_CLUSTER_WORKER_BOOT_FAILED } from '../shared/errors.js'
import type { LaunchHandle, NormalizedClusterOptions, WorkerInfo } from './types.js'
import { Supervisor, describeExit, slotPort, type RestartPolicy } from './supervisor.js'
import { hasReadinessGate } from './build-ready.js'
import { warnOpenFiles } from './limits.js'
import { PrimaryWatch } from './primary-watch.js'
import type { ReloadOutcome, WorkerRecord } from './watch.js'
import { tell } from './ipc.js'
import { CLUSTER_HOST, type PrimaryHost, type PrimaryWorker } from './primary-host.js'

interface Tracked {
  worker: PrimaryWorker
  slot: number
  port: number
  state: WorkerInfo['state']
  /** Resolves true once listening, false if it exited first. */
  ready: Promise<boolean>
  /** Why buildApp or listen failed, as the worker reported it (it does not print it itself). */
  bootError?: unknown
  /** Heartbeats and exits, for status and the stuck-worker check. */
  watch: WorkerRecord
  notReady?: string
}

/** The primary's exit status when the first start fails: gunicorn's WORKER_BOOT_ERROR. */
export const EXIT_BOOT_FAILED = 3

/** Runs the primary on `host`: the real processes in a launch, fake ones in test/unit/cluster-primary.test.ts. */
export async function runPrimary (settings: NormalizedClusterOptions, policy: Omit<RestartPolicy, 'maxRestarts'>, host: PrimaryHost = CLUSTER_HOST): Promise<LaunchHandle> {
  const log = settings.logger ?? host.logger()
  const slots = settings.processes
  // Ports mode: each port has one worker (two during a reload), so let the
  // kernel queue connections on the shared socket instead of the primary
  // accepting and passing them on. A connection passed to a worker at the
  // instant it is SIGKILLed is otherwise lost in flight and hangs the client
  // (nginx waits proxy_read_timeout); in the kernel's queue it waits for the
  // replacement. Shared mode keeps round-robin for an even spread.
  host.schedule(settings.mode)
  warnOpenFiles(log, settings.minOpenFiles)
  const supervisor = new Supervisor(slots, { ...policy, maxRestarts: settings.maxRestarts })
  const live = new Set<Tracked>()
  const current: Array<Tracked | undefined> = new Array<Tracked | undefined>(slots)
  const timers = new Set<NodeJS.Timeout>()
  let stopping: Promise<void> | undefined
  let allDown: (() => void) | undefined
  let reloading: Promise<void> = Promise.resolve()
  let reloadRunning = false
  let lastReload: ReloadOutcome | null = null
  const watch = await PrimaryWatch.start(settings, log, {
    live: () => live,
    reload: () => reload(),
    replace: (slot, cause) => queue(`replacing worker ${slot} (${cause})`, async () => await replaceSlot(slot)),
    shutdown: () => shutdown(),
    reloading: () => reloadRunning,
    lastReload: () => lastReload
  }, policy.windowMs, host)
  const last = slotPort(settings.mode, settings.port, slots - 1)
  host.title(`deploy-kit primary :${settings.port}${last === settings.port ? '' : '-' + last}`)
  log.info({ processes: slots, mode: settings.mode, port: settings.port }, `Starting ${slots} processes`)

  function fork (slot: number): Tracked {
    const port = slotPort(settings.mode, settings.port, slot)
    const worker = host.fork({ FDK_CLUSTER_TASK_ID: String(slot), FDK_CLUSTER_PORT: String(port) })
    let settle!: (ok: boolean) => void
    const entry: Tracked = { worker, slot, port, state: 'starting', ready: new Promise((resolve) => { settle = resolve }), watch: watch.record(slot, worker.process.pid!, port) }
    live.add(entry)
    log.info({ taskId: slot, pid: worker.process.pid, port }, 'worker started')
    worker.on('message', (message: { fdk?: string, port?: number }) => {
      if (typeof message?.fdk === 'string' && watch.message(entry, message)) return
      if (message?.fdk === 'ready') {
        entry.state = 'ready'
        entry.port = message.port!
        watch.ready(entry, entry.port)
        supervisor.ready(slot, Date.now())
        log.info({ taskId: slot, pid: worker.process.pid, port: entry.port }, 'worker listening')
        settle(true)
      } else if (message?.fdk === 'reload') {
        reload()
      } else if (message?.fdk === 'boot-error') {
        entry.bootError = (message as { error?: unknown }).error
      }
    })
    worker.once('exit', (code: number | null, signal: string | null) => {
      settle(false)
      onExit(entry, { code, signal })
    })
    return entry
  }

  function onExit (entry: Tracked, exit: { code: number | null, signal: string | null }): void {
    live.delete(entry)
    const cause = watch.exited(entry, exit, stopping !== undefined)
    const fields = { taskId: entry.slot, pid: entry.worker.process.pid, code: exit.code, signal: exit.signal, cause }
    if (entry.state === 'draining' || stopping !== undefined) {
      log.info(fields, 'worker stopped')
      if (live.size === 0) allDown?.()
      return
    }
    const failure = entry.bootError === undefined ? {} : { err: entry.bootError }
    if (current[entry.slot] !== entry) {
      log.warn({ ...fields, ...failure }, `replacement for worker ${entry.slot} exited with ${describeExit(exit)} before listening`)
      return
    }
    current[entry.slot] = undefined
    const decision = supervisor.exited(entry.slot, Date.now(), exit)
    if (decision.action === 'done') {
      log.info(fields, `worker ${entry.slot} (pid ${fields.pid}) exited normally; not restarted`)
      if (live.size === 0 && timers.size === 0) {
        log.info({}, 'no workers left')
        host.exit(0)
      }
    } else if (decision.action === 'restart') {
      log.warn({ ...fields, ...failure, delayMs: decision.delayMs }, `worker ${entry.slot} (pid ${fields.pid}) exited with ${describeExit(exit)}, restarting in ${decision.delayMs} ms`)
      const timer = setTimeout(() => {
        timers.delete(timer)
        // A reload may have filled the slot meanwhile (shutdown clears the timers).
        if (current[entry.slot] === undefined) {
          watch.restarted(entry.slot)
          current[entry.slot] = fork(entry.slot)
          log.info({ taskId: entry.slot, pid: current[entry.slot]!.worker.process.pid }, 'worker restarted')
        }
      }, decision.delayMs)
      timers.add(timer)
    } else if (decision.action === 'halt') {
      // Printed once, here: the other workers' failures arrive while stopping.
      const error = new FDK_CLUSTER_WORKER_BOOT_FAILED(String(entry.slot), describeExit(exit))
      log.error({ ...fields, ...failure, code: error.code }, error.message)
      // Workers still building would ignore the stop message (they handle it
      // once listening) until the kill deadline; SIGTERM ends them now.
      for (const other of live) if (other.state === 'starting') other.worker.process.kill('SIGTERM')
      shutdown().then(() => host.exit(EXIT_BOOT_FAILED))
    } else {
      const error = new FDK_CLUSTER_TOO_MANY_RESTARTS(String(decision.restarts), `${Math.round(supervisor.policy.windowMs / 60_000)} minutes`, `worker ${entry.slot} with ${describeExit(exit)}`)
      log.error({ code: error.code, restarts: decision.restarts }, error.message)
      shutdown().then(() => host.exit(1))
    }
  }

  function stopWorker (entry: Tracked): void {
    entry.state = 'draining'
    tell(entry.worker, { fdk: 'stop' })
    // The worker cuts its own connections at shutdownTimeoutMs; this is for a hung one.
    const timer = setTimeout(() => entry.worker.process.kill('SIGKILL'), settings.shutdownTimeoutMs + host.killMarginMs)
    entry.worker.once('exit', () => clearTimeout(timer))
  }

  function shutdown (): Promise<void> {
    stopping ??= new Promise<void>((resolve) => {
      allDown = resolve
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      watch.close()
      for (const entry of live) stopWorker(entry)
      if (live.size === 0) resolve()
    })
    return stopping
  }

  function force (): void {
    for (const entry of live) entry.worker.process.kill('SIGKILL')
  }

  /** Runs `job` after any reload or replacement under way; resolves to its outcome. */
  function queue (what: string, job: () => Promise<string | null>): Promise<ReloadOutcome> {
    const run = reloading.then(async (): Promise<ReloadOutcome> => {
      const startedAt = Date.now()
      reloadRunning = true
      log.info({}, `${what} started`)
      const reason = stopping !== undefined ? 'the primary is stopping' : await job()
      reloadRunning = false
      const outcome: ReloadOutcome = reason === null ? { ok: true, startedAt, finishedAt: Date.now() } : { ok: false, reason, startedAt, finishedAt: Date.now() }
      if (reason === null) log.info({}, `${what} finished`)
      else log.error({ reason }, `${what} stopped: ${reason}`)
      return outcome
    })
    reloading = run.then(() => {})
    return run
  }

  /** Starts a new worker in `slot`, waits until it is ready, then drains the old one; null or why not. */
  async function replaceSlot (slot: number): Promise<string | null> {
    const old = current[slot]
    if (stopping !== undefined) return 'the primary is stopping'
    if (old === undefined) return null
    const fresh = fork(slot)
    // The worker bounds its build and its readiness check (readinessTimeoutMs
    // each) from its 'building' word on; this is for one whose event loop is
    // blocked meanwhile and so cannot say anything.
    let backstop: NodeJS.Timeout | undefined
    if (hasReadinessGate(settings)) {
      fresh.worker.once('message', () => {
        backstop = setTimeout(() => {
          fresh.notReady ??= new FDK_CLUSTER_NOT_READY(String(slot), String(settings.readinessTimeoutMs), 'it sent no word since it started building (its event loop may be blocked); killed').message
          fresh.worker.process.kill('SIGKILL')
        }, 2 * settings.readinessTimeoutMs + host.killMarginMs)
      })
    }
    const ready = await fresh.ready
    clearTimeout(backstop)
    if (!ready) return `${fresh.notReady ?? `the new worker ${slot} exited before listening`}; the old workers keep serving`
    current[slot] = fresh
    log.info({ taskId: slot, pid: fresh.worker.process.pid, oldPid: old.worker.process.pid }, `worker ${slot} replaced`)
    if (live.has(old)) stopWorker(old)
    return null
  }

  function reload (): Promise<ReloadOutcome> {
    const outcome = queue('reload', async () => {
      for (let slot = 0; slot < slots; slot++) {
        const reason = await replaceSlot(slot)
        if (reason !== null) return reason
      }
      return null
    })
    outcome.then((result) => { lastReload = result })
    return outcome
  }

  for (let slot = 0; slot < slots; slot++) current[slot] = fork(slot)
  const removeSignals = host.signals(log, shutdown, force, async () => { await reload() })
  await Promise.all(current.map((entry) => entry!.ready))
  return {
    role: 'primary',
    workers: () => [...live].map((entry) => ({ taskId: entry.slot, pid: entry.worker.process.pid!, port: entry.port, state: entry.state })),
    reload: async () => { await reload() },
    close: async () => {
      await shutdown()
      removeSignals()
    }
  }
}
