// Static files: this bundle vs @fastify/static (with @fastify/compress for
// the gzip case) vs a bare Fastify route returning the same bytes, every
// server up at once, loaded with the method of bench/harness.js; then
// staticUrl() calls per second in-process. `npm run bench -- static`.
// (Start-up with 10,000 files: bench/static-startup.js.)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { compareCases, serveUntilStdinEnds, startServer, stopServer } from './harness.js'

async function serve (kind, root) {
  const { default: Fastify } = await import('fastify')
  const app = Fastify({ logger: false })
  if (kind === 'kit') {
    const { default: deployKit } = await import('../dist/index.js')
    await app.register(deployKit, { staticPath: root })
  } else if (kind === 'fastify-static' || kind === 'fastify-static-compress') {
    if (kind === 'fastify-static-compress') {
      const { default: compress } = await import('@fastify/compress')
      await app.register(compress, { global: true })
    }
    const { default: fastifyStatic } = await import('@fastify/static')
    await app.register(fastifyStatic, { root, prefix: '/static/' })
  } else if (kind === 'bare') {
    const bytes = readFileSync(join(root, 'hot.txt'))
    app.get('/static/hot.txt', (request, reply) => reply.type('text/plain; charset=utf-8').send(bytes))
  } else {
    throw new Error('unknown server kind ' + kind)
  }
  await serveUntilStdinEnds(app)
}

async function main () {
  const root = mkdtempSync(join(tmpdir(), 'fdk-bench-static-'))
  const hotBytes = Buffer.alloc(1024, 'The quick brown fox jumps over the lazy dog. ')
  writeFileSync(join(root, 'hot.txt'), hotBytes)
  const cssText = Array.from({ length: 2200 }, (_, i) => `.rule-${i} { margin: ${i % 17}px; color: #${(i * 2654435761 % 0xffffff).toString(16).padStart(6, '0')}; }`).join('\n').slice(0, 100 * 1024)
  writeFileSync(join(root, 'site.css'), cssText)

  const { default: Fastify } = await import('fastify')
  const { default: deployKit } = await import('../dist/index.js')
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

  const script = fileURLToPath(import.meta.url)
  const servers = {}
  try {
    for (const kind of ['kit', 'fastify-static', 'fastify-static-compress', 'bare']) servers[kind] = await startServer(kind, script, [kind, root])
    const hot = { method: 'GET', path: '/static/hot.txt', headers: {}, expect: { encoding: 'identity', body: hotBytes } }
    const gzip = (path) => ({ method: 'GET', path, headers: { 'accept-encoding': 'gzip' }, expect: { encoding: 'gzip', body: Buffer.from(cssText) } })
    await compareCases([
      { label: '1 KiB file: this bundle vs @fastify/static', contender: servers.kit, baseline: servers['fastify-static'], load: hot },
      { label: '1 KiB file: this bundle vs a bare route, same bytes', contender: servers.kit, baseline: servers.bare, load: hot },
      { label: '100 KiB CSS, gzip: this bundle vs @fastify/static + @fastify/compress', contender: servers.kit, baseline: servers['fastify-static-compress'], load: gzip('/static/site.css') },
      { label: '100 KiB CSS, gzip, versioned URL: this bundle vs @fastify/static + @fastify/compress', contender: servers.kit, baseline: servers['fastify-static-compress'], load: gzip(versioned) }
    ])
  } finally {
    await Promise.all(Object.values(servers).map(stopServer))
    rmSync(root, { recursive: true, force: true })
  }
  console.log(`\nstaticUrl(): ${(staticUrlPerSecond / 1e6).toFixed(1)} million calls/s (checksum ${length % 7})`)
}

if (process.argv[2] === 'serve') await serve(process.argv[3], process.argv[4])
else await main()
