// A urlencoded POST carrying a valid _xsrf token: the bundle (xsrfCookies on,
// so formbody + the XSRF check) vs bare Fastify + @fastify/formbody doing the
// same parse, one server process each, measured in the same run with
// autocannon. Prints requests/s and server CPU per request, and both ratios
// (target >= 0.9).
//
//   npm run build && node bench/xsrf-post.js [seconds per round, default 3] [rounds, default 12] [--together]
// Rounds alternate which server goes first; the median of the per-round
// ratios is the number to quote (it pairs measurements taken seconds apart,
// so load from other processes on the machine mostly cancels out), with the
// range beside it to show how noisy the machine was. With --together both
// servers are loaded at once and pinned to the same CPU (taskset), the load
// generator on the others: at every instant both servers get the same CPU,
// disturbed alike, so the req/s ratio is their cost ratio; the steadiest
// mode on a shared machine (absolute figures are not comparable with the
// default mode's).
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'

const RAW = '9f1c2e7a55b04d3e8a61c0ffee123456'
const COOKIE = '2|deadbeef|41b190958b1df3d154cc7e1030bf8ab9|1700000000' // Tornado vector: masked RAW
const BODY = `name=ann&message=hello+world&_xsrf=${encodeURIComponent('2|11223344|8e3e1d3e44927e7a9b43f3bbff300712|5')}`

async function serve (kind) {
  const { default: Fastify } = await import('fastify')
  const app = Fastify()
  if (kind === 'bundle') {
    const { default: deployKit } = await import('../dist/index.js')
    await app.register(deployKit, { xsrfCookies: true })
  } else {
    const { default: formbody } = await import('@fastify/formbody')
    await app.register(formbody)
  }
  app.post('/submit', async (request) => ({ ok: true, name: request.body.name }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  process.stdout.write(`PORT ${app.server.address().port}\n`)
  process.stdin.resume()
  process.stdin.on('end', () => app.close().then(() => process.exit(0)))
}

/** With `pin`, the server runs on the last CPU only (taskset, util-linux). */
function start (kind, pin) {
  const command = [...(pin ? ['taskset', '-c', String(availableParallelism() - 1)] : []), process.execPath, fileURLToPath(import.meta.url), 'serve', kind]
  const child = spawn(command[0], command.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`${kind} did not start`)), 15_000)
    child.stdout.on('data', (chunk) => {
      out += chunk
      const match = /PORT (\d+)/.exec(out)
      if (match) { clearTimeout(timer); resolve({ child, port: Number(match[1]) }) }
    })
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${kind} exited with ${code}`)) })
  })
}

/** CPU seconds (user + system) a server process has used, from /proc (Linux); NaN elsewhere. */
function cpuSeconds (pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime + stime, in USER_HZ (100 on Linux)
  } catch {
    return NaN
  }
}

async function measure (port, seconds) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/submit`,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `_xsrf=${COOKIE}` },
    body: BODY,
    connections: 50,
    pipelining: 1,
    duration: seconds
  })
  if (result.non2xx !== 0 || result.errors !== 0) throw new Error(`${result.non2xx} non-2xx and ${result.errors} errors on port ${port}`)
  return { rps: result.requests.average, count: result.requests.total }
}

