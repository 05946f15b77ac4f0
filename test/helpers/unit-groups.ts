// `npm run test:unit` runs the unit test files a few to a process instead of
// one process each. Measured on this project's 2-CPU machines: a unit test
// file's own tests take 0.65 s on average (31 s for all 47), but a process of
// its own costs 1.2 s more before the first test runs (tap 0.28 s, its
// processinfo and mock hooks 0.3 s, the TypeScript loader's thread 0.09 s,
// source maps, Fastify), so one process per file spent two thirds of its
// time starting up. `npm test` still runs one process per file, with
// coverage: there each file is isolated from the others, here they share a
// process, so a file must leave nothing behind (listeners, environment,
// servers) that changes the next one, which `npm run test:unit` in .ci/run
// proves.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const UNIT = fileURLToPath(new URL('../unit/', import.meta.url))
/** How many processes: test/unit-groups/group-1.ts to group-<UNIT_GROUPS>.ts, one each. */
export const UNIT_GROUPS = 2

/** Every unit test file, relative to test/unit/, sorted. */
export function unitTestFiles (dir: string = UNIT): string[] {
  // readdirSync's recursive listing is already relative to `dir`.
  return (readdirSync(dir, { recursive: true }) as string[]).filter((file) => file.endsWith('.test.ts')).sort()
}

/**
 * Group `index` (1-based) of `count`: every count-th file, so each group
 * gets a share of every part of the suite; each file is in exactly one group.
 */
export function unitGroup (files: string[], index: number, count: number): string[] {
  return files.filter((_, position) => position % count === index - 1)
}

/** Imports group `index` into this process: its files' tests join tap's root, file after file. */
export async function runUnitGroup (index: number): Promise<void> {
  for (const file of unitGroup(unitTestFiles(), index, UNIT_GROUPS)) {
    await import(pathToFileURL(join(UNIT, file)).href)
  }
}
