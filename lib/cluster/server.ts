// One Fastify app serving inside a worker (or in-process with processes: 1):
// build, listen, and the graceful drain that makes a rolling reload lose no
// request. Fastify's own close() answers 503 to requests arriving on
// keep-alive connections while it closes, and Node's http close() drops idle
// keep-alive sockets a client may be writing to at that instant; both show up
// as failed requests under load. So we drain first: stop accepting, answer
// every further request with `Connection: close`, end sockets only once they
// have been idle a while, and call app.close() when none are left.
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http'
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net'
import { FDK_CLUSTER_BUILD_APP_INVALID } from '../shared/errors.js'
import { RateLimitedWarning, countOpenFiles, readOpenFileLimit } from './limits.js'
import { applyClientLimits, CLIENT_LIMIT_DEFAULTS, type ClientLimits } from './client-limits.js'

/** What launch() needs from the app buildApp returns (a Fastify instance). */
export interface LaunchableApp {
  listen: (options: { port: number, host?: string }) => Promise<string>
  close: () => Promise<unknown>
  ready: () => PromiseLike<unknown>
  server: HttpServer
  log: { info: (obj: object, msg: string) => void, warn: (obj: object, msg: string) => void, error: (obj: object, msg: string) => void }
}

export type BuildApp = () => LaunchableApp | Promise<LaunchableApp>

/** How long a stopping worker may drain by default (shutdownTimeoutMs); `deploy-kit kubernetes` sizes the grace period from it. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000

/** An idle keep-alive socket is ended only after this long without a request. */
export const IDLE_GRACE_MS = 2_000
const DRAIN_POLL_MS = 25
/** Running out of descriptors is logged at most once per this interval. */
export const EMFILE_LOG_INTERVAL_MS = 10_000

interface SocketState {
  active: number
  idleSince: number
  /** Responses whose headers may still get `Connection: close`. */
  responses: Set<ServerResponse>
}

function isLaunchable (app: unknown): app is LaunchableApp {
  const candidate = app as Partial<LaunchableApp> | null
  return typeof candidate?.listen === 'function' && typeof candidate.close === 'function' &&
    typeof candidate.ready === 'function' && typeof candidate.server?.on === 'function'
}

export class AppServer {
  readonly app: LaunchableApp
  private readonly sockets = new Map<Socket, SocketState>()
  private draining = false
  private readonly emfile = new RateLimitedWarning(EMFILE_LOG_INTERVAL_MS)
  /** Soft RLIMIT_NOFILE and the descriptors open before any connection. */
  private fdLimit: number | null = null
  private fdBaseline = 0

