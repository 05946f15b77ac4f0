// Static files: this bundle vs @fastify/static (with @fastify/compress for the
// gzip case) vs a bare Fastify route returning the same bytes, one server
// process each, measured interleaved in one run. `npm run bench static`.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import Fastify from 'fastify'
import deployKit from '../dist/index.js'
import { compare, ratio, table, CONNECTIONS, DURATION } from './harness.js'

const root = mkdtempSync(join(tmpdir(), 'fdk-bench-static-'))
writeFileSync(join(root, 'hot.txt'), Buffer.alloc(1024, 'The quick brown fox jumps over the lazy dog. '))
const css = Array.from({ length: 2200 }, (_, i) => `.rule-${i} { margin: ${i % 17}px; color: #${(i * 2654435761 % 0xffffff).toString(16).padStart(6, '0')}; }`).join('\n')
writeFileSync(join(root, 'site.css'), css.slice(0, 100 * 1024))

const app = Fastify()
await app.register(deployKit, { staticPath: root, staticWarmup: false })
await app.ready()
const versioned = app.staticUrl('site.css')

// staticUrl() on a hot path: calls per second in-process.
const calls = 2_000_000
let length = 0
const started = performance.now()
for (let i = 0; i < calls; i++) length += app.staticUrl('site.css').length
const staticUrlPerSecond = calls / ((performance.now() - started) / 1000)
await app.close()

const script = new URL('./static-server.js', import.meta.url).pathname
const gzip = { 'accept-encoding': 'gzip' }
const r = await compare({
  kit: { script, args: ['kit', root], path: '/static/hot.txt' },
  fastifyStatic: { script, args: ['fastify-static', root], path: '/static/hot.txt' },
  bare: { script, args: ['bare', root], path: '/static/hot.txt' },
  kitGzip: { script, args: ['kit', root], path: '/static/site.css', headers: gzip },
  kitVersioned: { script, args: ['kit', root], path: versioned, headers: gzip },
  staticCompress: { script, args: ['fastify-static-compress', root], path: '/static/site.css', headers: gzip }
})

// Start-up with 10,000 files: how long ready() takes and the longest event-loop stall while warming.
const many = join(root, 'many')
for (let d = 0; d < 100; d++) {
  mkdirSync(join(many, `d${d}`), { recursive: true })
  for (let f = 0; f < 100; f++) writeFileSync(join(many, `d${d}`, `f${f}.css`), `.f${d}-${f} { color: red; }\n`.repeat(20))
}
let warmDone
const warmed = new Promise((resolve) => { warmDone = resolve })
const warm = Fastify({ logger: { level: 'debug', stream: { write: (line) => { if (line.includes('static files hashed')) warmDone(JSON.parse(line)) } } } })
await warm.register(deployKit, { staticPath: many })
const histogram = monitorEventLoopDelay({ resolution: 1 })
histogram.enable()
const readyStarted = performance.now()
await warm.ready()
const readyMs = performance.now() - readyStarted
const summary = await warmed
histogram.disable()
await warm.close()
rmSync(root, { recursive: true, force: true })

const row = (label, result, against, target) => [
  label, Math.round(result.rps), result.cpuPerRequest.toFixed(1),
  against === undefined ? '' : `${ratio(result.rps, against.rps)} req/s, ${ratio(against.cpuPerRequest, result.cpuPerRequest)} CPU${target ? ` (target >= ${target})` : ''}`
]
console.log(`\nStatic files: ${DURATION}s per run, best of interleaved rounds, ${CONNECTIONS} connections, ${availableParallelism()} CPUs, Node ${process.version}\n`)
console.log(table([
  ['case', 'req/s', 'server CPU µs/req', 'this bundle vs this row'],
  row('1 KiB file: this bundle', r.kit),
  row('1 KiB file: @fastify/static', r.fastifyStatic, undefined),
  row('1 KiB file: bare Fastify route, same bytes', r.bare, undefined),
  row('100 KiB CSS, gzip: this bundle', r.kitGzip),
  row('100 KiB CSS, gzip, versioned URL: this bundle', r.kitVersioned),
  row('100 KiB CSS, gzip: @fastify/static + @fastify/compress', r.staticCompress, undefined)
].map((cells, i) => {
  if (i === 2) cells[3] = `${ratio(r.kit.rps, r.fastifyStatic.rps)} req/s, ${ratio(r.fastifyStatic.cpuPerRequest, r.kit.cpuPerRequest)} less CPU (target >= 5x)`
  if (i === 3) cells[3] = `${ratio(r.kit.rps, r.bare.rps)} req/s, ${ratio(r.bare.cpuPerRequest, r.kit.cpuPerRequest)} CPU (target >= 0.8x)`
  if (i === 6) cells[3] = `${ratio(r.kitGzip.rps, r.staticCompress.rps)} req/s, ${ratio(r.staticCompress.cpuPerRequest, r.kitGzip.cpuPerRequest)} less CPU (target >= 10x)`
  return cells
})))
console.log(`\nstaticUrl(): ${(staticUrlPerSecond / 1e6).toFixed(1)} million calls/s (checksum ${length % 7})`)
console.log(`10,000 files: ready() in ${readyMs.toFixed(0)} ms; background hashing of ${summary.files} files took ${summary.ms} ms; longest event-loop stall ${(histogram.max / 1e6).toFixed(1)} ms, p99 ${(histogram.percentile(99) / 1e6).toFixed(1)} ms (load average ${loadavg()[0].toFixed(1)})`)
