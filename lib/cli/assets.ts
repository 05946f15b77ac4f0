// deploy-kit assets DIR: hashes the static tree once, at build time, writes
// compressed siblings where they help, and writes the manifest that
// `staticManifest` starts from (lib/static/manifest.ts), so no host hashes
// at start and every host issues the same URLs and ETags.
import { realpathSync, statSync } from 'node:fs'
import { rename, writeFile } from 'node:fs/promises'
import { resolve, sep } from 'node:path'
import { parseArgs } from 'node:util'
import type { CliIo } from './io.js'
import { buildAssetManifest } from '../static/manifest.js'
import { parseOptions, usageLines, type Flags } from './flags.js'

/** Where the manifest goes unless --manifest says otherwise: a dotfile, so the plugin never serves it. */
export const DEFAULT_MANIFEST = '.deploy-kit-assets.json'

/** The flags of `deploy-kit assets`, declared once: parseArgs options, --help lines, docs/cli.md rows and defaults. */
export const ASSETS_FLAGS = {
  manifest: { type: 'string', value: 'FILE', usage: `where to write it (default DIR/${DEFAULT_MANIFEST})`, shown: `\`DIR/${DEFAULT_MANIFEST}\``, doc: 'where to write the manifest (written through a rename: a starting server never reads half of it)' },
  'no-compress': { type: 'boolean', usage: 'only hash; leave siblings as they are', doc: 'only hash; siblings are neither written nor checked' },
  'min-size': { type: 'string', value: 'N', default: '1024', usage: 'compress files of at least N bytes', doc: 'compress files of at least N bytes (smaller ones are still listed)' },
  quiet: { type: 'boolean', short: 'q', usage: 'no summary line', doc: 'no summary line' },
  help: { type: 'boolean', short: 'h', usage: 'show this help' }
} as const satisfies Flags

export const USAGE = `Usage: deploy-kit assets DIR [options]

Hashes every file the static plugin would serve under DIR (no dotfiles, no
symlinks out of DIR), writes .br and .gz siblings for compressible files
where they save at least 5%, and writes the manifest for staticManifest.

Options:
${usageLines(ASSETS_FLAGS, 18)}`

export async function run (args: string[], io: CliIo): Promise<number> {
  let values, positionals
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: parseOptions(ASSETS_FLAGS)
    }))
    if (values.help !== true && positionals.length !== 1) throw new Error('one directory expected')
    if (values['min-size'] !== undefined && !/^\d+$/.test(values['min-size'])) throw new Error(`--min-size must be a non-negative integer, got "${values['min-size']}"`)
  } catch (error) {
    io.stderr(`deploy-kit assets: ${(error as Error).message}\n\n${USAGE}`)
    return 2
  }
  if (values.help === true) {
    io.stdout(USAGE)
    return 0
  }
  let root: string
  try {
    root = realpathSync(resolve(positionals[0] as string))
    if (!statSync(root).isDirectory()) throw new Error('not a directory')
  } catch (error) {
    io.stderr(`deploy-kit assets: ${JSON.stringify(positionals[0])} is not a directory (${(error as Error).message})\n`)
    return 1
  }
  const manifestPath = resolve(values.manifest ?? root + sep + DEFAULT_MANIFEST)
  const started = Date.now()
  let compressed = 0
  const manifest = await buildAssetManifest(root, {
    compress: values['no-compress'] !== true,
    minSize: Number(values['min-size'] ?? ASSETS_FLAGS['min-size'].default),
    manifestPath,
    onFile: (_path, entry) => { compressed += Object.keys(entry.representations).length }
  })
  // Through a rename: a server starting meanwhile reads the old or the new manifest, never half of one.
  const temporary = `${manifestPath}.${process.pid}.tmp`
  await writeFile(temporary, JSON.stringify(manifest, null, 1) + '\n')
  await rename(temporary, manifestPath)
  if (values.quiet !== true) {
    io.stdout(`deploy-kit assets: ${Object.keys(manifest.files).length} files, ${compressed} compressed siblings, ${Date.now() - started} ms -> ${manifestPath}\n`)
  }
  return 0
}
