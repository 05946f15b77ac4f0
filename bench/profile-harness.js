// Where a server's CPU goes per request, by whose code runs: the kit's own
// functions, Fastify's, other packages', Node.js's, V8's and the kernel's
// (writev). A ratio of requests/s cannot tell a 2% cost on this machine (the
// controls of bench/pay-per-use.js); a CPU profile names the code that costs
// it. A case's two servers run under `node --cpu-prof`, up alone and loaded
// together by wrk as harness.js loads them (pinned CPUs, the responses
// checked first, an untimed second before each round), and only the samples
// taken while a timed load ran are counted: V8's profile clock is the
// monotonic clock process.hrtime reads.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ROUNDS, SECONDS, WARM_SECONDS, WrkScripts, check, measure, median, stopServer, table } from './harness.js'

// One sample per 500 µs: a few thousand per side, and the profiler's own
// cost stays small (it is the same on both sides of a case).
const SAMPLING_MICROS = 500
const KIT_DIST = fileURLToPath(new URL('../dist/', import.meta.url))

/** Whose code a profile node is: a package, Node.js, V8, or the kit's dist/. */
function ownerOf ({ functionName, url }) {
  if (url === '') {
    if (functionName === '(idle)') return 'idle'
    if (functionName === '(garbage collector)') return 'V8: garbage collector'
    if (functionName === '(program)') return 'V8: compiler and runtime (program)'
    // writev is the syscall that sends the response: the kernel's work.
    return functionName === 'writev' ? 'kernel: writev' : 'native: other'
  }
  if (url.startsWith('node:')) return 'Node.js (http, streams, events)'
  const path = url.startsWith('file://') ? fileURLToPath(url) : url
  if (path.startsWith(KIT_DIST)) return 'fastify-deploy-kit'
  const modules = path.lastIndexOf('/node_modules/')
  if (modules === -1) return 'the benchmark\'s server script'
  const parts = path.slice(modules + '/node_modules/'.length).split('/')
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]
}

/**
 * Microseconds of CPU per request, by owner and (for the kit) by function:
 * the CPU the kernel counted (`cpuPerRequest`, harness.js reads /proc),
 * shared out as the samples of `profile` taken between `from` and `to` (µs,
 * the monotonic clock) fall. The profiler samples on a wall clock: time a
 * process waits for the CPU it shares lands on whatever it was running, so
 * only the samples' proportions are kept.
 */
export function cpuByOwner (profile, from, to, cpuPerRequest) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node.callFrame]))
  const owners = new Map()
  const kitFunctions = new Map()
  let time = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i]
    if (time < from || time > to) continue
    // A sample stands for the time until the next one.
    const spent = profile.timeDeltas[i + 1] ?? SAMPLING_MICROS
    const frame = nodes.get(profile.samples[i])
    const owner = ownerOf(frame)
    owners.set(owner, (owners.get(owner) ?? 0) + spent)
    if (owner === 'fastify-deploy-kit') {
      const name = `${frame.functionName || '(anonymous)'} (${frame.url.slice(frame.url.indexOf('/dist/') + 1)})`
      kitFunctions.set(name, (kitFunctions.get(name) ?? 0) + spent)
    }
  }
  owners.delete('idle')
  const scale = cpuPerRequest / [...owners.values()].reduce((total, value) => total + value, 0)
  for (const map of [owners, kitFunctions]) for (const [name, value] of map) map.set(name, value * scale)
  return { owners, kitFunctions }
}

