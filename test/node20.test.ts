// Some dependencies declare engines >= 22; these tests prove the parts we use
// work on the Node.js 20 we support (the warning alone proves nothing).
import t from 'tap'
import Fastify from 'fastify'
import fastifyStatic from '@fastify/static'

t.test('the runtime is the Node.js line we support', async (t) => {
  t.ok(Number(process.versions.node.split('.')[0]) >= 20)
})

t.test('@fastify/static (content-disposition@3, engines >= 22) sends downloads on this Node', async (t) => {
  const app = Fastify()
  await app.register(fastifyStatic, { root: t.testdir({ 'report.txt': 'data' }), serve: false })
  app.get('/download', (request, reply) => reply.download('report.txt', 'résumé 2024.txt'))
  t.teardown(() => app.close())
  const response = await app.inject('/download')
  t.equal(response.body, 'data')
  t.equal(response.headers['content-disposition'], 'attachment; filename="r?sum? 2024.txt"; filename*=UTF-8\'\'r%C3%A9sum%C3%A9%202024.txt')
})

t.test('cookie@2 (engines >= 22), which writes the _xsrf Set-Cookie line, serialises every attribute we use on this Node', async (t) => {
  const { stringifySetCookie, parseCookie } = await import('cookie')
  const line = stringifySetCookie({
    name: '_xsrf',
    value: '2|1a2b3c4d|00ff|1700000000',
    domain: 'example.com',
    path: '/',
    expires: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)),
    maxAge: 60,
    httpOnly: true,
    secure: true,
    sameSite: 'lax'
  }, { encode: (value: string) => value })
  t.equal(line, '_xsrf=2|1a2b3c4d|00ff|1700000000; Max-Age=60; Domain=example.com; Path=/; Expires=Wed, 02 Jan 2030 03:04:05 GMT; HttpOnly; Secure; SameSite=Lax')
  t.same({ ...parseCookie('a=1; b=x%7Cy') }, { a: '1', b: 'x|y' })
})
