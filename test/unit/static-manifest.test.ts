// `deploy-kit assets DIR` and `staticManifest`: hash once at build time,
// start without hashing, detect a file that no longer matches.
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { createHash } from 'node:crypto'
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib'
import deployKit, { type DeployKitSettings } from '../../lib/index.js'
import { logCapture } from '../helpers/tools.js'
import { main } from '../../lib/cli/main.js'
import { DEFAULT_MANIFEST } from '../../lib/cli/assets.js'
import type { AssetManifest } from '../../lib/static/manifest.js'

const CSS = 'body { color: #222; margin: 0 auto; }\n'.repeat(60)
const JS = Array.from({ length: 6000 }, (_, i) => `export function f${i} (a, b) { return a * ${i} + b }\n`).join('')
const PNG = Buffer.alloc(5000, 3)

function sha (bytes: string | Buffer): string {
  return createHash('sha512').update(bytes).digest('hex')
}

function tempdir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'fdk-manifest-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function tree (t: Test): string {
  const dir = tempdir(t)
  mkdirSync(join(dir, 'sub'))
  writeFileSync(join(dir, 'site.css'), CSS)
  writeFileSync(join(dir, 'big.js'), JS)
  writeFileSync(join(dir, 'big.js.gz'), gzipSync(JS.replace(/a/g, 'b'))) // stale: an older build
  writeFileSync(join(dir, 'logo.png'), PNG)
  writeFileSync(join(dir, 'tiny.js'), 'x()\n')
  writeFileSync(join(dir, '.env'), 'SECRET=1')
  writeFileSync(join(dir, 'sub', 'page.js'), JS.slice(0, 3000))
  writeFileSync(join(dir, 'sub', 'page.js.br'), brotliCompressSync(JS.slice(0, 3000))) // valid: kept as it is
  return dir
}

async function cli (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await main(args, { stdout: (text) => { stdout += text }, stderr: (text) => { stderr += text } })
  return { code, stdout, stderr }
}

interface Built { app: FastifyInstance, logs: Array<Record<string, unknown>> }

async function build (t: Test, settings: DeployKitSettings): Promise<Built> {
  const { stream, lines: logs } = logCapture()
  const app = Fastify({ logger: { level: 'debug', stream } })
  await app.register(deployKit, { staticCompressDir: false, ...settings })
  t.teardown(() => app.close())
  await app.ready()
  return { app, logs }
}

t.test('deploy-kit assets hashes the servable tree and writes siblings where they help', async (t) => {
  const dir = tree(t)
  const brBefore = statSync(join(dir, 'sub', 'page.js.br')).mtimeMs
  chmodSync(join(dir, 'site.css'), 0o640)
  chmodSync(join(dir, 'big.js'), 0o644)
  const result = await cli(['assets', dir])
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, /5 files, 6 compressed siblings, \d+ ms -> .*\.deploy-kit-assets\.json/)
  const manifest = JSON.parse(readFileSync(join(dir, DEFAULT_MANIFEST), 'utf8')) as AssetManifest
  t.equal(manifest.format, 'fastify-deploy-kit/assets@1')
  t.same(Object.keys(manifest.files), ['big.js', 'logo.png', 'site.css', 'sub/page.js', 'tiny.js'], 'no dotfiles, no siblings, not itself')
  t.same(manifest.files['site.css'], {
    hash: sha(CSS),
    size: Buffer.byteLength(CSS),
    representations: {
      br: { file: 'site.css.br', size: statSync(join(dir, 'site.css.br')).size },
      gzip: { file: 'site.css.gz', size: statSync(join(dir, 'site.css.gz')).size }
    }
  })
  t.same(manifest.files['logo.png']?.representations, {}, 'images are not compressed')
  t.same(manifest.files['tiny.js']?.representations, {}, 'below --min-size')
  t.equal(gunzipSync(readFileSync(join(dir, 'big.js.gz'))).toString(), JS, 'the stale sibling was rewritten')
  t.equal(brotliDecompressSync(readFileSync(join(dir, 'big.js.br'))).toString(), JS)
  t.equal(statSync(join(dir, 'sub', 'page.js.br')).mtimeMs, brBefore, 'a valid sibling is kept as it is')
  // Readable by whoever reads the file (the app's user, nginx gzip_static), whatever the umask.
  for (const name of ['site.css.br', 'site.css.gz']) t.equal(statSync(join(dir, name)).mode & 0o777, 0o640, `${name}: site.css's mode`)
  for (const name of ['big.js.br', 'big.js.gz']) t.equal(statSync(join(dir, name)).mode & 0o777, 0o644, `${name}: big.js's mode`)

  // Run again: nothing changes, the manifest is identical.
  const again = await cli(['assets', dir, '--quiet'])
  t.equal(again.stdout, '')
  t.same(JSON.parse(readFileSync(join(dir, DEFAULT_MANIFEST), 'utf8')), manifest)
})