async function main () {
  const args = process.argv.slice(2).filter((arg) => arg !== '--together')
  const together = args.length < process.argv.length - 2
  const seconds = Number(args[0] ?? 3)
  const rounds = Number(args[1] ?? 12)
  // Together, both servers share one pinned CPU and the load generator has
  // the others: at every instant both get the same CPU, disturbed alike.
  const servers = { bare: await start('bare', together), bundle: await start('bundle', together) }
  try {
    const best = { bare: 0, bundle: 0 }
    const ratios = { rps: [], cpu: [] }
    const cpu = { bare: { seconds: 0, requests: 0 }, bundle: { seconds: 0, requests: 0 } }
    const lowest = { bare: Infinity, bundle: Infinity }
    await measure(servers.bare.port, 1) // warm-up
    await measure(servers.bundle.port, 1)
    for (let round = 1; round <= rounds; round++) {
      const rps = {}
      const perRequest = {}
      const order = round % 2 ? ['bare', 'bundle'] : ['bundle', 'bare']
      const run = async (kind) => {
        const before = cpuSeconds(servers[kind].child.pid)
        const result = await measure(servers[kind].port, seconds)
        return { ...result, used: cpuSeconds(servers[kind].child.pid) - before }
      }
      const runs = {}
      if (together) (await Promise.all(order.map(run))).forEach((result, i) => { runs[order[i]] = result })
      else for (const kind of order) runs[kind] = await run(kind)
      for (const kind of order) {
        cpu[kind].seconds += runs[kind].used
        cpu[kind].requests += runs[kind].count
        rps[kind] = runs[kind].rps
        perRequest[kind] = runs[kind].used / runs[kind].count * 1e6
        lowest[kind] = Math.min(lowest[kind], perRequest[kind])
        best[kind] = Math.max(best[kind], rps[kind])
      }
      ratios.rps.push(rps.bundle / rps.bare)
      ratios.cpu.push(perRequest.bare / perRequest.bundle)
      console.log(`round ${round}: bare ${rps.bare.toFixed(0)} req/s ${perRequest.bare.toFixed(1)} µs, ` +
        `bundle ${rps.bundle.toFixed(0)} req/s ${perRequest.bundle.toFixed(1)} µs, ` +
        `ratios ${(rps.bundle / rps.bare).toFixed(3)} req/s, ${(perRequest.bare / perRequest.bundle).toFixed(3)} CPU`)
    }
    // Server CPU time per request: what throughput would be on an idle machine,
    // and far less disturbed than req/s when other processes share the CPUs.
    const perRequest = (kind) => cpu[kind].seconds / cpu[kind].requests * 1e6
    const summary = (values) => {
      const sorted = [...values].sort((a, b) => a - b)
      const middle = sorted.length / 2
      const median = sorted.length % 2 ? sorted[middle - 0.5] : (sorted[middle - 1] + sorted[middle]) / 2
      return `${median.toFixed(3)} (range ${sorted[0].toFixed(3)}-${sorted.at(-1).toFixed(3)})`
    }
    console.log(`raw token ${RAW}; ${rounds} rounds of ${seconds} s per server, 50 connections${together ? ' each, both servers at once' : ''}`)
    console.log(`best: bare Fastify + @fastify/formbody ${best.bare.toFixed(0)} req/s, bundle (xsrfCookies: true) ${best.bundle.toFixed(0)} req/s, ratio ${(best.bundle / best.bare).toFixed(3)}`)
    console.log(`median per-round ratio bundle / bare req/s: ${summary(ratios.rps)} (target >= 0.9)`)
    console.log(`median per-round ratio bare / bundle CPU per request: ${summary(ratios.cpu)} (target >= 0.9)`)
    console.log(`server CPU per request over all rounds: bare ${perRequest('bare').toFixed(1)} µs, bundle ${perRequest('bundle').toFixed(1)} µs, ` +
      `ratio bare / bundle ${(perRequest('bare') / perRequest('bundle')).toFixed(3)}`)
    // Load from elsewhere only ever adds CPU time per request, so each server's
    // lowest round is the least disturbed estimate of its own cost.
    console.log(`lowest CPU per request in any round: bare ${lowest.bare.toFixed(1)} µs, bundle ${lowest.bundle.toFixed(1)} µs, ` +
      `ratio bare / bundle ${(lowest.bare / lowest.bundle).toFixed(3)} (target >= 0.9)`)
  } finally {
    for (const { child } of Object.values(servers)) child.stdin.end()
  }
}

if (process.argv[2] === 'serve') await serve(process.argv[3])
else await main()
