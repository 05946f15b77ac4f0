// The fleet of helpers/fleet.ts, half Tornado (issue 17 part 3), for
// test/e2e/fleet-tornado.test.ts and test/e2e/fleet-migration.test.ts: two Fastify
// hosts (appA, appB: the example app under `deploy-kit start --mode ports
// --processes 2`) and a Tornado host (appT: the example app's Tornado twin,
// test/fixtures/fleet/tornado_twin.py, on the same two ports) behind the
// nginx that `deploy-kit nginx --static-root` writes, with its static
// proxy_cache; a client host; a browser-like cookie jar. The balancer's
// upstream list can be regenerated and reloaded (`nginx -s reload`) as a
// user would during a migration.
import type { Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { main } from '../../lib/cli/main.js'
import { NGINX, PYTHON, tempDir } from './tools.js'
import { FIXTURE_ENV, createNetwork, type HttpResult, type LoadSummary, type Network, type RequestSpec } from './netns.js'
import { FIRST_PORT, OLD_SECRET, WORKERS, answered, cookies, header, ready, startLauncher, type Launcher } from './fleet.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const TWIN = join(root, 'test', 'fixtures', 'fleet', 'tornado_twin.py')
/** The example's static directory: both apps serve it, the balancer's config names it. */
export const STATIC_ROOT = join(root, 'example', 'static')
export const ALIASES = 'robots.txt,favicon.ico,apple-touch-icon.png'
export const FASTIFY_HOSTS = ['appA', 'appB'] as const
export const TORNADO_HOST = 'appT'
export const ALL_HOSTS = [...FASTIFY_HOSTS, TORNADO_HOST]

/** Why the Tornado peer cannot run here, or null (CI installs python3-tornado: there it must run). */
export function tornadoMissing (): string | null {
  const probe = spawnSync(PYTHON, ['-c', 'import tornado'], { encoding: 'utf8' })
  if (probe.error === undefined && probe.status === 0) return null
  return `Tornado is not installed (${PYTHON} -c "import tornado" failed): apt-get install python3-tornado`
}

/** The Tornado twin in `host`, on the same ports as a Fastify host's workers. Logs go to `lines`. */
export function startTornado (network: Network, host: string): Launcher {
  const ports = Array.from({ length: WORKERS }, (_, i) => FIRST_PORT + i).join(',')
  const child = network.spawn(host, PYTHON, [TWIN, network.address(host), ports],
    { env: { ...FIXTURE_ENV, COOKIE_SECRET: OLD_SECRET, SERVED_BY: host, PYTHONUNBUFFERED: '1' } })
  const lines: string[] = []
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => lines.push(line))
  child.stderr?.on('data', (chunk: Buffer) => lines.push(chunk.toString()))
  return { child, lines, exited: once(child, 'exit') }
}

export interface Balancer {
  LB: string
  /** The hosts in the upstream list now. */
  hosts: string[]
  /** Regenerates the config for `hosts`, checks it with `nginx -t`, then `nginx -s reload`. */
  reload: (hosts: string[]) => Promise<void>
  /** nginx's error log so far. */
  log: () => string
}

export interface MixedFleet {
  network: Network
  launchers: Record<string, Launcher>
  balancer: Balancer
  address: (host: string) => string
}

/**
 * Builds the network, starts appA and appB (COOKIE_SECRET = OLD_SECRET, and
 * `fastifyEnv`) and the Tornado twin on appT, then the balancer with the
 * generated config for all three; resolves once every process answers.
 */
