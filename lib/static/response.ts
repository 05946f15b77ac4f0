// What to answer for a static file, decided once per request from the file
// and the request headers: the status, the headers, and which bytes. The
// in-memory and the streamed paths both go through here, so 304, Range and
// HEAD behave identically on both. No Fastify here.
import { Negotiator } from '@fastify/accept-negotiator'
import { etagMatches, notModifiedSince } from './conditional.js'
import { contentRange, parseRangeHeader, resolveRange } from './range.js'
import { COMPRESSED_ENCODINGS, type CompressedEncoding, type DiskVariant } from './precompressed.js'
import type { Encoding, StaticFile } from './store.js'

/**
 * `immutable`: the request's `v` is the file's current hash, so the URL can
 * never name other bytes. `revalidate`: no `v`, or a stale one (a rolling
 * deploy: HTML from a new host, asset from an old one) — cache, but check
 * first. `alias`: robots.txt and friends at the root, a short max-age.
 */
export type CachePolicy = 'immutable' | 'revalidate' | 'alias'

/** One year, the longest max-age HTTP caches are asked to honour (RFC 9111). */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable'
export const REVALIDATE_CACHE_CONTROL = 'public, no-cache'
/**
 * The identity answer to a client that accepts gzip or br while the file's
 * compressed copies are still being made: no cache (nginx's proxy_cache, a
 * CDN, the browser) may keep it, or it would keep sending 1 MiB where 150 KiB
 * will do, for as long as the far-future URL lives.
 */
export const COMPRESSING_CACHE_CONTROL = 'no-store'

export interface RequestFacts {
  ifNoneMatch: string | undefined
  ifModifiedSince: string | undefined
  range: string | undefined
  acceptEncoding: string | undefined
}

export interface ResponsePlan {
  status: 200 | 206 | 304 | 416
  headers: Record<string, string>
  /** `full` = the whole representation; a range = those identity bytes (inclusive); `none` = no body. */
  body: 'full' | 'none' | { start: number, end: number }
  encoding: Encoding
}

/** Bounded memo for the negotiator: Accept-Encoding values are client-chosen. */
class BoundedCache extends Map<string, string> {
  override set (key: string, value: string): this {
    if (this.size >= 256) this.clear()
    return super.set(key, value)
  }
}

const negotiators = new Map<string, Negotiator>()

/** The compressed representations this file has: in memory, or on disk for a streamed file. */
export function encodingsOf (file: StaticFile): CompressedEncoding[] {
  return COMPRESSED_ENCODINGS.filter((encoding) => file.variants[encoding] !== undefined || file.onDisk[encoding] !== undefined)
}

function negotiatorForEncodings (supported: CompressedEncoding[]): Negotiator | null {
  if (supported.length === 0) return null
  const key = supported.join(',')
  let negotiator = negotiators.get(key)
  if (negotiator === undefined) {
    negotiator = new Negotiator({ supportedValues: [...supported, 'identity'], cache: new BoundedCache() })
    negotiators.set(key, negotiator)
  }
  return negotiator
}

// Per file (a file whose representations change is a new object), so the hot
// path finds its negotiator without listing the file's encodings each time.
const fileNegotiators = new WeakMap<StaticFile, Negotiator | null>()

function negotiatorFor (file: StaticFile): Negotiator | null {
  let negotiator = fileNegotiators.get(file)
  if (negotiator === undefined) {
    negotiator = negotiatorForEncodings(encodingsOf(file))
    fileNegotiators.set(file, negotiator)
  }
  return negotiator
}

/** Picks among everything we may ever have: would this client get br or gzip from a file that has both? */
const anyCompressed = new Negotiator({ supportedValues: [...COMPRESSED_ENCODINGS, 'identity'], cache: new BoundedCache() })

function acceptsCompressed (acceptEncoding: string | undefined): boolean {
  if (acceptEncoding === undefined) return false
  const choice = anyCompressed.negotiate(acceptEncoding)
  return choice === 'br' || choice === 'gzip'
}

export function chooseEncoding (file: StaticFile, acceptEncoding: string | undefined): Encoding {
  if (acceptEncoding === undefined) return 'identity'
  const choice = negotiatorFor(file)?.negotiate(acceptEncoding)
  return choice === 'br' || choice === 'gzip' ? choice : 'identity'
}

/** The headers of a 200 for this file, policy and encoding; built once and reused. */
export function representationHeaders (file: StaticFile, cacheControl: string, encoding: Encoding): Record<string, string> {
  const key = cacheControl + '|' + encoding
  let headers = file.headerCache.get(key)
  if (headers === undefined) {
    headers = {
      'accept-ranges': 'bytes',
      etag: file.etags[encoding],
      'last-modified': file.lastModified,
      'cache-control': cacheControl,
      'content-type': file.contentType
    }
    if (encodingsOf(file).length > 0) headers.vary = 'Accept-Encoding'
    if (encoding !== 'identity') headers['content-encoding'] = encoding
    // A streamed file's length is known here; a memory body's is set by Fastify.
    if (file.body === null) headers['content-length'] = String(encoding === 'identity' ? file.size : (file.onDisk[encoding] as DiskVariant).size)
    file.headerCache.set(key, headers)
  }
  return headers
}

/**
 * `compressing`: the file has no compressed representation yet, but will
 * have (background compression is under way). Its answer already depends on
 * Accept-Encoding (Vary), and the identity bytes sent to a client that will
 * soon get br or gzip must not be stored by anyone (COMPRESSING_CACHE_CONTROL).
 */
export function planResponse (file: StaticFile, request: RequestFacts, cacheControl: string, compressing = false): ResponsePlan {
  // A Range is about identity bytes: never combine it with a compressed body.
  const encoding = request.range === undefined ? chooseEncoding(file, request.acceptEncoding) : 'identity'
  let headers = representationHeaders(file, cacheControl, encoding)
  if (compressing && request.range === undefined) {
    headers = { ...headers, vary: 'Accept-Encoding' }
    if (acceptsCompressed(request.acceptEncoding)) headers['cache-control'] = COMPRESSING_CACHE_CONTROL
  }

  const notModified = request.ifNoneMatch !== undefined && request.ifNoneMatch !== ''
    ? etagMatches(request.ifNoneMatch, file.matchingEtags)
    : request.ifModifiedSince !== undefined && notModifiedSince(request.ifModifiedSince, file.mtimeSeconds)
  if (notModified) {
    const { 'content-type': _type, 'content-encoding': _encoding, 'content-length': _length, ...kept } = headers
    return { status: 304, headers: kept, body: 'none', encoding }
  }

  if (request.range !== undefined) {
    const outcome = resolveRange(parseRangeHeader(request.range), file.size)
    if (outcome.kind === 'unsatisfiable') {
      return {
        status: 416,
        headers: { ...headers, 'content-type': 'text/plain', 'content-range': `bytes */${file.size}`, 'content-length': '0' },
        body: 'none',
        encoding
      }
    }
    if (outcome.kind === 'partial') {
      return {
        status: 206,
        headers: {
          ...headers,
          'content-range': contentRange(outcome.start, outcome.end, file.size),
          'content-length': String(outcome.end - outcome.start + 1)
        },
        body: { start: outcome.start, end: outcome.end },
        encoding
      }
    }
  }
  return { status: 200, headers, body: 'full', encoding }
}
