// A feature's code is loaded only when the feature is used (issue 13): a
// process that has loaded more code serves the very same requests slower
// (docs/benchmarks.md, "The size of the process"), so importing the kit for
// its plugins must not bring in the launcher and its logger (pino), and a
// setting left off must not bring in the package behind it. Each case is a
// fresh Node process importing the package by its name (the built dist/
// through the exports map, as a user's app does), registering the kit with
// the settings given, and printing which CommonJS packages it has loaded.
import t from 'tap'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { tempDir } from '../helpers/tools.js'

const root = fileURLToPath(new URL('../../', import.meta.url))

// The packages the kit loads only for the feature that needs them.
const ON_DEMAND = ['pino', '@fastify/compress', 'proxy-protocol-js', 'prom-client']

// Run by `node --input-type=module -e` from the checkout, so that
// 'fastify-deploy-kit' resolves to the package itself. argv[1] is
// { settings, launch }: settings to register (getCurrentUser: true stands
// for a function reading a signed cookie), or launch: true to call launch()
// with one process and close it again.
const CHILD = `
import { createRequire } from 'node:module'
const { default: Fastify } = await import('fastify')
const kit = await import('fastify-deploy-kit')
const { settings, launch } = JSON.parse(process.argv[1])
if (settings !== undefined) {
  const app = Fastify()
  if (settings.getCurrentUser === true) settings.getCurrentUser = (request) => request.getSignedCookie('user')
  await app.register(kit.default, settings)
  await app.ready()
  await app.close()
}
if (launch === true) {
  const handle = await kit.launch(() => Fastify(), { processes: 1, port: 0, host: '127.0.0.1' })
  await handle.close()
}
const loaded = new Set()
for (const file of Object.keys(createRequire(import.meta.url).cache)) {
  const parts = file.split('/node_modules/').pop().split('/')
  loaded.add(parts[0].startsWith('@') ? parts[0] + '/' + parts[1] : parts[0])
}
// On a line of its own: launch()'s logger writes to stdout too.
process.stdout.write('\\nloaded: ' + JSON.stringify([...loaded].sort()) + '\\n')
`

function loadedPackages (input: { settings?: Record<string, unknown>, launch?: boolean }): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', CHILD, JSON.stringify(input)], { cwd: root, timeout: 30_000 }, (error, stdout, stderr) => {
      const line = /^loaded: (.*)$/m.exec(stdout)
      if (error !== null || line === null) reject(new Error(`the child failed: ${error?.message ?? 'no "loaded:" line'}\n${stdout}\n${stderr}`))
      else resolve(JSON.parse(line[1]!) as string[])
    })
  })
}

const onDemand = (loaded: string[]): string[] => ON_DEMAND.filter((name) => loaded.includes(name))

t.test('importing the package loads none of the on-demand packages', async (t) => {
  const loaded = await loadedPackages({})
  t.ok(loaded.includes('fastify'), 'the listing works: fastify is in it')
  t.ok(loaded.includes('fastify-plugin'), 'and so is what the plugins import')
  t.same(onDemand(loaded), [])
})

t.test('every plugin registered except compression and the PROXY protocol: still none of them', async (t) => {
  const staticPath = tempDir(t, 'lazy-modules')
  const loaded = await loadedPackages({
    settings: { staticPath, cookieSecret: 'a-secret-of-at-least-32-characters!!', xsrfCookies: true, loginUrl: '/login', getCurrentUser: true, xheaders: true }
  })
  t.ok(loaded.includes('@fastify/send'), 'the static plugin\'s own package is loaded')
  t.same(onDemand(loaded), [])
})

t.test('each on-demand package is loaded by the setting that needs it, and only that one', async (t) => {
  t.same(onDemand(await loadedPackages({ settings: { compressResponse: true } })), ['@fastify/compress'], 'compressResponse: @fastify/compress')
  t.same(onDemand(await loadedPackages({ settings: { xheaders: { proxyProtocol: true } } })), ['proxy-protocol-js'], 'xheaders.proxyProtocol: proxy-protocol-js')
  t.same(onDemand(await loadedPackages({ launch: true })), ['pino'], 'launch(): the launcher\'s logger, and no metrics without metricsPort')
})
