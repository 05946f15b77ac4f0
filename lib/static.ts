// Static files: Tornado's `static_path` served under `/static/`, root aliases
// (robots.txt, favicon.ico, ...), and `static_url()` with content-hash
// versions. Better than Tornado: far-future caching only for the current
// version, content ETags identical on every machine, small files served from
// memory with precompressed gzip/brotli, no dotfiles, no symlinks out.
import { realpathSync, statSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type {} from '@fastify/compress' // the `compress: false` route option
import fp from 'fastify-plugin'
import { FDK_STATIC_FORBIDDEN, FDK_STATIC_PATH_MISSING } from './errors.js'
import { addTemplateLocal } from './locals.js'
import {
  invalid, optionalBoolean, optionalInteger, optionalStringArray, requirePlainObject
} from './settings.js'
import { normalizeRequestPath } from './static/request-path.js'
import {
  IMMUTABLE_CACHE_CONTROL, REVALIDATE_CACHE_CONTROL, planResponse, type ResponsePlan
} from './static/response.js'
import { StaticStore, type StaticFile } from './static/store.js'
import { createStaticUrl, type StaticUrlOptions } from './static/url.js'

export interface StaticOptions {
  /** Directory to serve (Tornado `static_path`); must exist. Relative paths resolve against the working directory. */
  staticPath?: string
  /** URL prefix (Tornado `static_url_prefix`). Default `/static/`; must start and end with `/`. */
  staticUrlPrefix?: string
  /** Files under `staticPath` also served at the site root. Default `['robots.txt', 'favicon.ico']`. */
  staticRootAliases?: string[]
  /** Keep hashes and memory copies until restart (Tornado `static_hash_cache`). Default `!debug`. */
  staticHashCache?: boolean
  /** Hex digits of the SHA-512 used in `?v=` and ETags (16-128). Default 32 (128 bits). */
  staticHashLength?: number
  /** Serve files and directories whose name starts with a dot. Default false. */
  staticDotfiles?: boolean
  /** Files up to this many bytes are served from memory. Default 262144 (256 KiB). */
  staticMemoryFileLimit?: number
  /** Total bytes of memory copies (with their compressed variants). Default 67108864 (64 MiB). */
  staticMemoryBudget?: number
  /** `max-age` in seconds for root aliases. Default 3600. */
  staticRootAliasMaxAge?: number
  /** Hash (and load small files) in the background after `ready`. Default `staticHashCache`. */
  staticWarmup?: boolean
  /** Development mode; `staticHashCache` defaults to its opposite. Default false. */
  debug?: boolean
}

export const STATIC_SETTING_NAMES = [
  'staticPath', 'staticUrlPrefix', 'staticRootAliases', 'staticHashCache', 'staticHashLength',
  'staticDotfiles', 'staticMemoryFileLimit', 'staticMemoryBudget', 'staticRootAliasMaxAge',
  'staticWarmup', 'debug'
] as const

export type StaticUrl = (path: string, options?: StaticUrlOptions) => string

declare module 'fastify' {
  interface FastifyInstance {
    /** Tornado's `static_url`: `/static/<path>?v=<content hash>`. */
    staticUrl: StaticUrl
  }
  interface FastifyReply {
    /** Tornado's `static_url`: `/static/<path>?v=<content hash>`. */
    staticUrl: StaticUrl
  }
}

export interface NormalizedStaticOptions {
  root: string
  prefix: string
  aliases: string[]
  hashCache: boolean
  hashLength: number
  dotfiles: boolean
  memoryFileLimit: number
  memoryBudget: number
  aliasMaxAge: number
  warmup: boolean
}

const ROUTER_SPECIAL = /[*:?#\s]/

export function normalizeStaticOptions (options: StaticOptions): NormalizedStaticOptions {
  const settings = requirePlainObject('staticPath', options) as StaticOptions
  const debug = optionalBoolean('debug', settings.debug, false)
  if (typeof settings.staticPath !== 'string' || settings.staticPath === '') {
    throw invalid('staticPath', settings.staticPath, 'the path of an existing directory')
  }
  const wanted = resolve(settings.staticPath)
  let root: string
  try {
    root = realpathSync(wanted)
    if (!statSync(root).isDirectory()) throw new Error('not a directory')
  } catch (error) {
    throw new FDK_STATIC_PATH_MISSING(JSON.stringify(wanted), (error as Error).message)
  }
  const prefix = settings.staticUrlPrefix ?? '/static/'
  if (typeof prefix !== 'string' || !prefix.startsWith('/') || !prefix.endsWith('/') || ROUTER_SPECIAL.test(prefix)) {
    throw invalid('staticUrlPrefix', prefix, 'a path that starts and ends with "/" (e.g. "/static/")')
  }
  const dotfiles = optionalBoolean('staticDotfiles', settings.staticDotfiles, false)
  const aliases = optionalStringArray('staticRootAliases', settings.staticRootAliases, ['robots.txt', 'favicon.ico'])
  for (const alias of aliases) {
    const normal = normalizeRequestPath(alias, true)
    if (!normal.ok || normal.path !== alias || ROUTER_SPECIAL.test(alias)) {
      throw invalid('staticRootAliases', alias, 'file names relative to staticPath, such as "robots.txt"')
    }
  }
  const hashCache = optionalBoolean('staticHashCache', settings.staticHashCache, !debug)
  const hashLength = optionalInteger('staticHashLength', settings.staticHashLength, 32, 16)
  if (hashLength > 128) throw invalid('staticHashLength', hashLength, 'an integer from 16 to 128')
  return {
    root,
    prefix,
    aliases: [...new Set(aliases)],
    hashCache,
    hashLength,
    dotfiles,
    memoryFileLimit: optionalInteger('staticMemoryFileLimit', settings.staticMemoryFileLimit, 256 * 1024),
    memoryBudget: optionalInteger('staticMemoryBudget', settings.staticMemoryBudget, 64 * 1024 * 1024),
    aliasMaxAge: optionalInteger('staticRootAliasMaxAge', settings.staticRootAliasMaxAge, 3600),
    warmup: optionalBoolean('staticWarmup', settings.staticWarmup, hashCache)
  }
}

function planFor (request: FastifyRequest, file: StaticFile, cacheControl: string): ResponsePlan {
  // Node joins repeated lines of these headers into one string (only Set-Cookie stays an array).
  const headers = request.headers
  return planResponse(file, {
    ifNoneMatch: headers['if-none-match'],
    ifModifiedSince: headers['if-modified-since'],
    range: headers.range,
    acceptEncoding: headers['accept-encoding']
  }, cacheControl)
}

/** A memory copy, answered synchronously: no promise, no await on the hot path. */
function sendMemoryFile (reply: FastifyReply, file: StaticFile & { body: Buffer }, plan: ResponsePlan): FastifyReply {
  reply.code(plan.status).headers(plan.headers)
  if (plan.body === 'none') return reply.send()
  const bytes = plan.body === 'full'
    ? (plan.encoding === 'identity' ? file.body : file.variants[plan.encoding] as Buffer)
    : file.body.subarray(plan.body.start, plan.body.end + 1)
  return reply.send(bytes)
}

async function sendFile (request: FastifyRequest, reply: FastifyReply, file: StaticFile, cacheControl: string): Promise<FastifyReply> {
  const plan = planFor(request, file, cacheControl)
  if (file.body !== null) return sendMemoryFile(reply, file as StaticFile & { body: Buffer }, plan)
  reply.code(plan.status).headers(plan.headers)
  if (plan.body === 'none') return await reply.send()
  // Streamed (large) files are always identity: only memory copies have variants.
  if (plan.body === 'full') reply.header('content-length', String(file.size))
  if (request.method === 'HEAD') return await reply.send()
  let handle
  /* c8 ignore start -- a race: the file was deleted between the check in store.open() and here */
  try {
    handle = await open(file.realPath, 'r')
  } catch {
    reply.callNotFound()
    return reply
  }
  /* c8 ignore stop */
  const range = plan.body === 'full' ? {} : { start: plan.body.start, end: plan.body.end }
  return await reply.send(handle.createReadStream(range))
}

const fastifyDeployStatic: FastifyPluginAsync<StaticOptions> = async (fastify, options) => {
  const settings = normalizeStaticOptions(options)
  const store = new StaticStore({
    root: settings.root,
    allowDotfiles: settings.dotfiles,
    hashCache: settings.hashCache,
    hashLength: settings.hashLength,
    memoryFileLimit: settings.memoryFileLimit,
    memoryBudget: settings.memoryBudget
  })
  const staticUrl = createStaticUrl(store, settings.prefix, settings.hashCache, (path) => {
    fastify.log.warn({ path, staticPath: settings.root }, `staticUrl: could not find static file "${path}"; serving it without ?v=`)
  })
  fastify.decorate('staticUrl', staticUrl)
  fastify.decorateReply('staticUrl', staticUrl)
  addTemplateLocal(fastify, 'staticUrl', () => staticUrl)

  const aliasCacheControl = `public, max-age=${settings.aliasMaxAge}`

  /** The cache policy of a `/static/` request: immutable only when `?v=` names the current bytes. */
  function versionedCacheControl (request: FastifyRequest, file: StaticFile): string {
    const version = (request.query as Record<string, unknown>).v
    return version === file.version || version === file.digest ? IMMUTABLE_CACHE_CONTROL : REVALIDATE_CACHE_CONTROL
  }

  async function serve (request: FastifyRequest, reply: FastifyReply, requested: string, cacheControl: string | undefined): Promise<FastifyReply> {
    const found = await store.open(requested)
    if (found === 404) {
      reply.callNotFound()
      return reply
    }
    if (found === 403) throw new FDK_STATIC_FORBIDDEN()
    return await sendFile(request, reply, found, cacheControl ?? versionedCacheControl(request, found))
  }

  // The hot path (production, a file already in memory) stays synchronous, as
  // a bare route returning a Buffer is; everything else goes through serve().
  fastify.route({
    method: ['GET', 'HEAD'],
    url: settings.prefix + '*',
    compress: false,
    handler: (request, reply) => {
      const requested = (request.params as Record<string, string>)['*'] as string
      const hot = store.hot(requested)
      if (hot === undefined) return serve(request, reply, requested, undefined)
      return sendMemoryFile(reply, hot as StaticFile & { body: Buffer }, planFor(request, hot, versionedCacheControl(request, hot)))
    }
  })
  for (const alias of settings.aliases) {
    fastify.route({
      method: ['GET', 'HEAD'],
      url: '/' + alias,
      compress: false,
      handler: (request, reply) => {
        const hot = store.hot(alias)
        if (hot === undefined) return serve(request, reply, alias, aliasCacheControl)
        return sendMemoryFile(reply, hot as StaticFile & { body: Buffer }, planFor(request, hot, aliasCacheControl))
      }
    })
  }

  if (settings.warmup) {
    let closed = false
    fastify.addHook('onClose', async () => { closed = true })
    fastify.addHook('onReady', async () => {
      const started = Date.now()
      store.warm(() => closed).then((count) => {
        fastify.log.debug({ files: count, ms: Date.now() - started, memoryBytes: store.memoryUsed }, 'static files hashed')
      }, (error: unknown) => {
        fastify.log.warn({ err: error }, 'static warm-up stopped; files will be hashed on first use')
      })
    })
  }
}

export { fastifyDeployStatic }
export type { StaticUrlOptions }
export default fp(fastifyDeployStatic, { fastify: '5.x', name: 'fastify-deploy-kit/static' })
