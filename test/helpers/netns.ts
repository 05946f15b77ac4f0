// A throwaway network of Linux network namespaces, for tests that need
// several machines (the fleet test of issue 6). Each host is a namespace with
// loopback up and one veth ("eth0") to a bridge that lives in a namespace of
// its own (the "switch"), with an address in a random private /24 that no
// interface or route of this machine uses. Nothing is created in the root
// namespace and hosts get no default route, so traffic can only reach the
// hosts the test created. Everything (processes, namespaces, veths, bridge)
// goes in t.teardown, on exit and on SIGINT/SIGTERM; a run killed outright
// (SIGKILL) is cleaned by the next run, which finds its names by the prefix.
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { randomBytes, randomInt } from 'node:crypto'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'

/** Every namespace this harness creates starts with it: fdkn-<owner pid>-<random>-<host>. */
export const PREFIX = 'fdkn-'
const IP = 'ip'
const SWITCH = 'switch'
const BRIDGE = 'br0'
const CLIENT_SCRIPT = fileURLToPath(new URL('../fixtures/netns/http-client.js', import.meta.url))
const HOST_NAME = /^[A-Za-z][A-Za-z0-9]{0,11}$/

/**
 * The environment for fixture processes in a namespace: without tap's
 * NODE_OPTIONS hooks, which triple a Node start (seconds on a loaded CI
 * machine) and only collect coverage, which fixtures do not count for.
 */
export const FIXTURE_ENV: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' }

export interface NetnsEnvironment { uid: number, ci: boolean, ipVersion: string | null }

export interface ExecResult { code: number | null, signal: string | null, stdout: string, stderr: string }

/** What the client fixture prints: a response, or the error code (ECONNREFUSED, EHOSTUNREACH, TIMEOUT...). */
export interface HttpResult { status?: number, headers?: Record<string, string | string[]>, body?: string, error?: string }

export interface RequestSpec { method?: string, headers?: Record<string, string>, body?: string, timeoutMs?: number }

/** What network.load() counts: every request ends as a status or an error code; `slowestMs` is the longest one, as the host's client saw it. */
export interface LoadSummary { sent: number, failed: number, statuses: Record<string, number>, errors: Record<string, number>, results: HttpResult[], slowestMs: number }

export interface Host { name: string, namespace: string, address: string }

/** Only `teardown` is used, so a child process without tap can pass its own. */
export interface TeardownTarget { teardown: (fn: () => unknown) => void }

export function currentEnvironment (): NetnsEnvironment {
  let ipVersion: string | null = null
  try {
    ipVersion = execFileSync(IP, ['-V'], { encoding: 'utf8' }).trim()
  } catch {}
  /* c8 ignore next -- process.getuid exists on every platform with network namespaces */
  const uid = process.getuid?.() ?? -1
  return { uid, ci: process.env.CI === 'true', ipVersion }
}

/** What stops us building namespaces here, or null. */
export function missingPrerequisite (env: NetnsEnvironment): string | null {
  if (env.ipVersion === null) return 'iproute2 (`ip`) is not installed (Debian: apt-get install iproute2)'
  if (env.uid !== 0) return `network namespaces need root, and this process runs as uid ${env.uid}`
  return null
}

/**
 * The `skip` option for a t.test: a loud reason on a developer's machine
 * that lacks root or iproute2; false when everything is there, and false in
 * CI too, so that createNetwork() fails there instead of skipping.
 */
export function netnsSkipReason (env = currentEnvironment(), announce = (text: string): unknown => process.stderr.write(text)): string | false {
  const missing = missingPrerequisite(env)
  if (missing === null || env.ci) return false
  const reason = `SKIPPED network namespace test: ${missing}. Run it as root (CI=true makes this a failure)`
  // Besides tap's "# SKIP", on stderr where a developer sees it even in a passing run.
  announce(`\n*** ${reason} ***\n\n`)
  return reason
}

