import t from 'tap'
import Fastify from 'fastify'
import { gunzipSync, gzipSync } from 'node:zlib'
import compress from '../../lib/compress.js'

const GZIP = { 'accept-encoding': 'gzip' }

t.test('bodies below the threshold go out as they are, strings by UTF-8 length, and larger ones are gzipped', async (t) => {
  const app = Fastify()
  await app.register(compress, { compressResponse: true })
  app.get('/ascii/:n', (request, reply) => reply.type('text/plain').send('a'.repeat(Number((request.params as { n: string }).n))))
  app.get('/euro/:n', (request, reply) => reply.type('text/plain').send('€'.repeat(Number((request.params as { n: string }).n))))
  app.get('/buffer/:n', (request, reply) => reply.type('text/plain').send(Buffer.alloc(Number((request.params as { n: string }).n), 'b')))
  app.get('/empty', (request, reply) => { reply.code(204).send() })
  t.teardown(() => app.close())
  const encoding = async (url: string): Promise<string | undefined> => (await app.inject({ url, headers: GZIP })).headers['content-encoding'] as string | undefined
  t.equal(await encoding('/ascii/999'), undefined)
  t.equal(await encoding('/ascii/1000'), 'gzip')
  t.equal(await encoding('/euro/333'), undefined, '999 bytes')
  t.equal(await encoding('/euro/334'), 'gzip', '1002 bytes in 334 characters')
  t.equal(await encoding('/buffer/999'), undefined)
  t.equal(await encoding('/buffer/1000'), 'gzip')
  t.equal((await app.inject({ url: '/empty', headers: GZIP })).statusCode, 204)
  const big = await app.inject({ url: '/euro/400', headers: GZIP })
  t.equal(gunzipSync(big.rawPayload).toString(), '€'.repeat(400))
  t.equal(big.headers.vary, 'accept-encoding')
})

t.test('a gzip request body is still inflated on a route that takes a body; a GET route ignores Content-Encoding', async (t) => {
  const app = Fastify()
  await app.register(compress, { compressResponse: true })
  app.post('/echo', async (request) => request.body)
  app.get('/read', async () => ({ ok: true }))
  t.teardown(() => app.close())
  const posted = await app.inject({ method: 'POST', url: '/echo', payload: gzipSync(JSON.stringify({ a: 1 })), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } })
  t.same(posted.json(), { a: 1 })
  const refused = await app.inject({ method: 'POST', url: '/echo', payload: '{}', headers: { 'content-type': 'application/json', 'content-encoding': 'x-unknown' } })
  t.equal(refused.statusCode, 415, 'an unknown request encoding is still refused where a body is read')
  t.equal((await app.inject({ url: '/read', headers: { 'content-encoding': 'x-unknown' } })).statusCode, 200, 'a GET has no body to decode')
})

t.test('options that act on small bodies, and a route\'s own compress options, keep @fastify/compress\'s own behaviour', async (t) => {
  const app = Fastify()
  await app.register(compress, { compressResponse: { onUnsupportedEncoding: (encoding) => `unsupported: ${encoding}` } })
  app.get('/small', (request, reply) => reply.type('text/plain').send('tiny'))
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/small', headers: { 'accept-encoding': 'x-rare' } })).body, 'unsupported: x-rare')

  const routed = Fastify()
  await routed.register(compress, { compressResponse: true })
  routed.get('/own', { compress: { threshold: 5 } }, (request, reply) => reply.type('text/plain').send('y'.repeat(10)))
  routed.get('/off', { compress: false }, (request, reply) => reply.type('text/plain').send('y'.repeat(2000)))
  t.teardown(() => routed.close())
  t.equal((await routed.inject({ url: '/own', headers: GZIP })).headers['content-encoding'], 'gzip')
  t.equal((await routed.inject({ url: '/off', headers: GZIP })).headers['content-encoding'], undefined)

  const unset = Fastify()
  await unset.register(compress, { compressResponse: { threshold: undefined } })
  unset.get('/:n', (request, reply) => reply.type('text/plain').send('z'.repeat(Number((request.params as { n: string }).n))))
  t.teardown(() => unset.close())
  t.equal((await unset.inject({ url: '/1010', headers: GZIP })).headers['content-encoding'], undefined, 'an unset threshold is @fastify/compress\'s 1024')
  t.equal((await unset.inject({ url: '/1100', headers: GZIP })).headers['content-encoding'], 'gzip')
})

t.test('reply.compress is the route\'s compress function, and no route gets an onRequest hook for it', async (t) => {
  const app = Fastify()
  await app.register(compress, { compressResponse: true })
  const text = 'c'.repeat(2000)
  app.get('/manual', (request, reply) => { reply.type('text/plain').compress(text) })
  app.get('/own', { compress: { threshold: 5 } }, (request, reply) => { reply.type('text/plain').compress('y'.repeat(10)) })
  app.get('/off', { compress: false }, (request, reply) => ({ compress: reply.compress }))
  app.get('/assigned', (request, reply) => {
    reply.compress = null as never
    return { compress: reply.compress }
  })
  app.get('/after', (request, reply) => ({ compress: typeof reply.compress }))
  app.setNotFoundHandler((request, reply) => { reply.code(404).send({ compress: reply.compress }) })
  t.teardown(() => app.close())
  const manual = await app.inject({ url: '/manual', headers: GZIP })
  t.equal(manual.headers['content-encoding'], 'gzip')
  t.equal(gunzipSync(manual.rawPayload).toString(), text)
  const own = await app.inject({ url: '/own', headers: GZIP })
  t.equal(own.headers['content-encoding'], 'gzip', 'the route\'s own threshold')
  t.same((await app.inject({ url: '/off' })).json(), { compress: null }, 'compress: false, as @fastify/compress leaves it')
  t.same((await app.inject({ url: '/nope' })).json(), { compress: null }, 'the 404 handler, as @fastify/compress leaves it')
  t.same((await app.inject({ url: '/assigned' })).json(), { compress: null }, 'an assignment holds for that reply')
  t.same((await app.inject({ url: '/after' })).json(), { compress: 'function' }, 'and for that reply only')
  t.notMatch(app.printRoutes({ includeHooks: true, commonPrefix: false }), /onRequest/, 'no onRequest hook on any route')
})