export async function startMixedFleet (t: Test, fastifyEnv: Record<string, string> = {}): Promise<MixedFleet> {
  const network = await createNetwork(t, [...ALL_HOSTS, 'balancer', 'client'])
  const address = (host: string): string => network.address(host)
  const launchers: Record<string, Launcher> = {
    appA: startLauncher(network, 'appA', { COOKIE_SECRET: OLD_SECRET, ...fastifyEnv }),
    appB: startLauncher(network, 'appB', { COOKIE_SECRET: OLD_SECRET, ...fastifyEnv }),
    appT: startTornado(network, TORNADO_HOST)
  }
  // Under a directory nginx's workers (nobody) can enter: they write the static cache there.
  const prefix = tempDir(t, 'mixed-fleet')
  const conf = join(prefix, 'nginx.conf')
  const nginxArgs = ['-p', prefix, '-c', conf, '-e', 'stderr']
  let errors = ''
  const write = async (hosts: string[]): Promise<void> => {
    let config = ''
    // As a user would: the same command, with the new upstream list.
    const code = await main(['nginx', '--upstream', hosts.map((host) => `${address(host)}:${FIRST_PORT}-${FIRST_PORT + WORKERS - 1}`).join(','),
      '--listen', `${address('balancer')}:80`, '--fail-timeout', '1s', '--static-root', STATIC_ROOT, '--aliases', ALIASES, '--prefix', prefix],
    { stdout: (text) => { config += text }, stderr: (text) => { config += text } })
    if (code !== 0) throw new Error(`deploy-kit nginx failed: ${config}`)
    writeFileSync(conf, config)
    const check = await network.exec('balancer', NGINX, ['-t', ...nginxArgs])
    if (check.code !== 0) throw new Error(`nginx -t refused the generated config: ${check.stderr}`)
  }
  const balancer: Balancer = {
    LB: `http://${address('balancer')}`,
    hosts: [...ALL_HOSTS],
    reload: async (hosts) => {
      await write(hosts)
      const reloaded = await network.exec('balancer', NGINX, [...nginxArgs, '-s', 'reload'])
      if (reloaded.code !== 0) throw new Error(`nginx -s reload failed: ${reloaded.stderr}\n${errors}`)
      balancer.hosts = [...hosts]
    },
    log: () => errors
  }
  await write(ALL_HOSTS)
  const nginx = network.spawn('balancer', NGINX, [...nginxArgs, '-g', 'daemon off;'])
  nginx.stderr?.on('data', (chunk: Buffer) => { errors += chunk.toString() })
  t.teardown(() => { if (t.passing() === false) console.error(`nginx: ${errors}\n${Object.entries(launchers).map(([host, l]) => `${host}: ${l.lines.slice(-20).join('\n')}`).join('\n')}`) })
  await Promise.all(ALL_HOSTS.map((host) => ready(network, host, launchers[host]!)))
  await answered(network, 'client', `${balancer.LB}/ip`)
  return { network, launchers, balancer, address }
}

/** A browser's cookie jar on the client host: every Set-Cookie kept, sent back on every request. */
export class Browser {
  jar: Record<string, string> = {}
  readonly #network: Network

