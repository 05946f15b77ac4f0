// Issue 6, the fleet's rolling deploy: two app hosts behind one nginx in
// network namespaces (helpers/fleet.ts), a bounded load of GETs from the
// client host through the balancer while each host's launcher reloads in
// turn (SIGHUP A, then B). Zero failed requests at the client, new workers on
// every host, both hosts serving. Needs root; under CI=true it must run.
import t from 'tap'
import { netnsSkipReason } from '../helpers/netns.js'
import { APP_HOSTS, FIRST_PORT, answered, figures, json, loadDuring, logged, servedBy, startFleet } from '../helpers/fleet.js'

t.test('a fleet of two app hosts behind one nginx: a rolling deploy under load', { skip: netnsSkipReason() }, async (t) => {
  const { network, launchers, LB, address } = await startFleet(t)

  await t.test('a rolling deploy of the fleet (SIGHUP A, then B) under load fails no request', async (t) => {
    const before = await Promise.all(APP_HOSTS.map(async (host) => json<{ pid: number }>(await answered(network, 'balancer', `http://${address(host)}:${FIRST_PORT}/ip`)).pid))
    const summary = await loadDuring(t, network, `${LB}/ip`, async () => {
      for (const host of APP_HOSTS) {
        const from = launchers[host].lines.length
        launchers[host].child.kill('SIGHUP')
        await logged(launchers[host], /"msg":"reload finished"/, from)
      }
    })
    const after = await Promise.all(APP_HOSTS.map(async (host) => json<{ pid: number }>(await answered(network, 'balancer', `http://${address(host)}:${FIRST_PORT}/ip`)).pid))
    t.ok(after.every((pid, i) => pid !== before[i]), 'every host runs new workers')
    t.same(Object.keys(servedBy(summary)).sort(), ['appA', 'appB'])
    t.comment(`rolling deploy: ${figures(summary)}`)
  })
})
