// One server for bench/proxy.js, chosen by argv[2]: kit | bare | trust-proxy.
// The same dynamic route in each: it reads the client address and scheme.
import Fastify from 'fastify'
import { reportCpu } from './harness.js'

const kind = process.argv[2]
const app = Fastify(kind === 'trust-proxy' ? { logger: false, trustProxy: '127.0.0.1' } : { logger: false })

if (kind === 'kit') {
  const { default: deployKit } = await import('../dist/index.js')
  await app.register(deployKit, { xheaders: true })
} else if (kind !== 'bare' && kind !== 'trust-proxy') {
  throw new Error('unknown server kind ' + kind)
}
app.get('/who', (request) => ({ ip: request.ip, protocol: request.protocol, id: request.query.id }))

reportCpu()
await app.listen({ host: '127.0.0.1', port: 0 })
process.send({ port: app.server.address().port })
process.on('SIGTERM', () => app.close().then(() => process.exit(0)))
