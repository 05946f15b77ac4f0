// Issue 6, the fleet seen from a client: two app hosts behind one nginx in
// network namespaces (helpers/fleet.ts). The client's address as the app
// sees it, signed cookies and XSRF tokens across hosts, identical static
// versions and ETags, and a key rotation with a mixed fleet. Host failures
// and deploys under load are in fleet-failover.test.ts (each file builds its
// own fleet, to stay well inside tap's per-file time limit). Needs root;
// under CI=true it must run.
import t from 'tap'
import { netnsSkipReason } from '../helpers/netns.js'
import { formToken } from '../helpers/forms.js'
import {
  APP_HOSTS, FIRST_PORT, NEW_SECRET, OLD_SECRET, answered, cookieHeader, cookies, header, json,
  logInAcross, ready, startFleet, startLauncher, stopLauncher, whoami
} from '../helpers/fleet.js'

t.test('a fleet of two app hosts behind one nginx, seen from a client host', { skip: netnsSkipReason() }, async (t) => {
  const { network, launchers, LB, address } = await startFleet(t)

  await t.test('the app sees the client host\'s address, and nobody can change it with headers', async (t) => {
    const spoof = { 'x-real-ip': '203.0.113.9', 'x-forwarded-for': '203.0.113.9', 'x-scheme': 'https' }
    const seen = new Set<string>()
    for (let i = 0; i < 8; i++) {
      const direct = json<{ ip: string, host: string }>(await answered(network, 'client', `${LB}/ip`))
      t.equal(direct.ip, address('client'), `through the balancer, ${direct.host} sees the client`)
      const spoofed = json<{ ip: string, host: string }>(await answered(network, 'client', `${LB}/ip`, { headers: spoof }))
      t.equal(spoofed.ip, address('client'), `the client's own X-Real-IP / X-Forwarded-For change nothing on ${spoofed.host}`)
      seen.add(direct.host).add(spoofed.host)
    }
    t.same([...seen].sort(), ['appA', 'appB'], 'the balancer spreads requests over both hosts')
    for (const host of APP_HOSTS) {
      const bypass = json<{ ip: string }>(await answered(network, 'client', `http://${address(host)}:${FIRST_PORT}/ip`, { headers: spoof }))
      t.equal(bypass.ip, address('client'), `${host} contacted directly ignores the headers: the client is not a trusted proxy`)
    }
  })

  let firstUser = ''
  await t.test('a user logged in by one host is logged in on the other', async (t) => {
    const form = await answered(network, 'client', `${LB}/login?next=%2Faccount`)
    const jar = cookies(form)
    const login = await answered(network, 'client', `${LB}/login`, {
      method: 'POST',
      headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _xsrf: formToken(form.body), name: 'ann', next: '/account' }).toString()
    })
    t.equal(login.status, 303, `the login form rendered by ${header(form, 'x-served-by')} is accepted by ${header(login, 'x-served-by')}`)
    t.equal(header(login, 'location'), '/account')
    firstUser = cookies(login).user as string
    t.match(firstUser, /^"?2\|1:0\|/, 'a signed cookie (version 2, key version 0: one string secret)')
    for (const host of APP_HOSTS) {
      t.equal(await whoami(network, host, firstUser), 'ann', `${host} verifies the cookie`)
      const account = await answered(network, 'balancer', `http://${address(host)}:${FIRST_PORT + 1}/account`, { headers: { cookie: `user=${firstUser}` } })
      t.equal(account.status, 200)
      t.match(account.body, /Signed in as <strong>ann<\/strong>/, `${host}'s page behind authenticated shows the user`)
    }
  })

  await t.test('a form rendered by one host posts to the other; a tampered token is refused there', async (t) => {
    for (const [formHost, postHost] of [['appA', 'appB'], ['appB', 'appA']] as const) {
      const accepted = await logInAcross(network, formHost, postHost, `user-${formHost}`)
      t.equal(accepted.status, 303, `the _xsrf token of ${formHost} is valid on ${postHost}`)
      t.equal(await whoami(network, formHost, accepted.user as string), `user-${formHost}`)
      const refused = await logInAcross(network, formHost, postHost, 'mallory', true)
      t.equal(refused.status, 403, `a tampered token from ${formHost} is refused by ${postHost}`)
      t.equal(refused.user, undefined)
    }
  })

  await t.test('every host gives the same versioned URLs and ETags, and answers 304 for the other\'s ETag', async (t) => {
    const pages = await Promise.all(APP_HOSTS.map(async (host) => (await answered(network, 'balancer', `http://${address(host)}:${FIRST_PORT}/`)).body))
    const versions = pages.map((page) => [...page.matchAll(/(?:href|src)="(\/static\/[^"]+\?v=[0-9a-f]+)"/g)].map((match) => match[1]))
    t.equal(versions[0]?.length, 2, 'the home page links site.css and site.js with their versions')
    t.same(versions[1], versions[0], 'staticUrl() is identical on both hosts')
    for (const path of ['/static/site.css', versions[0]?.[0] as string, '/robots.txt']) {
      const [a, b] = await Promise.all(APP_HOSTS.map((host) => answered(network, 'balancer', `http://${address(host)}:${FIRST_PORT}${path}`)))
      t.equal(a?.status, 200)
      t.not(header(a!, 'etag'), '', `${path} has an ETag`)
      t.equal(header(b!, 'etag'), header(a!, 'etag'), `${path}: the same ETag on both hosts`)
      t.equal(a?.body, b?.body)
      for (const [from, to] of [['appA', 'appB'], ['appB', 'appA']] as const) {
        const etag = header(from === 'appA' ? a! : b!, 'etag')
        const revalidated = await answered(network, 'balancer', `http://${address(to)}:${FIRST_PORT + 1}${path}`, { headers: { 'if-none-match': etag } })
        t.equal(revalidated.status, 304, `${path}: ${to} answers 304 for ${from}'s ETag`)
      }
    }
  })

  await t.test('key rotation across the fleet: A signs with the new key while B still signs with the old', async (t) => {
    // Step 1 of docs/many-machines.md on B, step 2 on A: both hold both keys.
    // A string secret is key version 0, so the old key keeps its version.
    const keys = JSON.stringify({ 0: OLD_SECRET, 1: NEW_SECRET })
    for (const [host, version] of [['appB', '0'], ['appA', '1']] as const) {
      await stopLauncher(launchers[host])
      launchers[host] = startLauncher(network, host, { COOKIE_SECRETS: keys, COOKIE_KEY_VERSION: version })
      await ready(network, host, launchers[host])
    }
    const fromA = await logInAcross(network, 'appA', 'appA', 'signed-by-a')
    const fromB = await logInAcross(network, 'appB', 'appB', 'signed-by-b')
    t.match(fromA.user, /^"?2\|1:1\|/, 'host A signs with the new key version')
    t.match(fromB.user, /^"?2\|1:0\|/, 'host B still signs with the old one')
    for (const host of APP_HOSTS) {
      t.equal(await whoami(network, host, fromA.user as string), 'signed-by-a', `${host} verifies A's cookie`)
      t.equal(await whoami(network, host, fromB.user as string), 'signed-by-b', `${host} verifies B's cookie`)
      t.equal(await whoami(network, host, firstUser), 'ann', `${host} still knows the user logged in before the rotation`)
    }
  })
})
