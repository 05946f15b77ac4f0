// Shared by the benchmarks. The method (docs/benchmarks.md):
// - every contender is its own server process, all of them up at once, pinned
//   to CPU 0 (taskset); the load generator, wrk (Debian `wrk`), runs pinned to
//   CPU 1, so it saturates the server rather than itself. autocannon, a Node
//   process, is used only where wrk is absent, and the output says so;
// - before any timing, one request per (server, request) pair is checked for
//   its status, its Content-Encoding and its exact body; wrk's own count of
//   failed responses must stay at zero;
// - rounds in which every case runs its baseline and its contender back to
//   back (which goes first alternates, and the case order rotates), or both
//   at the same time (`together`, below), so drift on a shared machine falls
//   on both sides of each ratio alike; each timed
//   run follows an untimed second of the same load on the same server, since
//   a server idle while the others ran starts cold (measured: without it, a
//   part that adds no work to GET /hello came out at 0.8x the bare server,
//   which as the shared baseline ran far more often);
// - per-round figures, medians, the ratio of medians and the range of the
//   per-round ratios are printed; nothing here asserts a timing.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { createRequire } from 'node:module'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'

export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 2)
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
// Untimed load right before every timed run (whole seconds: wrk's unit).
export const WARM_SECONDS = Number(process.env.BENCH_WARM_SECONDS ?? 1)
// BENCH_TOGETHER=1: each case's two sides are loaded at the same time, both
// servers on CPU 0 and both wrk on CPU 1, instead of one after the other.
// The kernel shares CPU 0 evenly between two busy processes, so their
// requests/s stand in the inverse ratio of their CPU cost per request, and a
// change of the machine's own speed (measured: 1.8x within a minute on an
// idle virtual machine) falls on both sides of the ratio at once. Each rate
// is about half the rate of a server alone; the ratios are what it is for.
// Unset: each benchmark's own default (compareCases' `together` option).
export const TOGETHER = process.env.BENCH_TOGETHER === undefined ? undefined : process.env.BENCH_TOGETHER === '1'
// BENCH_NODE_FLAGS: Node.js flags for every server process, separated by
// spaces (e.g. --no-concurrent-marking: docs/benchmarks.md, "The size of
// the process", "Two states of process.nextTick").
export const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)
// Modules of other packages a Fastify site loads (template engines,
// @fastify/static, ...): what pay-per-use.js and next-tick.js load to show
// the size of a process without the kit (docs/benchmarks.md, "The size of
// the process").
export const OTHER_PACKAGES = ['yaml', 'handlebars', 'nunjucks', 'ejs', 'eta', '@fastify/formbody', '@fastify/multipart', '@fastify/static', '@fastify/view']
// BENCH_CASES: only the cases whose label contains this text, or one of several separated by | (see compareCases).

function has (command) {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export const PIN = availableParallelism() >= 2 && has('taskset')
export const WRK = has('wrk')

/** `command` pinned to `cpu` when the machine has two CPUs and taskset. */
export function pinned (cpu, command) {
  return PIN ? ['taskset', '-c', String(cpu), ...command] : command
}

/**
 * Starts `node script serve ...args` on CPU 0; the script prints `PORT n`
 * once it listens and exits when its stdin ends (see `serveUntilStdinEnds`).
 * `nodeFlags` come after BENCH_NODE_FLAGS (profile-harness.js: --cpu-prof).
 */
export function startServer (name, script, args = [], { pin = true, nodeFlags = [] } = {}) {
  const node = [process.execPath, ...NODE_FLAGS, ...nodeFlags, script, 'serve', ...args]
  const command = pin ? pinned(0, node) : node
  const child = spawn(command[0], command.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${name} did not start in 120 s`)) }, 120_000)
    child.stdout.on('data', (chunk) => {
      out += chunk
      const match = /PORT (\d+)/.exec(out)
      if (match) { clearTimeout(timer); resolve({ name, child, port: Number(match[1]) }) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${name} exited with ${code}`)) })
  })
}

/** The server side of `startServer`: report the port, close when the harness lets go. */
export async function serveUntilStdinEnds (app) {
  await app.listen({ host: '127.0.0.1', port: 0 })
  process.stdout.write(`PORT ${app.server.address().port}\n`)
  process.stdin.resume()
  process.stdin.on('end', () => app.close().then(() => process.exit(0)))
}

/**
 * The server side of `startServer` for a launch() of the package's launcher:
 * reports the first worker's port; the end of stdin stops the launch as
 * SIGTERM would. `onInfo` sees the launcher's other info lines.
 */