/** Parses a.b.c.d/n into its network address (as an unsigned 32-bit number) and prefix length. */
export function parseCidr (cidr: string): { network: number, bits: number } {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(cidr)
  const octets = match?.slice(1, 5).map(Number) ?? []
  const bits = Number(match?.[5] ?? 32)
  if (octets.length !== 4 || octets.some((n) => n > 255) || bits > 32) throw new Error(`not an IPv4 address or CIDR: ${cidr}`)
  const address = octets.reduce((sum, n) => sum * 256 + n, 0)
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
  return { network: (address & mask) >>> 0, bits }
}

/** True when the two IPv4 ranges share any address. */
export function overlaps (a: string, b: string): boolean {
  const x = parseCidr(a)
  const y = parseCidr(b)
  const bits = Math.min(x.bits, y.bits)
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
  return ((x.network & mask) >>> 0) === ((y.network & mask) >>> 0)
}

/** A random 10.x.y.0/24 that overlaps none of `inUse`. */
export function chooseSubnet (inUse: string[], pick = (): [number, number] => [randomInt(256), randomInt(256)]): string {
  for (let attempt = 0; attempt < 100; attempt++) {
    const [x, y] = pick()
    const subnet = `10.${x}.${y}.0/24`
    if (!inUse.some((range) => overlaps(range, subnet))) return subnet
  }
  throw new Error(`no free 10.x.y.0/24 after 100 attempts; in use: ${inUse.join(', ')}`)
}

/** IPv4 ranges of this machine's addresses (`ip -o addr`) and routes (`ip -o route`). */
export function ipv4InUse (addr: string, route: string): string[] {
  const fromAddr = [...addr.matchAll(/\sinet (\d+\.\d+\.\d+\.\d+\/\d+)/g)].map((m) => m[1] as string)
  const fromRoute = [...route.matchAll(/^(\d+\.\d+\.\d+\.\d+(?:\/\d+)?)\s/gm)].map((m) => m[1] as string)
  return [...fromAddr, ...fromRoute]
}

/** The prefix for one run: unique across parallel runs, and it names its owner. */
export function runPrefix (pid = process.pid, random = randomBytes(3).toString('hex')): string {
  return `${PREFIX}${pid}-${random}-`
}

