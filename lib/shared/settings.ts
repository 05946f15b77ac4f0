// Small validators shared by every plugin's normalizeXOptions(): each names the
// setting, shows what it received and says what it expected, so a mistake in
// register() reads as a sentence instead of a stack trace.
import { FDK_SETTINGS_INVALID, FDK_SETTINGS_UNKNOWN } from './errors.js'
import { invalidOption } from './invalid-option.js'

export function invalid (name: string, value: unknown, expected: string): Error {
  return invalidOption(FDK_SETTINGS_INVALID, 'setting', name, value, expected)
}

export function optionalBoolean (name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw invalid(name, value, 'a boolean')
  return value
}

export function optionalString (name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') throw invalid(name, value, 'a non-empty string')
  return value
}

export function optionalInteger (name: string, value: unknown, fallback: number, min = 0): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw invalid(name, value, `an integer >= ${min}`)
  }
  return value
}

export function optionalStringArray (name: string, value: unknown, fallback: readonly string[]): string[] {
  if (value === undefined) return [...fallback]
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
    throw invalid(name, value, 'an array of non-empty strings')
  }
  return [...value]
}

export function requirePlainObject (name: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {}
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(name, value, 'an object')
  }
  return value as Record<string, unknown>
}

/** Tornado's snake_case (or any near miss) → our camelCase, for "did you mean". */
function camelCase (key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}

function editDistance (a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length]!
}

export function suggestSetting (key: string, known: readonly string[]): string | undefined {
  const camel = camelCase(key)
  const exact = known.find((name) => name.toLowerCase() === camel.toLowerCase())
  if (exact !== undefined) return exact
  let best: string | undefined
  let bestDistance = 3
  for (const name of known) {
    const distance = editDistance(camel.toLowerCase(), name.toLowerCase())
    if (distance < bestDistance) {
      best = name
      bestDistance = distance
    }
  }
  return best
}

/** Throws FDK_SETTINGS_UNKNOWN for the first key not in `known`. */
export function rejectUnknownSettings (settings: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(settings)) {
    if (known.includes(key)) continue
    const suggestion = suggestSetting(key, known)
    throw new FDK_SETTINGS_UNKNOWN(key, suggestion === undefined ? '' : `; did you mean "${suggestion}"?`)
  }
}
