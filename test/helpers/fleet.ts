// The fleet of issue 6 on one machine, for test/e2e/fleet.test.ts and
// test/e2e/fleet-failover.test.ts and fleet-deploy.test.ts: four Linux network namespaces on a bridge
// (helpers/netns.ts), two app hosts each running the example app
// (test/fixtures/fleet/app.js) with `deploy-kit start --mode ports
// --processes 2`, a balancer host running the nginx that `deploy-kit nginx
// --upstream A:8000-8001,B:8000-8001` writes, and a client host. Plus the
// small HTTP helpers the checks share: retried requests, cookies, forms,
// load while something happens.
import type { Test } from 'tap'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'
import { main } from '../../lib/cli/main.js'
import { NGINX } from './tools.js'
import { FIXTURE_ENV, createNetwork, type HttpResult, type LoadSummary, type Network } from './netns.js'
import { formToken } from './forms.js'
import { tail, until } from './wait.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const CLI = join(root, 'dist', 'cli', 'main.js')
const APP = join(root, 'test', 'fixtures', 'fleet', 'app.js')
export const APP_HOSTS = ['appA', 'appB'] as const
export type AppHost = typeof APP_HOSTS[number]
export const FIRST_PORT = 8000
export const WORKERS = 2
export const OLD_SECRET = 'fleet-secret-one-0123456789abcdefghijklmnopqrstuv'
export const NEW_SECRET = 'fleet-secret-two-0123456789abcdefghijklmnopqrstuv'
// nginx skips a failed app process for this long, then tries it again.
export const FAIL_TIMEOUT_S = 1

export interface Fleet {
  network: Network
  launchers: Record<AppHost, Launcher>
  /** The balancer's URL, as the client uses it. */
  LB: string
  address: (host: string) => string
}

/** A launcher running in an app host, with its log lines (stdout must be read, or a full pipe blocks it). */
export interface Launcher { child: ChildProcess, lines: string[], exited: Promise<unknown> }

export function startLauncher (network: Network, host: string, env: Record<string, string>): Launcher {
  const child = network.spawn(host, process.execPath,
    [CLI, 'start', APP, '--mode', 'ports', '--processes', String(WORKERS), '--port', String(FIRST_PORT), '--host', network.address(host)],
    { env: { ...FIXTURE_ENV, NODE_ENV: 'production', LOG_LEVEL: 'warn', SERVED_BY: host, TRUSTED_PROXIES: network.address('balancer'), ...env } })
  const lines: string[] = []
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => lines.push(line))
  child.stderr?.on('data', (chunk: Buffer) => lines.push(chunk.toString()))
  return { child, lines, exited: once(child, 'exit') }
}

/** Resolves once the launcher has logged a line matching `pattern` at or after line `from` (bounded). */
export async function logged (launcher: Launcher, pattern: RegExp, from: number, timeoutMs = 60_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(50)) {
    if (launcher.lines.slice(from).some((line) => pattern.test(line))) return
    if (launcher.child.exitCode !== null) break
  }
  throw new Error(`the launcher did not log ${pattern} in time: ${launcher.lines.join('\n')}`)
}

/**
 * How long a process started by a test gets to answer. Seen in CI with a
 * busy loop on the other core: a launcher's workers listening 18 s after
 * they started (9.6 s for the first hosts), the old bound of 200 tries
 * (about 27 s from the launcher's start) then ran out.
 */
const ANSWER_MS = 60_000

/** A request that must answer: retried while the process behind it starts (at most ANSWER_MS), then checked. */
export async function answered (network: Network, from: string, url: string, spec: Parameters<Network['request']>[2] = {}): Promise<Required<Pick<HttpResult, 'status' | 'headers' | 'body'>>> {
  let result: HttpResult = {}
  const started = Date.now()
  for (const deadline = started + ANSWER_MS; Date.now() < deadline; await sleep(100)) {
    result = await network.request(from, url, spec)
    if (result.status !== undefined) return result as Required<Pick<HttpResult, 'status' | 'headers' | 'body'>>
  }
  throw new Error(`${url} from ${from} never answered in ${Math.round((Date.now() - started) / 1000)} s: ${JSON.stringify(result)}`)
}

