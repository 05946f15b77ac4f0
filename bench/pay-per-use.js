// Issue 13's table: a feature costs nothing on a request that does not use it.
// Every contender is its own server process, all of them up at once and pinned
// to CPU 0 (taskset); wrk, pinned to CPU 1, loads one at a time, and the
// rounds are interleaved (each round runs every case, starting one case later
// than the round before), so a burst of load from elsewhere on a shared
// machine falls on every contender alike. Before any timing, one request per
// case is checked for its status and its exact body; wrk's own count of
// failed responses must stay at zero. Prints every round's figures, then the
// medians, the ratio of medians and the range of the per-round ratios.
//
//   npm run build && node bench/pay-per-use.js
//   BENCH_ROUNDS=5 BENCH_SECONDS=2 BENCH_CONNECTIONS=50 (the defaults)
//
// The load generator must saturate the server, not itself: wrk (Debian
// `wrk`) on its own CPU does; autocannon, a Node process, is used only when
// wrk is absent, and the output says so.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { createRequire } from 'node:module'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const SECRET = 'bench-only-secret-0123456789abcdefghijklmnopqrstuvwxyz'
const HELLO_BODY = '{"hello":"world"}'
// A valid Tornado v2 token pair (from bench/xsrf-post.js): the cookie and the
// submitted argument mask the same raw token differently.
const XSRF_COOKIE = '2|deadbeef|41b190958b1df3d154cc7e1030bf8ab9|1700000000'
const XSRF_ARGUMENT = '2|11223344|8e3e1d3e44927e7a9b43f3bbff300712|5'
const FORM_BODY = `name=ann&message=hello+world&_xsrf=${encodeURIComponent(XSRF_ARGUMENT)}`
const POST_BODY = '{"ok":true,"name":"ann"}'

// ---------------------------------------------------------------- servers

function staticFiles (root) {
  writeFileSync(join(root, 'hot.txt'), Buffer.alloc(1024, 'The quick brown fox jumps over the lazy dog. '))
  const css = Array.from({ length: 2200 }, (_, i) => `.rule-${i} { margin: ${i % 17}px; color: #${(i * 2654435761 % 0xffffff).toString(16).padStart(6, '0')}; }`).join('\n')
  writeFileSync(join(root, 'site.css'), css.slice(0, 100 * 1024))
}

/** The settings of one contender: the whole bundle, or one part of it. */
function settingsFor (kind, root) {
  const getCurrentUser = (request) => request.getSignedCookie('user')
  const all = {
    staticPath: root,
    cookieSecret: SECRET,
    xsrfCookies: true,
    loginUrl: '/login',
    getCurrentUser,
    xheaders: true,
    compressResponse: true
  }
  switch (kind) {
    case 'bundle': return all
    case 'static': return { staticPath: root }
    case 'cookie': return { cookieSecret: SECRET }
    case 'xsrf': return { xsrfCookies: true }
    // getCurrentUser reads a signed cookie, so the cookie part comes along.
    case 'auth': return { cookieSecret: SECRET, loginUrl: '/login', getCurrentUser }
    case 'compress': return { compressResponse: true }
    case 'proxy': return { xheaders: true }
  }
  throw new Error('unknown server kind ' + kind)
}

async function serve (kind, root) {
  const { default: Fastify } = await import('fastify')
  const app = Fastify()
  if (kind === 'bare') {
    const hot = readFileSync(join(root, 'hot.txt'))
    const cssGzip = readFileSync(join(root, 'site.css.kit.gz'))
    app.get('/static/hot.txt', (request, reply) => reply.type('text/plain; charset=utf-8').send(hot))
    app.get('/static/site.css', (request, reply) => reply.type('text/css; charset=utf-8').header('content-encoding', 'gzip').send(cssGzip))
  } else if (kind === 'bare-formbody') {
    const { default: formbody } = await import('@fastify/formbody')
    await app.register(formbody)
  } else {
    const { default: deployKit } = await import('../dist/index.js')
    await app.register(deployKit, settingsFor(kind, root))
  }
  app.get('/hello', async () => ({ hello: 'world' }))
  app.post('/submit', async (request) => ({ ok: true, name: request.body.name }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  process.stdout.write(`PORT ${app.server.address().port}\n`)
  process.stdin.resume()
  process.stdin.on('end', () => app.close().then(() => process.exit(0)))
}

// ---------------------------------------------------------------- harness

function has (command) {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

const PIN = availableParallelism() >= 2 && has('taskset')
const WRK = has('wrk')

function pinned (cpu, command) {
  return PIN ? ['taskset', '-c', String(cpu), ...command] : command
}

function start (kind, root) {
  const command = pinned(0, [process.execPath, fileURLToPath(import.meta.url), 'serve', kind, root])
  const child = spawn(command[0], command.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${kind} did not start in 120 s`)) }, 120_000)
    child.stdout.on('data', (chunk) => {
      out += chunk
      const match = /PORT (\d+)/.exec(out)
      if (match) { clearTimeout(timer); resolve({ kind, child, port: Number(match[1]) }) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${kind} exited with ${code}`)) })
  })
}

