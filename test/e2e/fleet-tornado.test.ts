// Issue 17 part 3, a fleet that is half Tornado, seen from a client: two
// Fastify hosts and the example app's Tornado twin behind one generated nginx
// (round robin, with its static proxy_cache) in network namespaces
// (helpers/mixed-fleet.ts). The client's address on every host (xheaders on
// both); signed cookies and `_xsrf` forms cross between the two kinds of
// host both ways; a missing or wrong `_xsrf` is refused by both; the two
// `?v=` of the same bytes are compared and their caching on every host and
// in nginx measured, compressed answers included. The migration itself
// (Tornado out under load, Fastify in) is fleet-migration.test.ts. Needs root
// and the real Tornado (Debian python3-tornado); under CI=true neither may
// skip.
import t from 'tap'
import { netnsSkipReason } from '../helpers/netns.js'
import { formToken } from '../helpers/forms.js'
import { FIRST_PORT, OLD_SECRET, answered, header, ready, startLauncher, stopLauncher } from '../helpers/fleet.js'
import {
  ALL_HOSTS, Browser, TORNADO_HOST, fromEveryHost, isTornado, startMixedFleet, tornadoMissing, untilCovered
} from '../helpers/mixed-fleet.js'

const kind = (host: string): string => isTornado(host) ? 'tornado' : 'fastify'
const missing = tornadoMissing()
if (missing !== null && process.env.CI === 'true') t.fail(missing)

