// xheaders overhead: a bare Fastify route vs the same route with
// deployKit({ xheaders: true }), and Fastify's own trustProxy for reference,
// on requests carrying the headers nginx sends; every server up at once,
// loaded with the method of bench/harness.js. `npm run bench -- proxy`.
import { fileURLToPath } from 'node:url'
import { compareCases, serveUntilStdinEnds, startServer, stopServer } from './harness.js'

async function serve (kind) {
  const { default: Fastify } = await import('fastify')
  const app = Fastify(kind === 'trust-proxy' ? { logger: false, trustProxy: '127.0.0.1' } : { logger: false })
  if (kind === 'kit') {
    const { default: deployKit } = await import('../dist/index.js')
    await app.register(deployKit, { xheaders: true })
  } else if (kind !== 'bare' && kind !== 'trust-proxy') {
    throw new Error('unknown server kind ' + kind)
  }
  // The same dynamic route in each: it reads the client address and scheme.
  app.get('/who', (request) => ({ ip: request.ip, protocol: request.protocol, id: request.query.id }))
  await serveUntilStdinEnds(app)
}

async function main () {
  const script = fileURLToPath(import.meta.url)
  const servers = {}
  try {
    for (const kind of ['bare', 'kit', 'trust-proxy']) servers[kind] = await startServer(kind, script, [kind])
    // What the generated nginx configuration sends for a client at 203.0.113.7.
    const headers = { 'x-real-ip': '203.0.113.7', 'x-forwarded-for': '203.0.113.7', 'x-scheme': 'https', 'x-forwarded-proto': 'https' }
    // Bare Fastify sees the socket; the kit and trustProxy see the client.
    const body = (name) => Buffer.from(JSON.stringify(name === 'bare' ? { ip: '127.0.0.1', protocol: 'http', id: '1' } : { ip: '203.0.113.7', protocol: 'https', id: '1' }))
    const who = { method: 'GET', path: '/who?id=1', headers, expect: { encoding: 'identity', body } }
    await compareCases([
      { label: 'deployKit({ xheaders: true }) vs bare Fastify (socket address)', contender: servers.kit, baseline: servers.bare, load: who, target: 0.98 },
      { label: 'Fastify trustProxy: 127.0.0.1 vs bare Fastify', contender: servers['trust-proxy'], baseline: servers.bare, load: who }
    ])
  } finally {
    await Promise.all(Object.values(servers).map(stopServer))
  }
}

if (process.argv[2] === 'serve') await serve(process.argv[3])
else await main()