/** The pid of the process that created a namespace, from its name; null if not ours. */
export function ownerPid (namespace: string): number | null {
  const match = /^fdkn-(\d+)-[0-9a-f]{6}-/.exec(namespace)
  return match === null ? null : Number(match[1])
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    /* c8 ignore next -- EPERM needs a process of another user; tests run as root */
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Names from `ip netns list` ("name (id: 3)" lines). */
export function listNamespaces (): string[] {
  return execFileSync(IP, ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((line) => line.split(' ')[0] as string).filter(Boolean)
}

function ipSync (...args: string[]): string {
  return execFileSync(IP, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

// Kills whatever runs inside (a namespace lives as long as a process in it
// does), then drops the name. Never throws: it also runs from exit handlers.
function removeNamespaceSync (namespace: string): void {
  let pids: string[] = []
  try {
    pids = ipSync('netns', 'pids', namespace).split('\n').filter(Boolean)
  } catch {}
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL')
    } catch {}
  }
  try {
    ipSync('netns', 'del', namespace)
  } catch {}
}

/** Removes namespaces (with their processes, veths and bridge) left by runs whose process is gone. */
export function cleanLeftovers (): string[] {
  const stale = listNamespaces().filter((name) => {
    const owner = ownerPid(name)
    return owner !== null && !isAlive(owner)
  })
  // Hosts before the switch, so no veth outlives its bridge.
  stale.sort((a, b) => Number(a.endsWith('-' + SWITCH)) - Number(b.endsWith('-' + SWITCH)))
  for (const name of stale) removeNamespaceSync(name)
  return stale
}

// Live networks, for the exit and signal handlers.
const live = new Set<Network>()
const signals = ['SIGINT', 'SIGTERM'] as const
const onSignal = (signal: NodeJS.Signals): void => {
  for (const network of live) network.removeSync()
  for (const name of signals) process.removeListener(name, onSignal)
  // Re-raised with our listener gone: tap's own handler (or the default) ends the process.
  process.kill(process.pid, signal)
}
const onExit = (): void => { for (const network of live) network.removeSync() }

function track (network: Network): void {
  if (live.size === 0) {
    process.on('exit', onExit)
    for (const name of signals) process.on(name, onSignal)
  }
  live.add(network)
}

function untrack (network: Network): void {
  live.delete(network)
  if (live.size === 0) {
    process.removeListener('exit', onExit)
    for (const name of signals) process.removeListener(name, onSignal)
  }
}

function run (args: string[], timeoutMs = 30_000, input?: string): Promise<ExecResult> {
  const [command, ...rest] = args as [string, ...string[]]
  return new Promise((resolve) => {
    const child = execFile(command, rest, { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      // A non-numeric code means killed by the timeout (signal set), or output past maxBuffer.
      const failure = error as { code?: unknown, signal?: string | null } | null
      resolve({ code: failure === null ? 0 : typeof failure.code === 'number' ? failure.code : null, signal: failure?.signal ?? null, stdout, stderr })
    })
    child.stdin?.end(input)
  })
}

/** Runs `ip [-n namespace] -batch -` with one command per line; stops at the first failure. */
async function ip (namespace: string | null, lines: string[]): Promise<void> {
  const args = namespace === null ? [IP, '-batch', '-'] : [IP, '-n', namespace, '-batch', '-']
  const result = await run(args, 30_000, lines.join('\n') + '\n')
  if (result.code !== 0) throw new Error(`ip ${args.slice(1).join(' ')} failed: ${result.stderr.trim()}\n${lines.join('\n')}`)
}

/** Talks to one host's client process: a JSON line per request, answers matched by id. */
export class HttpClient {
  readonly process: ChildProcess
  readonly #host: string
  readonly #pending = new Map<number, { resolve: (result: HttpResult) => void, reject: (error: Error) => void }>()
  #nextId = 0
  #stderr = ''
  #exited = false

  constructor (host: string, child: ChildProcess) {
    this.#host = host
    this.process = child
    child.stderr?.on('data', (chunk: Buffer) => { this.#stderr += chunk.toString() })
    // Writing to a client that died is reported by the 'close' handler below.
    child.stdin?.on('error', () => {})
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const { id, ...result } = JSON.parse(line) as HttpResult & { id: number }
      this.#pending.get(id)?.resolve(result)
      this.#pending.delete(id)
    })
    child.once('close', () => {
      this.#exited = true
      for (const { reject } of this.#pending.values()) reject(this.#failure())
      this.#pending.clear()
    })
  }

  #failure (): Error {
    return new Error(`the HTTP client in ${this.#host} has exited: ${this.#stderr}`)
  }

  async request (url: string, spec: RequestSpec = {}): Promise<HttpResult> {
    if (this.#exited) throw this.#failure()
    const id = ++this.#nextId
    return await new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.process.stdin?.write(JSON.stringify({ id, url, ...spec }) + '\n')
    })
  }
}

export class Network {
  readonly prefix: string
  readonly subnet: string
  readonly hosts: Record<string, Host> = {}
  readonly #children = new Set<ChildProcess>()
  readonly #clients = new Map<string, HttpClient>()
  readonly #created: string[] = []
  #removed = false

  constructor (prefix: string, subnet: string) {
    this.prefix = prefix
    this.subnet = subnet
  }

  get switchNamespace (): string { return this.prefix + SWITCH }

  host (name: string): Host {
    const host = this.hosts[name]
    if (host === undefined) throw new Error(`no host "${name}" in this network (hosts: ${Object.keys(this.hosts).join(', ')})`)
    return host
  }

  /** The host's address in the test subnet. */
  address (name: string): string { return this.host(name).address }

  // Three kinds of `ip -batch` (names; the switch's links; each host's
  // addresses) instead of five calls per host: on a busy CI machine every
  // process start costs tens of milliseconds.
  async build (names: string[]): Promise<void> {
    const sw = this.switchNamespace
    const base = this.subnet.split('.').slice(0, 3).join('.')
    const hosts = names.map((name, index) => ({ name, namespace: this.prefix + name, address: `${base}.${index + 1}` }))
    for (const host of hosts) this.hosts[host.name] = host
    const namespaces = [sw, ...hosts.map((host) => host.namespace)]
    this.#created.push(...namespaces)
    await ip(null, namespaces.map((namespace) => `netns add ${namespace}`))
    await ip(sw, [
      'link set lo up',
      `link add ${BRIDGE} type bridge`,
      `link set ${BRIDGE} up`,
      // Created in the switch with the peer straight in the host: never in the root namespace.
      ...hosts.flatMap((host) => [`link add ${host.name} type veth peer name eth0 netns ${host.namespace}`, `link set ${host.name} master ${BRIDGE} up`])
    ])
    for (const host of hosts) {
      await ip(host.namespace, ['link set lo up', `addr add ${host.address}/24 dev eth0`, 'link set eth0 up'])
    }
  }

  /** Starts a long-lived process inside the host; it is stopped on teardown. */
  spawn (name: string, command: string, args: string[] = [], options: SpawnOptions = {}): ChildProcess {
    if (this.#removed) throw new Error('this network has been torn down')
    const child = spawn(IP, ['netns', 'exec', this.host(name).namespace, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options })
    this.#children.add(child)
    child.once('exit', () => this.#children.delete(child))
    return child
  }

  /** Runs a command inside the host to completion (killed after timeoutMs); never rejects on a non-zero exit. */
  async exec (name: string, command: string, args: string[] = [], timeoutMs = 30_000): Promise<ExecResult> {
    return await run([IP, 'netns', 'exec', this.host(name).namespace, command, ...args], timeoutMs)
  }

  /** The host's HTTP client process, started on first use (see test/fixtures/netns/http-client.js). */
  client (name: string): HttpClient {
    let client = this.#clients.get(name)
    if (client === undefined) {
      client = new HttpClient(name, this.spawn(name, process.execPath, [CLIENT_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], env: FIXTURE_ENV }))
      this.#clients.set(name, client)
    }
    return client
  }

  /** One HTTP request made from inside the host, on a connection of its own. */
  async request (name: string, url: string, spec: RequestSpec = {}): Promise<HttpResult> {
    return await this.client(name).request(url, spec)
  }

  /**
   * `count` requests from inside the host, at most `concurrency` at a time;
   * resolves when all have ended. With `signal`, no new request starts once it
   * is aborted (load "while something happens", still bounded by `count`).
   * With `into`, the figures go into that summary as answers come in, for a
   * caller that watches the load's progress.
   */
  async load (name: string, url: string, { count, concurrency = 4, signal, into, ...spec }: RequestSpec & { count: number, concurrency?: number, signal?: AbortSignal, into?: LoadSummary }): Promise<LoadSummary> {
    const summary: LoadSummary = into ?? { sent: 0, failed: 0, statuses: {}, errors: {}, results: [], slowestMs: 0 }
    const worker = async (): Promise<void> => {
      while (summary.sent < count && signal?.aborted !== true) {
        summary.sent++
        const started = performance.now()
        const result = await this.request(name, url, spec)
        summary.slowestMs = Math.max(summary.slowestMs, performance.now() - started)
        summary.results.push(result)
        if (result.error !== undefined) summary.errors[result.error] = (summary.errors[result.error] ?? 0) + 1
        else summary.statuses[String(result.status)] = (summary.statuses[String(result.status)] ?? 0) + 1
        if (result.error !== undefined || (result.status as number) >= 500) summary.failed++
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
    return summary
  }

  /**
   * Unplugs the host's cable at the switch. The other hosts also forget its
   * MAC address, as they would once their ARP entries expire (15 to 45 s),
   * so the next connection to it fails with EHOSTUNREACH in about 3 s
   * instead of retrying SYNs for minutes.
   */
  async linkDown (name: string): Promise<void> {
    const host = this.host(name)
    await ip(this.switchNamespace, [`link set ${name} down`])
    for (const other of Object.values(this.hosts)) {
      if (other !== host) await ip(other.namespace, [`neigh flush to ${host.address}`])
    }
  }

  /** Plugs the host's cable back in. */
  async linkUp (name: string): Promise<void> {
    this.host(name)
    await ip(this.switchNamespace, [`link set ${name} up`])
  }

  /** Stops every process (SIGTERM, then SIGKILL after graceMs), then removes everything. Idempotent. */
  async teardown (graceMs = 5000): Promise<void> {
    await Promise.all([...this.#children].map(async (child) => {
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      const stopped = await Promise.race([exited.then(() => true), sleep(graceMs, false)])
      /* c8 ignore next -- only for a process that ignores SIGTERM */
      if (!stopped) child.kill('SIGKILL')
      await exited
    }))
    this.removeSync()
  }

  /** Synchronous, for exit and signal handlers: kills what runs inside and removes every namespace. */
  removeSync (): void {
    if (this.#removed) return
    this.#removed = true
    for (const child of this.#children) child.kill('SIGKILL')
    const hostsFirst = [...this.#created].reverse()
    for (const namespace of hostsFirst) removeNamespaceSync(namespace)
    untrack(this)
  }
}

/**
 * Builds the network: one host per name, addresses .1, .2, ... in order.
 * Throws (failing the test) when root or iproute2 is missing: callers pass
 * `{ skip: netnsSkipReason() }` to their t.test to skip on a laptop instead.
 * `prefix` is for the harness's own tests; leave it to runPrefix().
 */
export async function createNetwork (t: TeardownTarget, names: string[], prefix = runPrefix()): Promise<Network> {
  const missing = missingPrerequisite(currentEnvironment())
  if (missing !== null) throw new Error(`cannot build a network namespace test network: ${missing}`)
  const bad = names.find((name) => !HOST_NAME.test(name) || name === SWITCH)
  if (bad !== undefined || new Set(names).size !== names.length || names.length === 0) {
    throw new Error(`host names must be distinct, 1 to 12 letters or digits starting with a letter, not "${SWITCH}": ${JSON.stringify(names)}`)
  }
  cleanLeftovers()
  const network = new Network(prefix, chooseSubnet(ipv4InUse(ipSync('-o', 'addr'), ipSync('-o', 'route'))))
  track(network)
  t.teardown(() => network.teardown())
  try {
    await network.build(names)
  } catch (error) {
    network.removeSync()
    throw error
  }
  return network
}

/** Resolves with the first line the process prints on stdout, parsed as JSON; rejects if it exits first. */
export async function firstJsonLine<T = unknown> (child: ChildProcess): Promise<T> {
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  return await new Promise<T>((resolve, reject) => {
    let buffered = ''
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString()
      const end = buffered.indexOf('\n')
      if (end === -1) return
      child.stdout?.off('data', onData)
      child.off('close', onClose)
      resolve(JSON.parse(buffered.slice(0, end)) as T)
    }
    // 'close', not 'exit': by then stdout has been read to the end.
    const onClose = (code: number | null, signal: string | null): void => {
      reject(new Error(`process exited (${code ?? signal}) before printing a line: ${stderr}`))
    }
    child.stdout?.on('data', onData)
    child.once('close', onClose)
  })
}
