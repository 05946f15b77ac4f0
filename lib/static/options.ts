// The static plugin's settings: validated once at registration, each mistake
// a coded error naming the setting. No Fastify here.
import { realpathSync, statSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join, resolve } from 'node:path'
import { FDK_STATIC_PATH_MISSING } from '../shared/errors.js'
import {
  invalid, optionalBoolean, optionalInteger, optionalString, optionalStringArray, requirePlainObject
} from '../shared/settings.js'
import { readAssetManifest, readBundlerManifest, type BundlerManifest, type ManifestEntry } from './manifest.js'
import { normalizeRequestPath } from './request-path.js'
import { settingNames } from '../shared/declarations.js'

export interface StaticOptions {
  /** Directory to serve (Tornado `static_path`); must exist. Relative paths resolve against the working directory. */
  staticPath?: string | undefined
  /** URL prefix (Tornado `static_url_prefix`). Default `/static/`; must start and end with `/`. */
  staticUrlPrefix?: string
  /** Files under `staticPath` also served at the site root. Default `['robots.txt', 'favicon.ico']`. */
  staticRootAliases?: string[]
  /** Keep hashes and memory copies until restart (Tornado `static_hash_cache`). Default `!debug`. */
  staticHashCache?: boolean
  /** Hex digits of the SHA-512 used in `?v=` and ETags (16-128). Default 32 (128 bits). */
  staticHashLength?: number
  /** Serve files and directories whose name starts with a dot. Default false. */
  staticDotfiles?: boolean
  /** Files up to this many bytes are served from memory. Default 262144 (256 KiB). */
  staticMemoryFileLimit?: number
  /** Total bytes of memory copies (with their compressed variants). Default 67108864 (64 MiB). */
  staticMemoryBudget?: number
  /** `max-age` in seconds for root aliases. Default 3600. */
  staticRootAliasMaxAge?: number
  /** Hash (and load small files) in the background after `ready`. Default `staticHashCache`. */
  staticWarmup?: boolean
  /** Use `.br` / `.gz` siblings that decode to the file's bytes (nginx `gzip_static`, @fastify/static `preCompressed`). Default true. */
  staticPrecompressed?: boolean
  /** Where large compressible files are compressed once, in the background; `false`: never. Default `<tmpdir>/fastify-deploy-kit-<user>/compressed`. */
  staticCompressDir?: string | false
  /** Most bytes `staticCompressDir` may hold. Default 268435456 (256 MiB). */
  staticCompressDiskBudget?: number
  /** The `deploy-kit assets` manifest to start from instead of hashing (must exist). Default none. */
  staticManifest?: string
  /** Vite's `.vite/manifest.json` (relative paths resolve against `staticPath`). Default none. */
  staticBundlerManifest?: string
  /** Origin (and optional path) put in front of every `staticUrl()` (Rails `asset_host`), e.g. `https://cdn.example.com`. Default none. */
  staticUrlHost?: string
  /** File served for a directory URL (Tornado `default_filename`), e.g. `index.html`. Default none (403). */
  staticDefaultFilename?: string
  /** Development mode; `staticHashCache` defaults to its opposite. Default false. */
  debug?: boolean
}

