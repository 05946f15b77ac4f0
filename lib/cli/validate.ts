// Input checks shared by the configuration generators. Every value ends up
// inside an nginx, supervisord or systemd file, where a space, a quote or a
// semicolon would silently change the meaning, so each check is a strict
// allow-list and throws FDK_CLI_INVALID_OPTION naming the option.
import { FDK_CLI_INVALID_OPTION } from '../errors.js'
import { isIP } from 'node:net'
import { invalidOption as invalidOptionOf } from '../shared/invalid-option.js'

export function invalidOption (option: string, value: unknown, expected: string): Error {
  return invalidOptionOf(FDK_CLI_INVALID_OPTION, 'option', option, value, expected)
}

export function port (option: string, value: string): number {
  const number = Number(value)
  if (!/^[0-9]{1,5}$/.test(value) || number < 1 || number > 65535) throw invalidOption(option, value, 'a port from 1 to 65535')
  return number
}

export function positiveInteger (option: string, value: string, max: number): number {
  const number = Number(value)
  if (!/^[0-9]{1,9}$/.test(value) || number < 1 || number > max) throw invalidOption(option, value, `an integer from 1 to ${max}`)
  return number
}

/** An absolute path without characters that config files treat specially. */
export function absolutePath (option: string, value: string): string {
  if (!/^\/[A-Za-z0-9._~@%+=:,/-]*$/.test(value) || value.split('/').includes('..')) {
    throw invalidOption(option, value, 'an absolute path of letters, digits and ._~@%+=:,/- without ".."')
  }
  return value.replace(/(.)\/+$/, '$1')
}

/** A program, unit or user name. */
export function name (option: string, value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(value)) throw invalidOption(option, value, 'a name of letters, digits and ._- (at most 64)')
  return value
}

export interface Upstream {
  host: string
  port: number
}

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/
const MAX_PORTS_PER_RANGE = 1024

/** `127.0.0.1:8000-8003,10.0.0.2:8000-8003,[::1]:9000` → one entry per port. */
export function upstreams (option: string, value: string): Upstream[] {
  const list: Upstream[] = []
  for (const item of value.split(',')) {
    const match = /^(.+):([0-9]+)(?:-([0-9]+))?$/.exec(item.trim())
    if (match === null || !HOST.test(match[1]!)) {
      throw invalidOption(option, item, 'HOST:PORT or HOST:FIRST-LAST (e.g. 127.0.0.1:8000-8003), comma-separated')
    }
    const first = port(option, match[2]!)
    const last = match[3] === undefined ? first : port(option, match[3])
    if (last < first || last - first >= MAX_PORTS_PER_RANGE) {
      throw invalidOption(option, item, `a port range FIRST-LAST with FIRST <= LAST and at most ${MAX_PORTS_PER_RANGE} ports`)
    }
    for (let p = first; p <= last; p++) list.push({ host: match[1]!, port: p })
  }
  return list
}

/** nginx `listen`: a port, or ADDRESS:PORT. */
export function listen (option: string, value: string): string {
  const match = /^(?:(.+):)?([0-9]+)$/.exec(value)
  if (match === null || (match[1] !== undefined && !HOST.test(match[1]))) {
    throw invalidOption(option, value, 'a port or ADDRESS:PORT (e.g. 80, 127.0.0.1:8080, [::]:80)')
  }
  port(option, match[2]!)
  return value
}

/** nginx `server_name`: host names (wildcards allowed) separated by commas. */
export function serverNames (option: string, value: string): string[] {
  const names = value.split(',').map((item) => item.trim())
  for (const item of names) {
    if (!/^(?:\*\.)?[A-Za-z0-9.-]+(?:\.\*)?$|^_$/.test(item)) throw invalidOption(option, item, 'host names such as example.com or *.example.com, comma-separated')
  }
  return names
}

/** An nginx size such as 50M. */
export function size (option: string, value: string): string {
  if (!/^[0-9]{1,9}[kKmMgG]?$/.test(value)) throw invalidOption(option, value, 'a size such as 50M, 512k or 1048576')
  return value
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }

/** The bytes an nginx size (already checked by size()) stands for: 50M is 52428800. */
export function sizeBytes (value: string): number {
  const [, digits, unit] = /^([0-9]+)([kKmMgG]?)$/.exec(value)!
  return Number(digits) * SIZE_UNITS[unit!.toLowerCase()]!
}

/** Bytes as nginx writes a size: 1m, 512k, or the bytes. */
export function nginxSize (bytes: number): string {
  if (bytes % 1024 ** 2 === 0) return `${bytes / 1024 ** 2}m`
  if (bytes % 1024 === 0) return `${bytes / 1024}k`
  return String(bytes)
}