t.test('deploy-kit assets options and mistakes', async (t) => {
  const dir = tree(t)
  const out = join(tempdir(t), 'm.json')
  t.equal((await cli(['assets', dir, '--no-compress', '--manifest', out])).code, 0)
  const manifest = JSON.parse(readFileSync(out, 'utf8')) as AssetManifest
  t.same(manifest.files['site.css']?.representations, {})
  t.throws(() => statSync(join(dir, 'site.css.br')), 'no sibling written')
  t.equal((await cli(['assets', dir, '--min-size', '0', '--manifest', out, '-q'])).code, 0)
  t.ok((JSON.parse(readFileSync(out, 'utf8')) as AssetManifest).files['tiny.js'], 'tiny files are listed either way')

  t.equal((await cli(['assets', dir, '-q', '--manifest', join(dir, 'm.json')])).code, 0)
  t.equal((await cli(['assets', dir, '-q', '--manifest', join(dir, 'm.json')])).code, 0, 'again, with the manifest already there')
  t.notOk((JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8')) as AssetManifest).files['m.json'], 'the manifest never lists itself')
  t.match(await cli(['assets', '--help']), { code: 0, stdout: /Usage: deploy-kit assets DIR/ })
  t.match(await cli(['assets']), { code: 2, stderr: /one directory expected/ })
  t.match(await cli(['assets', dir, '--min-size', 'lots']), { code: 2, stderr: /--min-size must be/ })
  t.match(await cli(['assets', dir, '--bogus']), { code: 2, stderr: /Unknown option/ })
  t.match(await cli(['assets', join(dir, 'site.css')]), { code: 1, stderr: /is not a directory/ })
  t.match(await cli(['assets', join(dir, 'nope')]), { code: 1, stderr: /is not a directory/ })
})

t.test('symlinks: a file inside the root is listed; links out, dangling links and linked directories are not', async (t) => {
  const dir = tree(t)
  const outside = tempdir(t)
  writeFileSync(join(outside, 'secret.js'), 'secret')
  symlinkSync(join(dir, 'site.css'), join(dir, 'alias.css'))
  symlinkSync(join(outside, 'secret.js'), join(dir, 'out.js'))
  symlinkSync(join(dir, 'missing'), join(dir, 'dangling.js'))
  symlinkSync(join(dir, 'sub'), join(dir, 'loop'))
  t.equal((await cli(['assets', dir, '--no-compress'])).code, 0)
  const manifest = JSON.parse(readFileSync(join(dir, DEFAULT_MANIFEST), 'utf8')) as AssetManifest
  t.same(Object.keys(manifest.files).sort(), ['alias.css', 'big.js', 'logo.png', 'site.css', 'sub/page.js', 'tiny.js'])
})

t.test('staticManifest: staticUrl() answers from the manifest without hashing; a changed file is caught on first use', async (t) => {
  const dir = tree(t)
  t.equal((await cli(['assets', dir])).code, 0)
  const listed = sha(CSS).slice(0, 32)
  writeFileSync(join(dir, 'site.css'), CSS + '/* edited after the build */\n')
  const real = sha(CSS + '/* edited after the build */\n').slice(0, 32)
  const { app, logs } = await build(t, { staticPath: dir, staticManifest: join(dir, DEFAULT_MANIFEST) })
  t.notOk(logs.some((line) => line.msg === 'static files hashed'), 'no warm-up hashing with a manifest')
  t.equal(app.staticUrl('site.css'), `/static/site.css?v=${listed}`, 'from the manifest: the file was not read')
  t.equal(app.staticUrl('sub/page.js'), `/static/sub/page.js?v=${sha(JS.slice(0, 3000)).slice(0, 32)}`)

  const stale = await app.inject(`/static/site.css?v=${listed}`)
  t.equal(stale.statusCode, 200)
  t.equal(stale.headers.etag, `"${real}"`, 'served with its real hash')
  t.equal(stale.headers['cache-control'], 'public, no-cache', 'the manifest\'s hash is not the file\'s: never cached far-future')
  const warning = logs.find((line) => line.level === 40)
  t.match(warning, { path: 'site.css', listed: sha(CSS), actual: sha(CSS + '/* edited after the build */\n') })
  t.equal(app.staticUrl('site.css'), `/static/site.css?v=${real}`, 'staticUrl() follows the real hash from then on')
  t.equal((await app.inject(`/static/site.css?v=${real}`)).headers['cache-control'], 'public, max-age=31536000, immutable')
  t.equal((await app.inject('/static/big.js?v=' + sha(JS).slice(0, 32))).headers['cache-control'], 'public, max-age=31536000, immutable')
  t.equal(logs.filter((line) => line.level === 40).length, 1, 'one warning')
  t.equal(app.staticUrl('unlisted.txt'), '/static/unlisted.txt', 'a file the manifest does not list is looked up as before')
})

t.test('every host gives the same URLs and ETags from one manifest', async (t) => {
  const dir = tree(t)
  t.equal((await cli(['assets', dir])).code, 0)
  const copy = join(tempdir(t), 'release')
  cpSync(dir, copy, { recursive: true }) // another machine: other inodes and mtimes
  const hosts = [
    await build(t, { staticPath: dir, staticManifest: join(dir, DEFAULT_MANIFEST) }),
    await build(t, { staticPath: copy, staticManifest: join(copy, DEFAULT_MANIFEST) })
  ]
  for (const path of ['site.css', 'big.js', 'sub/page.js']) {
    const [a, b] = hosts.map(({ app }) => app.staticUrl(path))
    t.equal(a, b, path)
    const [ea, eb] = await Promise.all(hosts.map(async ({ app }) => (await app.inject({ url: a as string, headers: { 'accept-encoding': 'br' } })).headers.etag))
    t.equal(ea, eb, path)
    t.match(ea, /-br"$/)
  }
})

t.test('the manifest file itself is never served, even with staticDotfiles', async (t) => {
  const dir = tree(t)
  t.equal((await cli(['assets', dir])).code, 0)
  const { app } = await build(t, { staticPath: dir, staticManifest: join(dir, DEFAULT_MANIFEST), staticDotfiles: true })
  t.equal((await app.inject('/static/' + DEFAULT_MANIFEST)).statusCode, 404)
  t.equal((await app.inject('/static/.env')).statusCode, 200, 'other dotfiles are, as asked')
})

t.test('a missing or malformed manifest is a clear start-up error', async (t) => {
  const dir = tree(t)
  await t.rejects(build(t, { staticPath: dir, staticManifest: join(dir, 'nope.json') }), {
    code: 'FDK_STATIC_MANIFEST_MISSING', message: /"staticManifest".*nope\.json.*deploy-kit assets DIR/
  })
  const bad = (name: string, content: string): string => {
    writeFileSync(join(dir, name), content)
    return join(dir, name)
  }
  const good = { hash: sha('x'), size: 1, representations: {} }
  for (const [name, content, message] of [
    ['a.json', '{ not json', /is not a valid manifest/],
    ['b.json', '[]', /not a "fastify-deploy-kit\/assets@1" manifest/],
    ['c.json', JSON.stringify({ format: 'other', files: {} }), /not a "fastify-deploy-kit/],
    ['d.json', JSON.stringify({ format: 'fastify-deploy-kit/assets@1' }), /not a "fastify-deploy-kit/],
    ['e.json', JSON.stringify({ format: 'fastify-deploy-kit/assets@1', files: { '../x': good } }), /the entry for "..\/x"/],
    ['f.json', JSON.stringify({ format: 'fastify-deploy-kit/assets@1', files: { x: { ...good, hash: 'abc' } } }), /the entry for "x"/],
    ['g.json', JSON.stringify({ format: 'fastify-deploy-kit/assets@1', files: { x: { ...good, size: -1 } } }), /the entry for "x"/],
    ['h.json', JSON.stringify({ format: 'fastify-deploy-kit/assets@1', files: { x: { ...good, size: 1.5 } } }), /the entry for "x"/],
    ['i.json', JSON.stringify({ format: 'fastify-deploy-kit/assets@1', files: { x: { ...good, representations: null } } }), /the entry for "x"/],
    ['j.json', JSON.stringify({ format: 'fastify-deploy-kit/assets@1', files: { x: 'y' } }), /the entry for "x"/],
    ['k.json', JSON.stringify({ format: 'fastify-deploy-kit/assets@1', files: { x: { ...good, hash: 1 } } }), /the entry for "x"/],
    ['l.json', JSON.stringify({ format: 'fastify-deploy-kit/assets@1', files: { x: { ...good, size: '1' } } }), /the entry for "x"/]
  ] as const) {
    await t.rejects(build(t, { staticPath: dir, staticManifest: bad(name, content) }), { code: 'FDK_STATIC_MANIFEST_INVALID', message }, name)
  }
  await t.rejects(build(t, { staticPath: dir, staticManifest: '' }), { code: 'FDK_SETTINGS_INVALID', message: /"staticManifest"/ })
})
