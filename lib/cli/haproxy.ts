// deploy-kit haproxy: prints the HAProxy configuration for the app
// processes, from the options of `deploy-kit nginx` (declared and checked
// once, in lib/cli/nginx.ts); see lib/cli/render/haproxy.ts for the file.
import type { CliIo } from './io.js'
import { haproxyConfig } from './render/haproxy.js'
import { fromFlags, runGenerator, type Generator } from './generate.js'
import { NGINX_FLAGS, balancerOptions } from './nginx.js'
import type { FlagDeclaration, Flags } from './flags.js'
import { absolutePath, invalidOption } from './validate.js'

/** nginx options with no HAProxy meaning: refused rather than silently ignored. */
const NGINX_ONLY: Record<string, string> = {
  'server-name': 'to be left out (HAProxy\'s one frontend answers every Host, as nginx\'s only server block does)',
  keepalive: 'to be left out (HAProxy opens one connection to the app per request)',
  prefix: 'to be left out (HAProxy keeps no temporary files; run it with -db to stay in the foreground)',
  'mime-types': 'to be left out (HAProxy serves no files)'
}

/** Where HAProxy's --help says something else than nginx's; a flag of nginx's not named here is accepted but not listed. */
const HAPROXY_USAGE: Partial<Record<keyof typeof NGINX_FLAGS, string>> = {
  upstream: NGINX_FLAGS.upstream.usage,
  listen: 'where HAProxy listens (default {default}, 443 with --tls-cert)',
  'tls-cert': NGINX_FLAGS['tls-cert'].usage,
  'tls-key': 'the private key: the certificate file itself, or FILE.key beside it',
  'max-body': 'largest Content-Length accepted: the app\'s maxBodySize',
  'static-root': 'the app\'s static directory (the app serves it; noted in the file)',
  'static-prefix': NGINX_FLAGS['static-prefix'].usage,
  aliases: NGINX_FLAGS.aliases.usage,
  'max-fails': 'failed health checks before an app process is out',
  'fail-timeout': 'how often an app process that is out is checked',
  health: 'health-check path on the app (default: a TCP check)',
  user: 'user and group HAProxy runs as (when it starts as root)',
  'worker-connections': 'maxconn'
}

/**
 * What an nginx flag does in HAProxy, where that differs: the rows of
 * docs/cli.md's table of differences. A flag of nginx's not named here does
 * what it does for nginx.
 */
const HAPROXY_DOCS: Partial<Record<keyof typeof NGINX_FLAGS, string>> = {
  ...Object.fromEntries(Object.entries(NGINX_ONLY).map(([name, why]) => [name, `refused: no HAProxy meaning ${why.replace(/^to be left out /, '')}`])),
  'tls-cert': '`bind … ssl crt FILE`',
  'tls-key': 'must be the `--tls-cert` FILE itself or `FILE.key` (where HAProxy looks for the key)',
  'max-body': '`Content-Length` above SIZE is answered 413',
  'static-root': 'passed to the app, which serves the files with its caching rules',
  'static-prefix': 'passed to the app, which serves the files with its caching rules',
  aliases: 'passed to the app, which serves them with its caching rules',
  'static-bundler-manifest': 'accepted and without effect: the app serves the bundler\'s files and reads its own `staticBundlerManifest`',
  'max-fails': 'health checks (every 2 s): `fall N`; a draining process is out after N × 2 s, so keep that below the launcher\'s `--shutdown-timeout` ([cluster.md](cluster.md#health-and-readiness))',
  'fail-timeout': '`downinter TIME`: how often a process that is out is checked',
  health: '`option httpchk` with `GET PATH`, expecting 200 (a TCP check without it); with the launcher\'s `--health-path PATH` a draining or overloaded process answers 503 and is taken out ([cluster.md](cluster.md#health-and-readiness))',
  user: '`user` and `group` NAME',
  'worker-connections': '`maxconn N`'
}

