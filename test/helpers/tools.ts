// Real components for the proxy and CLI tests: nginx, supervisord and free
// loopback ports. A missing tool skips loudly on a developer machine and fails
// under CI (CI=true), where .ci/run installs it.
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createServer, connect } from 'node:net'
import { Writable } from 'node:stream'
import type { Test } from 'tap'

export const NGINX = '/usr/sbin/nginx'
export const SUPERVISORD = '/usr/bin/supervisord'
export const PYTHON = '/usr/bin/python3'
export const HAPROXY = '/usr/sbin/haproxy'

/** True when the tool exists; otherwise fails (CI) or skips loudly. */
export function need (t: Test, path: string, what: string): boolean {
  if (existsSync(path)) return true
  const message = `${what} not found at ${path}: install it (apt-get install ${what}); .ci/run does`
  if (process.env.CI === 'true') t.fail(message)
  else t.plan(0, `SKIPPED LOUDLY: ${message}`)
  return false
}

export function tempDir (t: Test, label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `fdk-${label}-`))
  // nginx started as root runs its workers as nobody, who must reach a
  // static cache (proxy_cache_path) under a --prefix made here.
  chmodSync(dir, 0o755)
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export function run (file: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 30_000, env: options.env }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr })
    })
  })
}

/** `nginx -t` on a configuration, with `prefix` as nginx's prefix directory. */
export async function nginxCheck (config: string, prefix: string): Promise<{ code: number, stderr: string }> {
  const file = join(prefix, 'nginx-check.conf')
  writeFileSync(file, config)
  const { code, stderr } = await run(NGINX, ['-t', '-q', '-e', 'stderr', '-p', prefix, '-c', file])
  return { code, stderr }
}

/** A port nothing listens on right now, for a process the test starts (see freePortRange). */
export function freePort (host = '127.0.0.1'): Promise<number> {
  return freePortRange(1, host)
}

/** Resolves once something accepts connections on host:port (bounded: ~30 s, for loaded CI machines). */
export async function waitForPort (port: number, host = '127.0.0.1', child?: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt++) {
    if (child !== undefined && child.exitCode !== null) throw new Error(`process exited with ${child.exitCode} before listening on ${port}`)
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, host)
      socket.once('connect', () => { socket.destroy(); resolve(true) })
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`nothing listening on ${host}:${port}${child === undefined ? '' : ': ' + (child as { output?: () => string }).output?.()}`)
}

/** Starts a long-running process, killed (with its group) at teardown. */
export function startProcess (t: Test, file: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess & { output: () => string } {
  const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  t.teardown(() => stopProcess(child))
  return Object.assign(child, { output: () => output })
}

export async function stopProcess (child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  try { process.kill(-child.pid!, signal) } catch { child.kill(signal) }
  const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL') } catch {} }, 5000)
  await exited
  clearTimeout(timer)
}

/**
 * The environment for app processes, with tap's coverage switched off in
 * them: they run the built dist/, whose source maps would otherwise count
 * against lib/ coverage (tap's process tracking re-adds its loader to every
 * child, so the switch has to be its own).
 */
export function childEnv (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0', ...extra }
}

// Runs of consecutive ports (ports mode, balancer upstreams) come from below
// Linux's ephemeral range (32768-60999): the kernel hands those out to every
// outgoing connection, and the load loops of the test running beside this
// one make thousands. Each test process starts at its own offset (from its
// pid) and never hands out a port twice.
const FIXED_PORTS_FROM = 20_000
const FIXED_PORTS_TO = 32_000
let nextFixedPort = FIXED_PORTS_FROM + (process.pid * 97) % (FIXED_PORTS_TO - FIXED_PORTS_FROM)

function bindable (port: number, host: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, host, () => server.close(() => resolve(true)))
  })
}

/** `count` consecutive ports free on `host` right now, outside the ephemeral range; the first. */
export async function freePortRange (count: number, host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (nextFixedPort + count > FIXED_PORTS_TO) nextFixedPort = FIXED_PORTS_FROM
    const first = nextFixedPort
    nextFixedPort += count
    let ok = true
    for (let port = first; ok && port < first + count; port++) ok = await bindable(port, host)
    if (ok) return first
  }
  throw new Error(`no ${count} consecutive free ports found between ${FIXED_PORTS_FROM} and ${FIXED_PORTS_TO}`)
}

/** A Fastify `logger.stream` that keeps every JSON log line, parsed, in `lines`. */
export function logCapture (): { stream: Writable, lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)
      callback()
    }
  })
  return { stream, lines }
}