t.test('a fleet of two Fastify hosts and a Tornado host behind one nginx', { skip: netnsSkipReason() || (missing ?? false) }, async (t) => {
  const { network, launchers, balancer: { LB }, address } = await startMixedFleet(t)

  await t.test('every host sees the client\'s address through the balancer (xheaders on both)', async (t) => {
    const spoof = { 'x-real-ip': '203.0.113.9', 'x-forwarded-for': '203.0.113.9' }
    const answers = await fromEveryHost(network, `${LB}/ip`, ALL_HOSTS, { headers: spoof })
    for (const host of ALL_HOSTS) t.equal(JSON.parse(answers[host]!.body).ip, address('client'), `${host} sees the client, not what the client claims`)
  })

  await t.test('a user signed in on the Tornado host is signed in on the Fastify hosts, and back', async (t) => {
    // Sign-ins through the balancer until one was done by Tornado and one by a Fastify host.
    const users: Record<string, { name: string, cookie: string }> = {}
    let attempt = 0
    await untilCovered(['tornado', 'fastify'], async () => {
      const browser = new Browser(network)
      const form = await browser.request(`${LB}/login?next=%2Faccount`)
      // Not ASCII, and a length whose base64 ends in "=": Python's cookie library quotes the value.
      const name = `zoë-ann ${attempt++}`
      const login = await browser.post(`${LB}/login`, { _xsrf: formToken(form.body), name, next: '/account' })
      t.equal(login.status, 303, `${header(login, 'x-served-by')} signs in ${name}`)
      t.equal(header(login, 'location'), '/account')
      const by = kind(header(login, 'x-served-by'))
      users[by] ??= { name, cookie: browser.jar.user as string }
      return by
    })
    t.match(users.tornado?.cookie, /^"?2\|1:0\|/, 'Tornado signs a version 2 cookie (key version 0: one string secret)')
    t.match(users.fastify?.cookie, /^"?2\|1:0\|/, 'so does the kit')
    t.comment(`signed by Tornado: user=${users.tornado?.cookie}; by the kit: user=${users.fastify?.cookie}`)
    for (const [by, { name, cookie }] of Object.entries(users)) {
      const pages = await fromEveryHost(network, `${LB}/account`, ALL_HOSTS, { headers: { cookie: `user=${cookie}` } })
      for (const host of ALL_HOSTS) {
        t.equal(pages[host]?.status, 200, `${host} verifies the cookie signed by ${by}`)
        t.match(pages[host]?.body, new RegExp(`Signed in as <strong>${name}</strong>`), `${host}'s page behind authenticated shows the user signed in by ${by}`)
      }
    }
    const anonymous = await fromEveryHost(network, `${LB}/account`, ALL_HOSTS)
    for (const host of ALL_HOSTS) {
      t.equal(anonymous[host]?.status, 302, `${host} sends a signed-out visitor to the login page`)
      t.equal(header(anonymous[host]!, 'location'), '/login?next=%2Faccount', `${host}: the same next= on both kinds of host`)
    }
  })

  await t.test('a user signed in on one kind of host signs out on either', async (t) => {
    await untilCovered(['tornado', 'fastify'], async () => {
      const browser = new Browser(network)
      const form = await browser.request(`${LB}/login`)
      await browser.post(`${LB}/login`, { _xsrf: formToken(form.body), name: 'leaving', next: '/' })
      const home = await browser.request(`${LB}/`)
      t.match(home.body, /Sign out leaving/, `${header(home, 'x-served-by')} shows the sign-out form`)
      const out = await browser.post(`${LB}/logout`, { _xsrf: formToken(home.body) })
      const host = header(out, 'x-served-by')
      t.equal(out.status, 303, `${host} signs the user out`)
      t.match(header(out, 'set-cookie'), /^user=[^;]*;.*(?:Max-Age=0|expires=(?:Thu, 01 Jan 1970|[^;]*20[0-2]\d ))/im, `${host} expires the cookie`)
      t.match(header(out, 'set-cookie'), /^user=.*; Path=\//im, `${host} clears it at Path=/, where both kinds set it`)
      const account = await browser.request(`${LB}/account`)
      t.equal(account.status, 302, `then ${header(account, 'x-served-by')} sends the browser to the login page`)
      return kind(host)
    })
  })

  await t.test('a form rendered by one kind of host posts to the other with its _xsrf, both ways', async (t) => {
    // A new browser each time, so the _xsrf cookie too comes from the host that rendered the form.
    // One nginx worker alone would pair its servers the same way every time
    // (6 servers, 2 requests): 0 to 2 other requests first shift the pairing.
    let attempt = 0
    const pairs = await untilCovered(['tornado>fastify', 'fastify>tornado'], async () => {
      for (let i = 0; i < attempt % 3; i++) await answered(network, 'client', `${LB}/ip`)
      attempt++
      const browser = new Browser(network)
      const form = await browser.request(`${LB}/`)
      const posted = await browser.post(`${LB}/messages`, { _xsrf: formToken(form.body), text: 'hello' })
      const pair = `${kind(header(form, 'x-served-by'))}>${kind(header(posted, 'x-served-by'))}`
      t.equal(posted.status, 303, `a form of ${header(form, 'x-served-by')} is accepted by ${header(posted, 'x-served-by')} (${pair})`)
      return pair
    })
    t.comment(`form>post pairs through the balancer: ${pairs.join(' ')}`)
  })

  await t.test('a missing or wrong _xsrf is refused by both kinds of host', async (t) => {
    const cases: Record<string, (token: string, xsrf: string) => { cookie?: string, body: Record<string, string> }> = {
      'no _xsrf field': (_token, xsrf) => ({ cookie: `_xsrf=${xsrf}`, body: { name: 'mallory' } }),
      'no _xsrf cookie': (token) => ({ body: { _xsrf: token, name: 'mallory' } }),
      'a tampered token': (token, xsrf) => {
        // v2 is 2|mask|masked token|timestamp; change the masked token.
        const parts = token.split('|')
        parts[2] = (parts[2]?.startsWith('0') === true ? '1' : '0') + (parts[2] as string).slice(1)
        return { cookie: `_xsrf=${xsrf}`, body: { _xsrf: parts.join('|'), name: 'mallory' } }
      },
      'another browser\'s token': (_token, xsrf) => ({ cookie: `_xsrf=${xsrf}`, body: { _xsrf: '2|00000000|0123456789abcdef0123456789abcdef|1700000000', name: 'mallory' } })
    }
    for (const [what, make] of Object.entries(cases)) {
      await untilCovered(['tornado', 'fastify'], async () => {
        const browser = new Browser(network)
        const form = await browser.request(`${LB}/login`)
        const { cookie, body } = make(formToken(form.body), browser.jar._xsrf as string)
        const refused = await answered(network, 'client', `${LB}/login`, {
          method: 'POST',
          headers: { ...(cookie === undefined ? {} : { cookie }), 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(body).toString()
        })
        const host = header(refused, 'x-served-by')
        t.equal(refused.status, 403, `${what}: ${host} refuses the post`)
        t.notMatch(header(refused, 'set-cookie'), /user=/, `${what}: ${host} signs nobody in`)
        return kind(host)
      })
    }
  })

  await t.test('staticUrl() and static_url() of the same bytes: both cached correctly on every host and in nginx', async (t) => {
    const pages = await fromEveryHost(network, `${LB}/`, ALL_HOSTS)
    const urls = (html: string): string[] => [...html.matchAll(/(?:href|src)="(\/static\/[^"]+\?v=[0-9a-f]+)"/g)].map((match) => match[1] as string)
    const fastify = urls(pages.appA!.body)
    const tornado = urls(pages[TORNADO_HOST]!.body)
    t.same(urls(pages.appB!.body), fastify, 'both Fastify hosts give the same URLs')
    t.equal(fastify.length, 2, 'site.css and site.js, versioned')
    t.equal(tornado.length, 2)
    const v = (url: string): string => new URL(url, LB).searchParams.get('v') as string
    for (let i = 0; i < 2; i++) {
      t.equal(v(fastify[i]!).length, 32, `${fastify[i]}: staticUrl() gives 32 hex digits of the SHA-512`)
      t.equal(v(tornado[i]!).length, 128, `${tornado[i]}: static_url() gives all 128`)
      t.equal(v(fastify[i]!), v(tornado[i]!).slice(0, 32), 'the kit\'s version is a prefix of Tornado\'s')
    }
    t.comment(`staticUrl('site.css') = ${fastify[0]}; static_url('site.css') = ${tornado[0]}`)

    const stale = '/static/site.css?v=' + '0'.repeat(32)
    const expected: Record<string, Record<string, string>> = {
      fastify: { [fastify[0]!]: 'public, max-age=31536000, immutable', [tornado[0]!]: 'public, max-age=31536000, immutable', [stale]: 'public, no-cache' },
      // Tornado gives any ?v= ten years, a wrong one too.
      tornado: { [fastify[0]!]: 'max-age=315360000', [tornado[0]!]: 'max-age=315360000', [stale]: 'max-age=315360000' }
    }
    const bodies = new Set<string>()
    const etags: Record<string, string> = {}
    for (const host of ALL_HOSTS) {
      for (const [url, cacheControl] of Object.entries(expected[kind(host)]!)) {
        const answer = await answered(network, 'balancer', `http://${address(host)}:${FIRST_PORT}${url}`)
        t.equal(answer.status, 200, `${host} serves ${url}`)
        t.equal(header(answer, 'cache-control'), cacheControl, `${host}: ${url.slice(0, 60)}… gets ${cacheControl}`)
        bodies.add(answer.body)
        etags[host] = header(answer, 'etag')
      }
    }
    t.equal(bodies.size, 1, 'the same bytes for every URL from every host')
    t.equal(etags.appA, `"${v(fastify[0]!)}"`, 'the kit\'s ETag is its version')
    t.equal(etags[TORNADO_HOST], `"${v(tornado[0]!)}"`, 'Tornado\'s ETag is its (128-digit) version')

    // Revalidation of the unversioned URL with the other kind's ETag.
    for (const host of ALL_HOSTS) {
      for (const [from, etag] of [['fastify', etags.appA!], ['tornado', etags[TORNADO_HOST]!]] as const) {
        const revalidated = await answered(network, 'balancer', `http://${address(host)}:${FIRST_PORT + 1}/static/site.css`, { headers: { 'if-none-match': etag } })
        // The kit knows Tornado's ETag is its own digest; Tornado does not know ours.
        const notModified = from === kind(host) || kind(host) === 'fastify'
        t.equal(revalidated.status, notModified ? 304 : 200, `${host} answers ${notModified ? 304 : 'a full 200'} to ${from}'s ETag`)
      }
    }

    // Through the balancer: nginx keys its cache on the whole URL, so the two
    // versions are two entries, each filled by whichever host answered first.
    const firstBodies: Record<string, string> = {}
    const bodyOf = (url: string): string => firstBodies[url] as string
    for (const url of [fastify[0]!, tornado[0]!, fastify[1]!, tornado[1]!]) {
      const first = await answered(network, 'client', `${LB}${url}`)
      firstBodies[url] = first.body
      t.equal(header(first, 'x-cache-status'), 'MISS', `${url.slice(0, 60)}…: a miss, filled by ${header(first, 'x-served-by')}`)
      for (let i = 0; i < 3; i++) {
        const again = await answered(network, 'client', `${LB}${url}`)
        t.equal(header(again, 'x-cache-status'), 'HIT', 'then from nginx\'s cache')
        t.equal(again.body, first.body)
        t.equal(header(again, 'cache-control'), header(first, 'cache-control'), 'with the Cache-Control of the host that filled it')
      }
    }
    // Compressed answers in the same cache: nginx keeps one per Accept-Encoding
    // (both kinds of host send Vary: Accept-Encoding), never gzip for a client without it.
    for (const url of [fastify[0]!, tornado[0]!]) {
      const fresh = `${url}&encoding=1` // a cache key of its own; still the same ?v=
      const gzip = await answered(network, 'client', `${LB}${fresh}`, { headers: { 'accept-encoding': 'gzip' } })
      t.equal(header(gzip, 'content-encoding'), 'gzip', `${fresh.slice(0, 50)}…: gzip from ${header(gzip, 'x-served-by')}`)
      t.match(header(gzip, 'vary'), /Accept-Encoding/i)
      const plain = await answered(network, 'client', `${LB}${fresh}`)
      t.equal(header(plain, 'content-encoding'), '', `then a client without gzip gets identity bytes (${header(plain, 'x-cache-status')})`)
      t.equal(plain.body, bodyOf(url), 'the file itself')
      const again = await answered(network, 'client', `${LB}${fresh}`, { headers: { 'accept-encoding': 'gzip' } })
      t.equal(header(again, 'content-encoding'), 'gzip', `and gzip again for a client that accepts it (${header(again, 'x-cache-status')})`)
    }

    const unversioned = await fromEveryHost(network, `${LB}/static/site.css`, ALL_HOSTS)
    for (const host of ALL_HOSTS) t.equal(header(unversioned[host]!, 'x-cache-status'), '', `an unversioned URL bypasses nginx's cache and reaches ${host}`)
    t.equal(header(unversioned.appA!, 'cache-control'), 'public, no-cache')
    t.equal(header(unversioned[TORNADO_HOST]!, 'cache-control'), '', 'Tornado sends no Cache-Control without ?v=')
  })

  await t.test('with staticHashLength: 128 a Fastify host gives Tornado\'s exact URLs and ETags', async (t) => {
    await stopLauncher(launchers.appB!)
    launchers.appB = startLauncher(network, 'appB', { COOKIE_SECRET: OLD_SECRET, STATIC_HASH_LENGTH: '128' })
    await ready(network, 'appB', launchers.appB)
    const [b, tornado] = await Promise.all(['appB', TORNADO_HOST].map(async (host) => await answered(network, 'balancer', `http://${address(host)}:${FIRST_PORT}/`)))
    const urls = (html: string): string[] => [...html.matchAll(/(?:href|src)="(\/static\/[^"]+\?v=[0-9a-f]+)"/g)].map((match) => match[1] as string)
    t.same(urls(b!.body), urls(tornado!.body), 'staticUrl() and static_url() are the same URLs: one cache entry in nginx, browsers and CDNs')
    const etag = async (host: string): Promise<string> => header(await answered(network, 'balancer', `http://${address(host)}:${FIRST_PORT}/static/site.css`), 'etag')
    const [etagB, etagT] = [await etag('appB'), await etag(TORNADO_HOST)]
    t.equal(etagB, etagT, 'the same ETag')
    for (const [host, other] of [['appB', etagT], [TORNADO_HOST, etagB]] as const) {
      const revalidated = await answered(network, 'balancer', `http://${address(host)}:${FIRST_PORT}/static/site.css`, { headers: { 'if-none-match': other } })
      t.equal(revalidated.status, 304, `${host} answers 304 for the other kind's ETag`)
    }
    const current = await answered(network, 'balancer', `http://${address('appB')}:${FIRST_PORT}${urls(b!.body)[0]}`)
    t.equal(header(current, 'cache-control'), 'public, max-age=31536000, immutable')
  })
})
