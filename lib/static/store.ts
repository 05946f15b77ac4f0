// The static file store: content hashes (for `?v=` and ETags), the in-memory
// copies of small files with their gzip and brotli variants, and the checks
// that keep every byte inside the static root. No Fastify here.
//
// Tornado hashes on first use and caches forever (or clears everything on
// every request in debug). We hash on first use too, but remember the file's
// stat signature with the hash: in debug mode an edited file is re-hashed on
// its next request, and a large streamed file is re-checked on every request
// in any mode, so an ETag never describes bytes we no longer send.
import { createHash } from 'node:crypto'
import { createReadStream, readFileSync, realpathSync, statSync, type BigIntStats } from 'node:fs'
import { readFile, readdir, realpath, stat } from 'node:fs/promises'
import { sep } from 'node:path'
import { promisify } from 'node:util'
import { brotliCompress, brotliDecompress, constants as zlibConstants, gunzip, gzip } from 'node:zlib'
import { contentTypeFor } from './mime.js'
import { isCompressible } from '../shared/compressible.js'
import {
  COMPRESSED_ENCODINGS, SIBLING_SUFFIX, decodesTo, signatureOf, worthKeeping,
  type BackgroundCompressor, type CompressedEncoding, type DiskVariant
} from './precompressed.js'
import type { ManifestEntry } from './manifest.js'
import { normalizeRequestPath } from './request-path.js'

const gzipAsync = promisify(gzip)
const brotliAsync = promisify(brotliCompress)
const gunzipAsync = promisify(gunzip)
const brotliDecompressAsync = promisify(brotliDecompress)

export type Encoding = 'br' | 'gzip' | 'identity'

export interface StaticFile {
  /** Canonical path relative to the root, e.g. `css/site.css`. */
  readonly path: string
  readonly realPath: string
  readonly size: number
  readonly mtimeSeconds: number
  /** dev, inode, size, mtime and ctime in nanoseconds: changes whenever the file does. */
  readonly signature: string
  /** Full lowercase SHA-512 hex of the content: Tornado's `?v=` and ETag. */
  readonly digest: string
  /** The `?v=` value we issue: the first `hashLength` hex digits of `digest`. */
  readonly version: string
  readonly lastModified: string
  readonly contentType: string
  /** The bytes, for files served from memory; null for streamed files. */
  readonly body: Buffer | null
  /** Precompressed variants of `body` that are worth sending. */
  readonly variants: Partial<Record<CompressedEncoding, Buffer>>
  /** Compressed copies on disk of a streamed file (build siblings or our cache), checked once. */
  readonly onDisk: Partial<Record<CompressedEncoding, DiskVariant>>
  /** ETag per representation: identity `"v"`, gzip `"v-gzip"`, brotli `"v-br"`. */
  readonly etags: Record<Encoding, string>
  /**
   * What If-None-Match may name for a 304: `etags`, plus Tornado's ETag for
   * the same bytes (`"<digest>"`, all 128 digits) when `version` is shorter,
   * so a browser that cached the file from a Tornado host of a mixed fleet
   * revalidates here without downloading it again (docs/tornado.md).
   */
  readonly matchingEtags: readonly string[]
  /** Response headers per cache policy and encoding, built once (lib/static/response.ts). */
  readonly headerCache: Map<string, Record<string, string>>
}

export interface StoreOptions {
  /** Absolute, symlink-free path of the static root. */
  root: string
  allowDotfiles: boolean
  /** Production: hashes and memory copies are kept until restart. */
  hashCache: boolean
  hashLength: number
  memoryFileLimit: number
  memoryBudget: number
  /** Use `.br` / `.gz` siblings that decode to the file's bytes. */
  precompressed: boolean
  /** Compresses large files without siblings in the background; none: they stay identity. */
  compressor?: BackgroundCompressor
  /** Told when a background compression of `path` finished, with the encodings kept. */
  onCompressed?: (path: string, encodings: CompressedEncoding[]) => void
  /** The `deploy-kit assets` manifest: versions known without reading a file. */
  manifest?: { path: string, entries: Map<string, ManifestEntry> }
  /** Told once when a file's bytes are not what its manifest entry says. */
  onManifestMismatch?: (path: string, listed: string, actual: string) => void
}

/** `directory`: a directory inside the root (403, or its default file); 403: a traversal. */
export type OpenResult = StaticFile | 403 | 404 | 'directory'

// Every store of this process, for the launcher's metrics (lib/cluster/metrics.ts);
// on globalThis so a second copy of this module (lib/ and dist/) shares it.
const STORES = Symbol.for('fastify-deploy-kit.staticStores')
const storeHolder = globalThis as { [STORES]?: Set<StaticStore> }

