// `deploy-kit haproxy`: every generated variant passes the real `haproxy -c`,
// options HAProxy has no use for are refused, the file in docs/deploying.md
// is what the command prints, and end to end through the real HAProxy in
// front of the launcher (ports mode): the app sees the client's address and
// scheme whatever headers the client sends, a killed worker and a rolling
// reload under load cost no request, versioned static URLs keep their caching.
import t, { type Test } from 'tap'
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request as httpRequest } from 'node:http'
import { main } from '../../lib/cli/main.js'
import { haproxyTime, sizeInBytes } from '../../lib/cli/render/haproxy.js'
import { HAPROXY, freePort, need, run, startProcess, tempDir, waitForPort } from '../helpers/tools.js'
import { HEALTH_PATH, cli, get, killThenReload, root, startLauncher } from '../helpers/launcher.js'

async function generate (args: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const code = await main(['haproxy', ...args], { stdout: (text) => { out += text }, stderr: (text) => { err += text } })
  return { code, out, err }
}

async function haproxyCheck (t: Test, config: string): Promise<{ code: number, output: string }> {
  const file = join(tempDir(t, 'haproxy-check'), 'haproxy.cfg')
  writeFileSync(file, config)
  const { code, stdout, stderr } = await run(HAPROXY, ['-c', '-f', file])
  return { code, output: stdout + stderr }
}

t.test('sizes and times are translated into HAProxy units', async (t) => {
  t.equal(sizeInBytes('50M'), 52428800)
  t.equal(sizeInBytes('512k'), 524288)
  t.equal(sizeInBytes('2g'), 2147483648)
  t.equal(sizeInBytes('1000'), 1000)
  t.equal(haproxyTime('10'), '10s', 'nginx reads a bare number as seconds, HAProxy as milliseconds')
  t.equal(haproxyTime('500ms'), '500ms')
})

t.test('options HAProxy has no use for, or cannot honour, are refused with the option named', async (t) => {
  for (const [args, option] of [
    [['--server-name', 'example.com'], '--server-name'],
    [['--keepalive', '8'], '--keepalive'],
    [['--prefix', '/tmp/x'], '--prefix'],
    [['--mime-types', '/etc/mime.types'], '--mime-types'],
    [['--send-proxy', 'v3'], '--send-proxy'],
    [['--tls-cert', '/etc/ssl/site.pem', '--tls-key', '/etc/ssl/site.key'], '--tls-key'],
    [['--max-body', '5 MB'], '--max-body'],
    [['--tcp'], '--send-proxy v1|v2'],
    [['--tcp', '--send-proxy', 'v2', '--health', '/healthz'], '--health'],
    [['--tcp', '--send-proxy', 'v2', '--max-body', '1k'], '--max-body'],
    [['--tcp', '--send-proxy', 'v2', '--tls-cert', '/etc/ssl/a.pem', '--tls-key', '/etc/ssl/a.pem'], '--tls-cert']
  ] as Array<[string[], string]>) {
    const result = await generate(['--upstream', '127.0.0.1:8000', ...args])
    t.equal(result.code, 2, args.join(' '))
    t.match(result.err, 'Invalid option')
    t.match(result.err, option)
  }
  const missing = await generate([])
  t.equal(missing.code, 2)
  t.match(missing.err, '--upstream')
})

t.test('the client address and scheme are overwritten, never appended, and retries spare POSTs', async (t) => {
  const { out } = await generate(['--upstream', '127.0.0.1:8000-8001'])
  t.match(out, /^ {4}http-request set-header X-Real-IP %\[src\]$/m)
  t.match(out, /^ {4}http-request set-header X-Forwarded-For %\[src\]$/m)
  t.match(out, /^ {4}http-request set-header X-Scheme http$/m)
  t.match(out, /^ {4}http-request set-header X-Forwarded-Proto http$/m)
  t.notMatch(out, /option forwardfor/, 'forwardfor appends to what the client sent')
  t.match(out, /^ {4}retry-on conn-failure empty-response$/m)
  t.notMatch(out, /response-timeout|all-retryable-errors/, 'never retried on a timeout')
  t.match(out, /^ {4}http-request disable-l7-retry unless METH_GET or METH_OPTIONS$/m)
  t.match(out, /^ {4}option redispatch 1$/m)
  t.match(out, /^ {4}default-server check inter 2s fall 1 rise 2 downinter 10s$/m, 'a TCP check without --health')
  t.notMatch(out, /httpchk/)
  t.match(out, /^ {4}server app1 127\.0\.0\.1:8000\n {4}server app2 127\.0\.0\.1:8001\n$/m)
})

