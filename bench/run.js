// npm run bench: every benchmark in this folder, one after another.
import { readdirSync } from 'node:fs'
import { spawnSync } from 'node:child_process'

const only = process.argv[2]
const skip = new Set(['run.js', 'harness.js'])
const files = readdirSync(new URL('.', import.meta.url))
  .filter((name) => name.endsWith('.js') && !skip.has(name) && !name.endsWith('-server.js'))
  .filter((name) => only === undefined || name.startsWith(only))
  .sort()
for (const name of files) {
  console.log(`\n=== bench/${name}`)
  const result = spawnSync(process.execPath, [new URL(name, import.meta.url).pathname], { stdio: 'inherit' })
  if (result.status !== 0) process.exitCode = 1
}