/** The live stores (added when created, removed by close()). */
export function staticStores (): Set<StaticStore> {
  storeHolder[STORES] ??= new Set()
  return storeHolder[STORES]
}

export class StaticStore {
  readonly options: StoreOptions
  /** Bytes held by memory copies and their variants. */
  memoryUsed = 0
  /** Answered from memory with no disk check / had to look at the disk. */
  hits = 0
  misses = 0
  private readonly files = new Map<string, StaticFile>()
  private readonly loading = new Map<string, Promise<OpenResult>>()
  private readonly urlVersions = new Map<string, { signature: string, version: string }>()

  constructor (options: StoreOptions) {
    this.options = options
    staticStores().add(this)
  }

  /** Leaves the metrics' list (the plugin's onClose). */
  close (): void {
    staticStores().delete(this)
  }

  /** The hot path: a memory copy that needs no check (production only). */
  hot (path: string): StaticFile | undefined {
    const file = this.files.get(path)
    if (file === undefined || file.body === null || !this.options.hashCache) return undefined
    this.hits++
    return file
  }

  /** Finds, checks and (when needed) loads the file a client asked for. */
  async open (requested: string): Promise<OpenResult> {
    const normal = normalizeRequestPath(requested, this.options.allowDotfiles)
    if (!normal.ok) return normal.status
    const path = normal.path
    const known = this.hot(path)
    if (known !== undefined) return known
    this.misses++
    const pending = this.loading.get(path)
    if (pending !== undefined) return await pending
    const load = this.check(path).finally(() => this.loading.delete(path))
    this.loading.set(path, load)
    return await load
  }

  private async check (path: string): Promise<OpenResult> {
    let realPath: string
    let stats: BigIntStats
    try {
      realPath = await realpath(this.options.root + sep + path)
      stats = await stat(realPath, { bigint: true })
    } catch {
      return 404 // missing, or a path through a file (ENOTDIR), or unreadable
    }
    const refusal = this.refuse(realPath, stats)
    if (refusal !== undefined) return refusal
    const known = this.files.get(path)
    if (known !== undefined && known.signature === signatureOf(stats)) return known
    return await this.load(path, realPath, stats)
  }

  /** Symlinks may not leave the root (404, as if absent); directories are not listed. */
  private refuse (realPath: string, stats: BigIntStats): 403 | 404 | 'directory' | undefined {
    if (!realPath.startsWith(this.options.root + sep)) return 404
    if (realPath === this.options.manifest?.path) return 404 // the manifest describes files; it is not one
    if (stats.isDirectory()) return 'directory'
    if (!stats.isFile()) return 403
    return undefined
  }

  private async load (path: string, realPath: string, stats: BigIntStats): Promise<StaticFile> {
    const size = Number(stats.size)
    const previous = this.files.get(path)
    const previousBytes = previous === undefined ? 0 : memoryBytes(previous)
    const fitsInMemory = size <= this.options.memoryFileLimit &&
      this.memoryUsed - previousBytes + size <= this.options.memoryBudget
    const contentType = contentTypeFor(path)
    let body: Buffer | null = null
    let digest: string
    const variants: StaticFile['variants'] = {}
    const onDisk: StaticFile['onDisk'] = {}
    const compressible = isCompressible(contentType)
    if (fitsInMemory) {
      body = await readFile(realPath)
      digest = createHash('sha512').update(body).digest('hex')
      if (compressible) {
        if (this.options.precompressed) Object.assign(variants, await this.memorySiblings(path, body))
        Object.assign(variants, await compressVariants(body, COMPRESSED_ENCODINGS.filter((e) => variants[e] === undefined)))
      }
    } else {
      digest = await hashStream(realPath)
      if (compressible && this.options.precompressed) Object.assign(onDisk, await this.diskSiblings(path, digest, size))
    }
    this.checkManifest(path, digest)
    const file = this.describe(path, realPath, stats, digest, contentType, body, variants, onDisk)
    this.files.set(path, file)
    this.memoryUsed += memoryBytes(file) - previousBytes
    if (this.memoryUsed > this.options.memoryBudget && body !== null) {
      // The variants pushed us over: keep the file but stream it instead.
      this.memoryUsed -= memoryBytes(file)
      this.files.set(path, { ...file, body: null, variants: {} })
    }
    const stored = this.files.get(path) as StaticFile
    if (stored.body === null && compressible && Object.keys(onDisk).length === 0 && this.options.compressor !== undefined) {
      this.options.compressor.schedule(stored, (found) => { this.attach(path, digest, found) })
    }
    return stored
  }