if (need(t, HAPROXY, 'haproxy')) {
  t.test('every variant passes the real haproxy -c', async (t) => {
    const certDir = tempDir(t, 'haproxy-tls')
    const cert = join(certDir, 'site.pem')
    copyFileSync(join(root, 'test', 'fixtures', 'deploy', 'tls-cert.pem'), cert)
    copyFileSync(join(root, 'test', 'fixtures', 'deploy', 'tls-key.pem'), `${cert}.key`)
    const variants = [
      ['--upstream', '127.0.0.1:8000-8003'],
      ['--upstream', '127.0.0.1:8000-8003,10.0.0.2:8000-8003,[::1]:9000', '--listen', '[::]:8080', '--health', '/healthz', '--max-fails', '3', '--fail-timeout', '30'],
      ['--upstream', '127.0.0.1:8000', '--tls-cert', cert, '--tls-key', `${cert}.key`, '--send-proxy', 'v2', '--max-body', '1k'],
      ['--upstream', '127.0.0.1:8000', '--listen', '127.0.0.1:8443', '--send-proxy', 'v1', '--static-root', '/srv/app/static', '--aliases', '', '--user', 'www-data', '--worker-connections', '4096'],
      ['--upstream', '127.0.0.1:8000-8003', '--listen', '443', '--tcp', '--send-proxy', 'v2', '--user', 'www-data']
    ]
    for (const args of variants) {
      const result = await generate(args)
      t.equal(result.code, 0, args.join(' '))
      const check = await haproxyCheck(t, result.out)
      t.equal(check.code, 0, `haproxy -c: ${args.join(' ')}`, { output: check.output })
    }
  })

  t.test('the HAProxy file in docs/deploying.md is exactly what its command prints, and valid', async (t) => {
    const docs = readFileSync(new URL('../../docs/deploying.md', import.meta.url), 'utf8')
    const block = /```haproxy\n(# Generated by (deploy-kit .*)\n[\s\S]*?)```/.exec(docs)
    t.ok(block, 'docs/deploying.md shows a generated haproxy.cfg')
    const args = block![2]!.split(' ').slice(2)
    const result = await generate(args)
    t.equal(result.code, 0)
    t.equal(result.out, block![1], block![2]!)
    t.equal((await haproxyCheck(t, result.out)).code, 0)
  })

  if (!existsSync(cli)) {
    t.fail('dist/ is missing: run `npm run build` (npm ci does it through "prepare")')
  } else {
    t.test('the launcher behind HAProxy: client address, static caching, a killed worker, a reload under load', async (t) => {
      const { first, launcher } = await startLauncher(t, 2)
      const dir = tempDir(t, 'haproxy-e2e')
      const port = await freePort()
      const generated = await generate(['--upstream', `127.0.0.1:${first}-${first + 1}`, '--listen', `127.0.0.1:${port}`,
        '--static-root', join(root, 'example', 'static'), '--aliases', 'robots.txt,favicon.ico', '--health', HEALTH_PATH, '--max-body', '1k'])
      t.equal(generated.code, 0)
      writeFileSync(join(dir, 'haproxy.cfg'), generated.out)
      const haproxy = startProcess(t, HAPROXY, ['-db', '-f', join(dir, 'haproxy.cfg')])
      await waitForPort(port, '127.0.0.1', haproxy)
      const healthy = await get(port, HEALTH_PATH)
      t.same([healthy.status, JSON.parse(healthy.body)], [200, { status: 'ok' }], 'the launcher\'s health route, which HAProxy\'s httpchk asks')

      // 127.0.0.2 is the client; HAProxy reaches the app from 127.0.0.1.
      const spoofed = await get(port, '/whoami', {
        localAddress: '127.0.0.2',
        headers: { 'X-Real-IP': '203.0.113.9', 'X-Forwarded-For': '203.0.113.9', 'X-Scheme': 'https', 'X-Forwarded-Proto': 'https' }
      })
      t.equal(spoofed.status, 200)
      t.match(JSON.parse(spoofed.body), { ip: '127.0.0.2', protocol: 'http' }, 'the client\'s own headers change nothing')
      const plain = JSON.parse((await get(port, '/whoami', { localAddress: '127.0.0.3' })).body) as { ip: string }
      t.equal(plain.ip, '127.0.0.3', 'the app sees the client, not HAProxy')

      const page = await get(port, '/')
      const css = /\/static\/site\.css\?v=[0-9a-f]+/.exec(page.body)?.[0]
      t.ok(css, 'the page links a versioned stylesheet')
      const versioned = await get(port, css!)
      t.equal(versioned.status, 200)
      t.match(versioned.headers['cache-control'], /immutable/, 'a versioned URL keeps its far-future caching through HAProxy')
      const unversioned = await get(port, '/static/site.css')
      t.equal(unversioned.status, 200)
      t.notMatch(unversioned.headers['cache-control'] ?? '', /immutable/, 'an unversioned URL is revalidated')
      t.equal(unversioned.headers.etag, versioned.headers.etag)
      t.equal((await get(port, '/robots.txt')).status, 200, 'root aliases reach the app')

      const tooLarge = await new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, path: '/messages', method: 'POST', agent: false, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '2048' } }, (res) => { res.resume(); resolve(res.statusCode!) })
        req.on('error', reject)
        req.end('a'.repeat(2048))
      })
      t.equal(tooLarge, 413, 'a body over --max-body is refused by HAProxy')

      await killThenReload(t, 'HAProxy', port, first, launcher, () => haproxy.output())
    })
  }
}
