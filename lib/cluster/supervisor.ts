// The primary's decisions, without processes: which slot restarts, after how
// long, and when to give up. lib/cluster/primary.ts feeds it the exits it sees
// and does what it says, so every rule here is unit-tested in-process.
//
// Tornado (`tornado.process.fork_processes`) restarts at once and counts one global, never-decaying
// budget, so a service that crashes once a day dies after 100 days and a crash
// loop burns the budget in a second. We back off per slot (doubling, capped,
// reset once a worker stayed up for `stableMs`) and count restarts in a sliding
// window, so only a real crash loop exhausts `maxRestarts`.

export interface RestartPolicy {
  /** Restarts allowed within `windowMs` before giving up (Tornado's max_restarts). */
  maxRestarts: number
  /** The sliding window the budget counts in. */
  windowMs: number
  /** Delay before the first restart of a slot; doubles per consecutive crash. */
  backoffBaseMs: number
  /** Cap of the doubling delay. */
  backoffMaxMs: number
  /** A worker listening at least this long resets its slot's backoff. */
  stableMs: number
}

/** With these, a single slot crash-looping gives up after about 8 minutes at maxRestarts 100. */
export const DEFAULT_POLICY: Omit<RestartPolicy, 'maxRestarts'> = {
  windowMs: 15 * 60_000,
  backoffBaseMs: 100,
  backoffMaxMs: 5_000,
  stableMs: 10_000
}

export interface WorkerExit {
  code: number | null
  signal: string | null
}

export type ExitDecision =
  | { action: 'restart', delayMs: number }
  | { action: 'give-up', restarts: number }
  | { action: 'done' }
  /** A worker failed before it ever listened, before the launch ever fully started: a release that cannot boot. */
  | { action: 'halt' }

/** "status 3", "signal SIGKILL": how Tornado words an exit in its log. */
export function describeExit ({ code, signal }: WorkerExit): string {
  return signal !== null ? `signal ${signal}` : `status ${code ?? 0}`
}

/** True for exits the primary should answer with a restart (Tornado: any but status 0). */
export function isAbnormal ({ code, signal }: WorkerExit): boolean {
  return signal !== null || (code !== null && code !== 0)
}

export class Supervisor {
  readonly policy: RestartPolicy
  private readonly consecutive: number[]
  private readonly readyAt: Array<number | null>
  private readonly everReady: boolean[]
  private restarts: number[] = []
  /** Every slot has listened at least once: the launch started. */
  private started = false

  constructor (slots: number, policy: RestartPolicy) {
    this.policy = policy
    this.consecutive = new Array<number>(slots).fill(0)
    this.readyAt = new Array<number | null>(slots).fill(null)
    this.everReady = new Array<boolean>(slots).fill(false)
  }

  /** The worker of `slot` is listening since `now`. */
  ready (slot: number, now: number): void {
    this.readyAt[slot] = now
    this.everReady[slot] = true
    this.started ||= this.everReady.every(Boolean)
  }

  /**
   * The worker of `slot` exited on its own (not asked to stop). Exit 0 ends
   * the slot as in Tornado; anything else restarts after the slot's backoff,
   * unless that restart would exceed the budget. A worker that fails before
   * it ever listened, while the launch has not started yet, halts it: the
   * release cannot boot (a throwing buildApp, a missing secret), and
   * restarting it only hides that from systemd/supervisord (gunicorn halts
   * on a worker boot error the same way).
   */
  exited (slot: number, now: number, exit: WorkerExit): ExitDecision {
    const readyAt = this.readyAt[slot]!
    this.readyAt[slot] = null
    if (!isAbnormal(exit)) return { action: 'done' }
    if (!this.started && readyAt === null) return { action: 'halt' }
    // A worker that never got to listen (a slow crash at start-up) resets nothing.
    if (readyAt !== null && now - readyAt >= this.policy.stableMs) this.consecutive[slot] = 0
    this.restarts = this.restarts.filter((at) => now - at < this.policy.windowMs)
    if (this.restarts.length >= this.policy.maxRestarts) {
      return { action: 'give-up', restarts: this.restarts.length }
    }
    this.restarts.push(now)
    const attempt = this.consecutive[slot]!
    this.consecutive[slot] = attempt + 1
    const delayMs = Math.min(this.policy.backoffBaseMs * 2 ** attempt, this.policy.backoffMaxMs)
    return { action: 'restart', delayMs }
  }
}

/** The port a slot listens on: the same for all in shared mode, port + slot in ports mode. */
export function slotPort (mode: 'shared' | 'ports', port: number, slot: number): number {
  return mode === 'ports' ? port + slot : port
}

/** `deploy-kit worker 2 :8002`, what ps and top show for a worker. */
export function workerTitle (slot: number, port: number): string {
  return `deploy-kit worker ${slot} :${port}`
}