function stop (server) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.child.kill('SIGKILL'), 5000)
    server.child.once('exit', () => { clearTimeout(timer); resolve() })
    server.child.stdin.end()
  })
}

/** CPU seconds (user + system) a process has used, from /proc (Linux); NaN elsewhere. */
function cpuSeconds (pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime + stime, in USER_HZ (100 on Linux)
  } catch {
    return NaN
  }
}

/** One request, as the load generator will send it; resolves to status, headers and body bytes. */
function fetchOnce (port, load) {
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

/** Fails unless the server answers this case as it should; timing a wrong answer measures nothing. */
async function check (server, load) {
  const response = await fetchOnce(server.port, load)
  const where = `${server.kind} ${load.method} ${load.path}`
  if (response.status !== 200) throw new Error(`${where}: status ${response.status}, body ${response.body.toString().slice(0, 200)}`)
  const encoding = response.headers['content-encoding']
  if ((encoding ?? 'identity') !== load.expect.encoding) throw new Error(`${where}: content-encoding ${encoding}, expected ${load.expect.encoding}`)
  const body = encoding === 'gzip' ? gunzipSync(response.body) : response.body
  if (!body.equals(load.expect.body)) throw new Error(`${where}: unexpected body ${body.toString().slice(0, 200)}`)
}

function luaString (value) {
  if (value.includes(']==]')) throw new Error('cannot quote ' + value)
  return `[==[${value}]==]`
}

const luaFiles = new Map()
function wrkScript (dir, load) {
  const key = JSON.stringify([load.method, load.headers, load.body])
  let file = luaFiles.get(key)
  if (file === undefined) {
    const lines = [`wrk.method = ${luaString(load.method)}`]
    for (const [name, value] of Object.entries(load.headers)) lines.push(`wrk.headers[ ${luaString(name)} ] = ${luaString(value)}`)
    if (load.body !== undefined) lines.push(`wrk.body = ${luaString(load.body)}`)
    // One machine-readable line: requests, microseconds, and every kind of failure wrk counts.
    lines.push('done = function(summary, latency, requests)',
      '  local e = summary.errors',
      '  io.write(string.format("WRK_RESULT %d %d %d %d %d %d %d\\n", summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout))',
      'end')
    file = join(dir, `case-${luaFiles.size}.lua`)
    writeFileSync(file, lines.join('\n') + '\n')
    luaFiles.set(key, file)
  }
  return file
}

function run (command) {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk) => { out += chunk })
    child.once('error', reject)
    child.once('exit', (code) => code === 0 ? resolve(out) : reject(new Error(`${command.join(' ')} exited with ${code}: ${out}`)))
  })
}

