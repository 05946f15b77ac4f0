// The shared frame of `deploy-kit nginx | supervisord | systemd`: parse the
// options with node:util parseArgs, print --help, turn every usage mistake
// into one clear line on stderr and exit status 2, and print the generated
// file on stdout (or write it with --output).
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { writeFileSync } from 'node:fs'
import type { CliIo } from './io.js'
import { invalidOption } from './validate.js'
import { parseOptions, usageLines, type Flags } from './flags.js'

type OptionSpecs = NonNullable<ParseArgsConfig['options']>
export type Values = Record<string, string | boolean | undefined>

export interface Generator {
  command: string
  usage: string
  options: OptionSpecs
  /** Returns the file; throws FDK_CLI_INVALID_OPTION for bad values. */
  build: (values: Values, generatedBy: string) => string
}

/** Every generator's flags, after its own. */
export const COMMON_FLAGS = {
  output: { type: 'string', short: 'o', value: 'FILE', usage: 'write the file instead of printing it' },
  help: { type: 'boolean', short: 'h' }
} as const satisfies Flags

const COMMON: OptionSpecs = parseOptions(COMMON_FLAGS)

/** A generator's `usage` and `options` from its one declaration: the synopsis, then each flag's line (text at `column`). */
export function fromFlags (synopsis: string, flags: Flags, column: number): Pick<Generator, 'usage' | 'options'> {
  return { usage: synopsis + usageLines({ ...flags, ...COMMON_FLAGS }, column), options: parseOptions(flags) }
}

function quote (arg: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`
}

export async function runGenerator (generator: Generator, args: string[], io: CliIo): Promise<number> {
  let values: Values
  try {
    values = parseArgs({ args, options: { ...generator.options, ...COMMON }, strict: true, allowPositionals: false }).values as Values
  } catch (error) {
    io.stderr(`deploy-kit ${generator.command}: ${(error as Error).message}\n\n${generator.usage}`)
    return 2
  }
  if (values.help === true) {
    io.stdout(generator.usage)
    return 0
  }
  const shown = args.filter((arg, i) => arg !== '--output' && arg !== '-o' && args[i - 1] !== '--output' && args[i - 1] !== '-o' && !arg.startsWith('--output='))
  let text: string
  try {
    text = generator.build(values, ['deploy-kit', generator.command, ...shown].map(quote).join(' '))
  } catch (error) {
    // build() only throws coded option errors; anything else is a bug to surface.
    if ((error as { code?: string }).code !== 'FDK_CLI_INVALID_OPTION') throw error
    io.stderr(`deploy-kit ${generator.command}: ${(error as Error).message}\n`)
    return 2
  }
  if (typeof values.output === 'string') {
    writeFileSync(values.output, text)
  } else {
    io.stdout(text)
  }
  return 0
}

/** A string option that must be present. */
export function required (values: Values, option: string, expected: string): string {
  const value = values[option]
  if (typeof value !== 'string') throw invalidOption(`--${option}`, value, `${expected} (required)`)
  return value
}

/** A string option, or its default. */
export function optional (values: Values, option: string, fallback: string): string {
  const value = values[option]
  return typeof value === 'string' ? value : fallback
}
