// Helpers for the cluster tests: spawn test/fixtures/cluster/launch.ts as a
// real primary, read its JSON log lines, make requests, and make sure every
// process it started (primary and workers) is gone when the test ends.
import { spawn, type ChildProcess } from 'node:child_process'
import http from 'node:http'
import { once } from 'node:events'
import { join } from 'node:path'
import { tail, WAIT_MS, within } from './wait.js'
import { freePortRange } from './tools.js'

// The spawned primaries and workers load lib/*.ts through the same loader as
// the test processes (helpers/ts-loader): JavaScript from its on-disk cache,
// so a worker starts without the TypeScript compiler.
const root = new URL('../../', import.meta.url).pathname
const fixture = join(root, 'test/fixtures/cluster/launch.ts')
const loaderArgs = ['--enable-source-maps', '--import=' + new URL('./ts-loader/register.mjs', import.meta.url).href]

export interface LogLine {
  msg: string
  pid: number
  [key: string]: unknown
}

export interface Launched {
  child: ChildProcess
  lines: LogLine[]
  output: () => string
  /** The first `count` log lines matching, once there are that many; rejects with the log tail after `ms` or when the process exits first. */
  waitFor: (predicate: (line: LogLine) => boolean, count?: number, ms?: number) => Promise<LogLine[]>
  /** Settles when the process exits (unbounded: for races; a test awaits `exit()`). */
  exited: Promise<{ code: number | null, signal: string | null }>
  /** The exit, or a rejection with the log tail after `ms`. */
  exit: (ms?: number) => Promise<{ code: number | null, signal: string | null }>
}

interface Teardown { teardown: (fn: () => unknown) => void }

export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Pids of every worker the primary reported starting. */
export function workerPids (launched: Launched): number[] {
  return launched.lines.filter((line) => line.msg === 'worker started').map((line) => line.pid)
}

/** The deploy-kit CLI (lib/cli/main.ts) with these arguments, e.g. start test/fixtures/cluster/app.ts. */
export const cli = (...args: string[]): string[] => [join(root, 'lib/cli/main.ts'), ...args]

export function launchFixture (t: Teardown, options: object, env: Record<string, string> = {}, prefix: string[] = [], script: string[] = [fixture]): Launched {
  const argv = [...prefix, process.execPath, ...loaderArgs, ...script]
  const child = spawn(argv[0]!, argv.slice(1), {
    // No coverage from the spawned processes: V8 would record lib/*.ts as
    // transpiled here, and merging that with the in-process transpilation of
    // the same URLs garbles every other file's report.
    env: { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0', FDK_TEST_OPTIONS: JSON.stringify(options), ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const lines: LogLine[] = []
  let text = ''
  const waiters = new Set<() => void>()
  let buffered = ''
  const onData = (chunk: Buffer): void => {
    text += chunk.toString()
    buffered += chunk.toString()
    const parts = buffered.split('\n')
    buffered = parts.pop()!
    for (const part of parts) {
      try {
        const line = JSON.parse(part) as LogLine
        // The primary logs a worker's pid under "pid" after its own; JSON.parse keeps the last.
        lines.push(line)
      } catch {}
    }
    for (const waiter of waiters) waiter()
  }
  child.stdout!.on('data', onData)
  child.stderr!.on('data', (chunk: Buffer) => { text += chunk.toString() })
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as string | null }))
  const launched: Launched = {
    child,
    lines,
    output: () => text,
    exited,
    exit: (ms = WAIT_MS) => within('the launched process to exit', exited, { ms, last: () => tail(text) }),
    waitFor: (predicate, count = 1, ms = WAIT_MS) => new Promise((resolve, reject) => {
      const stop = (error?: Error): void => {
        waiters.delete(check)
        clearTimeout(timer)
        if (error !== undefined) reject(error)
      }
      const check = (): void => {
        const found = lines.filter(predicate)
        if (found.length >= count) {
          stop()
          resolve(found)
        }
      }
      const timer = setTimeout(() => stop(new Error(`waited ${ms / 1000} s for ${count} log line(s) matching ${String(predicate)}; last output:\n${tail(text)}`)), ms)
      waiters.add(check)
      check()
      exited.then(() => {
        if (waiters.has(check)) stop(new Error('the launched process exited first; output:\n' + text))
      })
    })
  }
  t.teardown(async () => {
    for (const pid of [child.pid!, ...workerPids(launched)]) {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL')
    }
  })
  return launched
}

/** `count` consecutive free loopback ports (for 'ports' mode): see freePortRange. */
export const freePorts = (count: number): Promise<number> => freePortRange(count)

export interface Answer { status: number, body: { pid: number, taskId: number | null, title?: string, slept?: number } }

/** A GET to the launch, with a bound: a request nobody answers rejects after `timeoutMs`. */
export function get (port: number, path = '/', agent?: http.Agent, timeoutMs = WAIT_MS): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path, agent: agent ?? false }, (response) => {
      let data = ''
      response.on('data', (chunk: Buffer) => { data += chunk.toString() })
      response.on('end', () => {
        try {
          resolve({ status: response.statusCode!, body: JSON.parse(data) })
        } catch (error) {
          reject(error)
        }
      })
      response.on('error', reject)
    })
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer from 127.0.0.1:${port}${path} within ${timeoutMs / 1000} s`)))
    request.on('error', reject)
  })
}