  /**
   * A manifest entry is believed for `staticUrl()` until the file is first
   * loaded; from then on the real hash counts. A wrong entry is reported once
   * and dropped, so its hash never again reaches a URL, and a request with
   * the wrong `?v=` is never cached far-future (it is not the file's hash).
   */
  private checkManifest (path: string, digest: string): void {
    const entries = this.options.manifest?.entries
    const listed = entries?.get(path)
    if (listed === undefined || listed.hash === digest) return
    entries?.delete(path)
    this.options.onManifestMismatch?.(path, listed.hash, digest)
  }

  /** Adds compressed copies made in the background, if the file is still the one they were made from. */
  private attach (path: string, digest: string, found: StaticFile['onDisk']): void {
    const file = this.files.get(path)
    if (file !== undefined && file.digest === digest && Object.keys(found).length > 0) {
      this.files.set(path, { ...file, onDisk: { ...file.onDisk, ...found }, headerCache: new Map() })
    }
    this.options.onCompressed?.(path, COMPRESSED_ENCODINGS.filter((encoding) => found[encoding] !== undefined))
  }

  /** True while a streamed file waits for its background compression (it has no compressed copy yet). */
  compressing (file: StaticFile): boolean {
    // The digest alone is not enough: another path with the same bytes may be the one queued.
    return file.body === null && Object.keys(file.onDisk).length === 0 && this.options.compressor?.pending(file.digest) === true
  }

  /**
   * Forgets a compressed copy that changed on disk since it was checked (the
   * caller found out when opening it); the next load checks the siblings again.
   */
  dropDiskVariant (file: StaticFile, encoding: CompressedEncoding): StaticFile {
    const { [encoding]: _dropped, ...kept } = file.onDisk
    const updated = { ...file, onDisk: kept, headerCache: new Map() }
    this.files.delete(file.path)
    return updated
  }

  /** A sibling `path + suffix` that is a regular file inside the root, or undefined. */
  private async sibling (path: string, encoding: CompressedEncoding): Promise<{ realPath: string, stats: BigIntStats } | undefined> {
    try {
      const realPath = await realpath(this.options.root + sep + path + SIBLING_SUFFIX[encoding])
      const stats = await stat(realPath, { bigint: true })
      if (this.refuse(realPath, stats) !== undefined) return undefined
      return { realPath, stats }
    } catch {
      return undefined
    }
  }

  /** Siblings of a memory file: read, decompressed and compared with `body` once. */
  private async memorySiblings (path: string, body: Buffer): Promise<StaticFile['variants']> {
    const found: StaticFile['variants'] = {}
    for (const encoding of COMPRESSED_ENCODINGS) {
      const sibling = await this.sibling(path, encoding)
      if (sibling === undefined || !worthKeeping(Number(sibling.stats.size), body.length)) continue
      const compressed = await readFile(sibling.realPath)
      const decode = encoding === 'br' ? brotliDecompressAsync : gunzipAsync
      // maxOutputLength: a sibling that decodes to more than the file is wrong, and stops there.
      const decoded = await decode(compressed, { maxOutputLength: body.length + 1 }).catch(() => undefined)
      if (decoded?.equals(body) === true) found[encoding] = compressed
    }
    return found
  }

  /** Siblings of a streamed file: each decompressed once (streaming) and hashed. */
  private async diskSiblings (path: string, digest: string, size: number): Promise<StaticFile['onDisk']> {
    const found: Partial<Record<CompressedEncoding, DiskVariant>> = {}
    for (const encoding of COMPRESSED_ENCODINGS) {
      const sibling = await this.sibling(path, encoding)
      if (sibling === undefined || !worthKeeping(Number(sibling.stats.size), size)) continue
      if (await decodesTo(sibling.realPath, encoding, digest, size)) {
        found[encoding] = { realPath: sibling.realPath, size: Number(sibling.stats.size), signature: signatureOf(sibling.stats) }
      }
    }
    return found
  }

  private describe (
    path: string, realPath: string, stats: BigIntStats, digest: string,
    contentType: string, body: Buffer | null, variants: StaticFile['variants'], onDisk: StaticFile['onDisk']
  ): StaticFile {
    const version = digest.slice(0, this.options.hashLength)
    const mtimeSeconds = Number(stats.mtimeMs / 1000n)
    return {
      path,
      realPath,
      size: Number(stats.size),
      mtimeSeconds,
      signature: signatureOf(stats),
      digest,
      version,
      lastModified: new Date(mtimeSeconds * 1000).toUTCString(),
      contentType,
      body,
      variants,
      onDisk,
      etags: { identity: `"${version}"`, gzip: `"${version}-gzip"`, br: `"${version}-br"` },
      matchingEtags: [`"${version}"`, `"${version}-gzip"`, `"${version}-br"`, ...(version === digest ? [] : [`"${digest}"`])],
      headerCache: new Map()
    }
  }

