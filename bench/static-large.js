// Issue 15 part 1's benchmark: a 1 MiB JavaScript file requested with
// `Accept-Encoding: br` and with `gzip`, served by
//   kit-siblings  - the kit, from the .br / .gz siblings `deploy-kit assets` wrote,
//   kit-own       - the kit, from its own background compression (no siblings),
//   fastify-static - @fastify/static with `preCompressed: true`, same siblings,
//   nginx         - nginx serving the same directory with `gzip_static on`
//                   (nginx-light has no brotli module, so a br-only client
//                   gets identity bytes: the table shows what that costs).
// Method of bench/harness.js: every contender up at once, servers pinned to
// CPU 0 and wrk to CPU 1, each response checked (status, Content-Encoding,
// decodes to the exact 1 MiB) before timing, a warm-up round, interleaved
// rounds, medians and per-round figures, and bytes on the wire per response.
//
//   npm run build && flock -x /work/.locks/quiet node bench/static-large.js
//
// The file is the first 1 MiB of TypeScript's lib/typescript.js (a
// devDependency): real JavaScript, compressing as real bundles do.
import { spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { compareCases, fetchOnce, pinned, serveUntilStdinEnds, startServer, stopServer, table } from './harness.js'

const NGINX = '/usr/sbin/nginx'
const SIZE = 1024 * 1024

async function serve (kind, root, compressDir) {
  const { default: Fastify } = await import('fastify')
  const app = Fastify({ logger: false })
  if (kind === 'kit-siblings' || kind === 'kit-own') {
    const { default: deployKit } = await import('../dist/index.js')
    await app.register(deployKit, { staticPath: root, staticCompressDir: kind === 'kit-own' ? compressDir : false })
  } else if (kind === 'fastify-static') {
    const { default: fastifyStatic } = await import('@fastify/static')
    await app.register(fastifyStatic, { root, prefix: '/static/', preCompressed: true })
  } else {
    throw new Error('unknown server kind ' + kind)
  }
  await serveUntilStdinEnds(app)
}

/** nginx on CPU 0 serving `root` at /static/ with gzip_static; one worker, as the Node servers have one thread. */
async function startNginx (dir, root) {
  const port = await new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    }).once('error', reject)
  })
  mkdirSync(join(dir, 'nginx'))
  const conf = join(dir, 'nginx', 'nginx.conf')
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((name) => `    ${name}_temp_path ${dir}/nginx/${name}_temp;`)
  writeFileSync(conf, [
    'worker_processes 1;',
    `error_log ${dir}/nginx/error.log;`,
    `pid ${dir}/nginx/nginx.pid;`,
    'events { worker_connections 1024; }',
    'http {',
    '    include /etc/nginx/mime.types;',
    '    access_log off;',
    ...temp,
    '    sendfile on;',
    '    tcp_nopush on;',
    '    server {',
    `        listen 127.0.0.1:${port};`,
    '        location /static/ {',
    `            alias ${root}/;`,
    '            gzip_static on;',
    '        }',
    '    }',
    '}',
    ''
  ].join('\n'))
  const command = pinned(0, [NGINX, '-p', join(dir, 'nginx'), '-c', conf, '-e', 'stderr', '-g', 'daemon off;'])
  const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] })
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`)
    const up = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true) }).once('error', () => resolve(false))
    })
    if (up) return { name: 'nginx', child, port }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  child.kill('SIGKILL')
  throw new Error('nginx did not listen within 10 s')
}

/**
 * Exact bytes on the wire of one response to `load` (status line, headers and
 * body, on a keep-alive connection as wrk's): wrk's own byte count also holds
 * the partial responses in flight when a run stops, a few KiB per response here.
 */
function wireBytes (port, load) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let received = Buffer.alloc(0)
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer in 10 s')))
    socket.once('error', reject)
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk])
      const end = received.indexOf('\r\n\r\n')
      if (end === -1) return
      const length = /\r\ncontent-length: *(\d+)/i.exec(received.subarray(0, end).toString('latin1'))
      if (length === null) return socket.destroy(new Error('no Content-Length'))
      const total = end + 4 + Number(length[1])
      if (received.length >= total) { socket.destroy(); resolve(total) }
    })
    const headers = Object.entries({ host: `127.0.0.1:${port}`, ...load.headers }).map(([name, value]) => `${name}: ${value}\r\n`).join('')
    socket.write(`${load.method} ${load.path} HTTP/1.1\r\n${headers}\r\n`)
  })
}

/** Runs `deploy-kit assets` on `root`: the build step that writes the siblings. */
function buildAssets (root) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('../dist/cli/main.js', import.meta.url)), 'assets', root, '--quiet'], { stdio: 'inherit' })
    child.once('exit', (code) => code === 0 ? resolve() : reject(new Error(`deploy-kit assets exited with ${code}`)))
  })
}

async function main () {
  const dir = mkdtempSync(join(tmpdir(), 'fdk-bench-large-'))
  chmodSync(dir, 0o755) // nginx started as root runs its worker as nobody
  const servers = {}
  try {
    const source = createRequire(import.meta.url).resolve('typescript/lib/typescript.js')
    const bytes = readFileSync(source).subarray(0, SIZE)
    const siblings = join(dir, 'siblings')
    const plain = join(dir, 'plain')
    mkdirSync(siblings)
    mkdirSync(plain)
    writeFileSync(join(siblings, 'app.js'), bytes)
    copyFileSync(join(siblings, 'app.js'), join(plain, 'app.js'))
    await buildAssets(siblings)
    rmSync(join(siblings, '.deploy-kit-assets.json')) // only the siblings, for every contender alike
    const script = fileURLToPath(import.meta.url)

    const started = await Promise.all([
      startServer('kit-siblings', script, ['kit-siblings', siblings]),
      startServer('kit-own', script, ['kit-own', plain, join(dir, 'compressed')]),
      startServer('fastify-static', script, ['fastify-static', siblings]),
      startNginx(dir, siblings)
    ])
    for (const server of started) servers[server.name] = server

    // The kit's own copies are made in the background after the first request: wait (bounded) until it sends them.
    const path = '/static/app.js'
    for (let i = 0; ; i++) {
      const answer = await fetchOnce(servers['kit-own'].port, { method: 'GET', path, headers: { 'accept-encoding': 'br' } })
      if (answer.headers['content-encoding'] === 'br') break
      if (i === 600) throw new Error('kit-own did not compress app.js within 60 s')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }

    const load = (encoding, expectFrom = () => encoding) => ({
      method: 'GET',
      path,
      headers: { 'accept-encoding': encoding },
      expect: { encoding: expectFrom, body: bytes }
    })
    const br = load('br')
    const gzip = load('gzip')
    // nginx-light has no brotli_static: its br client gets the identity bytes.
    const brNginx = load('br', (name) => name === 'nginx' ? 'identity' : 'br')
    const cases = [
      { label: 'br: kit (siblings) vs @fastify/static preCompressed', contender: servers['kit-siblings'], baseline: servers['fastify-static'], load: br },
      { label: 'gzip: kit (siblings) vs @fastify/static preCompressed', contender: servers['kit-siblings'], baseline: servers['fastify-static'], load: gzip },
      { label: 'br: kit (own copy) vs @fastify/static preCompressed', contender: servers['kit-own'], baseline: servers['fastify-static'], load: br },
      { label: 'gzip: kit (own copy) vs @fastify/static preCompressed', contender: servers['kit-own'], baseline: servers['fastify-static'], load: gzip },
      { label: 'gzip: kit (siblings) vs nginx gzip_static', contender: servers['kit-siblings'], baseline: servers.nginx, load: gzip },
      { label: 'br: kit (siblings) vs nginx (no brotli_static: identity)', contender: servers['kit-siblings'], baseline: servers.nginx, load: brNginx }
    ]
    const rows = await compareCases(cases)
    console.log(`\nfile: the first ${SIZE} bytes of ${source}; siblings written by deploy-kit assets (brotli 11, gzip 9)`)
    console.log('bytes on the wire: one response each (status line + headers + body), counted exactly')
    const lines = [['case', 'kit req/s', 'other req/s', 'ratio of medians', 'per-round range', 'CPU ratio', 'kit bytes', 'other bytes', 'other / kit bytes']]
    for (const row of rows) {
      const { contender, baseline, load } = cases.find((c) => c.label === row.label)
      const ours = await wireBytes(contender.port, load)
      const theirs = await wireBytes(baseline.port, load)
      lines.push([row.label, row.contender.toFixed(0), row.baseline.toFixed(0), row.ratio.toFixed(2) + 'x', `${row.low.toFixed(2)}-${row.high.toFixed(2)}`,
        row.cpuRatio.toFixed(2), String(ours), String(theirs), (theirs / ours).toFixed(2) + 'x'])
    }
    console.log(table(lines))
  } finally {
    await Promise.all(Object.values(servers).map(stopServer))
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[2] === 'serve') await serve(process.argv[3], process.argv[4], process.argv[5])
else await main()
