// What a server facing clients directly needs that nginx would otherwise
// give it: nginx's client_header_timeout and client_body_timeout (60 s each),
// Tornado's idle_connection_timeout and max_body_size, a 413 answered before
// a too-large body is sent (Expect: 100-continue) and nginx's lingering close
// so a client still sending reads that 413 instead of a reset. With
// Fastify's defaults a stalled client keeps its connection far too long:
// Node checks its 60 s headersTimeout only every 30 s, a stalled body is
// bounded by nothing (Fastify's requestTimeout 0), and Fastify's 413 closes
// the connection while the client is still sending.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import { FDK_CLUSTER_BODY_TIMEOUT, FDK_CLUSTER_BODY_TOO_LARGE } from '../shared/errors.js'

export interface ClientLimits {
  /** nginx client_header_timeout: the whole request head must arrive within this. */
  clientHeaderTimeoutMs: number
  /** nginx client_body_timeout: the longest pause between two reads of a body. */
  clientBodyTimeoutMs: number
  /** Tornado idle_connection_timeout: an idle keep-alive connection closes after this. */
  idleConnectionTimeoutMs: number
  /** Tornado max_body_size: bigger bodies get 413 before the app sees them. */
  maxBodySize: number
}

/**
 * The defaults, stated in docs/cluster.md and docs/deploying.md. The idle
 * timeout outlasts the idle timeouts of the balancers that keep connections
 * to a backend open (AWS ALB 60 s by default, Google Cloud's fixed 600 s), so
 * the balancer, never the app, closes an idle connection and no request is
 * sent on a connection the app is closing. maxBodySize is Fastify's own
 * bodyLimit default, so the kit's gate, Fastify and `deploy-kit nginx` agree.
 */
export const CLIENT_LIMIT_DEFAULTS: Readonly<ClientLimits> = Object.freeze({
  clientHeaderTimeoutMs: 60_000,
  clientBodyTimeoutMs: 60_000,
  idleConnectionTimeoutMs: 620_000,
  maxBodySize: 1024 * 1024
})

/** nginx lingering_time: discarding the rest of a refused body stops after this. */
export const LINGERING_TIME_MS = 30_000
/** nginx lingering_timeout: ... or once the client pauses this long. */
export const LINGERING_TIMEOUT_MS = 5_000
/** ... or once this much has been discarded (nginx bounds time only). */
export const LINGERING_MAX_BYTES = 64 * 1024 * 1024

export interface LingeringBounds { timeMs: number, idleMs: number, maxBytes: number }
const LINGERING: LingeringBounds = { timeMs: LINGERING_TIME_MS, idleMs: LINGERING_TIMEOUT_MS, maxBytes: LINGERING_MAX_BYTES }

// Fastify's and Node's own defaults: a server still carrying them was not configured by the app.
const FASTIFY_KEEP_ALIVE_TIMEOUT_MS = 72_000
const NODE_HEADERS_TIMEOUT_MS = 60_000
const NODE_CONNECTIONS_CHECKING_INTERVAL_MS = 30_000

interface Pending {
  request: IncomingMessage
  /** The client stopped sending: nothing is left to read, close at once. */
  stalled: boolean
}

