// npm run test:unit runs the unit test files in groups, one process each:
// every file must be in exactly one group, and every group must have its file.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { UNIT_GROUPS, unitGroup, unitTestFiles } from '../helpers/unit-groups.js'

t.test('the groups split the unit test files: each file in exactly one group', async (t) => {
  const files = unitTestFiles()
  t.ok(files.includes('unit-groups.test.ts'), 'this file is found')
  t.ok(files.includes('shared/python.test.ts'), 'so are the files in subfolders')
  const grouped = Array.from({ length: UNIT_GROUPS }, (_, i) => unitGroup(files, i + 1, UNIT_GROUPS))
  t.same(grouped.flat().sort(), files, 'every file once, none twice')
  for (const group of grouped) t.ok(group.length >= Math.floor(files.length / UNIT_GROUPS), 'groups share the files evenly')
})

t.test('test/unit-groups/ holds one entry file per group, each running its own group', async (t) => {
  const dir = new URL('../unit-groups/', import.meta.url)
  const entries = readdirSync(dir).sort()
  t.same(entries, Array.from({ length: UNIT_GROUPS }, (_, i) => `group-${i + 1}.ts`))
  entries.forEach((entry, i) => {
    t.match(readFileSync(new URL(entry, dir), 'utf8'), new RegExp(`^await runUnitGroup\\(${i + 1}\\)$`, 'm'), entry)
  })
})

t.test('unitTestFiles() lists only test files, relative and sorted', async (t) => {
  const dir = t.testdir({ 'b.test.ts': '', 'a.test.ts': '', 'helper.ts': '', sub: { 'c.test.ts': '' } })
  t.same(unitTestFiles(dir), ['a.test.ts', 'b.test.ts', 'sub/c.test.ts'])
})
