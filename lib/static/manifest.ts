// The build-time asset manifest (`deploy-kit assets DIR`): every servable
// file's SHA-512, size and compressed siblings, computed once on the build
// machine. With `staticManifest` a process starts from it instead of hashing
// the tree, so every host issues the same URLs and ETags by construction.
// Also Vite's `.vite/manifest.json`. No Fastify here.
import { createHash } from 'node:crypto'
import { createReadStream, readFileSync } from 'node:fs'
import { readdir, realpath, stat, unlink } from 'node:fs/promises'
import { sep } from 'node:path'
import { FDK_STATIC_MANIFEST_INVALID, FDK_STATIC_MANIFEST_MISSING } from '../shared/errors.js'
import { contentTypeFor } from './mime.js'
import { isCompressible } from '../shared/compressible.js'
import {
  COMPRESSED_ENCODINGS, SIBLING_SUFFIX, compressTo, decodesTo, worthKeeping, type CompressedEncoding
} from './precompressed.js'
import { normalizeRequestPath } from './request-path.js'

export const MANIFEST_FORMAT = 'fastify-deploy-kit/assets@1'

export interface ManifestEntry {
  /** Full lowercase SHA-512 hex of the file's bytes. */
  hash: string
  size: number
  /** Compressed siblings written or checked by `deploy-kit assets`, as paths relative to the root. */
  representations: Partial<Record<CompressedEncoding, { file: string, size: number }>>
}

export interface AssetManifest {
  format: typeof MANIFEST_FORMAT
  files: Record<string, ManifestEntry>
}

const HASH = /^[0-9a-f]{128}$/

function isRecord (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function readJson (setting: string, path: string): unknown {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new FDK_STATIC_MANIFEST_MISSING(setting, JSON.stringify(path), (error as Error).message)
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new FDK_STATIC_MANIFEST_INVALID(setting, JSON.stringify(path), (error as Error).message)
  }
}

/** A manifest key or file name: a canonical path relative to the root, or undefined. */
function canonical (path: unknown): string | undefined {
  if (typeof path !== 'string') return undefined
  const normal = normalizeRequestPath(path, true)
  return normal.ok && normal.path === path ? path : undefined
}

/** Reads `deploy-kit assets` output; throws a coded error naming `staticManifest`. */
export function readAssetManifest (path: string): Map<string, ManifestEntry> {
  const json = readJson('staticManifest', path)
  const bad = (why: string): Error => new FDK_STATIC_MANIFEST_INVALID('staticManifest', JSON.stringify(path), why)
  if (!isRecord(json) || json.format !== MANIFEST_FORMAT || !isRecord(json.files)) {
    throw bad(`not a "${MANIFEST_FORMAT}" manifest; write one with \`deploy-kit assets DIR\``)
  }
  const entries = new Map<string, ManifestEntry>()
  for (const [name, entry] of Object.entries(json.files)) {
    if (canonical(name) === undefined || !isRecord(entry) || typeof entry.hash !== 'string' || !HASH.test(entry.hash) ||
      typeof entry.size !== 'number' || !Number.isInteger(entry.size) || entry.size < 0 || !isRecord(entry.representations)) {
      throw bad(`the entry for ${JSON.stringify(name)} is not { hash, size, representations }`)
    }
    entries.set(name, entry as unknown as ManifestEntry)
  }
  return entries
}

/** What a bundler manifest says: entry names → output files, and every file it named by content. */
export interface BundlerManifest {
  entries: Map<string, string>
  immutable: Set<string>
}

/**
 * Reads Vite's (Rollup's) `.vite/manifest.json`: `{ "src/main.ts": { "file":
 * "assets/main-4f9a.js", "css": [...], "assets": [...] }, ... }`. Exactly the
 * files listed there were named by the bundler from their content, so only
 * those get far-future caching without `?v=` — never a file that merely
 * looks hashed.
 */
