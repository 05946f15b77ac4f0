// compressResponse: Tornado's `compress_response=True` (gzip for dynamic
// responses) through @fastify/compress, with the seed's nginx spirit: only
// text-like types and only bodies of at least 1000 bytes are compressed.
// Static files are not touched here: lib/static.ts serves its own precompressed
// variants and opts its routes out, so nothing is compressed twice.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, onSendHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import type { FastifyCompressOptions } from '@fastify/compress'
import { invalid, requirePlainObject } from './shared/settings.js'
import { COMPRESSIBLE_TYPES } from './shared/compressible.js'
import { FDK_COMPRESS_ALREADY_REGISTERED } from './shared/errors.js'
import { settingNames } from './shared/declarations.js'
import { COMPRESS_SETTINGS } from './compress/settings.js'

export interface CompressOptions {
  /** Compress dynamic responses (gzip, deflate, br); `true` or @fastify/compress options. Default off. */
  compressResponse?: boolean | FastifyCompressOptions
}

export const COMPRESS_SETTING_NAMES = settingNames<CompressOptions, typeof COMPRESS_SETTINGS>(COMPRESS_SETTINGS)

/** Methods whose request body Fastify never reads. */
const BODYLESS = new Set(['GET', 'HEAD', 'TRACE'])

/** nginx's `gzip_min_length 1000` from the seed configuration. */
export const DEFAULT_COMPRESS_THRESHOLD = 1000

export function normalizeCompressOptions (options: CompressOptions): FastifyCompressOptions | false {
  const value = options.compressResponse
  if (value === undefined || value === false) return false
  if (value === true) return { threshold: DEFAULT_COMPRESS_THRESHOLD, customTypes: COMPRESSIBLE_TYPES }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('compressResponse', value, 'a boolean or @fastify/compress options')
  }
  return { threshold: DEFAULT_COMPRESS_THRESHOLD, customTypes: COMPRESSIBLE_TYPES, ...requirePlainObject('compressResponse', value) }
}

type OnSend = onSendHookHandler<unknown>
const asList = <T>(value: T | T[] | undefined): T[] => value === undefined ? [] : Array.isArray(value) ? value : [value]

/**
 * Wraps @fastify/compress's onSend so a string or Buffer body below the
 * threshold is passed on at once: @fastify/compress looks at the headers and
 * negotiates Accept-Encoding first and only then at the size.
 */
function skipSmallBodies (onSend: OnSend, threshold: number): OnSend {
  return function compressUnlessSmall (this: FastifyInstance, request, reply, payload, done) {
    // A UTF-16 length times 3 bounds the UTF-8 byte length from above.
    if (payload === null || payload === undefined || (typeof payload === 'string' && (payload.length * 3 < threshold || Buffer.byteLength(payload) < threshold)) ||
      (Buffer.isBuffer(payload) && payload.length < threshold)) return done(null, payload)
    return (onSend as (...args: unknown[]) => unknown).call(this, request, reply, payload, done)
  } as OnSend
}

/** Where a route's config keeps the function `reply.compress` answers with. */
const kCompress = Symbol('fastify-deploy-kit.compress')
type CompressFunction = (...args: unknown[]) => unknown

/**
 * The function @fastify/compress's onRequest hook would set as
 * `reply.compress`, found by running the hook once on a stand-in reply.
 */
function compressFunctionOf (hook: unknown): CompressFunction | undefined {
  const standIn: { compress?: unknown } = {}
  ;(hook as (request: unknown, reply: unknown, done: () => void) => void)(undefined, standIn, () => {})
  /* c8 ignore next -- only if a future @fastify/compress stops setting reply.compress in that hook: then the hook stays */
  return typeof standIn.compress === 'function' ? standIn.compress as CompressFunction : undefined
}

/**
 * `reply.compress`, as @fastify/compress's decorator and hook give it: the
 * route's compress function, null on a route with `compress: false` or
 * outside any route (the 404 handler). Assigning it (as @fastify/compress's
 * hook does where it stays) gives that reply its own value.
 */
const REPLY_COMPRESS = {
  getter (this: FastifyReply): CompressFunction | null {
    return (this.routeOptions.config as { [kCompress]?: CompressFunction })[kCompress] ?? null
  },
  setter (this: FastifyReply, value: unknown): void {
    Object.defineProperty(this, 'compress', { value, writable: true, enumerable: true, configurable: true })
  }
}

