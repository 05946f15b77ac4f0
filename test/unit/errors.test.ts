import t from 'tap'
import { readFileSync } from 'node:fs'
import * as errors from '../../lib/shared/errors.js'

t.test('every coded error is documented in docs/errors.md and every documented code exists', async (t) => {
  const docs = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')
  const documented = new Set([...docs.matchAll(/^#+ `?(FDK_[A-Z_]+)`?/gm)].map((m) => m[1]))
  const defined = new Set(Object.keys(errors).filter((name) => name.startsWith('FDK_')))
  t.same([...defined].filter((code) => !documented.has(code)), [], 'codes missing from docs/errors.md')
  t.same([...documented].filter((code) => !defined.has(code!)), [], 'codes in docs but not in lib/shared/errors.ts')
  for (const code of defined) {
    const ErrorClass = (errors as Record<string, unknown>)[code] as new (...args: string[]) => Error & { code: string }
    t.equal(new ErrorClass('a', 'b', 'c').code, code)
  }
})
