// compressResponse: Tornado's `compress_response=True` (gzip for dynamic
// responses) through @fastify/compress, with the seed's nginx spirit: only
// text-like types and only bodies of at least 1000 bytes are compressed.
// Static files are not touched here: lib/static.ts serves its own precompressed
// variants and opts its routes out, so nothing is compressed twice.
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import fastifyCompress, { type FastifyCompressOptions } from '@fastify/compress'
import { invalid, requirePlainObject } from './settings.js'
import { COMPRESSIBLE_TYPES } from './static/mime.js'
import { FDK_COMPRESS_ALREADY_REGISTERED } from './errors.js'

export interface CompressOptions {
  /** Compress dynamic responses (gzip, deflate, br); `true` or @fastify/compress options. Default off. */
  compressResponse?: boolean | FastifyCompressOptions
}

export const COMPRESS_SETTING_NAMES = ['compressResponse'] as const

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

const compress: FastifyPluginAsync<CompressOptions> = async (fastify, options) => {
  const compressOptions = normalizeCompressOptions(options)
  if (compressOptions === false) return
  // Two @fastify/compress would compress every response twice; Fastify only
  // says "decorator 'compress' has already been added" (and crashes, uncaught).
  if (fastify.hasReplyDecorator('compress')) throw new FDK_COMPRESS_ALREADY_REGISTERED('before')
  await fastify.register(fastifyCompress, { global: true, ...compressOptions })
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

export default fp(compress, { fastify: '5.x', name: 'fastify-deploy-kit/compress' })