const compress: FastifyPluginAsync<CompressOptions> = async (fastify, options) => {
  const compressOptions = normalizeCompressOptions(options)
  if (compressOptions === false) return
  // Two @fastify/compress would compress every response twice; Fastify only
  // says "decorator 'compress' has already been added" (and crashes, uncaught).
  if (fastify.hasReplyDecorator('compress')) throw new FDK_COMPRESS_ALREADY_REGISTERED('before')
  // Loaded when compression is on, not when the package is imported: with
  // its streams it is the largest module the kit loads, and a process that
  // holds more code serves the same requests slower (docs/benchmarks.md,
  // "The size of the process").
  const { default: fastifyCompress } = await import('@fastify/compress')
  const settings = { global: true, ...compressOptions }
  // Before @fastify/compress's onRoute hook: a route that only takes bodyless
  // methods (GET, HEAD, TRACE: Fastify never reads their body) gets no request
  // decompression hook, and the route's onSend hooks are noted so the one
  // @fastify/compress adds can be told apart afterwards.
  const before = new WeakMap<object, { onSend: Set<unknown>, onRequest: Set<unknown> }>()
  fastify.addHook('onRoute', (route) => {
    const methods = asList(route.method)
    if (route.decompress === undefined && methods.every((method) => BODYLESS.has(method))) route.decompress = false
    before.set(route, { onSend: new Set(asList(route.onSend)), onRequest: new Set(asList(route.onRequest)) })
  })
  // @fastify/compress gives every route an onRequest hook whose only work is
  // `reply.compress = <the route's compress function>`: a hook chain on every
  // request for a method few handlers call. Its reply decorator becomes a
  // getter reading that function from the route's config instead, where the
  // onRoute hook below puts it, and the hook goes.
  const decorate = fastify.decorateReply
  fastify.decorateReply = function (this: typeof fastify, name: string, ...rest: unknown[]) {
    /* c8 ignore next -- @fastify/compress 9 decorates the reply with 'compress' alone; another name passes as it is */
    const value = name === 'compress' ? [REPLY_COMPRESS] : rest
    return (decorate as (...args: unknown[]) => typeof fastify).call(this, name, ...value)
  } as typeof fastify.decorateReply
  await fastify.register(fastifyCompress, settings)
  fastify.decorateReply = decorate
  // With these options @fastify/compress may answer a small body too (an
  // error payload, an inflated one): then its onSend is left as it is.
  const wrap = settings.onUnsupportedEncoding === undefined && settings.inflateIfDeflated !== true
  const threshold = settings.threshold ?? DEFAULT_COMPRESS_THRESHOLD
  fastify.addHook('onRoute', (route) => {
    const known = before.get(route)
    /* c8 ignore next -- every route passes the hook above first; one declared before the kit reaches neither */
    if (known === undefined) return
    const added = asList(route.onRequest).filter((hook) => !known.onRequest.has(hook))
    const compressFn = added.length === 1 ? compressFunctionOf(added[0]) : undefined
    if (compressFn !== undefined) {
      route.onRequest = asList(route.onRequest).filter((hook) => hook !== added[0])
      route.config = { ...route.config, [kCompress]: compressFn } as typeof route.config
    }
    // A route with its own compress options has its own threshold: left as it is.
    if (!wrap || route.compress !== undefined || route.onSend === undefined) return
    route.onSend = asList(route.onSend).map((hook) => known.onSend.has(hook) ? hook : skipSmallBodies(hook, threshold))
  })
  // An app registering @fastify/compress after the kit: its first act is
  // decorateReply('compress'), which would throw inside its plugin and crash
  // the process. Noted here instead, and refused before start-up completes.
  const decorateReply = fastify.decorateReply
  let registeredAfter = false
  fastify.decorateReply = function (this: typeof fastify, name: string, ...rest: unknown[]) {
    if (name === 'compress') {
      registeredAfter = true
      return this
    }
    return (decorateReply as (...args: unknown[]) => typeof fastify).call(this, name, ...rest)
  } as typeof fastify.decorateReply
  fastify.addHook('onReady', async () => {
    if (registeredAfter) throw new FDK_COMPRESS_ALREADY_REGISTERED('after')
  })
}

export const fastifyDeployCompress = fp(compress, { fastify: '5.x', name: 'fastify-deploy-kit/compress' })
export default fastifyDeployCompress