/** Loads `server` with `load` for `seconds`; requests/s and the server's CPU µs per request. */
async function measure (dir, server, load, seconds) {
  const before = cpuSeconds(server.child.pid)
  let requests, micros, failures
  const url = `http://127.0.0.1:${server.port}${load.path}`
  if (WRK) {
    const out = await run(pinned(1, ['wrk', '-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '10s', '-s', wrkScript(dir, load), url]))
    const match = /WRK_RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(out)
    if (match === null) throw new Error('no result from wrk: ' + out)
    const [total, duration, connect, read, write, status, timeout] = match.slice(1).map(Number)
    requests = total
    micros = duration
    failures = connect + read + write + status + timeout
    if (failures !== 0) console.log(`${server.kind} ${load.method} ${load.path}: wrk counted connect ${connect}, read ${read}, write ${write}, status ${status}, timeout ${timeout}`)
  } else {
    const cli = createRequire(import.meta.url).resolve('autocannon/autocannon.js')
    const headers = Object.entries(load.headers).flatMap(([name, value]) => ['-H', `${name}=${value}`])
    const body = load.body === undefined ? [] : ['-b', load.body]
    const out = await run(pinned(1, [process.execPath, cli, '-j', '-c', String(CONNECTIONS), '-d', String(seconds), '-m', load.method, ...headers, ...body, url]))
    const result = JSON.parse(out)
    requests = result.requests.total
    micros = seconds * 1e6
    failures = result.errors + result.non2xx + result.timeouts
  }
  const used = cpuSeconds(server.child.pid) - before
  if (failures !== 0) throw new Error(`${server.kind} ${load.method} ${load.path}: ${failures} failed responses under load`)
  return { rps: requests / (micros / 1e6), cpu: used / requests * 1e6 }
}

function median (values) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length / 2
  return sorted.length % 2 ? sorted[middle - 0.5] : (sorted[middle - 1] + sorted[middle]) / 2
}

async function main () {
  const { createSignedValue, encodeCookieValue } = await import('../dist/index.js')
  const root = mkdtempSync(join(tmpdir(), 'fdk-bench-pay-'))
  staticFiles(root)
  const dir = mkdtempSync(join(tmpdir(), 'fdk-bench-lua-'))
  const servers = {}
  try {
    // A signed-in browser behind the generated nginx: its cookies (the kit's
    // signed user cookie, its _xsrf cookie, two of the site's own) and
    // nginx's proxy headers on every request, to every contender alike.
    const userCookie = encodeCookieValue(createSignedValue(SECRET, 'user', 'ann'))
    const browser = {
      host: 'app.example',
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
      accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'accept-language': 'en-GB,en;q=0.5',
      cookie: `_ga=GA1.1.1234567890.1700000000; user=${userCookie}; _xsrf=${XSRF_COOKIE}; theme=dark`,
      'x-real-ip': '203.0.113.7',
      'x-forwarded-for': '203.0.113.7',
      'x-scheme': 'http',
      'x-forwarded-proto': 'http'
    }
    const hello = { method: 'GET', path: '/hello', headers: { ...browser, 'accept-encoding': 'gzip, deflate, br' }, expect: { encoding: 'identity', body: Buffer.from(HELLO_BODY) } }
    const post = {
      method: 'POST',
      path: '/submit',
      headers: { ...browser, 'accept-encoding': 'gzip, deflate, br', 'content-type': 'application/x-www-form-urlencoded' },
      body: FORM_BODY,
      expect: { encoding: 'identity', body: Buffer.from(POST_BODY) }
    }
    const hot = { method: 'GET', path: '/static/hot.txt', headers: browser, expect: { encoding: 'identity', body: readFileSync(join(root, 'hot.txt')) } }
    const css = { method: 'GET', path: '/static/site.css', headers: { ...browser, 'accept-encoding': 'gzip' }, expect: { encoding: 'gzip', body: readFileSync(join(root, 'site.css')) } }

    const kinds = ['bundle', 'static', 'cookie', 'xsrf', 'auth', 'compress', 'proxy', 'bare-formbody']
    const started = await Promise.allSettled(kinds.map((kind) => start(kind, root)))
    for (const result of started) if (result.status === 'fulfilled') servers[result.value.kind] = result.value
    for (const result of started) if (result.status === 'rejected') throw result.reason
    // The bare route sends the very gzip bytes the bundle sends for site.css.
    const kitGzip = await fetchOnce(servers.bundle.port, css)
    writeFileSync(join(root, 'site.css.kit.gz'), kitGzip.body)
    servers.bare = await start('bare', root)

    // [label, contender, baseline, load, target]
    const cases = [
      ['GET /hello, whole bundle, signed-in cookies, vs bare Fastify', 'bundle', 'bare', hello, 0.95],
      ['POST form with _xsrf, whole bundle, vs bare Fastify + @fastify/formbody', 'bundle', 'bare-formbody', post, 0.93],
      ['hot 1 KiB static file (whole bundle) vs bare route, same bytes', 'bundle', 'bare', hot, 0.95],
      ['100 KiB CSS, gzip (whole bundle) vs bare route, same gzip buffer', 'bundle', 'bare', css, 0.95],
      ...['static', 'cookie', 'xsrf', 'auth', 'compress', 'proxy'].map((part) => [`GET /hello, ${part} part only, vs bare`, part, 'bare', hello, 0.98])
    ]
    // Each distinct (server, request) pair is one run per round.
    const runs = []
    for (const [, contender, baseline, load] of cases) {
      for (const kind of [baseline, contender]) {
        if (!runs.some((r) => r.kind === kind && r.load === load)) runs.push({ kind, load, rounds: [] })
      }
    }
    const find = (kind, load) => runs.find((r) => r.kind === kind && r.load === load)
    for (const r of runs) await check(servers[r.kind], r.load)
    console.log(`checked: every contender answers every case with status 200 and the expected body (${runs.length} server/request pairs)`)

    const generator = WRK
      ? `wrk -t1 -c${CONNECTIONS} -d${SECONDS}s`
      : `autocannon -c ${CONNECTIONS} -d ${SECONDS} (wrk not found: install Debian's wrk; autocannon is a Node process and may be the bottleneck, so these figures understate every server's speed and the ratios drift towards 1)`
    console.log(`load: ${generator}${PIN ? ', pinned to CPU 1; all servers pinned to CPU 0' : ' (no pinning: fewer than 2 CPUs or no taskset)'}`)
    console.log(`machine: ${availableParallelism()} CPUs, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at start; ${ROUNDS} interleaved rounds`)

    // A discarded warm-up round of the same length: JIT and caches hot for everyone.
    for (const r of runs) await measure(dir, servers[r.kind], r.load, SECONDS)
    for (let round = 0; round < ROUNDS; round++) {
      const order = runs.map((_, i) => runs[(i + round) % runs.length])
      for (const r of order) r.rounds.push(await measure(dir, servers[r.kind], r.load, SECONDS))
      const line = cases.map(([, contender, baseline, load]) => {
        const a = find(contender, load).rounds[round]
        const b = find(baseline, load).rounds[round]
        return (a.rps / b.rps).toFixed(2)
      })
      console.log(`round ${round + 1}: ratios ${line.join(' ')} (load average ${loadavg()[0].toFixed(1)})`)
    }

    console.log('\nper-round figures (req/s, server CPU µs/request):')
    for (const r of runs) {
      console.log(`  ${r.kind.padEnd(13)} ${r.load.method} ${r.load.path.padEnd(16)} ${r.rounds.map((x) => `${x.rps.toFixed(0)} (${x.cpu.toFixed(1)})`).join('  ')}`)
    }

    const rows = [['case', 'contender req/s', 'baseline req/s', 'ratio of medians', 'per-round range', 'CPU ratio', 'target', 'holds']]
    for (const [label, contender, baseline, load, target] of cases) {
      const a = find(contender, load).rounds
      const b = find(baseline, load).rounds
      const ratio = median(a.map((x) => x.rps)) / median(b.map((x) => x.rps))
      const perRound = a.map((x, i) => x.rps / b[i].rps)
      // Baseline CPU per request over the contender's: 1.00 means the same cost.
      const cpuRatio = median(b.map((x) => x.cpu)) / median(a.map((x) => x.cpu))
      rows.push([label, median(a.map((x) => x.rps)).toFixed(0), median(b.map((x) => x.rps)).toFixed(0), ratio.toFixed(2) + 'x',
        `${Math.min(...perRound).toFixed(2)}-${Math.max(...perRound).toFixed(2)}`, cpuRatio.toFixed(2), `>= ${target}x`, ratio >= target ? 'yes' : 'NO'])
    }
    const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)))
    console.log('')
    rows.forEach((row, i) => {
      console.log('| ' + row.map((cell, j) => cell.padEnd(widths[j])).join(' | ') + ' |')
      if (i === 0) console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|')
    })
    console.log(`\nload average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the end`)
  } finally {
    await Promise.all(Object.values(servers).map(stop))
    rmSync(root, { recursive: true, force: true })
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[2] === 'serve') await serve(process.argv[3], process.argv[4])
else await main()
