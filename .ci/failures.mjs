// Prints the failed assertions of a TAP log, each under the names of the
// subtests that hold it, with the first lines of its diagnostics (message,
// expected and found, where). `.ci/run` prints this at the very end, just
// before its "N passed, M failed" line: CI shows only the last few hundred
// lines of a run, and the unit tests' thousands of "ok" lines came after
// npm test's failures, so a failed run said how many failed but not which.
//   node .ci/failures.mjs <tap log> [label]
import { readFileSync } from 'node:fs'

const MAX_FAILURES = 10 // the rest are counted, not shown: CI keeps about 300 lines
const MAX_DIAGNOSTIC_LINES = 10 // per failure
const DROPPED_KEYS = /^(source|typeName|columnNumber|methodName|functionName|isToplevel|tapCaught):/

const [file, label = file] = process.argv.slice(2)
const lines = readFileSync(file, 'utf8').split('\n')
const names = [] // names[level]: the subtest open at that indentation level
const failures = []
const indentOf = (line) => line.length - line.trimStart().length

for (let i = 0; i < lines.length; i++) {
  const line = lines[i]
  const subtest = /^(\s*)# Subtest: (.*)$/.exec(line)
  if (subtest !== null) {
    const level = subtest[1].length / 4
    names.length = level
    names[level] = subtest[2]
    continue
  }
  const failed = /^(\s*)not ok \d+ - (.*)$/.exec(line)
  // A line with "# time=" closes a subtest that failed: its failures are already listed.
  if (failed === null || / # time=[\d.]+m?s$/.test(line)) continue
  const level = failed[1].length / 4
  const diagnostics = []
  if (lines[i + 1]?.trim() === '---') {
    let skipping = false
    for (let j = i + 2; j < lines.length && lines[j].trim() !== '...'; j++) {
      const text = lines[j].slice(failed[1].length + 2)
      if (text.trim() === '') continue
      // A dropped key's block runs until the next line at the key's own indentation.
      if (indentOf(text) === 0) skipping = DROPPED_KEYS.test(text)
      if (!skipping && !DROPPED_KEYS.test(text.trim())) diagnostics.push(text)
    }
  }
  failures.push({ path: [...names.slice(0, level), failed[2]].join(' > '), diagnostics })
}

if (failures.length > 0) {
  console.log(`== failed in ${label}: ${failures.length}`)
  for (const { path, diagnostics } of failures.slice(0, MAX_FAILURES)) {
    console.log(`not ok: ${path}`)
    for (const text of diagnostics.slice(0, MAX_DIAGNOSTIC_LINES)) console.log(`    ${text}`)
    if (diagnostics.length > MAX_DIAGNOSTIC_LINES) console.log(`    (${diagnostics.length - MAX_DIAGNOSTIC_LINES} more lines in the log)`)
  }
  if (failures.length > MAX_FAILURES) console.log(`(${failures.length - MAX_FAILURES} more failures in the log)`)
}