export async function serveLaunch (buildApp, options, onInfo = () => {}) {
  const { launch } = await import('../dist/cluster.js')
  let reported = false
  process.stdin.resume()
  process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'))
  await launch(buildApp, {
    port: 0,
    host: '127.0.0.1',
    controlSocket: false,
    ...options,
    logger: {
      info: (obj, msg) => {
        onInfo(obj, msg)
        if (!reported && (msg === 'worker listening' || /listening in-process/.test(msg))) {
          reported = true
          process.stdout.write(`PORT ${obj.port}\n`)
        }
      },
      warn () {},
      error: console.error
    }
  })
}

/** Stops a server from `startServer` (its stdin ends) or any other child process (SIGTERM). */
export function stopServer (server) {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return resolve()
    const timer = setTimeout(() => server.child.kill('SIGKILL'), 5000)
    server.child.once('exit', () => { clearTimeout(timer); resolve() })
    if (server.child.stdin !== null) server.child.stdin.end()
    else server.child.kill('SIGTERM')
  })
}

/**
 * CPU seconds (user + system) a process and its live descendants (a
 * launcher's workers) have used, from /proc (Linux); NaN elsewhere.
 */
function cpuSeconds (pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    let seconds = (Number(fields[11]) + Number(fields[12])) / 100 // utime + stime, in USER_HZ (100 on Linux)
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean)) seconds += cpuSeconds(Number(child))
    return seconds
  } catch {
    return NaN
  }
}

/**
 * One request, as the load generator will send it: `load` is
 * `{ method, path, headers, body?, expect: { status?, encoding, body } }`,
 * where `expect.body` is the bytes and `expect.encoding` the Content-Encoding,
 * or either one a function of the server's name returning it when contenders
 * rightly answer differently.
 */
export function fetchOnce (port, load) {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: load.method, path: load.path, headers: load.headers }, (res) => {
      const chunks = []
      res.on('data', (chunk) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.setTimeout(10_000, () => req.destroy(new Error('no answer in 10 s')))
    req.once('error', reject)
    req.end(load.body)
  })
}

const DECODE = { gzip: gunzipSync, br: brotliDecompressSync, identity: (bytes) => bytes }

/** Fails unless the server answers `load` as it should; timing a wrong answer measures nothing. */
export async function check (server, load) {
  const response = await fetchOnce(server.port, load)
  const where = `${server.name} ${load.method} ${load.path}`
  const status = load.expect.status ?? 200
  if (response.status !== status) throw new Error(`${where}: status ${response.status}, expected ${status}; body ${response.body.toString().slice(0, 200)}`)
  const encoding = response.headers['content-encoding'] ?? 'identity'
  // Like expect.body, a function of the server's name when contenders rightly differ (no brotli in nginx-light).
  const expectedEncoding = typeof load.expect.encoding === 'function' ? load.expect.encoding(server.name) : load.expect.encoding
  if (encoding !== expectedEncoding) throw new Error(`${where}: content-encoding ${encoding}, expected ${expectedEncoding}`)
  const body = DECODE[encoding](response.body)
  const expected = typeof load.expect.body === 'function' ? load.expect.body(server.name) : load.expect.body
  if (!body.equals(expected)) throw new Error(`${where}: unexpected body ${body.toString().slice(0, 200)}`)
  return response
}

function luaString (value) {
  if (value.includes(']==]')) throw new Error('cannot quote ' + value)
  return `[==[${value}]==]`
}

/** wrk Lua scripts, one per distinct request, written once into a temporary folder. */
export class WrkScripts {
  constructor () {
    this.dir = mkdtempSync(join(tmpdir(), 'fdk-bench-lua-'))
    this.files = new Map()
  }

  for (load) {
    const key = JSON.stringify([load.method, load.headers, load.body])
    let file = this.files.get(key)
    if (file === undefined) {
      const lines = [`wrk.method = ${luaString(load.method)}`]
      for (const [name, value] of Object.entries(load.headers)) lines.push(`wrk.headers[ ${luaString(name)} ] = ${luaString(value)}`)
      if (load.body !== undefined) lines.push(`wrk.body = ${luaString(load.body)}`)
      // One machine-readable line: requests, microseconds, bytes, and every kind of failure wrk counts.
      lines.push('done = function(summary, latency, requests)',
        '  local e = summary.errors',
        '  io.write(string.format("WRK_RESULT %d %d %d %d %d %d %d %d\\n", summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout))',
        'end')
      file = join(this.dir, `case-${this.files.size}.lua`)
      writeFileSync(file, lines.join('\n') + '\n')
      this.files.set(key, file)
    }
    return file
  }

