// Health for balancers and the readiness gate of a new worker
// (docs/cluster.md "Health and readiness"). The launcher adds one route,
// `healthPath`, to the app buildApp returned: 200 while the worker serves,
// 503 from the moment it starts draining (so nginx, HAProxy and Kubernetes
// take it out before its connections close), and, with `overload`, 503 with
// Retry-After past the event-loop or memory bounds, as
// @fastify/under-pressure's status route answers. Only that route: a
// balancer routes around the worker, and the requests already sent to it are
// still answered (register @fastify/under-pressure to shed every route).
//
// Why not @fastify/under-pressure itself: it adds an onRequest hook to every
// route once a bound is set (a cost on each request, where the metrics
// budget is 3%), it decorates the app (memoryUsage, isUnderPressure), so an
// app registering it itself would fail with FST_ERR_DEC_ALREADY_PRESENT, and
// it cannot know that the launcher is draining the worker.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import { FDK_CLUSTER_OPTION_INVALID } from '../shared/errors.js'
import { invalidOption } from '../shared/invalid-option.js'
import type { NormalizedOverload, Readiness } from './watch-options.js'

/** The few things of a Fastify instance the route needs. */
interface RoutableApp {
  route: (route: { method: string, url: string, handler: (request: unknown, reply: HealthReply) => unknown }) => unknown
  inject: (request: { method: string, url: string }) => Promise<{ statusCode: number, body: string }>
}

interface HealthReply {
  code: (status: number) => HealthReply
  header: (name: string, value: string) => HealthReply
  send: (body: object) => unknown
}

/** The figures the overload bounds are judged on. */
export interface Load {
  eventLoopDelayMs: number
  heapUsedBytes: number
  rssBytes: number
}

/** Why the worker is over a bound, or null. */
export function overloadReason (bounds: NormalizedOverload, load: Load): string | null {
  if (bounds.maxEventLoopDelayMs > 0 && load.eventLoopDelayMs > bounds.maxEventLoopDelayMs) return `event-loop delay ${Math.round(load.eventLoopDelayMs)} ms is over maxEventLoopDelayMs ${bounds.maxEventLoopDelayMs}`
  if (bounds.maxHeapUsedBytes > 0 && load.heapUsedBytes > bounds.maxHeapUsedBytes) return `heap used ${load.heapUsedBytes} bytes is over maxHeapUsedBytes ${bounds.maxHeapUsedBytes}`
  if (bounds.maxRssBytes > 0 && load.rssBytes > bounds.maxRssBytes) return `resident set ${load.rssBytes} bytes is over maxRssBytes ${bounds.maxRssBytes}`
  return null
}

const DELAY_WINDOW_MS = 1_000

/**
 * The event loop's delay, p99 over the last whole second (what the
 * heartbeat reports): a window, so one long pause ages out instead of
 * keeping the worker out for good.
 */
class LoopDelay {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 })
  private readonly timer: NodeJS.Timeout
  lastMs = 0

  constructor () {
    this.histogram.enable()
    this.timer = setInterval(() => {
      this.lastMs = this.histogram.percentile(99) / 1e6
      this.histogram.reset()
    }, DELAY_WINDOW_MS)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    this.histogram.disable()
  }
}

export interface HealthOptions {
  healthPath: string | undefined
  overload: NormalizedOverload | undefined
}

export class Health {
  private readonly delay: LoopDelay | null
  private server: { readonly isDraining: boolean } | null = null

  constructor (private readonly options: HealthOptions) {
    this.delay = options.overload !== undefined && options.overload.maxEventLoopDelayMs > 0 ? new LoopDelay() : null
  }

  /** The server whose draining turns the route to 503 (an AppServer). */
  serve (server: { readonly isDraining: boolean }): void {
    this.server = server
  }

  /** What the route answers now: ok (200), or draining / overloaded (503). */
  state (): { status: 'ok' | 'draining' | 'overloaded', reason?: string } {
    if (this.server?.isDraining === true) return { status: 'draining' }
    const bounds = this.options.overload
    if (bounds === undefined) return { status: 'ok' }
    const memory = process.memoryUsage()
    const reason = overloadReason(bounds, { eventLoopDelayMs: this.delay?.lastMs ?? 0, heapUsedBytes: memory.heapUsed, rssBytes: memory.rss })
    return reason === null ? { status: 'ok' } : { status: 'overloaded', reason }
  }

  /** Adds the route (GET and HEAD) to the app; call before app.ready(). */
  install (app: unknown): void {
    const path = this.options.healthPath
    if (path === undefined) return
    const routable = app as RoutableApp
    const handler = (_request: unknown, reply: HealthReply): unknown => {
      const now = this.state()
      // A cached "ok" would keep a draining worker in.
      reply.header('cache-control', 'no-store')
      if (now.status === 'ok') return reply.code(200).send(now)
      if (now.status === 'overloaded') reply.header('retry-after', String(this.options.overload!.retryAfterSeconds))
      return reply.code(503).send(now)
    }
    try {
      routable.route({ method: 'GET', url: path, handler })
    } catch (error) {
      throw invalidOption(FDK_CLUSTER_OPTION_INVALID, 'launch option', 'healthPath', path, `a path no route of the app uses (${(error as Error).message})`)
    }
  }

  stop (): void {
    this.delay?.stop()
  }
}

/** How often a failing readiness check is tried again until its deadline. */
export const READINESS_RETRY_MS = 100

async function once (check: () => unknown, deadline: number): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<string>((resolve) => { timer = setTimeout(() => resolve('it did not answer in time'), Math.max(deadline - Date.now(), 0)) })
  try {
    return await Promise.race([Promise.resolve().then(check).then((ok) => ok === false ? 'it returned false' : null, (error: unknown) => `it threw: ${error instanceof Error ? error.message : String(error)}`), late])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Runs the readiness check (the function, else the health route through
 * app.inject, which reaches this worker and no other) until it passes or
 * `deadline` (epoch ms) comes; null when ready, else the last reason.
 */
export async function awaitReady (app: unknown, readiness: Readiness | undefined, healthPath: string | undefined, deadline: number): Promise<string | null> {
  let check: (() => unknown) | undefined
  let what = ''
  if (readiness !== undefined) {
    check = () => readiness(app)
    what = 'the readiness check'
  } else if (healthPath !== undefined) {
    check = async () => {
      const answer = await (app as RoutableApp).inject({ method: 'GET', url: healthPath })
      if (answer.statusCode !== 200) throw new Error(`answered ${answer.statusCode} ${answer.body}`)
    }
    what = `GET ${healthPath}`
  }
  if (check === undefined) return null
  let tries = 0
  for (;;) {
    tries++
    const reason = await once(check, deadline)
    if (reason === null) return null
    if (Date.now() + READINESS_RETRY_MS >= deadline) return `${what} did not pass (${tries} ${tries === 1 ? 'try' : 'tries'}), the last time ${reason}`
    await new Promise((resolve) => setTimeout(resolve, READINESS_RETRY_MS))
  }
}
