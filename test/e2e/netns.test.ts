// The network namespace harness (test/helpers/netns.ts) that the fleet test
// of issue 6 stands on: four hosts on a private bridge, a real HTTP server,
// a cable pulled and plugged back, nginx in the balancer host. Cleaning up
// (teardown, SIGTERM, SIGKILL) is proved in test/e2e/netns-cleanup.test.ts, the
// harness calls' edge cases in test/e2e/netns-api.test.ts.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import {
  FIXTURE_ENV, chooseSubnet, createNetwork, firstJsonLine, ipv4InUse, netnsSkipReason,
  overlaps, ownerPid, parseCidr, runPrefix, type HttpResult, type Network
} from '../helpers/netns.js'

const ECHO_SERVER = fileURLToPath(new URL('../fixtures/netns/echo-server.js', import.meta.url))
const NGINX = '/usr/sbin/nginx'
const skip = netnsSkipReason()

interface Echo { servedBy: string, remoteAddress: string, headers: Record<string, string> }

async function startEcho (network: Network, host: string): Promise<string> {
  const server = network.spawn(host, process.execPath, [ECHO_SERVER, network.address(host), host], { env: FIXTURE_ENV })
  const { port } = await firstJsonLine<{ port: number }>(server)
  return `http://${network.address(host)}:${port}/`
}

function echo (result: HttpResult): Echo {
  if (result.status !== 200) throw new Error(`expected a 200 from the echo server, got ${JSON.stringify(result)}`)
  return JSON.parse(result.body as string) as Echo
}

function rootLinks (): string {
  return execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' })
}

t.test('a subnet counts as taken when it shares any address with a range in use', async (t) => {
  t.ok(overlaps('10.1.2.0/24', '10.1.2.77/32'))
  t.ok(overlaps('10.1.2.0/24', '10.0.0.0/8'))
  t.ok(overlaps('10.1.2.0/24', '0.0.0.0/0'))
  t.notOk(overlaps('10.1.2.0/24', '10.1.3.0/24'))
  t.notOk(overlaps('10.1.2.0/24', '192.0.2.2/24'))
  t.same(parseCidr('10.1.2.3'), { network: parseCidr('10.1.2.3/32').network, bits: 32 })
  t.throws(() => parseCidr('10.1.2.300/24'), /not an IPv4 address/)
  t.throws(() => parseCidr('fd00::2/64'), /not an IPv4 address/)
  t.throws(() => parseCidr('10.1.2.0/33'), /not an IPv4 address/)
})

t.test('the chosen 10.x.y.0/24 avoids every address and route of this machine', async (t) => {
  const picks: Array<[number, number]> = [[1, 2], [3, 7], [4, 4]]
  const inUse = ['10.1.2.5/24', '10.3.0.0/16']
  t.equal(chooseSubnet(inUse, () => picks.shift() as [number, number]), '10.4.4.0/24')
  t.throws(() => chooseSubnet(['10.0.0.0/8']), /no free 10\.x\.y\.0\/24 after 100 attempts/)
  t.match(chooseSubnet([]), /^10\.\d+\.\d+\.0\/24$/)
})

t.test('ranges in use are read from `ip -o addr` and `ip -o route`', async (t) => {
  const addr = [
    '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
    '1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever',
    '4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever'
  ].join('\n')
  const route = 'default via 192.0.2.1 dev eth0 \n10.8.0.0/16 dev tun0 proto kernel scope link\n172.17.0.1 dev docker0 scope link\n'
  t.same(ipv4InUse(addr, route), ['127.0.0.1/8', '192.0.2.2/24', '10.8.0.0/16', '172.17.0.1'])
})

t.test('names carry the owner pid, so parallel runs never clash and leftovers are recognised', async (t) => {
  const prefix = runPrefix(4242, 'a1b2c3')
  t.equal(prefix, 'fdkn-4242-a1b2c3-')
  t.equal(ownerPid(prefix + 'appA'), 4242)
  t.equal(ownerPid('fdkn-4242-xyz-appA'), null, 'not our pattern')
  t.equal(ownerPid('docker-netns'), null)
  t.not(runPrefix(), runPrefix(), 'two networks of one process get different prefixes')
})

t.test('without root or iproute2 the test skips with a loud reason, and under CI=true it does not skip', async (t) => {
  let printed = ''
  const announce = (text: string): void => { printed += text }
  t.equal(netnsSkipReason({ uid: 0, ci: false, ipVersion: 'ip utility, iproute2-6.1.0' }, announce), false)
  t.equal(printed, '')
  const reason = netnsSkipReason({ uid: 1000, ci: false, ipVersion: 'ip utility, iproute2-6.1.0' }, announce)
  t.match(reason, /SKIPPED .*need root.*uid 1000.*CI=true makes this a failure/)
  t.equal(printed, `\n*** ${reason as string} ***\n\n`, 'also printed on stderr, not only in the TAP output')
  t.match(netnsSkipReason({ uid: 0, ci: false, ipVersion: null }, announce), /iproute2 .* is not installed/)
  t.equal(netnsSkipReason({ uid: 1000, ci: true, ipVersion: null }, announce), false, 'CI runs it, and createNetwork fails loudly')
})

