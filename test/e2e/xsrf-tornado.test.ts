// Interop with the real Tornado (Debian python3-tornado, run with
// /usr/bin/python3): an `_xsrf` cookie and token issued by Tornado pass our
// check, and ours pass Tornado's own check_xsrf_cookie, for v1 and v2.
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { spawn, spawnSync } from 'node:child_process'
import { request } from 'node:http'
import { fileURLToPath } from 'node:url'
import xsrf from '../../lib/xsrf.js'
import { xsrfCookieValue } from '../helpers/forms.js'

const PYTHON = '/usr/bin/python3'
const SCRIPT = fileURLToPath(new URL('../../scripts/tornado-xsrf-server.py', import.meta.url))

const probe = spawnSync(PYTHON, ['-c', 'import tornado'], { encoding: 'utf8' })
const missing = probe.error !== undefined || probe.status !== 0
if (missing) {
  const reason = `Tornado is not installed (${PYTHON} -c "import tornado" failed): apt-get install python3-tornado`
  if (process.env.CI === 'true') t.fail(reason)
  else {
    console.error(`\n*** SKIPPING the Tornado XSRF interop tests: ${reason} ***\n`)
    t.test('Tornado XSRF interop', { skip: reason }, async () => {})
  }
}

interface Reply { status: number, headers: Record<string, string | string[] | undefined>, body: string }

function http (port: number, method: string, path: string, headers: Record<string, string>, body = ''): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, timeout: 10_000 }, (res) => {
      let data = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { data += chunk })
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: data }))
    })
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)))
    req.on('error', reject)
    req.end(body)
  })
}

async function startTornado (t: Test, version: 1 | 2): Promise<number> {
  const child = spawn(PYTHON, [SCRIPT, String(version)], { stdio: ['pipe', 'pipe', 'inherit'] })
  t.teardown(() => { child.stdin.end(); child.kill() })
  return new Promise((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => reject(new Error(`Tornado did not start in 15 s: ${output}`)), 15_000)
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      output += chunk
      const match = /PORT (\d+)/.exec(output)
      if (match === null) return
      clearTimeout(timer)
      resolve(Number(match[1]))
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`Tornado exited with ${code}: ${output}`))
    })
  })
}

async function ourApp (t: Test, version: 1 | 2): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(xsrf, { xsrfCookieVersion: version })
  app.get('/token', async (_request, reply) => reply.xsrfToken())
  app.post('/submit', async () => 'ok')
  t.teardown(() => app.close())
  return app
}

function form (token: string): { body: string, type: string } {
  return { body: `_xsrf=${encodeURIComponent(token)}`, type: 'application/x-www-form-urlencoded' }
}

if (!missing) {
  for (const tornadoVersion of [1, 2] as const) {
    for (const ourVersion of [1, 2] as const) {
      t.test(`a Tornado v${tornadoVersion} cookie and token pass our v${ourVersion} check, in the form and in X-XSRFToken`, async (t) => {
        const port = await startTornado(t, tornadoVersion)
        const app = await ourApp(t, ourVersion)
        const issued = await http(port, 'GET', '/token', {})
        const cookie = xsrfCookieValue(issued.headers)!
        t.match(cookie, tornadoVersion === 2 ? /^2\|[0-9a-f]{8}\|[0-9a-f]{32}\|\d+$/ : /^[0-9a-f]{32}$/)
        const { body, type } = form(issued.body)
        const headers = { cookie: `_xsrf=${cookie}` }
        t.equal((await app.inject({ method: 'POST', url: '/submit', payload: body, headers: { ...headers, 'content-type': type } })).statusCode, 200)
        t.equal((await app.inject({ method: 'POST', url: '/submit', headers: { ...headers, 'x-xsrftoken': issued.body } })).statusCode, 200)
        const other = await http(port, 'GET', '/token', {})
        t.equal((await app.inject({ method: 'POST', url: '/submit', headers: { ...headers, 'x-xsrftoken': other.body } })).statusCode, 403,
          'a token from another Tornado cookie is refused')
        const reused = await app.inject({ url: '/token', headers })
        t.equal(reused.headers['set-cookie'], undefined, 'our app reuses the Tornado cookie instead of replacing it')
        t.equal((await http(port, 'POST', '/submit', { ...headers, 'x-xsrftoken': reused.body })).status, 200, 'and Tornado accepts the token we re-masked from it')
      })

      t.test(`our v${ourVersion} cookie and token pass the real Tornado v${tornadoVersion} check, in the form and in X-XSRFToken`, async (t) => {
        const port = await startTornado(t, tornadoVersion)
        const app = await ourApp(t, ourVersion)
        const issued = await app.inject('/token')
        const cookie = xsrfCookieValue(issued.headers)!
        t.notMatch(cookie, /%/, 'the cookie is not percent-encoded')
        const { body, type } = form(issued.body)
        const headers = { cookie: `_xsrf=${cookie}` }
        const posted = await http(port, 'POST', '/submit', { ...headers, 'content-type': type }, body)
        t.same([posted.status, posted.body], [200, 'ok'])
        t.equal((await http(port, 'POST', '/submit', { ...headers, 'x-xsrftoken': issued.body })).status, 200)
        const other = await app.inject('/token')
        t.equal((await http(port, 'POST', '/submit', { ...headers, 'x-xsrftoken': other.body })).status, 403, 'Tornado refuses a token from another cookie')
        const reissued = await http(port, 'GET', '/token', headers)
        t.equal(reissued.headers['set-cookie'], undefined, 'Tornado reuses our cookie instead of replacing it')
        t.equal((await app.inject({ method: 'POST', url: '/submit', headers: { ...headers, 'x-xsrftoken': reissued.body } })).statusCode, 200, 'and we accept the token Tornado re-masked from it')
      })
    }
  }
}
