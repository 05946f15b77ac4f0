// Start-up with 10,000 static files: time to ready() and to the first correct
// staticUrl() of every file, with a `deploy-kit assets` manifest vs the
// background warm-up hashing. Each case in a fresh process.
//   npm run build && node bench/static-startup.js
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'

const [mode, root] = process.argv.slice(2)
if (mode === 'manifest' || mode === 'warmup' || mode === 'lazy') {
  const { default: Fastify } = await import('fastify')
  const { default: deployKit } = await import('../dist/index.js')
  const paths = []
  for (let d = 0; d < 100; d++) for (let f = 0; f < 100; f++) paths.push(`d${d}/f${f}.css`)
  let warmed
  const done = new Promise((resolve) => { warmed = resolve })
  const started = performance.now()
  const app = Fastify({ logger: { level: 'debug', stream: { write: (line) => { if (line.includes('static files hashed')) warmed() } } } })
  await app.register(deployKit, {
    staticPath: root,
    staticCompressDir: false,
    ...(mode === 'manifest' ? { staticManifest: join(root, '.deploy-kit-assets.json') } : {}),
    ...(mode === 'lazy' ? { staticWarmup: false } : {})
  })
  await app.ready()
  const ready = performance.now() - started
  if (mode === 'warmup') await done // from here every staticUrl() is a map lookup
  let length = 0
  for (const path of paths) length += app.staticUrl(path).length
  const allUrls = performance.now() - started
  process.stdout.write(JSON.stringify({ mode, ready, allUrls, length }) + '\n')
  await app.close()
} else {
  const dir = mkdtempSync(join(tmpdir(), 'fdk-bench-startup-'))
  for (let d = 0; d < 100; d++) {
    mkdirSync(join(dir, `d${d}`))
    for (let f = 0; f < 100; f++) writeFileSync(join(dir, `d${d}`, `f${f}.css`), `.f${d}-${f} { color: red; }\n`.repeat(20))
  }
  const script = fileURLToPath(import.meta.url)
  const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
  const t0 = performance.now()
  spawnSync(process.execPath, [cli, 'assets', dir, '-q'], { stdio: 'inherit' })
  const buildMs = performance.now() - t0
  const rows = { manifest: [], warmup: [], lazy: [] }
  for (let round = 0; round < 5; round++) {
    for (const kind of Object.keys(rows)) {
      const out = spawnSync(process.execPath, [script, kind, dir], { encoding: 'utf8' })
      rows[kind].push(JSON.parse(out.stdout))
    }
  }
  rmSync(dir, { recursive: true, force: true })
  const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]
  const range = (values) => `${Math.round(Math.min(...values))}-${Math.round(Math.max(...values))}`
  console.log(`10,000 files (1 KiB CSS each), 5 fresh processes per case, Node ${process.version}; deploy-kit assets (build time, with siblings): ${Math.round(buildMs)} ms`)
  console.log('| case | ready() ms, median (range) | every staticUrl() correct, ms from start, median (range) |')
  console.log('|---|---|---|')
  for (const [kind, results] of Object.entries(rows)) {
    const ready = results.map((r) => r.ready)
    const all = results.map((r) => r.allUrls)
    console.log(`| ${kind} | ${Math.round(median(ready))} (${range(ready)}) | ${Math.round(median(all))} (${range(all)}) |`)
  }
}