t.test('the client host reaches an app host, which sees the client host\'s own address', { skip }, async (t) => {
  const network = await createNetwork(t, ['appA', 'appB', 'balancer', 'client'])
  t.match(network.subnet, /^10\.\d+\.\d+\.0\/24$/)
  t.same(Object.values(network.hosts).map((host) => host.address.split('.')[3]), ['1', '2', '3', '4'])
  const url = await startEcho(network, 'appA')
  const seen = echo(await network.request('client', url))
  t.equal(seen.servedBy, 'appA')
  t.equal(seen.remoteAddress, network.address('client'))
  t.notMatch(rootLinks(), network.prefix, 'nothing of the test network is in the root namespace')
  const loopback = await network.exec('appA', 'ip', ['-o', 'addr', 'show', 'dev', 'lo'])
  t.match(loopback.stdout, /inet 127\.0\.0\.1\/8/, 'loopback is up in each host')
})

t.test('hosts have no route out of the test network', { skip }, async (t) => {
  const network = await createNetwork(t, ['client'])
  // 203.0.113.0/24 is a documentation range; with no route, no packet is even sent.
  const result = await network.request('client', 'http://203.0.113.1/')
  t.equal(result.error, 'ENETUNREACH')
  const routes = await network.exec('client', 'ip', ['-o', 'route'])
  t.notMatch(routes.stdout, /default/)
})

t.test('with appA\'s link down a request to it fails with EHOSTUNREACH instead of hanging, and works again once the link is up', { skip }, async (t) => {
  const network = await createNetwork(t, ['appA', 'appB', 'balancer', 'client'])
  const url = await startEcho(network, 'appA')
  t.equal(echo(await network.request('client', url)).servedBy, 'appA')
  await network.linkDown('appA')
  // The client's own time limit (20 s) is far above the ~3 s ARP failure; a hang would say TIMEOUT.
  t.same(await network.request('client', url), { error: 'EHOSTUNREACH' })
  t.same(await network.request('client', url, { timeoutMs: 100 }), { error: 'TIMEOUT' }, 'a hang would have read TIMEOUT')
  t.same(await network.request('client', `http://${network.address('appB')}:1/`), { error: 'ECONNREFUSED' }, 'appB is still reachable (it refuses, it is not unreachable)')
  await network.linkUp('appA')
  t.equal(echo(await network.request('client', url)).servedBy, 'appA')
})

// A hand-written stand-in for the config `deploy-kit nginx` will generate.
function nginxConf (dir: string, listen: string, upstream: string): string {
  return `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream app {
    server ${upstream} max_fails=1 fail_timeout=5s;
    keepalive 8;
  }
  server {
    listen ${listen};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_next_upstream error timeout;
    }
  }
}
`
}

t.test('nginx started with -p/-c in the balancer host proxies the client to appA and passes the client\'s address', { skip: skip || (!existsSync(NGINX) && process.env.CI !== 'true' && `SKIPPED: ${NGINX} is not installed (apt-get install nginx-light)`) }, async (t) => {
  const network = await createNetwork(t, ['appA', 'appB', 'balancer', 'client'])
  const app = new URL(await startEcho(network, 'appA'))
  const dir = t.testdir({})
  // A fresh namespace has no other listener, so a fixed port cannot clash with parallel tests.
  const listen = `${network.address('balancer')}:8080`
  writeFileSync(`${dir}/nginx.conf`, nginxConf(dir, listen, app.host))
  const check = await network.exec('balancer', NGINX, ['-t', '-p', dir, '-c', `${dir}/nginx.conf`, '-e', `${dir}/error.log`])
  t.equal(check.code, 0, `nginx -t accepts the config: ${check.stderr}`)
  network.spawn('balancer', NGINX, ['-p', dir, '-c', `${dir}/nginx.conf`, '-e', `${dir}/error.log`])
  let result: HttpResult = {}
  for (let i = 0; i < 100 && result.status === undefined; i++) {
    result = await network.request('client', `http://${listen}/through-nginx`)
    if (result.status === undefined) await sleep(50)
  }
  const seen = echo(result)
  t.equal(seen.servedBy, 'appA')
  t.equal(seen.remoteAddress, network.address('balancer'), 'the app\'s peer is the balancer')
  t.equal(seen.headers['x-real-ip'], network.address('client'), 'and nginx names the client')
  t.equal(seen.headers['x-forwarded-for'], network.address('client'))
})
