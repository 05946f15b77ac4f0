// deploy-kit nginx: prints the nginx configuration that puts nginx in front
// of the app processes (the seed guide's FriendFeed file, fixed; see
// lib/cli/render/nginx.ts for what changed and why).
import { resolve } from 'node:path'
import type { CliIo } from './io.js'
import { nginxConfig, type NginxConfigOptions } from './render/nginx.js'
import { fromFlags, optional, required, runGenerator, type Generator, type Values } from './generate.js'
import type { Flags } from './flags.js'
import * as check from './validate.js'
import { CLIENT_LIMIT_DEFAULTS } from '../cluster/client-limits.js'
import { readBundlerManifest } from '../static/manifest.js'

/** client_max_body_size unless --max-body says otherwise: launch()'s maxBodySize default, so the two agree. */
export const DEFAULT_MAX_BODY = check.nginxSize(CLIENT_LIMIT_DEFAULTS.maxBodySize)

/**
 * The flags of `deploy-kit nginx`, declared once: parseArgs options, --help
 * lines and docs/cli.md rows; balancerOptions() reads the defaults here.
 * `deploy-kit haproxy` takes the same flags (lib/cli/haproxy.ts).
 */
export const NGINX_FLAGS = {
  upstream: { type: 'string', value: 'LIST', required: true, usage: 'app processes, e.g. 127.0.0.1:8000-8003,10.0.0.2:8000-8003', doc: 'app processes: `HOST:PORT` or `HOST:FIRST-LAST`, comma-separated (`127.0.0.1:8000-8003,10.0.0.2:8000-8003`, `[::1]:9000`)' },
  listen: { type: 'string', value: 'PORT|ADDR:PORT', default: '80', usage: 'where nginx listens (default {default}, 443 with --tls-cert)', shown: '`80` (`443` with TLS)', doc: 'nginx\'s `listen`' },
  'tls-cert': { type: 'string', value: 'FILE', usage: 'terminate TLS: certificate (absolute path; with --tls-key)', doc: 'terminate TLS in nginx (`listen … ssl`, TLS 1.2/1.3), with `--tls-key`; the app then sees `request.protocol === \'https\'` through `X-Scheme`' },
  'tls-key': { type: 'string', value: 'FILE', usage: 'terminate TLS: private key (absolute path)', doc: 'the private key of `--tls-cert`' },
  'server-name': { type: 'string', value: 'NAMES', usage: 'server_name, comma-separated', doc: '`server_name`, comma-separated' },
  'max-body': { type: 'string', value: 'SIZE', default: DEFAULT_MAX_BODY, usage: 'client_max_body_size: the app\'s maxBodySize, also\n`deploy-kit start --max-body`', doc: '`client_max_body_size`: the app\'s `maxBodySize` (launch()\'s default, also `deploy-kit start --max-body`), so nginx refuses with its 413 exactly what the app would ([deploying.md](deploying.md#8-facing-clients-directly)); Tornado\'s guide\'s file allowed `50M` while the app took 1 MiB' },
  'static-root': { type: 'string', value: 'DIR', usage: 'absolute path of the static directory, served by nginx', doc: 'absolute path of the static directory (the app\'s `staticPath`); nginx caches the app\'s static answers (`proxy_cache`) instead of reading the files, so the app\'s refusals and headers hold ([deploying.md](deploying.md#5-static-files-and-caching))' },
  'static-prefix': { type: 'string', value: 'PATH', default: '/static/', usage: 'URL prefix of static files', doc: 'the app\'s `staticUrlPrefix`' },
  aliases: { type: 'string', value: 'FILES', default: 'robots.txt,favicon.ico', usage: 'static files also served at the root\n(default {default}; needs --static-root)', doc: 'static files also served at the root (the app\'s `staticRootAliases`); `\'\'` for none; needs `--static-root`' },
  'static-bundler-manifest': { type: 'string', value: 'FILE', usage: 'the app\'s staticBundlerManifest (relative:\nto --static-root): nginx also keeps the files it lists', doc: 'the app\'s `staticBundlerManifest` (Vite\'s `.vite/manifest.json`; relative: to `--static-root`); nginx also keeps the files it lists, which the app serves far-future without `?v=`. Regenerate with each build; a stale list is safe ([deploying.md](deploying.md#5-static-files-and-caching))' },
  'max-fails': { type: 'string', value: 'N', default: '1', usage: 'failures before an app process is skipped', doc: 'after N failed attempts, a process is skipped for `--fail-timeout`' },
  'fail-timeout': { type: 'string', value: 'TIME', default: '10s', usage: 'how long it is skipped', doc: 'how long a process that failed `--max-fails` times is skipped' },
  keepalive: { type: 'string', value: 'N', default: '32', usage: 'idle keep-alive connections to the app', doc: 'idle HTTP/1.1 connections to the app kept by each nginx worker' },
  health: { type: 'string', value: 'PATH', usage: 'a health-check path passed to the app without access logs', doc: 'an exact location passed through to the app without access logging (load-balancer health checks); the launcher\'s `healthPath` (`deploy-kit start --health-path PATH`, [cluster.md](cluster.md#health-and-readiness)) answers it' },
  prefix: { type: 'string', value: 'DIR', usage: 'put pid, logs and temp files under DIR (unprivileged runs)', shown: 'system paths', doc: 'pid, error/access logs and every `*_temp_path` under DIR, so nginx runs unprivileged (`nginx -p DIR -c FILE`)' },
  user: { type: 'string', value: 'NAME', usage: 'user directive (when nginx starts as root)', doc: 'the `user` directive; only meaningful when nginx starts as root' },
  'mime-types': { type: 'string', value: 'FILE', default: '/etc/nginx/mime.types', usage: 'nginx mime.types', doc: 'nginx\'s `mime.types`' },
  'worker-connections': { type: 'string', value: 'N', default: '1024', usage: '', doc: '`worker_connections`' }
} as const satisfies Flags

