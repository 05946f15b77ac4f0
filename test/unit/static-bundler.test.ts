// staticBundlerManifest: Vite's .vite/manifest.json, from a real `vite build`
// (test/fixtures/vite/README.md). Entry names map to hashed files, and
// exactly the files listed there are cached far-future without ?v=.
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import deployKit, { type DeployKitSettings } from '../../lib/index.js'

const DIST = new URL('../fixtures/vite/build', import.meta.url).pathname
const MANIFEST = JSON.parse(readFileSync(join(DIST, '.vite/manifest.json'), 'utf8')) as Record<string, { file: string, css?: string[] }>
const MAIN = MANIFEST['src/main.ts']!.file // assets/main-<hash>.js
const CSS = MANIFEST['src/main.ts']!.css![0]!
const IMMUTABLE = 'public, max-age=31536000, immutable'

function copy (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'fdk-vite-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  cpSync(DIST, dir, { recursive: true })
  return dir
}

async function build (t: Test, settings: DeployKitSettings): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(deployKit, { staticWarmup: false, staticBundlerManifest: '.vite/manifest.json', ...settings })
  t.teardown(() => app.close())
  await app.ready()
  return app
}

t.test('staticUrl() of an entry returns its hashed output file, without ?v=', async (t) => {
  const app = await build(t, { staticPath: DIST })
  t.match(MAIN, /^assets\/main-[\w-]{8}\.js$/)
  t.equal(app.staticUrl('src/main.ts'), '/static/' + MAIN)
  t.equal(app.staticUrl('/src/main.ts'), '/static/' + MAIN, 'a leading slash is ignored, as for files')
  t.equal(app.staticUrl('src/lazy.ts'), '/static/' + MANIFEST['src/lazy.ts']!.file)
  t.equal(app.staticUrl('src/logo.svg'), '/static/' + MANIFEST['src/logo.svg']!.file)
  t.equal(app.staticUrl(CSS), '/static/' + CSS, 'a listed css file needs no ?v= either')
})

t.test('exactly the listed files are served far-future without ?v=; a file that merely looks hashed is not', async (t) => {
  const dir = copy(t)
  writeFileSync(join(dir, 'assets', 'fake-AbCdEf12.js'), 'console.log("not from the bundler")\n')
  const app = await build(t, { staticPath: dir })
  for (const file of [MAIN, CSS, MANIFEST['src/lazy.ts']!.file, MANIFEST['src/logo.svg']!.file]) {
    const response = await app.inject('/static/' + file)
    t.equal(response.statusCode, 200, file)
    t.equal(response.headers['cache-control'], IMMUTABLE, file)
    t.equal(response.body, readFileSync(join(dir, file), 'utf8'))
    t.match(response.headers.etag, /^"[0-9a-f]{32}"$/, 'still a content ETag')
  }
  const fake = await app.inject('/static/assets/fake-AbCdEf12.js')
  t.equal(fake.headers['cache-control'], 'public, no-cache')
  t.match(app.staticUrl('assets/fake-AbCdEf12.js'), /\?v=[0-9a-f]{32}$/, 'an unlisted file gets a version')
  t.equal((await app.inject('/static/.vite/manifest.json')).statusCode, 404, 'the manifest is a dotfile: not served')
})

t.test('with staticUrlHost the entry points at the CDN', async (t) => {
  const app = await build(t, { staticPath: DIST, staticUrlHost: 'https://cdn.example.com' })
  t.equal(app.staticUrl('src/main.ts'), 'https://cdn.example.com/static/' + MAIN)
})

t.test('a missing or malformed bundler manifest is a start-up error naming the setting', async (t) => {
  await t.rejects(build(t, { staticPath: DIST, staticBundlerManifest: 'nope.json' }), {
    code: 'FDK_STATIC_MANIFEST_MISSING', message: /"staticBundlerManifest"/
  })
  const dir = copy(t)
  for (const [content, message] of [
    ['[]', /not a Vite manifest/],
    ['{ "a": 1 }', /the chunk "a" has no relative "file"/],
    ['{ "a": { "file": 1 } }', /the chunk "a" has no relative "file"/],
    ['{ "a": { "file": "../x.js" } }', /the chunk "a" has no relative "file"/],
    ['{ "a": { "file": "/x.js" } }', /the chunk "a" has no relative "file"/],
    ['{ "a": { "file": "x.js", "css": "y.css" } }', /"css" or "assets"/],
    ['{ "a": { "file": "x.js", "assets": ["../y.svg"] } }', /"css" or "assets"/]
  ] as const) {
    writeFileSync(join(dir, 'm.json'), content)
    await t.rejects(build(t, { staticPath: dir, staticBundlerManifest: 'm.json' }), { code: 'FDK_STATIC_MANIFEST_INVALID', message }, content)
  }
})