/** A side's server under the profiler, and a folder for its profile. */
async function startProfiled (start, side) {
  const dir = mkdtempSync(join(tmpdir(), 'fdk-bench-profile-'))
  try {
    return { dir, server: await start(side, ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${SAMPLING_MICROS}`]) }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
}

/** Stops a profiled server (V8 writes the profile as the process exits) and reads its profile. */
async function profileOf ({ dir, server }) {
  try {
    await stopServer(server)
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'))
    if (file === undefined) throw new Error(`${server.name}: no CPU profile written`)
    return JSON.parse(readFileSync(join(dir, file), 'utf8'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Both sides of a case up at once and loaded at the same time in every
 * round, as compareCases' `together` does, so that the machine's own drift
 * falls on both; per side and round, the CPU per request by owner.
 */
async function profileCase (scripts, start, c, rounds, seconds) {
  const sides = ['baseline', 'contender']
  const running = []
  try {
    for (const side of sides) running.push(await startProfiled(start, c[side]))
    for (const { server } of running) await check(server, c.load)
    const windows = []
    for (let round = 0; round < rounds; round++) {
      await Promise.all(running.map(({ server }) => measure(scripts, server, c.load, WARM_SECONDS)))
      const from = Number(process.hrtime.bigint() / 1000n)
      const figures = await Promise.all(running.map(({ server }) => measure(scripts, server, c.load, seconds)))
      windows.push({ from, to: Number(process.hrtime.bigint() / 1000n), figures })
    }
    const profiles = []
    while (running.length > 0) profiles.push(await profileOf(running.shift()))
    return sides.map((side, s) => ({
      rps: median(windows.map((w) => w.figures[s].rps)),
      rounds: windows.map((w) => cpuByOwner(profiles[s], w.from, w.to, w.figures[s].cpu))
    }))
  } finally {
    await Promise.all(running.map(({ server, dir }) => stopServer(server).then(() => rmSync(dir, { recursive: true, force: true }))))
  }
}

/** The median over rounds of each owner's (or function's) µs per request. */
function medians (rounds, key) {
  const names = new Set(rounds.flatMap((round) => [...round[key].keys()]))
  return new Map([...names].map((name) => [name, median(rounds.map((round) => round[key].get(name) ?? 0))]))
}

const sum = (map) => [...map.values()].reduce((total, value) => total + value, 0)
const micros = (value) => value.toFixed(2)
const signed = (value) => (value >= 0 ? '+' : '') + value.toFixed(2)

/**
 * Profiles both sides of every case: `start(side, nodeFlags)` starts the
 * server of a side (`startServer` with those Node.js flags). Prints, per
 * case, the median over rounds of CPU µs per request by owner for the
 * baseline and the contender, and the kit's functions that cost anything.
 */
export async function profileCases (cases, start, { rounds = ROUNDS, seconds = SECONDS } = {}) {
  const scripts = new WrkScripts()
  try {
    console.log(`where the CPU goes: node --cpu-prof (a sample per ${SAMPLING_MICROS} µs); each case's two servers up alone, both on CPU 0, both loaded at once by wrk on CPU 1 for ${seconds} s after ${WARM_SECONDS} s untimed, ${rounds} rounds; µs of CPU per request (/proc) shared out by whose code the samples found running, medians over the rounds`)
    for (const c of cases) {
      const [baseline, contender] = await profileCase(scripts, start, c, rounds, seconds)
      const a = medians(baseline.rounds, 'owners')
      const b = medians(contender.rounds, 'owners')
      const added = (owner) => (b.get(owner) ?? 0) - (a.get(owner) ?? 0)
      const owners = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => added(y) - added(x))
      const allOf = (side) => side.rounds.map((round) => sum(round.owners))
      console.log(`\n${c.label} (${c.contender[0]} ${contender.rps.toFixed(0)} req/s, ${c.baseline[0]} ${baseline.rps.toFixed(0)} req/s, profiled and sharing CPU 0)`)
      console.log(table([
        ['whose code', 'baseline µs', 'contender µs', 'difference'],
        ...owners.map((owner) => [owner, micros(a.get(owner) ?? 0), micros(b.get(owner) ?? 0), signed(added(owner))]),
        ['all (median of the rounds\' sums)', micros(median(allOf(baseline))), micros(median(allOf(contender))), signed(median(allOf(contender)) - median(allOf(baseline)))]
      ]))
      const kit = [...medians(contender.rounds, 'kitFunctions')].filter(([, value]) => value > 0).sort((x, y) => y[1] - x[1])
      console.log(kit.length === 0
        ? 'the kit\'s own functions: no sample in most rounds'
        : 'the kit\'s own functions: ' + kit.slice(0, 8).map(([name, value]) => `${name} ${micros(value)}`).join(', '))
    }
  } finally {
    scripts.remove()
  }
}