export const generator: Generator = {
  command: 'nginx',
  ...fromFlags(`Usage: deploy-kit nginx --upstream HOST:PORT[-LAST][,...] [options]

Prints an nginx configuration for the app processes behind it.

`, NGINX_FLAGS, 23),
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
  const aliases = optional(values, 'aliases', NGINX_FLAGS.aliases.default)
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
    throw check.invalidOption(values['tls-cert'] === undefined ? '--tls-key' : '--tls-cert', values['tls-cert'] ?? values['tls-key'], 'to be used together with --tls-key / --tls-cert')
  }
  return {
    upstreams: check.upstreams('--upstream', required(values, 'upstream', 'HOST:PORT[-LAST][,...]')),
    listen: check.listen('--listen', optional(values, 'listen', values['tls-cert'] === undefined ? NGINX_FLAGS.listen.default : '443')),
    tls: values['tls-cert'] === undefined
      ? undefined
      : { cert: check.absolutePath('--tls-cert', values['tls-cert'] as string), key: check.absolutePath('--tls-key', values['tls-key'] as string) },
    serverNames: values['server-name'] === undefined ? [] : check.serverNames('--server-name', values['server-name'] as string),
    maxBody: check.size('--max-body', optional(values, 'max-body', NGINX_FLAGS['max-body'].default)),
    staticRoot,
    staticPrefix: check.urlPrefix('--static-prefix', optional(values, 'static-prefix', NGINX_FLAGS['static-prefix'].default)),
    aliases: aliases === '' ? [] : aliases.split(',').map((file) => check.rootFile('--aliases', file.trim())),
    maxFails: check.positiveInteger('--max-fails', optional(values, 'max-fails', NGINX_FLAGS['max-fails'].default), 1000),
    failTimeout: check.duration('--fail-timeout', optional(values, 'fail-timeout', NGINX_FLAGS['fail-timeout'].default)),
    keepalive: check.positiveInteger('--keepalive', optional(values, 'keepalive', NGINX_FLAGS.keepalive.default), 100000),
    health: values.health === undefined ? undefined : check.urlPath('--health', values.health as string),
    prefix: values.prefix === undefined ? undefined : check.absolutePath('--prefix', values.prefix as string),
    user: values.user === undefined ? undefined : check.name('--user', values.user as string),
    mimeTypes: check.absolutePath('--mime-types', optional(values, 'mime-types', NGINX_FLAGS['mime-types'].default)),
    workerConnections: check.positiveInteger('--worker-connections', optional(values, 'worker-connections', NGINX_FLAGS['worker-connections'].default), 1000000),
    generatedBy
  }
}

export async function run (args: string[], io: CliIo): Promise<number> {
  return await runGenerator(generator, args, io)
}
