// Path traversal over a real socket: the request line goes out byte for byte
// as written here (no client-side URL normalisation), and no response may
// contain a byte of the files planted outside staticPath.
import t from 'tap'
import Fastify from 'fastify'
import { connect } from 'node:net'
import { symlinkSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import deployKit from '../../lib/index.js'
import { main } from '../../lib/cli/main.js'

const SECRET = 'OUTSIDE-THE-ROOT-7f3a'

const PAYLOADS = [
  '/static/../secret.txt',
  '/static/..%2fsecret.txt',
  '/static/%2e%2e/secret.txt',
  '/static/%2e%2e%2fsecret.txt',
  '/static/%2E%2E/secret.txt',
  '/static/.%2e/secret.txt',
  '/static/%2e./secret.txt',
  '/static/..%5csecret.txt',
  '/static/..\\secret.txt',
  '/static/%252e%252e/secret.txt',
  '/static/%252e%252e%252fsecret.txt',
  '/static/%c0%ae%c0%ae/secret.txt',
  '/static/%c0%ae%c0%ae%c0%afsecret.txt',
  '/static/%e0%80%ae%e0%80%ae/secret.txt',
  '/static/%c1%9c%c1%9csecret.txt',
  '/static/..%c0%afsecret.txt',
  '/static/..%255csecret.txt',
  '/static/%00../secret.txt',
  '/static/ok.txt%00.png',
  '/static/%00',
  '/static//secret.txt',
  '/static//etc/passwd',
  '/static/%2fetc%2fpasswd',
  '/static/../../../../etc/passwd',
  '/static/..%2f..%2f..%2f..%2fetc%2fpasswd',
  '/static/sub/../../secret.txt',
  '/static/sub/%2e%2e/%2e%2e/secret.txt',
  '/static/sub/..%2f..%2fsecret.txt',
  '/static/./../secret.txt',
  '/static/....//secret.txt',
  '/static/..;/secret.txt',
  '/static/..%00/secret.txt',
  '/static/%u002e%u002e/secret.txt',
  '/static/leak.txt',
  '/static/up/secret.txt',
  '/static/up/static/%2e%2e/secret.txt',
  '/static/.env',
  '/static/sub/.hidden',
  '/static/%2eenv',
  '/static/sub',
  '/static/',
  '/static',
  '/static/?../secret.txt',
  '/static/ok.txt/../../secret.txt',
  '/static/ok.txt%2f..%2f..%2fsecret.txt',
  '/static/\u00ff..%2fsecret.txt',
  '/robots.txt/../secret.txt',
  '/static/' + '../'.repeat(300) + 'secret.txt',
  '/static/' + 'a/'.repeat(2000) + 'x'
]

function rawRequest (port: number, target: string, extra = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    socket.setTimeout(5000, () => socket.destroy(new Error('timeout for ' + target)))
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')))
    // write, not end: a half-closed socket makes Node abort the request in flight.
    socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Connection: close\r\n\r\n`, 'latin1')
  })
}

t.test('no traversal payload returns a byte from outside staticPath, and none causes a 500', async (t) => {
  t.ok(PAYLOADS.length >= 40, `${PAYLOADS.length} payloads`)
  const dir = t.testdir({
    'secret.txt': SECRET,
    static: { 'ok.txt': 'fine', 'robots.txt': 'robots', '.env': SECRET, sub: { 'a.txt': 'a', '.hidden': SECRET } }
  })
  symlinkSync(dir + '/secret.txt', dir + '/static/leak.txt')
  symlinkSync(dir, dir + '/static/up')
  for (const debug of [false, true]) {
    const app = Fastify()
    await app.register(deployKit, { staticPath: dir + '/static', debug })
    await app.listen({ host: '127.0.0.1', port: 0 })
    const port = (app.server.address() as { port: number }).port
    for (const payload of PAYLOADS) {
      const response = await rawRequest(port, payload)
      const status = Number(response.slice(9, 12))
      t.notOk(response.includes(SECRET), `no secret bytes for ${payload}`)
      t.ok(status >= 400 && status < 500, `${payload} → ${status}`, { response: response.slice(0, 300) })
    }
    const ok = await rawRequest(port, '/static/ok.txt')
    t.match(ok, /^HTTP\/1\.1 200 OK[\s\S]*\r\n\r\nfine$/, 'a legitimate file is still served')
    await app.close()
  }
})

t.test('the same corpus through sendFile, default filenames, a manifest, a bundler manifest and siblings', async (t) => {
  const dir = t.testdir({
    'secret.txt': SECRET,
    'secret.txt.gz': gzipSync(SECRET),
    static: {
      'ok.txt': 'fine',
      'big.txt': 'fine '.repeat(400),
      'robots.txt': 'robots',
      '.env': SECRET,
      '.vite': { 'manifest.json': JSON.stringify({ 'src/ok.ts': { file: 'ok.txt' } }) },
      sub: { 'a.txt': 'a', '.hidden': SECRET, 'index.html': 'index' }
    }
  })
  symlinkSync(dir + '/secret.txt', dir + '/static/leak.txt')
  symlinkSync(dir, dir + '/static/up')
  t.equal(await main(['assets', dir + '/static', '-q'], { stdout: () => {}, stderr: () => {} }), 0)
  symlinkSync(dir + '/secret.txt.gz', dir + '/static/ok.txt.gz') // a sibling pointing out of the root
  const app = Fastify()
  await app.register(deployKit, {
    staticPath: dir + '/static',
    staticDefaultFilename: 'index.html',
    staticManifest: dir + '/static/.deploy-kit-assets.json',
    staticBundlerManifest: '.vite/manifest.json',
    staticCompressDir: false
  })
  app.get('/file/*', (request, reply) => reply.sendFile((request.params as Record<string, string>)['*'] as string))
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const port = (app.server.address() as { port: number }).port
  const targets = PAYLOADS.flatMap((payload) => payload.startsWith('/static/') ? [payload, '/file/' + payload.slice(8)] : [payload])
  targets.push('/static/.deploy-kit-assets.json', '/file/.deploy-kit-assets.json', '/static/.vite/manifest.json', '/static/up/static/sub')
  for (const target of targets) {
    const response = await rawRequest(port, target, 'Accept-Encoding: gzip, br\r\n')
    const status = Number(response.slice(9, 12))
    t.notOk(response.includes(SECRET), `no secret bytes for ${target}`)
    if (status === 301) {
      const location = /\r\nlocation: ([^\r]*)/i.exec(response)?.[1] ?? ''
      t.match(location, /^\/static\/[^/.%][^%]*\/$/, `${target} → 301 ${location}: inside the prefix, canonical`)
      t.notMatch(location, /\.\.|\/\//, `${target}: no traversal in the redirect`)
    } else {
      t.ok(status >= 400 && status < 500, `${target} → ${status}`, { response: response.slice(0, 300) })
    }
  }
  const ok = await rawRequest(port, '/static/ok.txt', 'Accept-Encoding: gzip\r\n')
  t.match(ok, /^HTTP\/1\.1 200 OK[\s\S]*\r\n\r\nfine$/, 'the sibling pointing out of the root is not sent')
  t.match(await rawRequest(port, '/file/ok.txt'), /\r\n\r\nfine$/)
  t.match(await rawRequest(port, '/static/sub/'), /\r\n\r\nindex$/)
})
