// Shared by the benchmarks: one child process per server (so the load
// generator and the server never share an event loop), autocannon for load,
// bounded runs, and ratios rather than absolute numbers (shared machines).
import { fork } from 'node:child_process'
import autocannon from 'autocannon'

export const DURATION = Number(process.env.BENCH_SECONDS ?? 5)
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)

/** Starts `script` (an ES module) with `args`; resolves once it reports its port. */
export function startServer (script, args = []) {
  return new Promise((resolve, reject) => {
    const child = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${script} did not start`)) }, 20000)
    child.once('message', (message) => {
      clearTimeout(timer)
      resolve({
        port: message.port,
        cpu: () => new Promise((resolve) => { child.once('message', resolve); child.send('cpu') }),
        stop: () => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM') })
      })
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${script} exited with ${code}`)) })
  })
}

/** Call from a server script: answers the harness's CPU-time questions. */
export function reportCpu () {
  process.on('message', (message) => {
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage()
      process.send({ cpu: user + system })
    }
  })
}

/**
 * Load on GET `path` with `headers`; fails on any error or non-2xx. Returns
 * requests/s and the server's CPU microseconds per request: on a shared,
 * noisy machine the CPU cost per request is the steadier of the two.
 */
export async function measure (server, path, headers = {}, duration = DURATION) {
  const url = `http://127.0.0.1:${server.port}${path}`
  // A short warm-up so JIT and caches are hot for every contender alike.
  await autocannon({ url, headers, connections: 10, duration: 1 })
  const before = (await server.cpu()).cpu
  const result = await autocannon({ url, headers, connections: CONNECTIONS, duration })
  const after = (await server.cpu()).cpu
  if (result.errors > 0 || result.non2xx > 0) {
    throw new Error(`${path}: ${result.errors} errors, ${result.non2xx} non-2xx responses`)
  }
  return { rps: result.requests.average, cpuPerRequest: (after - before) / result.requests.total }
}

/**
 * Measures each named server in turn, `rounds` times, interleaved (A B C A B C)
 * so a burst of load from elsewhere hits every contender alike; keeps each
 * one's best round.
 */
export async function compare (contenders, rounds = Number(process.env.BENCH_ROUNDS ?? 3)) {
  const best = {}
  for (let round = 0; round < rounds; round++) {
    for (const [name, { script, args, path, headers }] of Object.entries(contenders)) {
      const server = await startServer(script, args)
      try {
        const result = await measure(server, path, headers)
        const previous = best[name]
        best[name] = previous === undefined
          ? result
          : {
              rps: Math.max(previous.rps, result.rps),
              cpuPerRequest: Math.min(previous.cpuPerRequest, result.cpuPerRequest)
            }
      } finally {
        await server.stop()
      }
    }
  }
  return best
}

export function ratio (a, b) {
  return (a / b).toFixed(2) + 'x'
}

export function table (rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)))
  return rows.map((row, r) => {
    const line = '| ' + row.map((cell, i) => String(cell).padEnd(widths[i])).join(' | ') + ' |'
    return r === 0 ? line + '\n|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|' : line
  }).join('\n')
}
