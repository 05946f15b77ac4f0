// Single byte ranges exactly as Tornado's StaticFileHandler reads them
// (`StaticFileHandler.get` with `httputil._parse_request_range`): lenient integers, one range only (a list is ignored and
// the whole file sent, never multipart/byteranges), and a range covering the
// whole file answered with a plain 200 because some browsers reject a 206 there.

/** [start, endExclusive] as Tornado parses them; null = the header is ignored. */
export type ParsedRange = [number | null, number | null]

const LENIENT_INTEGER = /^[+-]?\d+$/

function parseInteger (text: string): number | null | undefined {
  const trimmed = text.trim()
  if (trimmed === '') return null
  if (!LENIENT_INTEGER.test(trimmed)) return undefined
  return Number(trimmed)
}

/** Parses a Range header value; `null` when it must be ignored. */
export function parseRangeHeader (header: string): ParsedRange | null {
  const equals = header.indexOf('=')
  if (equals === -1 || header.slice(0, equals).trim() !== 'bytes') return null
  const spec = header.slice(equals + 1)
  // Python's str.partition: no "-" means everything is the start.
  const dash = spec.indexOf('-')
  const start = parseInteger(dash === -1 ? spec : spec.slice(0, dash))
  const end = dash === -1 ? null : parseInteger(spec.slice(dash + 1))
  if (start === undefined || end === undefined) return null
  if (start === null) {
    // "-n": the last n bytes, kept negative like Tornado; "-0" is a zero suffix.
    if (end === null) return [null, null]
    return end === 0 ? [null, 0] : [-end, null]
  }
  return [start, end === null ? null : end + 1]
}

export type RangeOutcome =
  | { kind: 'full' }
  | { kind: 'partial', start: number, end: number }
  | { kind: 'unsatisfiable' }

/** What to send for a parsed range on a file of `size` bytes; `end` inclusive. */
export function resolveRange (range: ParsedRange | null, size: number): RangeOutcome {
  if (range === null) return { kind: 'full' }
  let [start, end] = range
  if (start === null && end === null) return { kind: 'full' }
  if (start === null) return { kind: 'unsatisfiable' } // "-0"
  if (start < 0) start = Math.max(0, size + start)
  if (end !== null && end > size) end = size
  const endExclusive = end ?? size
  if (start >= size || start >= endExclusive) return { kind: 'unsatisfiable' }
  if (start === 0 && endExclusive === size) return { kind: 'full' }
  return { kind: 'partial', start, end: endExclusive - 1 }
}

/** Content-Range for a partial response, e.g. `bytes 1-2/4`. */
export function contentRange (start: number, end: number, size: number): string {
  return `bytes ${start}-${end}/${size}`
}
