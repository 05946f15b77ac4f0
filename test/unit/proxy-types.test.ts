// The proxy part's public declarations as a user imports them (the package by
// name, dist/*.d.ts through "exports"); `tsc --noEmit` checks the types.
import t from 'tap'
import Fastify from 'fastify'
import deployKit, { type DeployKitSettings, type XheadersOptions } from 'fastify-deploy-kit'
import fastifyDeployProxy, { type ProxyOptions } from 'fastify-deploy-kit/proxy'

t.test('xheaders settings and the request properties are typed for users', async (t) => {
  const xheaders: XheadersOptions = { trustedProxies: ['10.0.0.0/8', 'loopback'], trustedDownstream: '192.0.2.1' }
  const settings: DeployKitSettings = { xheaders }
  const app = Fastify()
  await app.register(deployKit, settings)
  app.get('/', (request) => {
    const ip: string = request.ip
    const ips: string[] | undefined = request.ips
    const protocol: 'http' | 'https' = request.protocol
    return { ip, ips, protocol }
  })
  t.same((await app.inject({ url: '/', remoteAddress: '10.1.1.1', headers: { 'x-real-ip': '203.0.113.1' } })).json(),
    { ip: '203.0.113.1', ips: ['10.1.1.1', '203.0.113.1'], protocol: 'http' })

  const standalone = Fastify()
  const options: ProxyOptions = { xheaders: { trustedProxies: 'all' } }
  await standalone.register(fastifyDeployProxy, options)
  // @ts-expect-error -- trustedProxies takes strings, not numbers
  const wrong: XheadersOptions = { trustedProxies: 10 }
  // and a user who casts past the type is stopped at registration all the same
  await t.rejects(async () => await Fastify().register(deployKit, { xheaders: wrong }), { code: 'FDK_SETTINGS_INVALID', message: /"xheaders\.trustedProxies": received 10/ })
})
