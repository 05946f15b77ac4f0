// staticUrl(): Tornado's static_url(). Unlike Tornado the path is URL-encoded
// segment by segment (a file named "a b#1.css" still gets a working URL), and
// a missing file is logged once, not on every render. Also Rails' asset_host
// (`staticUrlHost`), Tornado's include_host, and bundler entry names.
import type { BundlerManifest } from './manifest.js'
import type { StaticStore } from './store.js'

export interface StaticUrlOptions {
  /** Append `?v=<content hash>`. Default true. */
  includeVersion?: boolean
  /** Absolute URL with the request's scheme and host (Tornado `include_host`); on `reply.staticUrl` only, unless `staticUrlHost` is set. Default false. */
  includeHost?: boolean
}

const MAX_REMEMBERED_MISSES = 1000

export function encodeStaticPath (path: string): string {
  return path.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/')
}

export interface StaticUrlConfig {
  store: StaticStore
  prefix: string
  /** Production: each versioned URL is computed once and then read from a map. */
  cacheUrls: boolean
  onMissing: (path: string) => void
  /** `staticUrlHost`, without a trailing slash. */
  urlHost?: string | undefined
  bundler?: BundlerManifest | undefined
}

export interface StaticUrlBuilder {
  /** `origin`: the request's `scheme://host`, for `includeHost`. */
  staticUrl: (path: string, options: StaticUrlOptions | undefined, origin: string | undefined) => string
  /** Drops every remembered URL (a manifest entry turned out wrong). */
  forget: () => void
}

export function createStaticUrl (config: StaticUrlConfig): StaticUrlBuilder {
  const { store, prefix, cacheUrls, onMissing, urlHost, bundler } = config
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

  function relative (path: string, options: StaticUrlOptions | undefined): string {
    if (bundler !== undefined) {
      // An entry name ("src/main.ts") is its output file; a file the bundler
      // named by content needs no ?v= (its name changes with its bytes).
      const file = bundler.entries.get(path) ?? bundler.entries.get(path.replace(/^\/+/, ''))
      if (file !== undefined) return prefix + encodeStaticPath(file)
      if (bundler.immutable.has(path.replace(/^\/+/, ''))) return prefix + encodeStaticPath(path)
    }
    if (options?.includeVersion === false) return prefix + encodeStaticPath(path)
    return urls.get(path) ?? versioned(path)
  }

  return {
    staticUrl (path, options, origin) {
      if (typeof path !== 'string') throw new TypeError('staticUrl(path): path must be a string')
      const url = relative(path, options)
      if (urlHost !== undefined) return urlHost + url
      if (options?.includeHost !== true) return url
      if (origin === undefined) {
        throw new TypeError('staticUrl(path, { includeHost: true }) needs a request: call reply.staticUrl(), or set staticUrlHost')
      }
      return origin + url
    },
    forget () { urls.clear() }
  }
}
