// Static files: Tornado's `static_path` served under `/static/`, root aliases
// (robots.txt, favicon.ico, ...), and `static_url()` with content-hash
// versions. Better than Tornado: far-future caching only for the current
// version, content ETags identical on every machine, small files served from
// memory with precompressed gzip/brotli, no dotfiles, no symlinks out.
import { open, type FileHandle } from 'node:fs/promises'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type {} from '@fastify/compress' // the `compress: false` route option
import fp from 'fastify-plugin'
import { FDK_STATIC_FORBIDDEN } from './shared/errors.js'
import { addTemplateLocal } from './shared/locals.js'
import { normalizeStaticOptions, type StaticOptions } from './static/options.js'
import { normalizeRequestPath } from './static/request-path.js'
import {
  IMMUTABLE_CACHE_CONTROL, REVALIDATE_CACHE_CONTROL, planResponse, type CachePolicy, type RequestFacts
} from './static/response.js'
import { BackgroundCompressor, signatureOf, type DiskVariant } from './static/precompressed.js'
import { StaticStore, type StaticFile } from './static/store.js'
import { createStaticUrl, encodeStaticPath, type StaticUrlOptions } from './static/url.js'

export type StaticUrl = (path: string, options?: StaticUrlOptions) => string

declare module 'fastify' {
  interface FastifyInstance {
    /** Tornado's `static_url`: `/static/<path>?v=<content hash>`. */
    staticUrl: StaticUrl
  }
  interface FastifyReply {
    /** Tornado's `static_url`: `/static/<path>?v=<content hash>`; `includeHost` uses this request's scheme and host. */
    staticUrl: StaticUrl
    /** @fastify/static's `sendFile`: a file of `staticPath`, with the static route's checks and headers. */
    sendFile (path: string): FastifyReply
  }
}

function cacheControlFor (policy: CachePolicy, aliasMaxAge: number): string {
  if (policy === 'immutable') return IMMUTABLE_CACHE_CONTROL
  if (policy === 'alias') return `public, max-age=${aliasMaxAge}`
  return REVALIDATE_CACHE_CONTROL
}

function requestFacts (request: FastifyRequest): RequestFacts {
  // Node joins repeated lines of these headers into one string (only Set-Cookie stays an array).
  const headers = request.headers
  return {
    ifNoneMatch: headers['if-none-match'],
    ifModifiedSince: headers['if-modified-since'],
    range: headers.range,
    acceptEncoding: headers['accept-encoding']
  }
}

/** A memory copy, answered synchronously: no promise, no await on the hot path. */
function sendMemoryFile (request: FastifyRequest, reply: FastifyReply, file: StaticFile & { body: Buffer }, cacheControl: string): FastifyReply {
  const plan = planResponse(file, requestFacts(request), cacheControl)
  reply.code(plan.status).headers(plan.headers)
  if (plan.body === 'none') return reply.send()
  const bytes = plan.body === 'full'
    ? (plan.encoding === 'identity' ? file.body : file.variants[plan.encoding] as Buffer)
    : file.body.subarray(plan.body.start, plan.body.end + 1)
  return reply.send(bytes)
}

async function sendFile (
  request: FastifyRequest, reply: FastifyReply, store: StaticStore, found: StaticFile, cacheControl: string
): Promise<FastifyReply> {
  if (found.body !== null) return sendMemoryFile(request, reply, found as StaticFile & { body: Buffer }, cacheControl)
  const facts = requestFacts(request)
  let file = found
  let plan = planResponse(file, facts, cacheControl, store.compressing(file))
  // A streamed file: identity from the file, or a checked compressed copy on disk.
  let handle: FileHandle | undefined
  while (plan.body === 'full' && plan.encoding !== 'identity') {
    const variant = file.onDisk[plan.encoding] as DiskVariant
    handle = await openUnchanged(variant)
    if (handle !== undefined) break
    file = store.dropDiskVariant(file, plan.encoding) // replaced since it was checked: not these bytes any more
    plan = planResponse(file, facts, cacheControl, store.compressing(file))
  }
  reply.code(plan.status).headers(plan.headers)
  if (plan.body === 'none' || request.method === 'HEAD') {
    await handle?.close()
    return await reply.send()
  }
  if (handle === undefined) {
    /* c8 ignore start -- a race: the file was deleted between the check in store.open() and here */
    try {
      handle = await open(file.realPath, 'r')
    } catch {
      reply.callNotFound()
      return reply
    }
    /* c8 ignore stop */
  }
  const range = plan.body === 'full' ? {} : { start: plan.body.start, end: plan.body.end }
  return await reply.send(handle.createReadStream(range))
}

/** Opens a compressed copy only if it is still the file that was checked. */
async function openUnchanged (variant: DiskVariant): Promise<FileHandle | undefined> {
  let handle: FileHandle
  try {
    handle = await open(variant.realPath, 'r')
  } catch {
    return undefined
  }
  if (signatureOf(await handle.stat({ bigint: true })) === variant.signature) return handle
  await handle.close()
  return undefined
}