  private constructor (app: LaunchableApp, limits: ClientLimits) {
    this.app = app
    const server = app.server
    // First, so the listeners below see every request, refused ones included.
    applyClientLimits(server, limits, app.log)
    server.on('connection', (socket: Socket) => {
      this.sockets.set(socket, { active: 0, idleSince: Date.now(), responses: new Set() })
      socket.once('close', () => this.sockets.delete(socket))
      // libuv answers EMFILE on accept by dropping the connection without
      // telling Node, so we notice the limit by counting instead.
      /* c8 ignore next -- the descriptor limit is reached only in the prlimit test, a launched process */
      if (this.fdLimit !== null && this.fdBaseline + this.sockets.size >= this.fdLimit - 2) this.outOfFiles('EMFILE')
    })
    // Runs before Fastify's handler so the header is in place before any reply.
    server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
      const state = this.sockets.get(request.socket)
      /* c8 ignore next -- every request arrives on a socket seen by 'connection' */
      if (state === undefined) return
      state.active++
      /* c8 ignore next -- draining with requests in flight happens in launched processes */
      if (this.draining) response.setHeader('connection', 'close')
      state.responses.add(response)
      response.once('close', () => {
        state.responses.delete(response)
        state.active--
        state.idleSince = Date.now()
      })
    })
    // An 'error' event after listen() would otherwise crash the process.
    server.on('error', (error: NodeJS.ErrnoException) => {
      if (!server.listening) return // listen() failures reject listen() itself
      if (error.code === 'EMFILE' || error.code === 'ENFILE') return this.outOfFiles(error.code)
      app.log.error({ err: error }, 'server error')
    })
  }

  private outOfFiles (code: string): void {
    const suppressed = this.emfile.hit(Date.now())
    if (suppressed === null) return
    this.app.log.warn({ code, connections: this.sockets.size, limit: this.fdLimit, suppressed },
      'out of file descriptors: new connections are dropped until some close; raise the open-file limit (ulimit -n, LimitNOFILE, supervisord minfds)')
  }

  /** Runs buildApp and waits for the app to be ready; nothing listens yet. */
  static async build (buildApp: BuildApp, limits: ClientLimits = CLIENT_LIMIT_DEFAULTS, prepare?: (app: LaunchableApp) => void): Promise<AppServer> {
    const app: unknown = await buildApp()
    if (!isLaunchable(app)) throw new FDK_CLUSTER_BUILD_APP_INVALID('returned something that is not a Fastify instance')
    prepare?.(app) // hooks and routes of the launcher (metrics, health) go in before ready()
    await app.ready()
    // Listening is launch()'s job (port, mode, reloads); an app already on a
    // port of its own would serve there while the launcher reports another.
    if (app.server.listening) {
      await app.close()
      throw new FDK_CLUSTER_BUILD_APP_INVALID('called listen() itself: return the app without listening, the launcher listens on --port / PORT')
    }
    return new AppServer(app, limits)
  }

  /** Listens and returns the port actually bound (useful with port 0). */
  async listen (port: number, host: string | undefined): Promise<number> {
    return this.listenWith(host === undefined ? { port } : { port, host })
  }

  /**
   * Listens on the very socket `previous` listens on; `previous` stops
   * accepting. The port is never closed: closing it would refuse connections
   * for an instant and reset those already waiting in its accept queue, which
   * nginx counts as a failure of that upstream (max_fails) — two processes
   * reloading at once were then both marked down. Node 20 has no
   * SO_REUSEPORT to bind the port twice; `server.listen({ handle })` is
   * Node's documented way to listen on a bound socket.
   */
  async takeOver (previous: AppServer, host: string | undefined): Promise<number> {
    // net.Server keeps its socket in _handle, the member listen({ handle }) documents.
    const listener = previous.app.server as unknown as { _handle: unknown }
    const options = host === undefined ? { port: 0 } : { port: 0, host }
    // Not enumerable: Fastify copies the listen options to its extra
    // 'localhost' servers (::1), which bind sockets of their own.
    Object.defineProperty(options, 'handle', { value: listener._handle })
    const port = await this.listenWith(options)
    // The socket is this server's now: previous's close() must not close it.
    listener._handle = null
    previous.stopAccepting()
    return port
  }

  private async listenWith (options: { port: number, host?: string }): Promise<number> {
    await this.app.listen(options)
    /* c8 ignore next 2 -- the null cases are systems without /proc */
    this.fdLimit = readOpenFileLimit()?.soft ?? null
    this.fdBaseline = (countOpenFiles() ?? 0) - this.sockets.size
    // A TCP listener's address() is always an AddressInfo (a string only for pipes).
    return (this.app.server.address() as AddressInfo).port
  }

  /** Stops accepting connections without touching the open ones. */
  stopAccepting (): void {
    this.draining = true
    for (const state of this.sockets.values()) {
      for (const response of state.responses) {
        if (!response.headersSent) response.setHeader('connection', 'close')
      }
    }
    // net's close, not http's: http's also ends idle keep-alive sockets at once.
    if (this.app.server.listening) NetServer.prototype.close.call(this.app.server)
  }

  /**
   * Stops accepting, lets in-flight requests finish (with `Connection: close`),
   * ends idle sockets after IDLE_GRACE_MS, destroys what is left at the
   * deadline, then closes the app. Resolves true when nothing was cut off.
   */
  async drain (timeoutMs: number): Promise<boolean> {
    this.stopAccepting()
    const deadline = Date.now() + timeoutMs
    while (this.sockets.size > 0 && Date.now() < deadline) {
      const now = Date.now()
      for (const [socket, state] of this.sockets) {
        if (state.active === 0 && now - state.idleSince >= IDLE_GRACE_MS) socket.end()
      }
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS))
    }
    const clean = this.sockets.size === 0
    for (const socket of this.sockets.keys()) socket.destroy()
    await this.app.close()
    return clean
  }

  /** True from stopAccepting() on: the health route answers 503. */
  get isDraining (): boolean {
    return this.draining
  }

  /** Open connections right now (for logs and tests). */
  get connections (): number {
    return this.sockets.size
  }
}
