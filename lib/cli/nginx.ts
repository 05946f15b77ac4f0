// deploy-kit nginx: prints the nginx configuration that puts nginx in front
// of the app processes (the seed guide's FriendFeed file, fixed; see
// lib/cli/render/nginx.ts for what changed and why).
import { resolve } from 'node:path'
import type { CliIo } from './io.js'
import { nginxConfig, type NginxConfigOptions } from './render/nginx.js'
import { optional, required, runGenerator, type Generator, type Values } from './generate.js'
import * as check from './validate.js'
import { CLIENT_LIMIT_DEFAULTS } from '../cluster/client-limits.js'
import { readBundlerManifest } from '../static/manifest.js'

/** client_max_body_size unless --max-body says otherwise: launch()'s maxBodySize default, so the two agree. */
export const DEFAULT_MAX_BODY = check.nginxSize(CLIENT_LIMIT_DEFAULTS.maxBodySize)

export const USAGE = `Usage: deploy-kit nginx --upstream HOST:PORT[-LAST][,...] [options]

Prints an nginx configuration for the app processes behind it.

  --upstream LIST        app processes, e.g. 127.0.0.1:8000-8003,10.0.0.2:8000-8003 (required)
  --listen PORT|ADDR:PORT  where nginx listens (default 80, 443 with --tls-cert)
  --tls-cert FILE        terminate TLS: certificate (absolute path; with --tls-key)
  --tls-key FILE         terminate TLS: private key (absolute path)
  --server-name NAMES    server_name, comma-separated
  --max-body SIZE        client_max_body_size: the app's maxBodySize, also
                         \`deploy-kit start --max-body\` (default ${DEFAULT_MAX_BODY})
  --static-root DIR      absolute path of the static directory, served by nginx
  --static-prefix PATH   URL prefix of static files (default /static/)
  --aliases FILES        static files also served at the root
                         (default robots.txt,favicon.ico; needs --static-root)
  --static-bundler-manifest FILE  the app's staticBundlerManifest (relative:
                         to --static-root): nginx also keeps the files it lists
  --max-fails N          failures before an app process is skipped (default 1)
  --fail-timeout TIME    how long it is skipped (default 10s)
  --keepalive N          idle keep-alive connections to the app (default 32)
  --health PATH          a health-check path passed to the app without access logs
  --prefix DIR           put pid, logs and temp files under DIR (unprivileged runs)
  --user NAME            user directive (when nginx starts as root)
  --mime-types FILE      nginx mime.types (default /etc/nginx/mime.types)
  --worker-connections N (default 1024)
  --output, -o FILE      write the file instead of printing it
`

export const generator: Generator = {
  command: 'nginx',
  usage: USAGE,
  options: {
    upstream: { type: 'string' },
    listen: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'server-name': { type: 'string' },
    'max-body': { type: 'string' },
    'static-root': { type: 'string' },
    'static-prefix': { type: 'string' },
    aliases: { type: 'string' },
    'static-bundler-manifest': { type: 'string' },
    'max-fails': { type: 'string' },
    'fail-timeout': { type: 'string' },
    keepalive: { type: 'string' },
    health: { type: 'string' },
    prefix: { type: 'string' },
    user: { type: 'string' },
    'mime-types': { type: 'string' },
    'worker-connections': { type: 'string' }
  },
  build (values, generatedBy) {
    const options = balancerOptions(values, generatedBy)
    const manifest = values['static-bundler-manifest'] as string | undefined
    return nginxConfig(manifest === undefined ? options : { ...options, staticHashed: hashedUrls(manifest, options) })
  }
}

/** Characters a hashed file's URL may have to be listed in an nginx map as it is (bundlers use far fewer). */
const MAP_SAFE = /^[\w.\-/@+~]+$/

/**
 * The URL paths of the files the bundler named by content, as nginx's $uri
 * has them: the same list, read the same way, as the app's
 * staticBundlerManifest, so nginx caches exactly what the app serves
 * far-future without ?v= (never a file name that merely looks hashed).
 */
function hashedUrls (manifest: string, options: NginxConfigOptions): string[] {
  if (options.staticRoot === undefined) throw check.invalidOption('--static-bundler-manifest', manifest, 'to be used together with --static-root')
  let immutable: Set<string>
  try {
    immutable = readBundlerManifest(resolve(options.staticRoot, manifest)).immutable
  } catch (error) {
    throw check.invalidOption('--static-bundler-manifest', manifest, `a readable Vite manifest (${(error as Error).message})`)
  }
  return [...immutable].sort().map((file) => {
    if (!MAP_SAFE.test(file)) throw check.invalidOption('--static-bundler-manifest', manifest, `file names nginx can match as they are, not ${JSON.stringify(file)}`)
    return options.staticPrefix + file
  })
}

/** The checked options of `deploy-kit nginx`; `deploy-kit haproxy` reads the same ones. */
export function balancerOptions (values: Values, generatedBy: string): NginxConfigOptions {
  const staticRoot = values['static-root'] === undefined ? undefined : check.absolutePath('--static-root', values['static-root'] as string)
  if (staticRoot === undefined && values.aliases !== undefined) {
    throw check.invalidOption('--aliases', values.aliases, 'to be used together with --static-root')
  }
  const aliases = optional(values, 'aliases', 'robots.txt,favicon.ico')
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
    throw check.invalidOption(values['tls-cert'] === undefined ? '--tls-key' : '--tls-cert', values['tls-cert'] ?? values['tls-key'], 'to be used together with --tls-key / --tls-cert')
  }
  return {
    upstreams: check.upstreams('--upstream', required(values, 'upstream', 'HOST:PORT[-LAST][,...]')),
    listen: check.listen('--listen', optional(values, 'listen', values['tls-cert'] === undefined ? '80' : '443')),
    tls: values['tls-cert'] === undefined
      ? undefined
      : { cert: check.absolutePath('--tls-cert', values['tls-cert'] as string), key: check.absolutePath('--tls-key', values['tls-key'] as string) },
    serverNames: values['server-name'] === undefined ? [] : check.serverNames('--server-name', values['server-name'] as string),
    maxBody: check.size('--max-body', optional(values, 'max-body', DEFAULT_MAX_BODY)),
    staticRoot,
    staticPrefix: check.urlPrefix('--static-prefix', optional(values, 'static-prefix', '/static/')),
    aliases: aliases === '' ? [] : aliases.split(',').map((file) => check.rootFile('--aliases', file.trim())),
    maxFails: check.positiveInteger('--max-fails', optional(values, 'max-fails', '1'), 1000),
    failTimeout: check.duration('--fail-timeout', optional(values, 'fail-timeout', '10s')),
    keepalive: check.positiveInteger('--keepalive', optional(values, 'keepalive', '32'), 100000),
    health: values.health === undefined ? undefined : check.urlPath('--health', values.health as string),
    prefix: values.prefix === undefined ? undefined : check.absolutePath('--prefix', values.prefix as string),
    user: values.user === undefined ? undefined : check.name('--user', values.user as string),
    mimeTypes: check.absolutePath('--mime-types', optional(values, 'mime-types', '/etc/nginx/mime.types')),
    workerConnections: check.positiveInteger('--worker-connections', optional(values, 'worker-connections', '1024'), 1000000),
    generatedBy
  }
}

export async function run (args: string[], io: CliIo): Promise<number> {
  return await runGenerator(generator, args, io)
}