/** nginx's flags (read by the same balancerOptions()), then HAProxy's own; `doc` is what differs from nginx. */
export const HAPROXY_FLAGS: Flags = {
  ...Object.fromEntries(Object.entries(NGINX_FLAGS).map(([name, flag]) => {
    const { usage: _nginx, doc: _doc, ...rest } = flag as FlagDeclaration
    const usage = HAPROXY_USAGE[name as keyof typeof NGINX_FLAGS]
    const doc = HAPROXY_DOCS[name as keyof typeof NGINX_FLAGS]
    return [name, { ...rest, ...(usage === undefined ? {} : { usage }), ...(doc === undefined ? {} : { doc }) }]
  })),
  'send-proxy': { type: 'string', value: 'v1|v2', usage: 'send a PROXY protocol header on every connection to the app\n(the app needs xheaders: { proxyProtocol: true })', doc: 'a PROXY protocol header on every connection to the app and its health checks; the app needs `xheaders: { proxyProtocol: true }` ([proxy.md](proxy.md#the-proxy-protocol))' },
  'stats-socket': { type: 'string', value: 'FILE', usage: 'HAProxy\'s runtime API on this Unix socket (absolute path,\nmode 600): show servers state, set server ... state drain', doc: '`stats socket FILE mode 600 level admin`: HAProxy\'s runtime API, e.g. `echo "show servers state" \\| socat stdio FILE` to see each process UP or DOWN during a reload, `set server frontends/app1 state drain` to take one out by hand' },
  tcp: { type: 'boolean', usage: 'pass connections through (mode tcp; TLS ends at the app);\nwith --send-proxy, without --tls-cert, --health, --max-body', doc: 'pass connections through (`mode tcp`): TLS ends at the app, the client\'s address arrives only in the PROXY header, so `--send-proxy` is required and `--tls-cert`, `--health`, `--max-body` are refused' }
}

export const generator: Generator = {
  command: 'haproxy',
  ...fromFlags(`Usage: deploy-kit haproxy --upstream HOST:PORT[-LAST][,...] [options]

Prints an HAProxy configuration for the app processes behind it. The options
are those of \`deploy-kit nginx\` (see its --help), except
--${Object.keys(NGINX_ONLY).join(', --')}.

`, HAPROXY_FLAGS, 23),
  build (values, generatedBy) {
    for (const [option, why] of Object.entries(NGINX_ONLY)) {
      if (values[option] !== undefined) throw invalidOption(`--${option}`, values[option], why)
    }
    const sendProxy = values['send-proxy']
    if (sendProxy !== undefined && sendProxy !== 'v1' && sendProxy !== 'v2') throw invalidOption('--send-proxy', sendProxy, 'v1 or v2')
    const tcp = values.tcp === true
    if (tcp) {
      // HAProxy sees no requests in TCP mode: nothing to check over HTTP, no body to measure, no TLS to end.
      if (sendProxy === undefined) throw invalidOption('--tcp', true, 'to be used with --send-proxy v1|v2 (the only way the app learns the client\'s address)')
      for (const option of ['tls-cert', 'health', 'max-body']) {
        if (values[option] !== undefined) throw invalidOption(`--${option}`, values[option], 'to be left out with --tcp (HAProxy passes bytes through)')
      }
    }
    const options = balancerOptions(values, generatedBy)
    if (options.tls !== undefined && options.tls.key !== options.tls.cert && options.tls.key !== `${options.tls.cert}.key`) {
      throw invalidOption('--tls-key', options.tls.key, `the certificate file itself or ${options.tls.cert}.key (where HAProxy looks for the key)`)
    }
    const statsSocket = values['stats-socket'] === undefined ? undefined : absolutePath('--stats-socket', values['stats-socket'] as string)
    return haproxyConfig({ ...options, sendProxy, tcp, statsSocket })
  }
}

export async function run (args: string[], io: CliIo): Promise<number> {
  return await runGenerator(generator, args, io)
}