/** Both workers of the host answer on their own ports; if not in time, the error says how the host's launcher is and what it logged last. */
export async function ready (network: Network, host: string, launcher: Launcher): Promise<void> {
  try {
    for (let i = 0; i < WORKERS; i++) await answered(network, 'balancer', `http://${network.address(host)}:${FIRST_PORT + i}/ip`)
  } catch (error) {
    const { exitCode, signalCode } = launcher.child
    const state = exitCode === null && signalCode === null ? 'still running' : `gone (${exitCode ?? signalCode})`
    throw new Error(`${(error as Error).message}; the launcher of ${host} is ${state}, its last lines:\n${tail(launcher.lines.join('\n'))}`)
  }
}

export async function stopLauncher (launcher: Launcher): Promise<void> {
  launcher.child.kill('SIGTERM')
  await launcher.exited
}

export function header (result: HttpResult, name: string): string {
  const value = result.headers?.[name]
  return Array.isArray(value) ? value.join('\n') : value ?? ''
}

/** name=value of each Set-Cookie, as a browser would send them back. */
export function cookies (result: HttpResult): Record<string, string> {
  const setCookie = result.headers?.['set-cookie'] ?? []
  const list = Array.isArray(setCookie) ? setCookie : [setCookie]
  return Object.fromEntries(list.map((line) => {
    const pair = line.split(';')[0] as string
    const at = pair.indexOf('=')
    return [pair.slice(0, at), pair.slice(at + 1)]
  }))
}

export function cookieHeader (jar: Record<string, string>): string {
  return Object.entries(jar).map(([name, value]) => `${name}=${value}`).join('; ')
}

export function json<T> (result: HttpResult): T {
  if (result.status !== 200) throw new Error(`expected a 200, got ${JSON.stringify(result).slice(0, 500)}`)
  return JSON.parse(result.body as string) as T
}