  /**
   * The `?v=` for `staticUrl()`, synchronously as templates need it: a map
   * lookup once known; the first call for a file reads and hashes it (Tornado
   * does the same). Undefined when the path is not a servable file.
   */
  versionSync (requested: string): string | undefined {
    const normal = normalizeRequestPath(requested, this.options.allowDotfiles)
    if (!normal.ok) return undefined
    const path = normal.path
    if (this.options.hashCache) {
      const known = this.files.get(path)?.version ?? this.urlVersions.get(path)?.version ??
        this.options.manifest?.entries.get(path)?.hash.slice(0, this.options.hashLength)
      if (known !== undefined) return known
    }
    let realPath: string
    let stats: BigIntStats
    try {
      realPath = realpathSync(this.options.root + sep + path)
      stats = statSync(realPath, { bigint: true })
    } catch {
      return undefined
    }
    if (this.refuse(realPath, stats) !== undefined) return undefined
    const signature = signatureOf(stats)
    const known = this.files.get(path)
    if (known !== undefined && known.signature === signature) return known.version
    const remembered = this.urlVersions.get(path)
    if (remembered !== undefined && remembered.signature === signature) return remembered.version
    const digest = createHash('sha512').update(readFileSync(realPath)).digest('hex')
    const version = digest.slice(0, this.options.hashLength)
    this.urlVersions.set(path, { signature, version })
    return version
  }

  /**
   * Hashes every file under the root in the background (production start-up),
   * a few at a time, so `staticUrl()` is a map lookup from the first page and
   * the event loop is never held for long. Stops early when `isStopped()`.
   */
  async warm (isStopped: () => boolean, concurrency = 4): Promise<number> {
    const paths = await this.list('')
    let next = 0
    let loaded = 0
    const worker = async (): Promise<void> => {
      while (next < paths.length && !isStopped()) {
        if (typeof await this.open(paths[next++] as string) === 'object') loaded++
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    return loaded
  }

  private async list (relative: string): Promise<string[]> {
    const entries = await readdir(relative === '' ? this.options.root : this.options.root + sep + relative, { withFileTypes: true })
    const paths: string[] = []
    const names = new Set(entries.map((entry) => entry.name))
    for (const entry of entries) {
      if (entry.name.startsWith('.') && !this.options.allowDotfiles) continue
      // app.js.br next to app.js is app.js's representation, loaded with it.
      if (this.options.precompressed && /\.(?:br|gz)$/.test(entry.name) && names.has(entry.name.replace(/\.(?:br|gz)$/, ''))) continue
      const child = relative === '' ? entry.name : relative + '/' + entry.name
      if (entry.isDirectory()) paths.push(...await this.list(child))
      else if (entry.isFile()) paths.push(child)
    }
    return paths
  }
}

function memoryBytes (file: StaticFile): number {
  if (file.body === null) return 0
  return file.body.length + (file.variants.gzip?.length ?? 0) + (file.variants.br?.length ?? 0)
}

async function compressVariants (body: Buffer, wanted: CompressedEncoding[]): Promise<StaticFile['variants']> {
  const [gzipped, brotli] = await Promise.all([
    wanted.includes('gzip') ? gzipAsync(body, { level: 9 }) : undefined,
    !wanted.includes('br')
      ? undefined
      : brotliAsync(body, {
        params: {
          [zlibConstants.BROTLI_PARAM_QUALITY]: zlibConstants.BROTLI_MAX_QUALITY,
          [zlibConstants.BROTLI_PARAM_SIZE_HINT]: body.length,
          // A window no larger than the file: same output size, a third of the time for small files.
          [zlibConstants.BROTLI_PARAM_LGWIN]: Math.min(24, Math.max(10, Math.ceil(Math.log2(body.length + 1))))
        }
      })
  ])
  const variants: StaticFile['variants'] = {}
  if (gzipped !== undefined && worthKeeping(gzipped.length, body.length)) variants.gzip = gzipped
  if (brotli !== undefined && worthKeeping(brotli.length, body.length)) variants.br = brotli
  return variants
}

async function hashStream (path: string): Promise<string> {
  const hash = createHash('sha512')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}
