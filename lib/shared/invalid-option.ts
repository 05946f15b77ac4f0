// One shape for every invalid option, wherever it was passed: register()
// settings (FDK_SETTINGS_INVALID), launch() options and `deploy-kit start`
// flags (FDK_CLUSTER_OPTION_INVALID), the config generators' flags
// (FDK_CLI_INVALID_OPTION) and the signed-value functions' options
// (FDK_COOKIE_OPTIONS_INVALID). Each message reads
// `Invalid <kind> <option>: received <value>, expected <what>`, and each
// error carries the same three fields, so a program can tell the option
// without parsing the sentence (fastify core's FST_ERR_* keep one shape the
// same way).
import type { DeployKitError, DeployKitErrorConstructor } from './errors.js'

/** Where the option was passed, as the message names it: `Invalid setting "staticPath"`, `Invalid option --port`. */
export type OptionKind = 'setting' | 'launch option' | 'option' | `${string}()`

/** What an invalid-option error says besides its message. */
export interface InvalidOptionFields {
  /** The option as the user wrote it: `staticPath`, `xheaders.trustedProxies`, `mode`, `--port`, `key_version`. */
  option: string
  /** A short, safe rendering of the value (describeValue). */
  received: string
  /** What would have been accepted. */
  expected: string
}

/** A short, safe rendering of a received value for an error message. */
export function describeValue (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return `array(${value.length})`
  switch (typeof value) {
    case 'string': return JSON.stringify(value.length > 60 ? value.slice(0, 57) + '...' : value)
    case 'number': case 'boolean': case 'bigint': case 'undefined': return String(value)
    case 'function': return 'a function'
    default: return 'an object'
  }
}

/** The error `Code` for `option` (of `kind`) given `value`, with the three fields set. */
export function invalidOption<C extends string, SC extends number> (Code: DeployKitErrorConstructor<C, SC>, kind: OptionKind, option: string, value: unknown, expected: string): DeployKitError<C, SC> & InvalidOptionFields {
  const received = describeValue(value)
  // A flag reads as typed (--port); a property name is quoted ("staticPath").
  const subject = `${kind} ${option.startsWith('--') ? option : JSON.stringify(option)}`
  return Object.assign(new Code(subject, received, expected), { option, received, expected })
}