  constructor (network: Network) { this.#network = network }

  async request (url: string, spec: RequestSpec = {}): Promise<Required<Pick<HttpResult, 'status' | 'headers' | 'body'>>> {
    const cookie = Object.entries(this.jar).map(([name, value]) => `${name}=${value}`).join('; ')
    const result = await answered(this.#network, 'client', url, { ...spec, headers: { ...(cookie === '' ? {} : { cookie }), ...spec.headers } })
    Object.assign(this.jar, cookies(result))
    return result
  }

  async post (url: string, fields: Record<string, string>): Promise<Required<Pick<HttpResult, 'status' | 'headers' | 'body'>>> {
    return await this.request(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() })
  }
}

export const isTornado = (host: string): boolean => host === TORNADO_HOST

/**
 * GETs `url` through the balancer until every host in `hosts` has answered
 * at least once (bounded: 20 rounds of the upstream list); the first answer
 * of each host.
 */
export async function fromEveryHost (network: Network, url: string, hosts: readonly string[], spec: RequestSpec = {}): Promise<Record<string, Required<Pick<HttpResult, 'status' | 'headers' | 'body'>>>> {
  const seen: Record<string, Required<Pick<HttpResult, 'status' | 'headers' | 'body'>>> = {}
  const served: string[] = []
  for (let i = 0; i < 20 * hosts.length * WORKERS; i++) {
    const result = await answered(network, 'client', url, spec)
    const host = header(result, 'x-served-by')
    served.push(host)
    seen[host] ??= result
    if (hosts.every((name) => seen[name] !== undefined)) return seen
  }
  throw new Error(`${url}: not every one of ${hosts.join(', ')} answered through the balancer; served by ${served.join(' ')}`)
}

/**
 * Repeats `attempt` (which reports what it covered) until every case in
 * `wanted` has come up, bounded; round robin over several nginx workers is
 * not a fixed order, so the test asks until the balancer has sent it both ways.
 */
export async function untilCovered (wanted: readonly string[], attempt: () => Promise<string>, limit = 60): Promise<string[]> {
  const covered: string[] = []
  for (let i = 0; i < limit; i++) {
    covered.push(await attempt())
    if (wanted.every((name) => covered.includes(name))) return covered
  }
  throw new Error(`after ${limit} attempts, still missing ${wanted.filter((name) => !covered.includes(name)).join(', ')}: got ${covered.join(' ')}`)
}

/**
 * Polls through the balancer until `count` answers in a row come only from
 * `hosts` (an nginx reload is a signal: its old workers finish what they
 * hold while new ones start); bounded, failing with nginx's log.
 */
export async function onlyFrom (network: Network, balancer: Balancer, hosts: readonly string[], count = 12): Promise<void> {
  let run = 0
  const served: string[] = []
  for (let i = 0; i < 300; i++) {
    const host = header(await answered(network, 'client', `${balancer.LB}/ip`), 'x-served-by')
    served.push(host)
    run = hosts.includes(host) ? run + 1 : 0
    if (run >= count) return
    await sleep(20)
  }
  throw new Error(`the balancer kept sending to other hosts than ${hosts.join(', ')}: ${served.slice(-40).join(' ')}\n${balancer.log()}`)
}

/** A load loop with its progress in view: `summary` grows as answers come in. */
export interface RunningLoad { summary: LoadSummary, done: Promise<LoadSummary> }

const LOAD_LIMIT = 20_000

/** `concurrency` requests at a time from `from` until `signal` aborts (at most LOAD_LIMIT). */
export function startLoad (network: Network, from: string, url: string, spec: RequestSpec, concurrency: number, signal: AbortSignal): RunningLoad {
  const summary: LoadSummary = { sent: 0, failed: 0, statuses: {}, errors: {}, results: [], slowestMs: 0 }
  return { summary, done: network.load(from, url, { ...spec, count: LOAD_LIMIT, concurrency, signal, into: summary }) }
}

/** Until every load has `more` answers beyond what it had (bounded: 20 s). */
async function progressed (loads: RunningLoad[], more: number): Promise<void> {
  const targets = loads.map((load) => load.summary.results.length + more)
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(10)) {
    if (loads.every((load, i) => load.summary.results.length >= (targets[i] as number))) return
  }
  throw new Error(`the load stalled: ${loads.map((load) => JSON.stringify({ statuses: load.summary.statuses, errors: load.summary.errors })).join(' ')}`)
}

/**
 * Two loads through the balancer while `during` runs: GETs of `getPath` (4
 * at a time) and form posts (2 at a time: POST /messages with a browser's
 * `_xsrf` cookie and token, which nginx never retries on another host). Each
 * has answers before `during` starts and after it ends. Then: no failed
 * request, every post accepted (303).
 */
export async function stepUnderLoad (t: Test, network: Network, balancer: Balancer, form: { cookie: string, token: string }, during: () => Promise<void>): Promise<{ gets: LoadSummary, posts: LoadSummary }> {
  const stop = new AbortController()
  const gets = startLoad(network, 'client', `${balancer.LB}/ip`, {}, 4, stop.signal)
  const posts = startLoad(network, 'client', `${balancer.LB}/messages`, {
    method: 'POST',
    headers: { cookie: form.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _xsrf: form.token, text: 'during the migration' }).toString()
  }, 2, stop.signal)
  try {
    await progressed([gets, posts], 20)
    await during()
    await progressed([gets, posts], 20)
  } finally {
    stop.abort()
  }
  await Promise.all([gets.done, posts.done])
  for (const [what, summary] of [['GET', gets.summary], ['POST', posts.summary]] as const) {
    const failures = summary.results.filter((result) => result.error !== undefined || (result.status as number) >= 500)
    t.ok(summary.sent > 0 && summary.sent < LOAD_LIMIT, `${what}: ${summary.sent} requests sent (bounded)`)
    t.equal(summary.failed, 0, `${what}: no failed request at the client`, { statuses: summary.statuses, errors: summary.errors, failures: failures.slice(0, 5) })
  }
  t.same(Object.keys(posts.summary.statuses), ['303'], 'every form post accepted, whichever host took it')
  return { gets: gets.summary, posts: posts.summary }
}