// Declared once: the names, the defaults normalizeStaticOptions() reads and
// the rows of docs/static.md's settings table; `requires`: the umbrella
// refuses the setting without staticPath instead of ignoring it.
export const STATIC_SETTINGS = {
  staticPath: { shown: '— (required)', tornado: '`static_path`', doc: 'Directory to serve. Must exist and be a directory; a relative path resolves against the working directory. Its real path (symlinks resolved) is the root nothing may leave.' },
  staticUrlPrefix: { default: '/static/', tornado: '`static_url_prefix`', requires: 'staticPath', doc: 'URL prefix for the route and for `staticUrl()`. Must start and end with `/` (Tornado accepts `/assets` and then serves `/assetsa.txt`; we refuse it).' },
  staticRootAliases: { default: ['robots.txt', 'favicon.ico'], tornado: 'the automatic `/robots.txt` and `/favicon.ico` routes, plus explicit `StaticFileHandler` routes such as `/(apple-touch-icon\\.png)`', requires: 'staticPath', doc: 'Files of `staticPath` also served at `/<name>`. Add `apple-touch-icon.png`, `sitemap.xml`, …' },
  staticRootAliasMaxAge: { default: 3600, tornado: '—', requires: 'staticPath', doc: '`Cache-Control: public, max-age=…` for root aliases, which have no version in their URL.' },
  staticHashCache: { shown: '`!debug`', tornado: '`static_hash_cache`', requires: 'staticPath', doc: 'Keep hashes and memory copies until restart. Off (debug): an edited file gets a new hash, ETag and `?v=` on its next request.' },
  staticHashLength: { default: 32, tornado: '— (Tornado: 128)', requires: 'staticPath', doc: 'Hex digits of the SHA-512 used in `?v=` and in ETags, 16 to 128.' },
  staticDotfiles: { default: false, tornado: '— (Tornado serves them)', requires: 'staticPath', doc: 'Serve names starting with a dot (`.well-known/…`).' },
  staticMemoryFileLimit: { default: 256 * 1024, shown: '(256 KiB)', tornado: '—', requires: 'staticPath', doc: 'Files up to this size are served from memory.' },
  staticMemoryBudget: { default: 64 * 1024 * 1024, shown: '(64 MiB)', tornado: '—', requires: 'staticPath', doc: 'Total bytes of memory copies, including their gzip and brotli variants. Files beyond it are streamed.' },
  staticWarmup: { shown: '`staticHashCache`', tornado: '—', requires: 'staticPath', doc: 'After `ready`, hash every file (and load the small ones) in the background.' },
  staticPrecompressed: { default: true, tornado: '— (nginx `gzip_static`, @fastify/static `preCompressed`)', requires: 'staticPath', doc: 'Use a build\'s `app.js.br` / `app.js.gz` next to `app.js`, but only once it has been checked to decode to exactly `app.js`\'s bytes and only when it is at least 5% smaller (see below).' },
  staticCompressDir: { shown: '`<tmpdir>/fastify-deploy-kit-<user>/compressed`', tornado: '— (Rails: `config.assets.gzip` at build time)', requires: 'staticPath', doc: 'Where large compressible files without siblings are compressed once, in the background. `false`: never; they go out uncompressed. Created with mode 0700.' },
  staticCompressDiskBudget: { default: 256 * 1024 * 1024, shown: '(256 MiB)', tornado: '—', requires: 'staticPath', doc: 'Most bytes `staticCompressDir` may hold (what is already there counts); nothing is written beyond it.' },
  staticManifest: { tornado: '— (Rails: `config.assets.manifest`, the Sprockets manifest)', requires: 'staticPath', doc: 'Path of the `deploy-kit assets` manifest (relative: to the working directory). The plugin starts from it: no hashing at start, `staticUrl()` a map lookup from the first call. Must exist: [`FDK_STATIC_MANIFEST_MISSING`](errors.md#fdk_static_manifest_missing) at registration otherwise. Turns `staticWarmup` off unless it is set.' },
  staticBundlerManifest: { tornado: '— (whitenoise: `immutable_file_test`; Rails: `vite_ruby`\'s manifest)', requires: 'staticPath', doc: 'Vite\'s `.vite/manifest.json` (relative: to `staticPath`, where Vite writes it). `staticUrl(\'src/main.ts\')` returns the hashed output file; exactly the files listed are served far-future without `?v=`.' },
  staticUrlHost: { tornado: 'Rails `config.asset_host`', requires: 'staticPath', doc: '`https://cdn.example.com` (or `//host`, or with a path): put in front of every `staticUrl()`. Files are still served under the prefix, for the CDN to pull.' },
  staticDefaultFilename: { tornado: 'Tornado `default_filename`', requires: 'staticPath', doc: 'File served for a directory URL, e.g. `index.html`: `/static/docs/` serves `docs/index.html`, `/static/docs` answers `301` to `/static/docs/` (Tornado does both). Without it a directory is `403`.' },
  debug: { default: false, tornado: '`debug`', doc: 'Development mode; turns `staticHashCache` (and so `staticWarmup`) off unless they are set.' }
} as const

export const STATIC_SETTING_NAMES = settingNames<StaticOptions, typeof STATIC_SETTINGS>(STATIC_SETTINGS)

export interface NormalizedStaticOptions {
  root: string
  prefix: string
  aliases: string[]
  hashCache: boolean
  hashLength: number
  dotfiles: boolean
  memoryFileLimit: number
  memoryBudget: number
  aliasMaxAge: number
  warmup: boolean
  precompressed: boolean
  /** Absolute; undefined: no background compression. */
  compressDir: string | undefined
  compressDiskBudget: number
  /** Absolute path of the `deploy-kit assets` manifest, and what it says. */
  manifest: { path: string, entries: Map<string, ManifestEntry> } | undefined
  bundler: BundlerManifest | undefined
  /** No trailing slash: `https://cdn.example.com` or `https://cdn.example.com/app`. */
  urlHost: string | undefined
  defaultFilename: string | undefined
}

/** The default `staticCompressDir`: per user, so two users of one machine never share copies. */
export function defaultCompressDir (): string {
  return join(tmpdir(), `fastify-deploy-kit-${userInfo().username}`, 'compressed')
}

