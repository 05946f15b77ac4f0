// Module hooks that run this repository's .ts files: each file is
// transpiled on its own with TypeScript's transpileModule (type-checking is
// `npm run typecheck`'s job, as it was with tap's ts-node, which ran
// transpile-only too), and the result is kept on disk under
// node_modules/.cache/fdk-ts/, keyed by a hash of everything that decides the
// output. A test process, and every process it launches, then reads
// JavaScript from the cache and never loads the TypeScript compiler unless a
// file changed: that was 1.5 s to 3 s per process with ts-node.
//
// Why transpileModule and not esbuild or tsx: it keeps comments, so c8's
// `/* c8 ignore */` hints still reach the coverage report. The output has an
// inline source map, so coverage and stack traces point at the .ts lines.
// Because every process serves a given URL the same bytes, V8 coverage
// recorded in launched processes merges soundly with the test process's.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const CACHE = fileURLToPath(new URL('../../../node_modules/.cache/fdk-ts/', import.meta.url))
// The emit-relevant part of tsconfig.json. module is ESNext, not NodeNext:
// transpileModule cannot see package.json's "type": "module" and would emit
// CommonJS for NodeNext.
const OPTIONS = { target: 'ES2022', module: 'ESNext', inlineSourceMap: true, inlineSources: true }
// Read, not imported: loading the compiler is what the cache saves.
const TS_VERSION = JSON.parse(readFileSync(require.resolve('typescript/package.json'), 'utf8')).version
// Bump when this file changes what it emits.
const LOADER_VERSION = '1'

let ts
function transpile (source, file) {
  ts ??= require('typescript')
  const compilerOptions = ts.convertCompilerOptionsFromJson(OPTIONS, '').options
  return ts.transpileModule(source, { fileName: file, compilerOptions }).outputText
}

function cached (file, source) {
  const key = createHash('sha256')
    .update(JSON.stringify([LOADER_VERSION, TS_VERSION, OPTIONS, file]))
    .update('\0')
    .update(source)
    .digest('hex')
  const entry = join(CACHE, key + '.js')
  try {
    return readFileSync(entry, 'utf8')
  } catch {}
  const output = transpile(source, file)
  // Two test processes may miss on the same file at once: each writes its
  // own temporary file and renames it into place, so a reader sees either
  // no file or a whole one.
  mkdirSync(CACHE, { recursive: true })
  const temporary = `${entry}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  writeFileSync(temporary, output)
  renameSync(temporary, entry)
  return output
}

// NodeNext TypeScript imports `./x.js` and means `./x.ts`: map it when the
// .ts exists (as ts-node does), for relative specifiers from our own files.
export async function resolve (specifier, context, next) {
  if (specifier.endsWith('.js') && (specifier.startsWith('./') || specifier.startsWith('../')) &&
      context.parentURL?.startsWith('file:') && !context.parentURL.includes('/node_modules/')) {
    const url = new URL(specifier.slice(0, -3) + '.ts', context.parentURL)
    if (existsSync(url)) return { url: url.href, format: 'module', shortCircuit: true }
  }
  return next(specifier, context)
}

// Our .ts files: not a dependency's (none ship .ts to run), query strings aside.
function ours (url) {
  if (!url.startsWith('file:')) return false
  const { pathname } = new URL(url)
  return pathname.endsWith('.ts') && !pathname.includes('/node_modules/')
}

export async function load (url, context, next) {
  if (ours(url)) {
    const file = fileURLToPath(url)
    return { format: 'module', source: cached(file, readFileSync(file, 'utf8')), shortCircuit: true }
  }
  return next(url, context)
}
