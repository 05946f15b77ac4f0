// Issue 17 part 3, the migration step of a fleet that is half Tornado: two
// Fastify hosts and the Tornado twin behind one generated nginx in network
// namespaces (helpers/mixed-fleet.ts). Under two bounded loads from the
// client (GETs, and form posts with a valid `_xsrf`, which nginx never
// retries elsewhere), the Tornado host is taken out of the upstream list (config
// regenerated, `nginx -s reload`), stopped, replaced by a Fastify host on the
// same machine and ports, and put back (regenerated, reloaded). Every step:
// requests sent and failed at the client, zero failed. A user signed in by
// Tornado before the migration is still signed in after it, and a form
// Tornado rendered before is accepted after. The figures go to the TAP
// comments (the closing note and docs/tornado.md quote them). Needs root and
// the real Tornado (Debian python3-tornado); under CI=true neither may skip.
import t, { type Test } from 'tap'
import { netnsSkipReason } from '../helpers/netns.js'
import { formToken } from '../helpers/forms.js'
import {
  FIRST_PORT, OLD_SECRET, answered, figures, header, ready, servedBy, servesAgain, startLauncher, stopLauncher
} from '../helpers/fleet.js'
import type { LoadSummary } from '../helpers/netns.js'
import {
  ALL_HOSTS, Browser, FASTIFY_HOSTS, TORNADO_HOST, fromEveryHost, onlyFrom, startMixedFleet, stepUnderLoad, tornadoMissing, untilCovered
} from '../helpers/mixed-fleet.js'

const missing = tornadoMissing()
if (missing !== null && process.env.CI === 'true') t.fail(missing)

t.test('the Tornado host replaced by a Fastify host, one step at a time under load', { skip: netnsSkipReason() || (missing ?? false) }, async (t) => {
  const { network, launchers, balancer, address } = await startMixedFleet(t)
  const { LB } = balancer

  // Before: a user signed in by Tornado, and a page Tornado rendered left open in a tab.
  let signedIn: Browser | undefined
  await untilCovered([TORNADO_HOST], async () => {
    const browser = new Browser(network)
    const form = await browser.request(`${LB}/login`)
    const login = await browser.post(`${LB}/login`, { _xsrf: formToken(form.body), name: 'ann', next: '/' })
    t.equal(login.status, 303)
    if (header(login, 'x-served-by') === TORNADO_HOST) signedIn = browser
    return header(login, 'x-served-by')
  })
  let openTab: { browser: Browser, token: string, css: string } | undefined
  await untilCovered([TORNADO_HOST], async () => {
    const browser = new Browser(network)
    const page = await browser.request(`${LB}/`)
    const css = /href="(\/static\/site\.css\?v=[0-9a-f]+)"/.exec(page.body)?.[1] as string
    if (header(page, 'x-served-by') === TORNADO_HOST) openTab = { browser, token: formToken(page.body), css }
    return header(page, 'x-served-by')
  })
  t.equal(new URL(openTab!.css, LB).searchParams.get('v')?.length, 128, 'the open page links Tornado\'s static_url()')
  t.match(header(await answered(network, 'client', `${LB}${openTab!.css}`), 'x-cache-status'), /^(MISS|HIT)$/, 'its stylesheet is in nginx\'s cache now')

  // The form the post load sends, from whichever host: its token is good on all of them.
  const poster = new Browser(network)
  const token = formToken((await poster.request(`${LB}/`)).body)
  const form = { cookie: `_xsrf=${poster.jar._xsrf}`, token }
  const step = async (t: Test, during: () => Promise<void>): Promise<{ gets: LoadSummary, posts: LoadSummary }> =>
    await stepUnderLoad(t, network, balancer, form, during)
  const steps: string[] = []
  const line = ({ gets, posts }: { gets: LoadSummary, posts: LoadSummary }): string => `GET ${figures(gets)}; POST ${figures(posts)}`
  await t.test('step 1: the Tornado host out of the upstream list (regenerated config, nginx -s reload)', async (t) => {
    const loads = await step(t, async () => {
      await balancer.reload([...FASTIFY_HOSTS])
      await onlyFrom(network, balancer, FASTIFY_HOSTS)
    })
    t.ok((servedBy(loads.gets)[TORNADO_HOST] ?? 0) > 0, 'Tornado served its share until the reload')
    steps.push(`1. Tornado host out of the balancer: ${line(loads)}`)
  })

  await t.test('step 2: the Tornado process stopped', async (t) => {
    const loads = await step(t, async () => {
      await stopLauncher(launchers[TORNADO_HOST]!)
      const refused = await network.request('balancer', `http://${address(TORNADO_HOST)}:${FIRST_PORT}/ip`)
      t.equal(refused.error, 'ECONNREFUSED', 'Tornado is really gone')
    })
    t.equal(servedBy(loads.gets)[TORNADO_HOST], undefined, 'no request reached the host being replaced')
    steps.push(`2. Tornado stopped: ${line(loads)}`)
  })

  await t.test('step 3: the Fastify app started on the same host and ports, same cookie_secret', async (t) => {
    const loads = await step(t, async () => {
      launchers[TORNADO_HOST] = startLauncher(network, TORNADO_HOST, { COOKIE_SECRET: OLD_SECRET })
      await ready(network, TORNADO_HOST, launchers[TORNADO_HOST])
    })
    t.equal(servedBy(loads.gets)[TORNADO_HOST], undefined, 'not in the balancer yet')
    steps.push(`3. Fastify started on that host: ${line(loads)}`)
  })

  await t.test('step 4: the host back in the upstream list (regenerated config, nginx -s reload)', async (t) => {
    const loads = await step(t, async () => {
      await balancer.reload(ALL_HOSTS)
      t.ok(await servesAgain(network, LB, TORNADO_HOST), 'the balancer sends requests to the new Fastify host')
    })
    steps.push(`4. Fastify host in the balancer: ${line(loads)}`)
  })
  t.comment(`migration steps (loopback netns, 2 Fastify hosts x 2 workers, concurrency 4):\n${steps.join('\n')}`)

  await t.test('after the migration: Tornado\'s users, open forms and static URLs still work', async (t) => {
    const ip = await fromEveryHost(network, `${LB}/ip`, ALL_HOSTS)
    t.type(JSON.parse(ip[TORNADO_HOST]!.body).task, 'number', `${TORNADO_HOST} now runs deploy-kit's workers (Tornado's twin has no task id)`)
    const pages = await fromEveryHost(network, `${LB}/account`, ALL_HOSTS, { headers: { cookie: `user=${signedIn!.jar.user}` } })
    for (const host of ALL_HOSTS) t.match(pages[host]?.body, /Signed in as <strong>ann<\/strong>/, `${host} knows the user Tornado signed in`)
    const { browser, token } = openTab!
    await untilCovered(ALL_HOSTS, async () => {
      const posted = await browser.post(`${LB}/messages`, { _xsrf: token, text: 'written before the migration' })
      t.equal(posted.status, 303, `the form Tornado rendered is accepted by ${header(posted, 'x-served-by')}`)
      return header(posted, 'x-served-by')
    })
    const css = await answered(network, 'balancer', `http://${address(TORNADO_HOST)}:${FIRST_PORT}${openTab!.css}`)
    t.equal(header(css, 'cache-control'), 'public, max-age=31536000, immutable', 'Tornado\'s static_url() is current for the new host too')
    t.equal(header(await answered(network, 'client', `${LB}${openTab!.css}`), 'x-cache-status'), 'HIT', 'and nginx\'s cache kept it across both reloads')
  })
})