export function readBundlerManifest (path: string): BundlerManifest {
  const json = readJson('staticBundlerManifest', path)
  const bad = (why: string): Error => new FDK_STATIC_MANIFEST_INVALID('staticBundlerManifest', JSON.stringify(path), why)
  if (!isRecord(json)) throw bad('not a Vite manifest (an object of chunks)')
  const entries = new Map<string, string>()
  const immutable = new Set<string>()
  for (const [name, chunk] of Object.entries(json)) {
    if (!isRecord(chunk) || canonical(chunk.file) === undefined) throw bad(`the chunk ${JSON.stringify(name)} has no relative "file"`)
    const file = chunk.file as string
    entries.set(name, file)
    immutable.add(file)
    for (const list of [chunk.css, chunk.assets]) {
      if (list === undefined) continue
      if (!Array.isArray(list) || !list.every((item) => canonical(item) !== undefined)) {
        throw bad(`the chunk ${JSON.stringify(name)} has a "css" or "assets" entry that is not a relative path`)
      }
      for (const item of list as string[]) immutable.add(item)
    }
  }
  return { entries, immutable }
}

export interface BuildOptions {
  /** Write `.br` / `.gz` siblings for compressible files of at least `minSize` bytes. */
  compress: boolean
  minSize: number
  /** The manifest's own path, never listed. */
  manifestPath: string
  /** Told about every file as it is done (progress output). */
  onFile?: (path: string, entry: ManifestEntry) => void
}

async function hashFile (path: string): Promise<string> {
  const hash = createHash('sha512')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/**
 * Hashes every file the plugin would serve (no dotfiles, no symlinks out of
 * the root) and, with `compress`, makes sure each compressible file has valid
 * siblings: an existing one is kept when it decodes to the file, otherwise it
 * is rewritten (or removed, when compression does not save 5%).
 */
export async function buildAssetManifest (root: string, options: BuildOptions): Promise<AssetManifest> {
  const files: Record<string, ManifestEntry> = {}
  // Sorted: the same tree always gives the same manifest, byte for byte.
  for (const path of (await listServable(root, '', options.manifestPath)).sort()) {
    const realPath = root + sep + path
    const { size, mode } = await stat(realPath)
    const hash = await hashFile(realPath)
    const entry: ManifestEntry = { hash, size, representations: {} }
    if (options.compress && size >= options.minSize && isCompressible(contentTypeFor(path))) {
      for (const encoding of COMPRESSED_ENCODINGS) {
        const sibling = realPath + SIBLING_SUFFIX[encoding]
        const existing = await stat(sibling).catch(() => undefined)
        let kept = existing !== undefined && worthKeeping(existing.size, size) && await decodesTo(sibling, encoding, hash, size)
          ? existing.size
          : undefined
        if (kept === undefined) {
          if (existing !== undefined) await unlink(sibling)
          // The file's own permissions (gzip -k does the same): whoever serves app.js (the app's
          // user, nginx gzip_static, a CDN origin) can read app.js.br too.
          kept = (await compressTo({ realPath, digest: hash, size }, encoding, sibling, { mode: mode & 0o777 }))?.size
        }
        if (kept !== undefined) entry.representations[encoding] = { file: path + SIBLING_SUFFIX[encoding], size: kept }
      }
    }
    files[path] = entry
    options.onFile?.(path, entry)
  }
  return { format: MANIFEST_FORMAT, files }
}

/** Files the plugin would serve, sorted; siblings of listed files are representations, not files. */
async function listServable (root: string, relative: string, manifestPath: string): Promise<string[]> {
  const dir = relative === '' ? root : root + sep + relative
  const entries = await readdir(dir, { withFileTypes: true })
  const names = new Set(entries.map((entry) => entry.name))
  const paths: string[] = []
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue
    if (/\.(?:br|gz)$/.test(entry.name) && names.has(entry.name.replace(/\.(?:br|gz)$/, ''))) continue
    const child = relative === '' ? entry.name : relative + '/' + entry.name
    const full = dir + sep + entry.name
    if (full === manifestPath) continue
    // Like the warm-up: real directories only (a symlinked one could loop);
    // a symlinked file when it stays inside the root (the plugin serves those).
    if (entry.isDirectory()) paths.push(...await listServable(root, child, manifestPath))
    else if (entry.isFile() || (entry.isSymbolicLink() && await insideRoot(root, full))) paths.push(child)
  }
  return paths
}

async function insideRoot (root: string, path: string): Promise<boolean> {
  try {
    const real = await realpath(path)
    return real.startsWith(root + sep) && (await stat(real)).isFile()
  } catch {
    return false // a dangling link
  }
}
