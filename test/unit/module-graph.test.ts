// The shape of lib/'s imports, read with TypeScript's own pre-processor (so
// `import type`, re-exports and dynamic `import()` all count): no module
// imports the module of a folder it sits in (lib/cluster/x.ts must not import
// lib/cluster.ts: types shared by a folder live in that folder, e.g.
// lib/cluster/types.ts, lib/cli/io.ts), and no import cycle at all, type-only
// ones included. Each failure names the files, so the fix is one hop away.
// And lib/'s comments cite Tornado by function (`StaticFileHandler.get`),
// never by a section of a specification that is not in the package.
import t from 'tap'
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const lib = fileURLToPath(new URL('../../lib/', import.meta.url))

function sources (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? sources(path) : entry.name.endsWith('.ts') ? [path] : []
  })
}

const files = sources(lib)
const known = new Set(files)
/** lib-relative path → the lib-relative paths it imports (relative specifiers only: packages are not ours). */
const graph = new Map<string, string[]>()
for (const file of files) {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
  const targets = importedFiles
    .map((imported) => imported.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => resolve(dirname(file), name.replace(/\.js$/, '.ts')))
  for (const target of targets) {
    if (!known.has(target)) throw new Error(`${relative(lib, file)} imports ${relative(lib, target)}, which is not a file of lib/`)
  }
  graph.set(relative(lib, file), [...new Set(targets.map((target) => relative(lib, target)))])
}

t.test('the import graph was read: every plugin and folder module is in it, with its imports', async (t) => {
  t.ok(graph.size > 40, `${graph.size} modules`)
  t.ok(graph.get('index.ts')?.includes('static.ts'), 'the umbrella imports the static plugin')
  t.ok(graph.get('cli/main.ts')?.includes('cli/nginx.ts'), 'dynamic imports count: main.ts loads cli/nginx.ts with import()')
  t.ok(graph.get('cluster/worker.ts')?.includes('cluster/types.ts'), 'type-only imports count')
})

t.test('no module imports the module of a folder it is in (lib/cluster/*.ts never imports lib/cluster.ts)', async (t) => {
  const offending: string[] = []
  for (const [file, targets] of graph) {
    const folders: string[] = []
    for (let dir = dirname(file); dir !== '.'; dir = dirname(dir)) folders.push(dir + '.ts')
    for (const target of targets) if (folders.includes(target)) offending.push(`${file} imports ${target}`)
  }
  t.same(offending, [], 'move what they share into the folder (e.g. lib/cluster/types.ts)')
})

t.test('lib/ has no import cycle, type-only and dynamic imports included', async (t) => {
  const cycles: string[] = []
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  function visit (file: string): void {
    state.set(file, 'open')
    path.push(file)
    for (const target of graph.get(file) ?? []) {
      if (state.get(target) === 'open') cycles.push([...path.slice(path.indexOf(target)), target].join(' -> '))
      else if (state.get(target) === undefined) visit(target)
    }
    path.pop()
    state.set(file, 'done')
  }
  for (const file of [...graph.keys()].sort()) if (state.get(file) === undefined) visit(file)
  t.same(cycles, [], 'a type shared both ways belongs in a module of its own (e.g. lib/cli/io.ts)')
})

t.test('lib/ comments name the Tornado function, never a "§" section of a document the package does not ship', async (t) => {
  const citations = files.flatMap((file) => readFileSync(file, 'utf8').split('\n')
    .map((line, index) => ({ line, at: `${relative(lib, file)}:${index + 1}` }))
    .filter(({ line }) => line.includes('\u00a7'))
    .map(({ line, at }) => `${at}: ${line.trim()}`))
  t.same(citations, [])
})
