// Compressed copies of large files that live on disk: the `.br` / `.gz`
// siblings a build wrote next to a file, and the copies we compress ourselves,
// once, into a cache directory. No Fastify here.
//
// A sibling is never trusted by its name (nginx gzip_static and
// @fastify/static preCompressed do trust it): it is decompressed once and used
// only when it decodes to exactly the bytes whose hash we serve, and only when
// it is smaller (whitenoise keeps a compressed file only when it saves space).
// A stale `app.js.gz` left by an older build is simply ignored.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, type BigIntStats } from 'node:fs'
import { chmod, mkdir, readdir, rename, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  constants as zlibConstants, createBrotliCompress, createBrotliDecompress, createGunzip, createGzip
} from 'node:zlib'

export type CompressedEncoding = 'br' | 'gzip'

/** Brotli first: it is the smaller one, and clients that accept both prefer it. */
export const COMPRESSED_ENCODINGS: readonly CompressedEncoding[] = ['br', 'gzip']

/** File-name suffix of each encoding's sibling (`app.js.br`, `app.js.gz`). */
export const SIBLING_SUFFIX: Record<CompressedEncoding, string> = { br: '.br', gzip: '.gz' }

/** A compressed variant is kept only when it saves at least this fraction. */
export const MIN_SAVING = 0.05

/** A compressed file on disk, checked to decode to the file's current bytes. */
export interface DiskVariant {
  readonly realPath: string
  readonly size: number
  /** Its stat signature when checked: a change means it must be checked again. */
  readonly signature: string
}