  remove () {
    rmSync(this.dir, { recursive: true, force: true })
  }
}

function run (command) {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk) => { out += chunk })
    child.once('error', reject)
    // 'close', not 'exit': a process can exit before its output is read
    // (seen with two wrk at once on a busy CPU: "no result from wrk").
    child.once('close', (code) => code === 0 ? resolve(out) : reject(new Error(`${command.join(' ')} exited with ${code}: ${out}`)))
  })
}

/**
 * Loads `server` with `load` for `seconds`: requests/s, the server's CPU µs
 * per request (/proc; of `server.cpuPid` when the port is a balancer's in
 * front of it) and bytes on the wire per response (headers included).
 */
export async function measure (scripts, server, load, seconds, { pin = true } = {}) {
  const pid = server.cpuPid ?? server.child.pid
  const before = cpuSeconds(pid)
  let requests, micros, bytes, failures
  const url = `http://127.0.0.1:${server.port}${load.path}`
  if (WRK) {
    const wrk = ['wrk', '-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '10s', '-s', scripts.for(load), url]
    const out = await run(pin ? pinned(1, wrk) : wrk)
    const match = /WRK_RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(out)
    if (match === null) throw new Error('no result from wrk: ' + out)
    const [total, duration, read, connect, readErrors, write, status, timeout] = match.slice(1).map(Number)
    requests = total
    micros = duration
    bytes = read
    failures = connect + readErrors + write + status + timeout
    if (failures !== 0) console.log(`${server.name} ${load.method} ${load.path}: wrk counted connect ${connect}, read ${readErrors}, write ${write}, status ${status}, timeout ${timeout}`)
  } else {
    const cli = createRequire(import.meta.url).resolve('autocannon/autocannon.js')
    const headers = Object.entries(load.headers).flatMap(([name, value]) => ['-H', `${name}=${value}`])
    const body = load.body === undefined ? [] : ['-b', load.body]
    const autocannon = [process.execPath, cli, '-j', '-c', String(CONNECTIONS), '-d', String(seconds), '-m', load.method, ...headers, ...body, url]
    const result = JSON.parse(await run(pin ? pinned(1, autocannon) : autocannon))
    requests = result.requests.total
    micros = seconds * 1e6
    bytes = result.throughput.total
    failures = result.errors + result.non2xx + result.timeouts
  }
  const used = cpuSeconds(pid) - before
  if (failures !== 0) throw new Error(`${server.name} ${load.method} ${load.path}: ${failures} failed responses under load`)
  return { rps: requests / (micros / 1e6), cpu: used / requests * 1e6, bytesPerResponse: bytes / requests }
}

export function median (values) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length / 2
  return sorted.length % 2 ? sorted[middle - 0.5] : (sorted[middle - 1] + sorted[middle]) / 2
}

export function table (rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)))
  return rows.map((row, r) => {
    const line = '| ' + row.map((cell, i) => String(cell).padEnd(widths[i])).join(' | ') + ' |'
    return r === 0 ? line + '\n|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|' : line
  }).join('\n')
}

function describeMethod (rounds, seconds, pin, together) {
  const generator = WRK
    ? `wrk -t1 -c${CONNECTIONS} -d${seconds}s`
    : `autocannon -c ${CONNECTIONS} -d ${seconds} (wrk not found: install Debian's wrk; autocannon is a Node process and may be the bottleneck, so these figures understate every server's speed and the ratios drift towards 1)`
  const pinning = !pin
    ? ' (not pinned: the servers need every CPU)'
    : PIN ? ', pinned to CPU 1; every server pinned to CPU 0' : ' (no pinning: fewer than 2 CPUs or no taskset)'
  return [
    `load: ${generator}${pinning}`,
    `machine: ${availableParallelism()} CPUs, Node ${process.version}${NODE_FLAGS.length === 0 ? '' : ` (servers run with ${NODE_FLAGS.join(' ')})`}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at start; ` +
      `${rounds} rounds, each case's baseline and contender ${together ? 'loaded at the same time, sharing CPU 0 (BENCH_TOGETHER=0 for back to back)' : 'back to back (BENCH_TOGETHER=1 for at the same time)'}`
  ]
}

/**
 * The cases BENCH_CASES names: those whose label contains its text, or one
 * of several ('a|b'); '#name' names a case's `group` instead (a case file
 * that starts only the servers of the cases selected calls this first).
 */
export function selectCases (allCases) {
  const only = process.env.BENCH_CASES
  if (only === undefined) return allCases
  const cases = allCases.filter((c) => only.split('|').some((text) => text.startsWith('#') ? c.group === text.slice(1) : c.label.includes(text)))
  if (cases.length === 0) throw new Error(`no case matches BENCH_CASES=${only}`)
  return cases
}