/** Whether the request announces a body (Content-Length > 0 or chunked). */
export function hasBody (request: IncomingMessage): boolean {
  const length = request.headers['content-length']
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/** Content-Length as a number, or null when absent or not a plain number. */
export function contentLength (request: IncomingMessage): number | null {
  const length = request.headers['content-length']
  return length !== undefined && /^\d+$/.test(length) ? Number(length) : null
}

/**
 * How often Node looks for expired header deadlines: a tenth of the timeout,
 * within 10 ms..1 s, so a client is cut at most that long after its bound
 * (Node's 30 s default would turn 60 s into as much as 90 s).
 */
export function checkingIntervalMs (headerTimeoutMs: number): number {
  return Math.min(1000, Math.max(10, Math.floor(headerTimeoutMs / 10)))
}

function answer (response: ServerResponse, error: Error & { statusCode: number, code: string }): void {
  const body = JSON.stringify({ statusCode: error.statusCode, code: error.code, error: response.statusMessage, message: error.message })
  response.statusCode = error.statusCode
  response.setHeader('connection', 'close')
  response.setHeader('content-type', 'application/json; charset=utf-8')
  response.setHeader('content-length', Buffer.byteLength(body))
  response.end(body)
}

/**
 * Half-closes after the response and reads (the HTTP parser discards) what
 * the client still sends, for at most LINGERING_TIME_MS, LINGERING_TIMEOUT_MS
 * without data or LINGERING_MAX_BYTES, then closes. Closing at once with
 * unread data makes the kernel send a reset, and the client loses the
 * response it has not read yet.
 */
export function lingeringClose (socket: Socket, bounds: LingeringBounds = LINGERING): void {
  socket.end()
  const start = socket.bytesRead
  const deadline = Date.now() + bounds.timeMs
  let last = start
  const timer = setInterval(() => {
    const read = socket.bytesRead
    if (read === last || read - start > bounds.maxBytes || Date.now() >= deadline) socket.destroy()
    last = read
  }, bounds.idleMs)
  timer.unref()
  socket.once('close', () => clearInterval(timer))
}

/**
 * Applies the limits to the app's server, keeping whatever the app set
 * itself through Fastify's options (http.headersTimeout, keepAliveTimeout,
 * connectionTimeout, http.connectionsCheckingInterval).
 * Call before listen(): Node starts its deadline checks on 'listening'.
 */
export function applyClientLimits (server: Server & { connectionsCheckingInterval?: number }, limits: ClientLimits, log: { info: (obj: object, msg: string) => void }): void {
  // HTTP/2 (Fastify's http2: true) has none of this: its sessions multiplex
  // streams on one socket and carry their own timeouts (http2SessionTimeout).
  if (typeof server.headersTimeout !== 'number') return
  // connectionsCheckingInterval is missing from @types/node 20, present in Node since 18.
  if (server.headersTimeout === NODE_HEADERS_TIMEOUT_MS) server.headersTimeout = limits.clientHeaderTimeoutMs
  if (server.connectionsCheckingInterval === NODE_CONNECTIONS_CHECKING_INTERVAL_MS && server.headersTimeout > 0) {
    server.connectionsCheckingInterval = checkingIntervalMs(server.headersTimeout)
  }
  if (server.keepAliveTimeout === FASTIFY_KEEP_ALIVE_TIMEOUT_MS) server.keepAliveTimeout = limits.idleConnectionTimeoutMs
  // A connectionTimeout of the app's already bounds every pause, bodies included.
  const bodyTimeoutMs = server.timeout === 0 ? limits.clientBodyTimeoutMs : 0
  const pending = new WeakMap<Socket, Pending>()

  const watchBody = (request: IncomingMessage, response: ServerResponse): void => {
    const socket = request.socket
    const state: Pending = { request, stalled: false }
    pending.set(socket, state)
    if (bodyTimeoutMs === 0) return
    // The socket's idle timer is refreshed by every chunk the parser reads.
    socket.setTimeout(bodyTimeoutMs)
    let fired = false
    const onTimeout = (): void => {
      // The body is in: the bound no longer applies (a slow handler is not a slow client).
      if (request.complete) {
        socket.setTimeout(0)
        return
      }
      /* c8 ignore next -- Node emits 'timeout' on the request and then on the response */
      if (fired) return
      fired = true
      state.stalled = true
      const error = new FDK_CLUSTER_BODY_TIMEOUT(String(bodyTimeoutMs))
      // Someone is reading the body (Fastify's parser): let it fail with the
      // 408 so the app's error handler, hooks and logs see it.
      if (request.listenerCount('error') > 0) request.emit('error', error)
      else if (!response.headersSent) answer(response, error)
      else socket.destroy()
    }
    // Node emits 'timeout' on the request only while its body is incomplete;
    // a listener on the response keeps Node from destroying the socket otherwise.
    request.on('timeout', onTimeout)
    response.on('timeout', onTimeout)
    request.once('end', () => { if (!response.writableEnded) socket.setTimeout(0) })
    // Node arms its keep-alive timer when the response ends, even while the
    // rest of an unread body is still due: the body's bound still applies.
    response.once('finish', () => { if (!request.complete && !socket.destroyed) socket.setTimeout(bodyTimeoutMs) })
  }

  // Runs before Fastify: a body over the limit is refused without the app.
  const gate = (request: IncomingMessage, response: ServerResponse): boolean => {
    const length = contentLength(request)
    if (length === null || length <= limits.maxBodySize) return false
    log.info({ contentLength: length, maxBodySize: limits.maxBodySize }, 'request body over maxBodySize: 413')
    answer(response, new FDK_CLUSTER_BODY_TOO_LARGE(String(length), String(limits.maxBodySize)))
    return true
  }

  const handlers = server.listeners('request') as Array<(request: IncomingMessage, response: ServerResponse) => void>
  server.removeAllListeners('request')
  server.on('request', function (this: Server, request: IncomingMessage, response: ServerResponse) {
    if (hasBody(request)) {
      watchBody(request, response)
      if (gate(request, response)) return
    }
    for (const handler of handlers) handler.call(this, request, response)
  })
  // With a listener here Node no longer sends "100 Continue" by itself: an
  // oversized body is refused before the client sends it.
  server.on('checkContinue', function (this: Server, request: IncomingMessage, response: ServerResponse) {
    const length = contentLength(request)
    if (length === null || length <= limits.maxBodySize) response.writeContinue()
    this.emit('request', request, response)
  })
  server.on('connection', (socket: Socket) => {
    // Node ends a `Connection: close` response with destroySoon(), which
    // closes while the client may still be sending the body we refused.
    socket.destroySoon = function (this: Socket) {
      const state = pending.get(this)
      if (state === undefined || state.stalled || state.request.complete) return Socket.prototype.destroySoon.call(this)
      lingeringClose(this)
    }
  })
}