/** GET /login on `formHost`, POST it to `postHost` (both pinned from the balancer): the login's result and the user cookie. */
export async function logInAcross (network: Network, formHost: AppHost, postHost: AppHost, name: string, tamper = false): Promise<{ status: number, user: string | undefined }> {
  const form = await answered(network, 'balancer', `http://${network.address(formHost)}:${FIRST_PORT}/login`)
  const xsrf = cookies(form)._xsrf as string
  let token = formToken(form.body)
  if (tamper) {
    // v2 is 2|mask|masked token|timestamp; the timestamp is not checked (as in Tornado), the token is.
    const parts = token.split('|')
    parts[2] = (parts[2]?.startsWith('0') === true ? '1' : '0') + (parts[2] as string).slice(1)
    token = parts.join('|')
  }
  const login = await answered(network, 'balancer', `http://${network.address(postHost)}:${FIRST_PORT + 1}/login`, {
    method: 'POST',
    headers: { cookie: `_xsrf=${xsrf}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _xsrf: token, name, next: '/account' }).toString()
  })
  return { status: login.status, user: cookies(login).user }
}

export async function whoami (network: Network, host: AppHost, user: string): Promise<string | null> {
  return json<{ user: string | null }>(await answered(network, 'balancer', `http://${network.address(host)}:${FIRST_PORT}/whoami`, { headers: { cookie: `user=${user}` } })).user
}

/** Answers in the live `summary` from its `from`-th result on that `host` served. */
export function servedSince (summary: LoadSummary, from: number, host: string): number {
  return summary.results.slice(from).filter((result) => header(result, 'x-served-by') === host).length
}

/**
 * A bounded load of GETs from the client through the balancer while `during`
 * runs (it gets the live summary), with 20 answers before and after it; then
 * the figures.
 */
export async function loadDuring (t: Test, network: Network, url: string, during: (summary: LoadSummary) => Promise<void>): Promise<LoadSummary> {
  const stop = new AbortController()
  const live: LoadSummary = { sent: 0, failed: 0, statuses: {}, errors: {}, results: [], slowestMs: 0 }
  const running = network.load('client', url, { count: 20_000, concurrency: 4, signal: stop.signal, into: live })
  const last = (): string => `${live.sent} sent, statuses ${JSON.stringify(live.statuses)}, errors ${JSON.stringify(live.errors)}`
  try {
    await until('20 answers before the event', () => live.results.length >= 20, { last })
    await during(live)
    const after = live.results.length
    await until('20 answers after the event', () => live.results.length >= after + 20, { last })
  } finally {
    stop.abort()
  }
  const summary = await running
  const failures = summary.results.filter((result) => result.error !== undefined || (result.status as number) >= 500)
  t.ok(summary.sent > 0 && summary.sent < 20_000, `${summary.sent} requests sent (bounded)`)
  t.equal(summary.failed, 0, 'no failed request at the client', { statuses: summary.statuses, errors: summary.errors, failures: failures.slice(0, 5) })
  return summary
}

/** Whether the balancer sends the client to `host` again (nginx retries a failed server after fail_timeout); bounded. */
export async function servesAgain (network: Network, LB: string, host: string): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (header(await answered(network, 'client', `${LB}/ip`), 'x-served-by') === host) return true
    await sleep(100)
  }
  return false
}

/** The figures the closing note quotes. */
export function figures (summary: LoadSummary): string {
  return `${summary.sent} sent, ${summary.failed} failed, slowest ${(summary.slowestMs / 1000).toFixed(2)} s, served by ${JSON.stringify(servedBy(summary))}`
}

export function servedBy (summary: LoadSummary): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const result of summary.results) {
    const host = header(result, 'x-served-by')
    counts[host] = (counts[host] ?? 0) + 1
  }
  return counts
}

/**
 * Builds the network, starts both app hosts (COOKIE_SECRET = OLD_SECRET) and
 * the balancer with the generated config, and waits until the client gets an
 * answer through it. Everything goes in t.teardown.
 */
export async function startFleet (t: Test): Promise<Fleet> {
  const network = await createNetwork(t, ['appA', 'appB', 'balancer', 'client'])
  const address = (host: string): string => network.address(host)
  const launchers: Record<AppHost, Launcher> = {
    appA: startLauncher(network, 'appA', { COOKIE_SECRET: OLD_SECRET }),
    appB: startLauncher(network, 'appB', { COOKIE_SECRET: OLD_SECRET })
  }
  // The balancer's config, generated as a user would, with everything under a prefix directory.
  const prefix = t.testdir({})
  let config = ''
  const code = await main(['nginx', '--upstream', APP_HOSTS.map((host) => `${address(host)}:${FIRST_PORT}-${FIRST_PORT + WORKERS - 1}`).join(','),
    '--listen', `${address('balancer')}:80`, '--fail-timeout', `${FAIL_TIMEOUT_S}s`, '--prefix', prefix],
  { stdout: (text) => { config += text }, stderr: (text) => { config += text } })
  t.equal(code, 0, config)
  writeFileSync(join(prefix, 'nginx.conf'), config)
  const nginxArgs = ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', 'stderr', '-g', 'daemon off;']
  const check = await network.exec('balancer', NGINX, ['-t', ...nginxArgs])
  t.equal(check.code, 0, `nginx -t accepts the generated config: ${check.stderr}`)
  network.spawn('balancer', NGINX, nginxArgs)
  const LB = `http://${address('balancer')}`
  await Promise.all(APP_HOSTS.map((host) => ready(network, host, launchers[host]!)))
  await answered(network, 'client', `${LB}/ip`)

  return { network, launchers, LB, address }
}
