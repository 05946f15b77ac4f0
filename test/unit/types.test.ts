// The public declarations as a user imports them: the package by its own
// name (dist/*.d.ts through package.json "exports"). `tsc --noEmit` in
// npm test fails on any mistake here; the runtime checks keep the test honest.
import t from 'tap'
import Fastify from 'fastify'
import deployKit, { type DeployKitSettings, SETTING_NAMES } from 'fastify-deploy-kit'
import fastifyDeployStatic, { type StaticOptions } from 'fastify-deploy-kit/static'
import fastifyDeployCompress from 'fastify-deploy-kit/compress'

t.test('settings, decorators and subpath plugins are typed for users', async (t) => {
  const dir = t.testdir({ 'a.css': 'a{}' })
  const settings: DeployKitSettings = { staticPath: dir, staticWarmup: false, compressResponse: true }
  const app = Fastify()
  await app.register(deployKit, settings)
  app.get('/', (request, reply) => {
    const url: string = reply.staticUrl('a.css', { includeVersion: false })
    return { url }
  })
  const url: string = app.staticUrl('a.css')
  t.match(url, /^\/static\/a\.css\?v=/)
  t.same((await app.inject('/')).json(), { url: '/static/a.css' })
  await app.close()

  const standalone = Fastify()
  const options: StaticOptions = { staticPath: dir, staticWarmup: false }
  await standalone.register(fastifyDeployStatic, options)
  await standalone.register(fastifyDeployCompress, { compressResponse: false })
  t.equal((await standalone.inject('/static/a.css')).body, 'a{}')
  await standalone.close()
  t.ok(SETTING_NAMES.includes('staticPath'))
})

t.test('misspelled settings are compile errors as well as runtime errors', async (t) => {
  const app = Fastify()
  // @ts-expect-error -- Tornado's snake_case name is not a setting
  app.register(deployKit, { static_path: '/tmp' })
  await t.rejects(async () => { await app.ready() }, { code: 'FDK_SETTINGS_UNKNOWN' })
})
