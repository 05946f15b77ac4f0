// Conditional GET as Tornado does it (`StaticFileHandler.should_return_304`): If-None-Match wins
// over If-Modified-Since; weak comparison; `*` matches only as the first token.
// Unlike Tornado 6.2, a bad If-Modified-Since date is ignored (never a 500) and
// its time-zone offset is honoured.

const ETAG_TOKEN = /\*|(?:W\/)?"[^"]*"/g

/** True when If-None-Match names one of `etags` (weak comparison). */
export function etagMatches (ifNoneMatch: string, etags: readonly string[]): boolean {
  const tokens = ifNoneMatch.match(ETAG_TOKEN)
  if (tokens === null) return false
  if (tokens[0] === '*') return true
  for (const token of tokens) {
    const opaque = token.startsWith('W/') ? token.slice(2) : token
    if (etags.includes(opaque)) return true
  }
  return false
}

/** True when If-Modified-Since is a valid date at or after `mtimeSeconds`. */
export function notModifiedSince (ifModifiedSince: string, mtimeSeconds: number): boolean {
  const since = Date.parse(ifModifiedSince)
  if (Number.isNaN(since)) return false
  return Math.floor(since / 1000) >= mtimeSeconds
}
