// Some dependencies declare engines >= 22; these tests prove the parts we use
// work on the Node.js 20 we support (the warning alone proves nothing).
import t from 'tap'
import Fastify from 'fastify'
import fastifyStatic from '@fastify/static'
import { readFileSync } from 'node:fs'

t.test('the runtime is the Node.js line we support, and CI runs on its floor', async (t) => {
  const { engines } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }
  const floor = Number(/^>=(\d+)$/.exec(engines.node)?.[1])
  const major = Number(process.versions.node.split('.')[0])
  t.equal(floor, 20, 'package.json promises Node.js 20 and later')
  // The proofs below are only proofs on the floor: CI must run there.
  if (process.env.CI === 'true') t.equal(major, floor, `CI runs Node.js ${process.versions.node}, the floor`)
  else t.ok(major >= floor, `Node.js ${process.versions.node} satisfies engines ${engines.node}`)
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