/** An nginx time such as 10s. */
export function duration (option: string, value: string): string {
  if (!/^[0-9]{1,9}(?:ms|s|m|h|d)?$/.test(value)) throw invalidOption(option, value, 'a time such as 10s, 500ms or 1m')
  return value
}

/** A URL path prefix that starts and ends with "/". */
export function urlPrefix (option: string, value: string): string {
  if (!/^\/(?:[A-Za-z0-9._~-]+\/)*$/.test(value) || value.split('/').includes('..')) {
    throw invalidOption(option, value, 'a URL path that starts and ends with "/" (e.g. /static/)')
  }
  return value
}

/** A single file name at the site root, such as robots.txt. */
export function rootFile (option: string, value: string): string {
  if (!/^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/.test(value)) throw invalidOption(option, value, 'file names such as robots.txt, comma-separated')
  return value
}

/** A URL path for an exact location, such as /healthz. */
export function urlPath (option: string, value: string): string {
  if (!/^\/[A-Za-z0-9._~/-]*$/.test(value) || value.split('/').includes('..')) throw invalidOption(option, value, 'a URL path such as /healthz')
  return value
}

/** A command line for supervisord / systemd: printable, no newlines, no "%" (both expand it). */
export function command (option: string, value: string): string {
  // eslint-disable-next-line no-control-regex
  if (value.trim() === '' || /[\x00-\x1f\x7f%]/.test(value)) throw invalidOption(option, value, 'a non-empty command line without control characters or "%"')
  return value.trim()
}

/** The programs that stay between a process manager and the app: its signals (SIGHUP reload, SIGTERM drain) stop at them. */
const WRAPPERS = new Set(['npx', 'npm', 'pnpm', 'yarn', 'bunx'])

/** A process manager's command line: as command(), and the app's own program, not npx / npm in between. */
export function launchCommand (option: string, value: string): string {
  const line = command(option, value)
  const program = line.split(/\s+/)[0]!.split('/').at(-1)!
  if (WRAPPERS.has(program)) {
    throw invalidOption(option, value, `the app's own program, not ${program} (a signal to ${program} does not reach the app: SIGHUP kills it and orphans the server); e.g. /srv/app/node_modules/.bin/deploy-kit start app.js`)
  }
  return line
}

/** True when the command line runs the launcher, which answers SIGHUP with a rolling reload. */
export function isLauncher (line: string): boolean {
  return /(?:^|[\s/])deploy-kit start\b/.test(line) || /\/dist\/cli\/main\.js start\b/.test(line)
}

/** A Kubernetes object name (RFC 1123 label): it names the Deployment, the Service and their label. */
export function dnsLabel (option: string, value: string): string {
  if (!/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/.test(value)) throw invalidOption(option, value, 'a name of lower-case letters, digits and "-" (at most 63, starting with a letter)')
  return value
}

/**
 * A container image with a tag or digest, not `latest`: every pod must run
 * the same bytes (the same static files, so the same staticUrl() versions),
 * and a moving tag gives pods started on different days different ones.
 */
export function image (option: string, value: string): string {
  const match = /^([a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]{1,5})?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(sha256:[0-9a-f]{64}))?$/.exec(value)
  if (match === null || (match[2] === undefined && match[3] === undefined) || (match[2] === 'latest' && match[3] === undefined)) {
    throw invalidOption(option, value, 'an image with a fixed tag or digest, e.g. registry.example.com/app:1.4.2 (not latest: every pod must run the same bytes)')
  }
  return value
}

/** A file path inside an image or the working directory (relative or absolute), as a program argument. */
export function filePath (option: string, value: string): string {
  if (!/^[A-Za-z0-9._~@%+=:,/-]+$/.test(value) || value.startsWith('-') || value.split('/').includes('..')) {
    throw invalidOption(option, value, 'a path of letters, digits and ._~@%+=:,/- without ".." (e.g. ./dist/app.js)')
  }
  return value
}

/** IPs and CIDRs a proxy may send from, none of them "everyone" (IPv4 at least /8, IPv6 at least /16). */
export function trustedNetworks (option: string, value: string): string[] {
  const entries = value.split(',').map((item) => item.trim())
  for (const entry of entries) {
    const [address, bits, ...rest] = entry.split('/')
    const version = isIP(address!)
    const max = version === 6 ? 128 : 32
    const min = version === 6 ? 16 : 8
    if (version === 0 || rest.length > 0 || (bits !== undefined && (!/^[0-9]{1,3}$/.test(bits) || Number(bits) < min || Number(bits) > max))) {
      throw invalidOption(option, entry, 'IPs or CIDRs of the ingress network, comma-separated (e.g. 10.244.0.0/16), IPv4 at least /8, IPv6 at least /16, never 0.0.0.0/0')
    }
  }
  return entries
}