const staticFiles: FastifyPluginAsync<StaticOptions> = async (fastify, options) => {
  const settings = normalizeStaticOptions(options)
  const store = new StaticStore({
    root: settings.root,
    allowDotfiles: settings.dotfiles,
    hashCache: settings.hashCache,
    hashLength: settings.hashLength,
    memoryFileLimit: settings.memoryFileLimit,
    memoryBudget: settings.memoryBudget,
    precompressed: settings.precompressed,
    ...(settings.manifest === undefined ? {} : { manifest: settings.manifest }),
    onManifestMismatch: (path, listed, actual) => {
      fastify.log.warn({ path, listed, actual, staticManifest: settings.manifest?.path },
        `static: "${path}" does not match staticManifest; serving it with its real hash (rebuild the manifest)`)
      urls.forget()
    },
    onCompressed: (path, encodings) => { fastify.log.debug({ path, encodings }, 'static file compressed in the background') },
    ...(settings.compressDir === undefined
      ? {}
      : {
          compressor: new BackgroundCompressor({
            dir: settings.compressDir,
            diskBudget: settings.compressDiskBudget,
            onError: (error) => { fastify.log.warn({ err: error }, 'static: background compression failed; the file is sent uncompressed') }
          })
        })
  })
  fastify.addHook('onClose', async () => {
    store.close()
    await store.options.compressor?.stop()
  })
  const urls = createStaticUrl({
    store,
    prefix: settings.prefix,
    cacheUrls: settings.hashCache,
    urlHost: settings.urlHost,
    bundler: settings.bundler,
    onMissing: (path) => {
      fastify.log.warn({ path, staticPath: settings.root }, `staticUrl: could not find static file "${path}"; serving it without ?v=`)
    }
  })
  const staticUrl: StaticUrl = (path, options) => urls.staticUrl(path, options, undefined)
  const replyStaticUrl = (reply: FastifyReply): StaticUrl => (path, options) =>
    urls.staticUrl(path, options, options?.includeHost === true ? `${reply.request.protocol}://${reply.request.host}` : undefined)
  fastify.decorate('staticUrl', staticUrl)
  fastify.decorateReply('staticUrl', function (this: FastifyReply, path: string, options?: StaticUrlOptions) {
    return replyStaticUrl(this)(path, options)
  })
  addTemplateLocal(fastify, 'staticUrl', replyStaticUrl)

  async function serve (request: FastifyRequest, reply: FastifyReply, requested: string, policy: CachePolicy | undefined): Promise<FastifyReply> {
    let found = store.hot(requested) ?? await store.open(requested)
    if (settings.defaultFilename !== undefined && policy === undefined && (found === 'directory' || requested === '')) {
      // Tornado's default_filename: /docs/ serves docs/index.html, /docs
      // redirects to /docs/ (permanently, as Tornado does) so relative links work.
      if (found === 'directory' && !requested.endsWith('/')) {
        const normal = normalizeRequestPath(requested, settings.dotfiles) as { path: string }
        const query = request.url.indexOf('?')
        return await reply.redirect(settings.prefix + encodeStaticPath(normal.path) + '/' + (query === -1 ? '' : request.url.slice(query)), 301)
      }
      found = await store.open(requested + '/' + settings.defaultFilename)
    }
    if (found === 404) {
      reply.callNotFound()
      return reply
    }
    if (found === 403 || found === 'directory') throw new FDK_STATIC_FORBIDDEN()
    return await sendFile(request, reply, store, found, cacheControlFor(policy ?? versionPolicy(request, found), settings.aliasMaxAge))
  }

  /** Immutable only when `?v=` names the current bytes (or the bundler hashed the name). */
  function versionPolicy (request: FastifyRequest, found: StaticFile): CachePolicy {
    const version = (request.query as Record<string, unknown>).v
    return version === found.version || version === found.digest || settings.bundler?.immutable.has(found.path) === true
      ? 'immutable'
      : 'revalidate'
  }

  fastify.route({
    method: ['GET', 'HEAD'],
    url: settings.prefix + '*',
    compress: false,
    // The hot path (production, a file already in memory) stays synchronous,
    // as a bare route returning a Buffer is; everything else goes through serve().
    handler: (request, reply) => {
      const requested = (request.params as Record<string, string>)['*'] as string
      const hot = store.hot(requested)
      if (hot === undefined) return serve(request, reply, requested, undefined)
      return sendMemoryFile(request, reply, hot as StaticFile & { body: Buffer }, cacheControlFor(versionPolicy(request, hot), settings.aliasMaxAge))
    }
  })
  // @fastify/static's reply.sendFile(path): a file of staticPath from any
  // route, with the same checks, headers, Range and conditional requests
  // (revalidating: the route's URL carries no version).
  fastify.decorateReply('sendFile', function (this: FastifyReply, path: string) {
    if (typeof path !== 'string') throw new TypeError('reply.sendFile(path): path must be a string')
    // Our representations carry their own ETags; @fastify/compress must not re-encode them.
    this.request.headers['x-no-compression'] = '1'
    serve(this.request, this, path, 'revalidate').catch((error: unknown) => { this.send(error) })
    return this
  })
  for (const alias of settings.aliases) {
    fastify.route({
      method: ['GET', 'HEAD'],
      url: '/' + alias,
      compress: false,
      handler: (request, reply) => serve(request, reply, alias, 'alias')
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

export { normalizeStaticOptions }
export { STATIC_SETTING_NAMES, type NormalizedStaticOptions, type StaticOptions } from './static/options.js'
export type { StaticUrlOptions }

export const fastifyDeployStatic = fp(staticFiles, { fastify: '5.x', name: 'fastify-deploy-kit/static' })
export default fastifyDeployStatic