export function signatureOf (stats: BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`
}

export function worthKeeping (compressedSize: number, size: number): boolean {
  return compressedSize <= size * (1 - MIN_SAVING)
}

function decompressor (encoding: CompressedEncoding): Transform {
  return encoding === 'br' ? createBrotliDecompress() : createGunzip()
}

/**
 * True when the compressed file at `path` decodes to exactly `size` bytes whose
 * SHA-512 is `digest`. Streams (bounded memory) and stops as soon as the output
 * grows past `size`, so a decompression bomb costs nothing.
 */
export async function decodesTo (path: string, encoding: CompressedEncoding, digest: string, size: number): Promise<boolean> {
  const hash = createHash('sha512')
  let seen = 0
  const sink = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      seen += chunk.length
      if (seen > size) {
        callback(new Error('decodes to more bytes than the file has'))
        return
      }
      hash.update(chunk)
      callback()
    }
  })
  try {
    await pipeline(createReadStream(path), decompressor(encoding), sink)
  } catch {
    return false // corrupt, truncated, too long, or gone
  }
  return seen === size && hash.digest('hex') === digest
}

/** What to compress: a file's real path and the hash its bytes must have. */
export interface CompressSource {
  realPath: string
  digest: string
  size: number
}

export interface CompressorOptions {
  /** Directory of the compressed copies; created (mode 0700) on first use. */
  dir: string
  /** Most bytes the directory may hold; nothing is written beyond it. */
  diskBudget: number
  onError: (error: unknown) => void
}

interface Job {
  source: CompressSource
  done: (variants: Partial<Record<CompressedEncoding, DiskVariant>>) => void
}

/** Files waiting for compression; beyond this a request is dropped (the file stays identity). */
export const MAX_QUEUED = 1000

function compressor (encoding: CompressedEncoding, size: number): Transform {
  if (encoding === 'gzip') return createGzip({ level: 9 })
  return createBrotliCompress({
    params: {
      [zlibConstants.BROTLI_PARAM_QUALITY]: zlibConstants.BROTLI_MAX_QUALITY,
      [zlibConstants.BROTLI_PARAM_SIZE_HINT]: size
    }
  })
}

/**
 * Compresses large files once, one file at a time, in the background: zlib
 * runs on libuv's thread pool, so the event loop only moves chunks; memory is
 * one read buffer and one compressor's window, whatever the file size. Copies
 * are named by content hash, so processes (cluster workers, restarts) share
 * them; a copy we did not write in this process is checked before use, like a
 * build's sibling.
 */
export class BackgroundCompressor {
  readonly options: CompressorOptions
  private readonly queue: Job[] = []
  private readonly queued = new Set<string>()
  private running = false
  private readonly stopping = new AbortController()
  /** Bytes in the directory: counted once from disk, then kept up to date. */
  private used: number | undefined

  constructor (options: CompressorOptions) {
    this.options = options
  }

  /** Queues `source` (once per digest); `done` gets the variants worth keeping. */
  schedule (source: CompressSource, done: Job['done']): void {
    if (this.queued.has(source.digest) || this.queued.size >= MAX_QUEUED || this.stopping.signal.aborted) return
    this.queued.add(source.digest)
    this.queue.push({ source, done })
    // drain() never rejects: every job's failure goes to onError.
    if (!this.running) this.drain().catch(this.options.onError)
  }

  /** True from `schedule()` until the file's compression finished (kept or not) or failed. */
  pending (digest: string): boolean {
    return this.queued.has(digest)
  }

  /** Resolves when the queue is empty. */
  async idle (): Promise<void> {
    while (this.running) await new Promise((resolve) => setImmediate(resolve))
  }

  /** Abandons the queue and the file being compressed (app close); resolves once nothing runs. */
  async stop (): Promise<void> {
    this.queue.length = 0
    this.stopping.abort()
    await this.idle()
  }

  private async drain (): Promise<void> {
    this.running = true
    try {
      for (let job = this.queue.shift(); job !== undefined; job = this.queue.shift()) {
        try {
          job.done(await this.compress(job.source))
        } catch (error) {
          if (!this.stopping.signal.aborted) this.options.onError(error)
        }
        this.queued.delete(job.source.digest)
      }
    } finally {
      this.running = false
    }
  }

  private async usedBytes (): Promise<number> {
    if (this.used === undefined) {
      await mkdir(this.options.dir, { recursive: true, mode: 0o700 })
      let total = 0
      for (const name of await readdir(this.options.dir)) {
        /* c8 ignore next -- a race: another process renamed or removed it between readdir and stat */
        total += (await stat(join(this.options.dir, name)).catch(() => ({ size: 0 }))).size
      }
      this.used = total
    }
    return this.used
  }

  private async compress (source: CompressSource): Promise<Partial<Record<CompressedEncoding, DiskVariant>>> {
    const found: Partial<Record<CompressedEncoding, DiskVariant>> = {}
    await this.usedBytes()
    for (const encoding of COMPRESSED_ENCODINGS) {
      const target = join(this.options.dir, source.digest.slice(0, 64) + SIBLING_SUFFIX[encoding])
      const existing = await stat(target, { bigint: true }).catch(() => undefined)
      if (existing !== undefined) {
        // Another process (or an earlier run) wrote it: check it like a sibling.
        if (worthKeeping(Number(existing.size), source.size) && await decodesTo(target, encoding, source.digest, source.size)) {
          found[encoding] = { realPath: target, size: Number(existing.size), signature: signatureOf(existing) }
          continue
        }
        await unlink(target) // not what its name says: write it again
      }
      // Compressed output never exceeds the input by more than a few bytes per
      // block; one file at a time, so nothing else is being written meanwhile.
      if ((this.used as number) + source.size + 1024 > this.options.diskBudget) continue
      const written = await this.write(source, encoding, target)
      if (written !== undefined) found[encoding] = written
    }
    return found
  }

  private async write (source: CompressSource, encoding: CompressedEncoding, target: string): Promise<DiskVariant | undefined> {
    const variant = await compressTo(source, encoding, target, { signal: this.stopping.signal })
    if (variant !== undefined) this.used = (this.used as number) + variant.size
    return variant
  }
}

/**
 * Compresses `source` into `target` (through a temporary file and a rename,
 * so readers never see half a file). Hashes what it reads: when the file no
 * longer has `source.digest`, or compression saves less than MIN_SAVING,
 * nothing is kept and the result is undefined. `mode`: the permissions of
 * the copy (default 0600, for the private compressed-copies directory).
 */
export async function compressTo (
  source: CompressSource, encoding: CompressedEncoding, target: string, options: { signal?: AbortSignal, mode?: number } = {}
): Promise<DiskVariant | undefined> {
  const { signal, mode } = options
  const temporary = `${target}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`
  const hash = createHash('sha512')
  let read = 0
  const tee = new Transform({
    transform (chunk: Buffer, _encoding, callback) {
      hash.update(chunk)
      read += chunk.length
      callback(null, chunk)
    }
  })
  try {
    await pipeline(
      createReadStream(source.realPath), tee, compressor(encoding, source.size), createWriteStream(temporary, { mode: 0o600 }),
      signal === undefined ? {} : { signal }
    )
    const size = (await stat(temporary)).size
    // The file changed while we read it, or compression does not pay: keep nothing.
    if (read !== source.size || hash.digest('hex') !== source.digest || !worthKeeping(size, source.size)) {
      await unlink(temporary)
      return undefined
    }
    // Exactly `mode`, whatever the umask: a build sibling must be readable by whoever may read the file.
    if (mode !== undefined) await chmod(temporary, mode)
    await rename(temporary, target)
    // After the rename: it changes the ctime, part of the signature.
    const stats = await stat(target, { bigint: true })
    return { realPath: target, size, signature: signatureOf(stats) }
  } catch (error) {
    await unlink(temporary).catch(() => {})
    throw error
  }
}