/**
 * Runs every case of `cases` — `{ label, contender, baseline, load, target?, group? }`,
 * contender and baseline being servers from `startServer` — as described at
 * the top of this file, prints the figures and returns one row per case.
 */
export async function compareCases (allCases, { rounds = ROUNDS, seconds = SECONDS, pin = true, together = false } = {}) {
  together = (TOGETHER ?? together) && pin
  const cases = selectCases(allCases)
  const scripts = new WrkScripts()
  try {
    const pairs = []
    for (const c of cases) {
      for (const server of [c.baseline, c.contender]) {
        if (!pairs.some((p) => p.server === server && p.load === c.load)) pairs.push({ server, load: c.load })
      }
    }
    for (const { server, load } of pairs) await check(server, load)
    console.log(`checked: every contender answers every case with the expected status, encoding and body (${pairs.length} server/request pairs)`)
    for (const line of describeMethod(rounds, seconds, pin, together)) console.log(line)

    const results = cases.map(() => ({ contender: [], baseline: [] }))
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < cases.length; k++) {
        const i = (k + round) % cases.length
        const c = cases[i]
        const sides = round % 2 === 0 ? ['baseline', 'contender'] : ['contender', 'baseline']
        if (together) {
          // Both sides at once, on the same CPU: whatever the machine's speed
          // does during these seconds, it does to both.
          await Promise.all(sides.map((side) => measure(scripts, c[side], c.load, WARM_SECONDS, { pin })))
          const figures = await Promise.all(sides.map((side) => measure(scripts, c[side], c.load, seconds, { pin })))
          sides.forEach((side, s) => results[i][side].push(figures[s]))
          continue
        }
        for (const side of sides) {
          // Untimed first: a server that sat idle while the others ran has
          // cold caches, a shrunk heap and flushed bytecode, and the baseline
          // shared by many cases would otherwise always be the warmer one.
          await measure(scripts, c[side], c.load, WARM_SECONDS, { pin })
          results[i][side].push(await measure(scripts, c[side], c.load, seconds, { pin }))
        }
      }
      const ratios = results.map((r) => (r.contender[round].rps / r.baseline[round].rps).toFixed(2))
      console.log(`round ${round + 1}: ratios ${ratios.join(' ')} (load average ${loadavg()[0].toFixed(1)})`)
    }

    console.log('\nper-round figures (req/s, server CPU µs/request), contender then baseline:')
    cases.forEach((c, i) => {
      console.log(`  ${c.label}`)
      for (const side of ['contender', 'baseline']) {
        console.log(`    ${c[side].name.padEnd(16)} ${results[i][side].map((x) => `${x.rps.toFixed(0)} (${x.cpu.toFixed(1)})`).join('  ')}`)
      }
    })

    const rows = cases.map((c, i) => {
      const a = results[i].contender
      const b = results[i].baseline
      const perRound = a.map((x, j) => x.rps / b[j].rps)
      return {
        label: c.label,
        contender: median(a.map((x) => x.rps)),
        baseline: median(b.map((x) => x.rps)),
        ratio: median(a.map((x) => x.rps)) / median(b.map((x) => x.rps)),
        low: Math.min(...perRound),
        high: Math.max(...perRound),
        // Baseline CPU per request over the contender's: 1.00 means the same cost.
        cpuRatio: median(b.map((x) => x.cpu)) / median(a.map((x) => x.cpu)),
        contenderBytes: median(a.map((x) => x.bytesPerResponse)),
        baselineBytes: median(b.map((x) => x.bytesPerResponse)),
        target: c.target
      }
    })
    console.log('\n' + table([
      ['case', 'contender req/s', 'baseline req/s', 'ratio of medians', 'per-round range', 'CPU ratio', 'bytes/response', 'target', 'holds'],
      ...rows.map((r) => [
        r.label, r.contender.toFixed(0), r.baseline.toFixed(0), r.ratio.toFixed(2) + 'x',
        `${r.low.toFixed(2)}-${r.high.toFixed(2)}`, r.cpuRatio.toFixed(2),
        `${r.contenderBytes.toFixed(0)} / ${r.baselineBytes.toFixed(0)}`,
        r.target === undefined ? '' : `>= ${r.target}x`,
        r.target === undefined ? '' : r.ratio >= r.target ? 'yes' : 'NO'
      ])
    ]))
    console.log(`\nload average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the end`)
    return rows
  } finally {
    scripts.remove()
  }
}