const ROUTER_SPECIAL = /[*:?#\s]/

export function normalizeStaticOptions (options: StaticOptions): NormalizedStaticOptions {
  const settings = requirePlainObject('staticPath', options) as StaticOptions
  const debug = optionalBoolean('debug', settings.debug, STATIC_SETTINGS.debug.default)
  if (typeof settings.staticPath !== 'string' || settings.staticPath === '') {
    throw invalid('staticPath', settings.staticPath, 'the path of an existing directory')
  }
  const wanted = resolve(settings.staticPath)
  let root: string
  try {
    root = realpathSync(wanted)
    if (!statSync(root).isDirectory()) throw new Error('not a directory')
  } catch (error) {
    throw new FDK_STATIC_PATH_MISSING(JSON.stringify(wanted), (error as Error).message)
  }
  const prefix = settings.staticUrlPrefix ?? STATIC_SETTINGS.staticUrlPrefix.default
  // "//" would make redirects (staticDefaultFilename) protocol-relative: another host.
  if (typeof prefix !== 'string' || !prefix.startsWith('/') || !prefix.endsWith('/') || ROUTER_SPECIAL.test(prefix) || prefix.includes('//')) {
    throw invalid('staticUrlPrefix', prefix, 'a path that starts and ends with "/" (e.g. "/static/")')
  }
  const dotfiles = optionalBoolean('staticDotfiles', settings.staticDotfiles, STATIC_SETTINGS.staticDotfiles.default)
  const aliases = optionalStringArray('staticRootAliases', settings.staticRootAliases, STATIC_SETTINGS.staticRootAliases.default)
  for (const alias of aliases) {
    const normal = normalizeRequestPath(alias, true)
    if (!normal.ok || normal.path !== alias || ROUTER_SPECIAL.test(alias)) {
      throw invalid('staticRootAliases', alias, 'file names relative to staticPath, such as "robots.txt"')
    }
  }
  const hashCache = optionalBoolean('staticHashCache', settings.staticHashCache, !debug)
  const manifestPath = optionalString('staticManifest', settings.staticManifest)
  const manifest = manifestPath === undefined ? undefined : { path: resolve(manifestPath), entries: readAssetManifest(resolve(manifestPath)) }
  const bundlerPath = optionalString('staticBundlerManifest', settings.staticBundlerManifest)
  const defaultFilename = optionalString('staticDefaultFilename', settings.staticDefaultFilename)
  if (defaultFilename !== undefined && (defaultFilename.includes('/') || normalizeRequestPath(defaultFilename, dotfiles).ok !== true)) {
    throw invalid('staticDefaultFilename', defaultFilename, 'a file name such as "index.html"')
  }
  const hashLength = optionalInteger('staticHashLength', settings.staticHashLength, STATIC_SETTINGS.staticHashLength.default, 16)
  if (hashLength > 128) throw invalid('staticHashLength', hashLength, 'an integer from 16 to 128')
  return {
    root,
    prefix,
    aliases: [...new Set(aliases)],
    hashCache,
    hashLength,
    dotfiles,
    memoryFileLimit: optionalInteger('staticMemoryFileLimit', settings.staticMemoryFileLimit, STATIC_SETTINGS.staticMemoryFileLimit.default),
    memoryBudget: optionalInteger('staticMemoryBudget', settings.staticMemoryBudget, STATIC_SETTINGS.staticMemoryBudget.default),
    aliasMaxAge: optionalInteger('staticRootAliasMaxAge', settings.staticRootAliasMaxAge, STATIC_SETTINGS.staticRootAliasMaxAge.default),
    // With a manifest nothing is hashed at start: files are checked on first use.
    warmup: optionalBoolean('staticWarmup', settings.staticWarmup, hashCache && manifest === undefined),
    precompressed: optionalBoolean('staticPrecompressed', settings.staticPrecompressed, STATIC_SETTINGS.staticPrecompressed.default),
    compressDir: compressDirOf(settings.staticCompressDir),
    compressDiskBudget: optionalInteger('staticCompressDiskBudget', settings.staticCompressDiskBudget, STATIC_SETTINGS.staticCompressDiskBudget.default),
    manifest,
    bundler: bundlerPath === undefined ? undefined : readBundlerManifest(resolve(root, bundlerPath)),
    urlHost: urlHostOf(settings.staticUrlHost),
    defaultFilename
  }
}

function compressDirOf (value: unknown): string | undefined {
  if (value === false) return undefined
  if (value === undefined) return defaultCompressDir()
  if (typeof value !== 'string' || value === '') throw invalid('staticCompressDir', value, 'a directory path, or false')
  return resolve(value)
}

/** `https://cdn.example.com`, `http://localhost:9000/assets` or `//cdn.example.com`; no query, no trailing slash. */
function urlHostOf (value: unknown): string | undefined {
  const host = optionalString('staticUrlHost', value)
  if (host === undefined) return undefined
  const expected = 'an origin such as "https://cdn.example.com" (http, https or "//host"; no query or fragment)'
  let url: URL
  try {
    url = new URL(host.startsWith('//') ? 'https:' + host : host)
  } catch {
    throw invalid('staticUrlHost', host, expected)
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search !== '' || url.hash !== '' ||
    url.username !== '' || url.password !== '' || /[?#\\\s]/.test(host)) {
    throw invalid('staticUrlHost', host, expected)
  }
  const origin = host.startsWith('//') ? '//' + url.host : url.origin
  return origin + url.pathname.replace(/\/+$/, '')
}
