// npm run bench: every benchmark in this folder, one after another.
import { readdirSync } from 'node:fs'
import { spawnSync } from 'node:child_process'

const only = process.argv[2]
const files = readdirSync(new URL('.', import.meta.url))
  // The runner itself and the shared modules (harness.js, profile-harness.js) are no benchmarks.
  .filter((name) => name.endsWith('.js') && name !== 'run.js' && !name.endsWith('harness.js') && !name.endsWith('-server.js'))
  .filter((name) => only === undefined || name.startsWith(only))
  .sort()
for (const name of files) {
  console.log(`\n=== bench/${name}`)
  const result = spawnSync(process.execPath, [new URL(name, import.meta.url).pathname], { stdio: 'inherit' })
  if (result.status !== 0) process.exitCode = 1
}
