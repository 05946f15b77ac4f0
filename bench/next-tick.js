// Why two processes of the same server can differ by 10-15% on GET /hello
// (docs/benchmarks.md, "The size of the process", "Two states of
// process.nextTick"): in some processes Node's own process.nextTick, which
// every HTTP request goes through several times, runs about six times
// slower than in others, for the process's whole life. This starts
// PROCESSES fresh processes of each start-up kind, each pinned to CPU 0,
// one after another, and prints each one's nanoseconds per nextTick (queued
// and run, median of 30 batches of 200 x 1,000). No server, no network, no
// kit code on the measured path.
//
//   npm run build && node bench/next-tick.js
//   PROCESSES=12 (the default)
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { OTHER_PACKAGES, pinned } from './harness.js'

const PROCESSES = Number(process.env.PROCESSES ?? 12)
// What each kind loads before measuring; none of it is called afterwards.
const KINDS = {
  fastify: [],
  'fastify + the kit': ['../dist/index.js'],
  'fastify + other packages': OTHER_PACKAGES
}

async function measureHere (kind) {
  for (const name of KINDS[kind]) await import(name)
  await import('fastify')
  const noop = () => {}
  const times = []
  for (let batch = 0; batch < 30; batch++) {
    const start = process.hrtime.bigint()
    for (let k = 0; k < 200; k++) {
      for (let i = 0; i < 1000; i++) process.nextTick(noop)
      await new Promise((resolve) => setImmediate(resolve))
    }
    times.push(Number(process.hrtime.bigint() - start) / 200_000)
  }
  times.sort((a, b) => a - b)
  process.stdout.write(`${times[15].toFixed(1)}\n`)
}

function main () {
  const script = fileURLToPath(import.meta.url)
  console.log(`ns per process.nextTick, one figure per fresh process (${PROCESSES} each), pinned to CPU 0; Node ${process.version}`)
  for (const kind of Object.keys(KINDS)) {
    const figures = []
    for (let i = 0; i < PROCESSES; i++) {
      const command = pinned(0, [process.execPath, script, 'measure', kind])
      const result = spawnSync(command[0], command.slice(1), { encoding: 'utf8' })
      if (result.status !== 0) throw new Error(`${kind}: exited with ${result.status}: ${result.stderr}`)
      figures.push(Number(result.stdout))
    }
    const slow = figures.filter((ns) => ns > 2 * Math.min(...figures)).length
    console.log(`  ${kind.padEnd(26)} ${figures.map((ns) => ns.toFixed(0).padStart(4)).join(' ')}   slow (over twice the fastest): ${slow} of ${PROCESSES}`)
  }
}

if (process.argv[2] === 'measure') await measureHere(process.argv[3])
else main()
