// deploy-kit haproxy: prints the HAProxy configuration for the app
// processes, from the options of `deploy-kit nginx` (declared and checked
// once, in lib/cli/nginx.ts); see lib/cli/render/haproxy.ts for the file.
import type { CliIo } from './io.js'
import { haproxyConfig } from './render/haproxy.js'
import { runGenerator, type Generator } from './generate.js'
import { DEFAULT_MAX_BODY, balancerOptions, generator as nginx } from './nginx.js'
import { absolutePath, invalidOption } from './validate.js'

/** nginx options with no HAProxy meaning: refused rather than silently ignored. */
const NGINX_ONLY: Record<string, string> = {
  'server-name': 'to be left out (HAProxy\'s one frontend answers every Host, as nginx\'s only server block does)',
  keepalive: 'to be left out (HAProxy opens one connection to the app per request)',
  prefix: 'to be left out (HAProxy keeps no temporary files; run it with -db to stay in the foreground)',
  'mime-types': 'to be left out (HAProxy serves no files)'
}

export const USAGE = `Usage: deploy-kit haproxy --upstream HOST:PORT[-LAST][,...] [options]

Prints an HAProxy configuration for the app processes behind it. The options
are those of \`deploy-kit nginx\` (see its --help), except
--${Object.keys(NGINX_ONLY).join(', --')}.

  --upstream LIST        app processes, e.g. 127.0.0.1:8000-8003,10.0.0.2:8000-8003 (required)
  --listen PORT|ADDR:PORT  where HAProxy listens (default 80, 443 with --tls-cert)
  --tls-cert FILE        terminate TLS: certificate (absolute path; with --tls-key)
  --tls-key FILE         the private key: the certificate file itself, or FILE.key beside it
  --max-body SIZE        largest Content-Length accepted: the app's maxBodySize (default ${DEFAULT_MAX_BODY})
  --static-root DIR      the app's static directory (the app serves it; noted in the file)
  --static-prefix PATH   URL prefix of static files (default /static/)
  --aliases FILES        static files also served at the root (needs --static-root)
  --max-fails N          failed health checks before an app process is out (default 1)
  --fail-timeout TIME    how often an app process that is out is checked (default 10s)
  --health PATH          health-check path on the app (default: a TCP check)
  --user NAME            user and group HAProxy runs as (when it starts as root)
  --worker-connections N maxconn (default 1024)
  --send-proxy v1|v2     send a PROXY protocol header on every connection to the app
                         (the app needs xheaders: { proxyProtocol: true })
  --tcp                  pass connections through (mode tcp; TLS ends at the app);
                         with --send-proxy, without --tls-cert, --health, --max-body
  --stats-socket FILE    HAProxy's runtime API on this Unix socket (absolute path,
                         mode 600): show servers state, set server ... state drain
  --output, -o FILE      write the file instead of printing it
`

export const generator: Generator = {
  command: 'haproxy',
  usage: USAGE,
  options: { ...nginx.options, 'send-proxy': { type: 'string' }, tcp: { type: 'boolean' }, 'stats-socket': { type: 'string' } },
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
