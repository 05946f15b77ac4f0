// compressResponse, declared once: its name for the umbrella and the row of
// docs/compress.md's settings table (lib/shared/declarations.ts).
export const COMPRESS_SETTINGS = {
  compressResponse: { shown: 'off', tornado: '`compress_response` / `gzip`', doc: '`true`, or an object of @fastify/compress options merged over ours.' }
} as const
