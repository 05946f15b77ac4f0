// deploy-kit status | reload | stop: clients of the primary's control socket
// (lib/cluster/control.ts). They find the socket from --socket, from --port
// (the default path of that launch), or as the only one in the default
// directory, so nobody has to look up a pid.
import { parseArgs } from 'node:util'
import type { CliIo } from './io.js'
import { controlDir, controlRequest, defaultControlPath, listControlSockets } from '../cluster/control.js'
import type { StatusDocument, WorkerStatus } from '../cluster/watch.js'
import { parseOptions, usageLines, type Flags } from './flags.js'

/** The flags of `deploy-kit status | reload | stop`, declared once: parseArgs options and --help lines. */
export const CONTROL_FLAGS = {
  socket: { type: 'string', value: 'PATH', usage: `the control socket (default: the one under ${controlDir()})` },
  port: { type: 'string', value: 'P', usage: 'the launch\'s port, to find its default socket' },
  host: { type: 'string', value: 'H', usage: 'with --port: the launch\'s host, when it was given one' },
  json: { type: 'boolean', usage: 'status: print JSON' },
  timeout: { type: 'string', value: 'MS', usage: 'how long to wait for the answer (default: status 5000, others 600000)' },
  help: { type: 'boolean', short: 'h', usage: 'show this help' }
} as const satisfies Flags

export const USAGE = `Usage: deploy-kit status|reload|stop [options]

Asks the launcher's primary through its control socket.
  status   one row per worker (--json: the whole document, pm2 jlist's fields included)
  reload   replace every worker, one slot at a time; waits, exit 0 when it finished
  stop     drain and stop everything; waits until the primary is down

Options:
${usageLines(CONTROL_FLAGS, 16)}`

function bytes (value: number | null): string {
  if (value === null) return '-'
  return value >= 1024 * 1024 ? `${(value / 1024 / 1024).toFixed(1)}M` : `${Math.round(value / 1024)}K`
}

function duration (seconds: number): string {
  if (seconds < 60) return `${Math.floor(seconds)}s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.floor(seconds % 60)).padStart(2, '0')}s`
  return `${Math.floor(seconds / 3600)}h${String(Math.floor(seconds % 3600 / 60)).padStart(2, '0')}m`
}

function lastExit (worker: WorkerStatus): string {
  const exit = worker.lastExit
  if (exit === null) return '-'
  return `${exit.signal ?? exit.code} (${exit.cause})`
}

/** The table `deploy-kit status` prints. */
export function formatStatus (status: StatusDocument): string {
  const p = status.primary
  const reload = p.reload.last === null ? '' : `, last ${p.reload.last.ok ? 'finished' : 'stopped: ' + p.reload.last.reason}`
  const header = `primary pid ${p.pid}, up ${duration(p.uptimeSeconds)}, mode ${p.mode}, port ${p.port}, ${p.processes} processes, reload ${p.reload.state}${reload}` +
    (p.metrics === null ? '' : `, metrics on ${p.metrics}`)
  const columns = ['TASK', 'PID', 'PORT', 'STATE', 'UPTIME', 'RESTARTS', 'LAST EXIT', 'RSS', 'HEAP', 'LAG p99/max ms', 'ELU', 'SERVED', 'IN FLIGHT', 'BEAT']
  const rows = status.workers.map((w) => [
    String(w.taskId), String(w.pid), String(w.port), w.state, duration(w.uptimeSeconds), String(w.restarts), lastExit(w),
    bytes(w.rssBytes), bytes(w.heapUsedBytes),
    w.eventLoopDelayP99Ms === null ? '-' : `${w.eventLoopDelayP99Ms}/${w.eventLoopDelayMaxMs}`,
    w.eventLoopUtilization === null ? '-' : `${Math.round(w.eventLoopUtilization * 100)}%`,
    String(w.requestsServed), String(w.requestsInFlight),
    w.lastHeartbeatSecondsAgo === null ? '-' : `${w.lastHeartbeatSecondsAgo}s`
  ])
  const widths = columns.map((column, i) => Math.max(column.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()
  return [header, line(columns), ...rows.map(line)].join('\n') + '\n'
}

interface Parsed {
  socket: string
  json: boolean
  timeoutMs: number | undefined
}

/** Which socket to use; throws a usage message. */
export function resolveSocket (values: { socket?: string, port?: string, host?: string }, dir = controlDir()): string {
  if (values.socket !== undefined) return values.socket
  if (values.port !== undefined) {
    if (!/^\d+$/.test(values.port) || Number(values.port) > 65535) throw new Error(`--port must be a port number, got "${values.port}"`)
    return defaultControlPath(Number(values.port), values.host)
  }
  const found = listControlSockets(dir)
  if (found.length === 1) return found[0]!
  if (found.length === 0) throw new Error(`no control socket in ${dir}; is the launcher running? (or give --socket)`)
  throw new Error(`several launches run (${found.join(', ')}); choose one with --socket or --port`)
}

function parse (args: string[]): Parsed | 'help' {
  const { values } = parseArgs({
    args,
    options: parseOptions(CONTROL_FLAGS)
  })
  if (values.help === true) return 'help'
  if (values.timeout !== undefined && !/^\d+$/.test(values.timeout)) throw new Error(`--timeout must be milliseconds, got "${values.timeout}"`)
  return { socket: resolveSocket(values), json: values.json === true, timeoutMs: values.timeout === undefined ? undefined : Number(values.timeout) }
}

function command (name: 'status' | 'reload' | 'stop') {
  return async (args: string[], io: CliIo): Promise<number> => {
    let parsed
    try {
      parsed = parse(args)
    } catch (error) {
      io.stderr(`deploy-kit ${name}: ${(error as Error).message}\n\n${USAGE}`)
      return 2
    }
    if (parsed === 'help') {
      io.stdout(USAGE)
      return 0
    }
    let answer
    try {
      answer = await controlRequest(parsed.socket, { command: name }, parsed.timeoutMs ?? (name === 'status' ? 5_000 : 600_000))
    } catch (error) {
      io.stderr(`deploy-kit ${name}: ${(error as Error).message}\n`)
      return 1
    }
    if (answer.ok !== true) {
      io.stderr(`deploy-kit ${name}: ${String(answer.reason ?? answer.error)}\n`)
      return 1
    }
    if (name === 'status') {
      const status = answer.status as StatusDocument
      io.stdout(parsed.json ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status))
    } else {
      io.stdout(name === 'reload' ? 'reload finished\n' : 'stopped\n')
    }
    return 0
  }
}

export const status = command('status')
export const reload = command('reload')
export const stop = command('stop')
