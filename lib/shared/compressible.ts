// What is worth compressing, for static files' precompressed variants and
// for compressResponse alike. Apart from mime.ts so that compressResponse
// alone does not load @fastify/send's mime table.

/** Tornado's compressible types (`GZipContentEncoding.CONTENT_TYPES`), plus text/* and web manifests. */
export const COMPRESSIBLE_TYPES = /^text\/|^application\/(?:javascript|x-javascript|xml|atom\+xml|json|xhtml\+xml|manifest\+json|wasm)|^image\/svg\+xml|^image\/x-icon|^image\/vnd\.microsoft\.icon/

export function isCompressible (contentType: string): boolean {
  return COMPRESSIBLE_TYPES.test(contentType)
}
