// staticUrl(): Tornado's static_url(). Unlike Tornado the path is URL-encoded
// segment by segment (a file named "a b#1.css" still gets a working URL), and
// a missing file is logged once, not on every render.
import type { StaticStore } from './store.js'

export interface StaticUrlOptions {
  /** Append `?v=<content hash>`. Default true. */
  includeVersion?: boolean
}

const MAX_REMEMBERED_MISSES = 1000

export function encodeStaticPath (path: string): string {
  return path.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/')
}

/**
 * Builds the `staticUrl` helper. With `cacheUrls` (production) each versioned
 * URL is computed once and then read from a map: templates call this in hot
 * loops.
 */
export function createStaticUrl (
  store: StaticStore,
  prefix: string,
  cacheUrls: boolean,
  onMissing: (path: string) => void
): (path: string, options?: StaticUrlOptions) => string {
  const urls = new Map<string, string>()
  const missed = new Set<string>()

  function versioned (path: string): string {
    const base = prefix + encodeStaticPath(path)
    const version = store.versionSync(path.replace(/^\/+/, ''))
    if (version === undefined) {
      if (!missed.has(path) && missed.size < MAX_REMEMBERED_MISSES) {
        missed.add(path)
        onMissing(path)
      }
      return base
    }
    const url = base + '?v=' + version
    if (cacheUrls) urls.set(path, url)
    return url
  }

  return function staticUrl (path: string, options?: StaticUrlOptions): string {
    if (typeof path !== 'string') throw new TypeError('staticUrl(path): path must be a string')
    if (options?.includeVersion === false) return prefix + encodeStaticPath(path)
    return urls.get(path) ?? versioned(path)
  }
}
