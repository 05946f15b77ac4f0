// xheaders overhead: a bare Fastify route vs the same route with
// deployKit({ xheaders: true }) (and Fastify's own trustProxy for reference),
// requests carrying the headers nginx sends, one server process each,
// measured interleaved in one run. `npm run bench proxy`.
import { availableParallelism } from 'node:os'
import { compare, ratio, table, CONNECTIONS, DURATION } from './harness.js'

const script = new URL('./proxy-server.js', import.meta.url).pathname
// What the generated nginx configuration sends for a client at 203.0.113.7.
const headers = {
  'x-real-ip': '203.0.113.7',
  'x-forwarded-for': '203.0.113.7',
  'x-scheme': 'https',
  'x-forwarded-proto': 'https'
}
const r = await compare({
  bare: { script, args: ['bare'], path: '/who?id=1', headers },
  kit: { script, args: ['kit'], path: '/who?id=1', headers },
  trustProxy: { script, args: ['trust-proxy'], path: '/who?id=1', headers }
})

console.log(`\nxheaders: ${DURATION}s per run, best of interleaved rounds, ${CONNECTIONS} connections, ${availableParallelism()} CPUs, Node ${process.version}\n`)
console.log(table([
  ['server', 'req/s', 'server CPU µs/req', 'vs bare Fastify'],
  ['bare Fastify (socket address)', Math.round(r.bare.rps), r.bare.cpuPerRequest.toFixed(1), ''],
  ['deployKit({ xheaders: true })', Math.round(r.kit.rps), r.kit.cpuPerRequest.toFixed(1),
    `${ratio(r.kit.rps, r.bare.rps)} req/s, ${ratio(r.bare.cpuPerRequest, r.kit.cpuPerRequest)} CPU (target >= 0.95x)`],
  ['Fastify trustProxy: 127.0.0.1', Math.round(r.trustProxy.rps), r.trustProxy.cpuPerRequest.toFixed(1),
    `${ratio(r.trustProxy.rps, r.bare.rps)} req/s, ${ratio(r.bare.cpuPerRequest, r.trustProxy.cpuPerRequest)} CPU`]
]))
