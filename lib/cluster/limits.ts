// The open-file limit check. Tornado's guide warns that each connection is a
// file descriptor and shows the fixes (ulimit -n, limits.conf, supervisord
// minfds); we read the real limit at start-up and name those fixes, plus
// systemd's LimitNOFILE, when it is below `minOpenFiles`.
import { readdirSync, readFileSync } from 'node:fs'
import type { Logger } from './types.js'

export interface OpenFileLimit {
  soft: number
  hard: number
}

function parseLimit (text: string): number {
  return text === 'unlimited' ? Infinity : Number(text)
}

/** Parses the "Max open files" line of /proc/<pid>/limits; null when absent. */
export function parseOpenFileLimit (limits: string): OpenFileLimit | null {
  const match = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(limits)
  if (match === null) return null
  return { soft: parseLimit(match[1]!), hard: parseLimit(match[2]!) }
}

/** This process's RLIMIT_NOFILE on Linux; null elsewhere (no /proc). */
export function readOpenFileLimit (path = '/proc/self/limits'): OpenFileLimit | null {
  try {
    return parseOpenFileLimit(readFileSync(path, 'utf8'))
  } catch {
    return null
  }
}

/** The warning to log, or null when the soft limit is high enough. */
export function openFilesWarning (limit: OpenFileLimit | null, minOpenFiles: number): string | null {
  if (limit === null || limit.soft >= minOpenFiles) return null
  return [
    `open-file limit is ${limit.soft} (hard ${limit.hard}), below minOpenFiles ${minOpenFiles}:`,
    'each connection uses a file descriptor. Raise it with',
    `\`ulimit -n ${minOpenFiles}\` in the shell that starts the server,`,
    `a "nofile" line in /etc/security/limits.conf (e.g. \`* - nofile ${minOpenFiles}\`),`,
    `\`minfds=${minOpenFiles}\` in supervisord's [supervisord] section,`,
    `or \`LimitNOFILE=${minOpenFiles}\` in the systemd unit.`
  ].join(' ')
}

/**
 * Logs EMFILE/ENFILE at most once per interval instead of once per refused
 * connection; libuv drops the connections it cannot accept and the server
 * accepts again as soon as descriptors free up.
 */
export class RateLimitedWarning {
  private last = -Infinity
  private suppressed = 0

  constructor (private readonly intervalMs: number) {}

  /** Returns how many were suppressed since the last report, or null to stay quiet. */
  hit (now: number): number | null {
    if (now - this.last < this.intervalMs) {
      this.suppressed++
      return null
    }
    const suppressed = this.suppressed
    this.last = now
    this.suppressed = 0
    return suppressed
  }
}

/** Descriptors open in this process right now (Linux); null where /proc is missing. */
export function countOpenFiles (dir = '/proc/self/fd'): number | null {
  try {
    return readdirSync(dir).length - 1 // minus the descriptor reading the directory
  } catch {
    return null
  }
}

/** Logs the open-file warning (with the fixes) when the soft limit is too low. */
export function warnOpenFiles (log: Logger, minOpenFiles: number, limitsPath?: string): void {
  const warning = openFilesWarning(readOpenFileLimit(limitsPath), minOpenFiles)
  /* c8 ignore next -- a low limit is met only in the prlimit test, a launched process */
  if (warning !== null) log.warn({ minOpenFiles }, warning)
}
