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

/** nginx's flags (read by the same balancerOptions()), then HAProxy's own. */
export const HAPROXY_FLAGS: Flags = {
  ...Object.fromEntries(Object.entries(NGINX_FLAGS).map(([name, flag]) => {
    const { usage: _nginx, doc: _doc, ...rest } = flag as FlagDeclaration
    const usage = HAPROXY_USAGE[name as keyof typeof NGINX_FLAGS]
    return [name, usage === undefined ? rest : { ...rest, usage }]
  })),
  'send-proxy': { type: 'string', value: 'v1|v2', usage: 'send a PROXY protocol header on every connection to the app\n(the app needs xheaders: { proxyProtocol: true })' },
  tcp: { type: 'boolean', usage: 'pass connections through (mode tcp; TLS ends at the app);\nwith --send-proxy, without --tls-cert, --health, --max-body' },
  'stats-socket': { type: 'string', value: 'FILE', usage: 'HAProxy\'s runtime API on this Unix socket (absolute path,\nmode 600): show servers state, set server ... state drain' }
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
