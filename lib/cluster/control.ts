// The primary's control socket: a Unix socket, mode 0600 in a 0700
// directory, so only its owner (and root) can connect; the kernel checks
// that on connect(). One JSON line in, one JSON line back, then the
// connection ends: `deploy-kit status|reload|stop` are its clients. puma's
// control server and pm2's daemon socket play this part for them; a pid and
// a signal cannot answer "did the reload work?".
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { chmodSync, lstatSync, mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { tmpdir } from 'node:os'
import { FDK_CLUSTER_CONTROL_SOCKET } from '../shared/errors.js'

export interface ControlRequest {
  command: string
  [key: string]: unknown
}

/** Where sockets live: $XDG_RUNTIME_DIR, /run for root, the temp directory otherwise. */
export function runtimeDir (env: NodeJS.ProcessEnv = process.env, uid: number | undefined = process.getuid?.()): string {
  if (env.XDG_RUNTIME_DIR !== undefined && env.XDG_RUNTIME_DIR !== '') return env.XDG_RUNTIME_DIR
  return uid === 0 ? '/run' : tmpdir()
}

/** The directory of default sockets, one per launch. */
export function controlDir (env?: NodeJS.ProcessEnv, uid?: number): string {
  return join(runtimeDir(env, uid), 'deploy-kit')
}

/**
 * `port-8000.sock`, or `10.0.0.5-8000.sock` with a host (two launches on one
 * port and different addresses); with port 0 (picked by the kernel) the
 * primary's pid names it instead.
 */
export function defaultControlPath (port: number, host?: string, env?: NodeJS.ProcessEnv, uid?: number, pid = process.pid): string {
  const name = port === 0 ? `pid-${pid}` : host === undefined ? `port-${port}` : `${host.replace(/[^\w.:-]/g, '_')}-${port}`
  return join(controlDir(env, uid), name + '.sock')
}

/** The sockets in the default directory (for a client given no --socket). */
export function listControlSockets (dir = controlDir()): string[] {
  try {
    return readdirSync(dir).filter((name) => name.endsWith('.sock')).sort().map((name) => join(dir, name))
  } catch {
    return []
  }
}

function probe (path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path)
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** Clears a stale socket left by a killed primary; refuses one a live primary answers on. */
async function clearStale (path: string): Promise<void> {
  let isSocket: boolean
  try {
    isSocket = lstatSync(path).isSocket()
  } catch {
    return // nothing there
  }
  if (!isSocket) throw new FDK_CLUSTER_CONTROL_SOCKET(path, 'it exists and is not a socket')
  if (await probe(path)) throw new FDK_CLUSTER_CONTROL_SOCKET(path, 'another primary is running and answers on it; stop it or give this launch another controlSocket')
  unlinkSync(path)
}

export interface ControlServer {
  path: string
  close: () => Promise<void>
}

/** Listens on `path`; each request's answer is what `handle` resolves to (an error becomes { ok: false, error }). */
export async function listenControl (path: string, handle: (request: ControlRequest) => Promise<unknown>, answered: (request: ControlRequest) => void = () => {}): Promise<ControlServer> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  await clearStale(path)
  const server: Server = createServer((socket: Socket) => {
    let buffered = ''
    socket.setEncoding('utf8')
    socket.on('error', () => {}) // a client that went away; nothing to answer
    socket.on('data', (chunk: string) => {
      buffered += chunk
      const end = buffered.indexOf('\n')
      if (end === -1) {
        if (buffered.length > 65_536) socket.destroy()
        return
      }
      socket.removeAllListeners('data')
      let request: ControlRequest
      try {
        request = JSON.parse(buffered.slice(0, end)) as ControlRequest
        if (typeof request?.command !== 'string') throw new Error('no command')
      } catch {
        socket.end(JSON.stringify({ ok: false, error: 'expected one JSON line with a "command"' }) + '\n')
        return
      }
      handle(request).then((answer) => answer, (error: unknown) => ({ ok: false, error: (error as Error).message }))
        .then((answer) => { socket.end(JSON.stringify(answer) + '\n', () => answered(request)) })
    })
  })
  // The socket file is created by bind() inside listen(), synchronously in the
  // primary: a umask for that call makes it 0600 from its first instant.
  const umask = process.umask(0o177)
  try {
    server.listen(path)
  } finally {
    process.umask(umask)
  }
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', (error: Error) => reject(new FDK_CLUSTER_CONTROL_SOCKET(path, error.message)))
  })
  chmodSync(path, 0o600)
  server.unref()
  return {
    path,
    close: () => new Promise((resolve) => {
      server.close(() => resolve())
      try {
        unlinkSync(path)
      } catch {}
    })
  }
}

/** Why a client could not talk to the socket, in words a user can act on. */
export function describeConnectError (path: string, error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') return `no primary is listening on ${path} (is it running?)`
  if (error.code === 'EACCES' || error.code === 'EPERM') {
    let owner = ''
    try {
      owner = ` (uid ${statSync(path).uid})`
    } catch {}
    return `permission denied on ${path}: only the user who started the primary${owner} may use it`
  }
  return `cannot use ${path}: ${error.message}`
}

/** Sends one request and resolves to the answer; rejects with a readable message. */
export function controlRequest (path: string, request: ControlRequest, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path)
    let data = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer on ${path} within ${timeoutMs} ms`))
    }, timeoutMs)
    socket.setEncoding('utf8')
    socket.on('connect', () => socket.write(JSON.stringify(request) + '\n'))
    socket.on('data', (chunk: string) => { data += chunk })
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      reject(new Error(describeConnectError(path, error)))
    })
    socket.on('end', () => {
      clearTimeout(timer)
      try {
        resolve(JSON.parse(data) as Record<string, unknown>)
      } catch {
        reject(new Error(`the primary on ${path} closed the connection without an answer`))
      }
    })
  })
}
