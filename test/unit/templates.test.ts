import t from 'tap'
import Fastify from 'fastify'
import fastifyView from '@fastify/view'
import ejs from 'ejs'
import deployKit from '../../lib/index.js'
import { addTemplateLocal } from '../../lib/shared/locals.js'

const TEMPLATE = '<link href="<%= staticUrl(\'site.css\') %>"><%= typeof user === "undefined" ? "" : user %>'

t.test('templates call staticUrl() without the handler passing it in (view registered after the kit)', async (t) => {
  const dir = t.testdir({ views: { 'page.ejs': TEMPLATE }, static: { 'site.css': 'a{}' } })
  const app = Fastify()
  await app.register(deployKit, { staticPath: dir + '/static', staticWarmup: false })
  await app.register(fastifyView, { engine: { ejs }, root: dir + '/views' })
  app.get('/', (request, reply) => reply.view('page.ejs', {}))
  app.get('/user', (request, reply) => {
    reply.locals = { user: 'ann' }
    return reply.view('page.ejs')
  })
  t.teardown(() => app.close())
  const expected = `<link href="${app.staticUrl('site.css')}">`
  t.equal((await app.inject('/')).body, expected)
  t.equal((await app.inject('/user')).body, expected + 'ann', 'locals set by the handler keep the helpers')
})

t.test('templates call staticUrl() when @fastify/view was registered first', async (t) => {
  const dir = t.testdir({ views: { 'page.ejs': TEMPLATE }, static: { 'site.css': 'a{}' } })
  const app = Fastify()
  await app.register(fastifyView, { engine: { ejs }, root: dir + '/views' })
  await app.register(deployKit, { staticPath: dir + '/static', staticWarmup: false })
  app.get('/', (request, reply) => {
    reply.locals.user = 'bob'
    return reply.view('page.ejs')
  })
  t.teardown(() => app.close())
  t.equal((await app.inject('/')).body, `<link href="${app.staticUrl('site.css')}">bob`)
})

t.test('several plugins can add template helpers; each reply gets its own', async (t) => {
  const app = Fastify()
  addTemplateLocal(app, 'one', () => 1)
  addTemplateLocal(app, 'path', (reply) => reply.request.url)
  app.get('/*', (request, reply) => reply.locals)
  t.teardown(() => app.close())
  t.same((await app.inject('/a')).json(), { one: 1, path: '/a' })
  t.same((await app.inject('/b')).json(), { one: 1, path: '/b' })
})
