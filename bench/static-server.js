// One static-file server for bench/static.js, chosen by argv[2]:
// kit | fastify-static | fastify-static-compress | bare.
import Fastify from 'fastify'
import { readFileSync } from 'node:fs'
import { reportCpu } from './harness.js'

const [kind, root] = process.argv.slice(2)
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
  const bytes = readFileSync(root + '/hot.txt')
  app.get('/static/hot.txt', (request, reply) => reply.type('text/plain; charset=utf-8').send(bytes))
} else {
  throw new Error('unknown server kind ' + kind)
}

reportCpu()
await app.listen({ host: '127.0.0.1', port: 0 })
process.send({ port: app.server.address().port })
process.on('SIGTERM', () => app.close().then(() => process.exit(0)))
