// The template helpers in the engines @fastify/view users pick. xsrfFormHtml()
// must come out as HTML where the engine lets a value say so (nunjucks,
// Handlebars) while the engine keeps escaping everything else; where it does
// not (EJS, eta), the raw tag docs/locals.md shows is the one line it takes.
// Each page's form is then posted back: a token that was escaped into text
// would make it a 403.
import t from 'tap'
import Fastify from 'fastify'
import fastifyView from '@fastify/view'
import ejs from 'ejs'
import nunjucks from 'nunjucks'
import handlebars from 'handlebars'
import { Eta } from 'eta'
import deployKit from '../../lib/index.js'

const SECRET = 'a-template-engines-test-secret-of-32-bytes!'

interface Engine {
  name: string
  engine: Record<string, unknown>
  file: string
  /** The page: the stylesheet link, the form with the token, and a value the engine must escape. */
  template: string
  /** The same form written with the engine's escaping output tag, where that differs. */
  escaping?: string
}

const ENGINES: Engine[] = [
  {
    name: 'nunjucks',
    engine: { nunjucks },
    file: 'page.njk',
    template: '<link href="{{ staticUrl(\'site.css\') }}"><form method="post">{{ xsrfFormHtml() }}</form>{{ note }}'
  },
  {
    name: 'handlebars',
    engine: { handlebars },
    file: 'page.hbs',
    template: '<link href="{{staticUrl \'site.css\'}}"><form method="post">{{xsrfFormHtml}}</form>{{note}}'
  },
  {
    name: 'EJS',
    engine: { ejs },
    file: 'page.ejs',
    template: '<link href="<%= staticUrl(\'site.css\') %>"><form method="post"><%- xsrfFormHtml() %></form><%= note %>',
    escaping: '<form method="post"><%= xsrfFormHtml() %></form>'
  },
  {
    name: 'eta',
    engine: { eta: new Eta() },
    file: 'page.eta',
    template: '<link href="<%= it.staticUrl(\'site.css\') %>"><form method="post"><%~ it.xsrfFormHtml() %></form><%= it.note %>',
    escaping: '<form method="post"><%= it.xsrfFormHtml() %></form>'
  }
]

for (const spec of ENGINES) {
  t.test(`${spec.name}: xsrfFormHtml() renders as HTML, the page's own values stay escaped, and the form posts`, async (t) => {
    const views: Record<string, string> = { [spec.file]: spec.template }
    if (spec.escaping !== undefined) views['escaping' + spec.file.slice(spec.file.indexOf('.'))] = spec.escaping
    const dir = t.testdir({ views, static: { 'site.css': 'a{}' } })
    const app = Fastify()
    await app.register(fastifyView, { engine: spec.engine, root: dir + '/views' })
    await app.register(deployKit, { staticPath: dir + '/static', staticWarmup: false, cookieSecret: SECRET, xsrfCookies: true })
    app.get('/', (request, reply) => reply.view(spec.file, { note: '<b>bold</b>' }))
    app.get('/escaping', (request, reply) => reply.view('escaping' + spec.file.slice(spec.file.indexOf('.'))))
    app.post('/', async () => 'posted')
    t.teardown(() => app.close())

    const page = await app.inject('/')
    t.equal(page.statusCode, 200, page.body)
    const input = /<input type="hidden" name="_xsrf" value="([^"]+)"\/>/.exec(page.body)
    t.ok(input, `a real hidden input, not escaped text: ${page.body}`)
    // Handlebars writes the URL's "=" as &#x3D;, the same attribute value to a browser.
    t.match(page.body.replaceAll('&#x3D;', '='), `<link href="${app.staticUrl('site.css')}">`)
    t.match(page.body, /&lt;b&gt;bold&lt;\/b&gt;$/, 'the engine still escapes everything else')
    t.notMatch(page.body, /<b>/)

    const cookie = String(page.headers['set-cookie']).split(';')[0]!
    const posted = await app.inject({ method: 'POST', url: '/', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_xsrf=${encodeURIComponent(input![1]!)}` })
    t.equal(posted.statusCode, 200, 'the form\'s token is accepted')
    t.equal(posted.body, 'posted')

    if (spec.escaping !== undefined) {
      const escaped = await app.inject('/escaping')
      t.match(escaped.body, /&lt;input type=(&#34;|&quot;)hidden/, 'the escaping tag escapes it: this engine needs its raw tag')
    }
  })
}
