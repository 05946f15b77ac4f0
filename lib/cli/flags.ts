// Each command declares its flags once (fastify-cli's DEFAULT_ARGUMENTS and
// help text in one place): type, value placeholder, whether required, the
// default the command reads, the usage line and the docs/cli.md row. From
// the table come the parseArgs options, the --help text and the docs rows
// (test/unit/declarations.test.ts finds them in docs/cli.md).
import type { ParseArgsConfig } from 'node:util'

/** One flag of a command. */
export interface FlagDeclaration {
  readonly type: 'string' | 'boolean'
  /** One-letter alias: `-o`. */
  readonly short?: string
  /** The value's name in the usage and the docs: `LIST`, `FILE`. */
  readonly value?: string
  /** Refused when absent; the usage says `(required)`. */
  readonly required?: boolean
  /** What the command uses when the flag is absent (a string, as typed). */
  readonly default?: string
  /**
   * The --help text after the flag; `\n` starts a continuation line. The
   * default goes where `{default}` is, else `(default X)` ends the text.
   * Absent: the flag is not listed (--help itself).
   */
  readonly usage?: string
  /** The meaning cell of the flag's docs/cli.md row (Markdown); absent: no row. */
  readonly doc?: string
  /** The docs' default cell when it is not the default as typed: `` `80` (`443` with TLS) ``, `system paths`. */
  readonly shown?: string
}

export type Flags = Readonly<Record<string, FlagDeclaration>>

/** parseArgs's option of each flag, typed so parseArgs types the values it returns. */
export type ParseOptions<F extends Flags> = {
  -readonly [K in keyof F]: F[K] extends { short: infer S extends string } ? { type: F[K]['type'], short: S } : { type: F[K]['type'] }
}

/** node:util parseArgs's `options` for these flags. */
export function parseOptions<F extends Flags> (flags: F): ParseOptions<F> & NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(Object.entries(flags).map(([name, flag]) =>
    [name, flag.short === undefined ? { type: flag.type } : { type: flag.type, short: flag.short }])) as ParseOptions<F> & NonNullable<ParseArgsConfig['options']>
}

/** The flag as the usage and the docs write it: `--output, -o FILE`. */
export function flagHead (name: string, flag: FlagDeclaration): string {
  return `--${name}${flag.short === undefined ? '' : `, -${flag.short}`}${flag.value === undefined ? '' : ` ${flag.value}`}`
}

/**
 * The usage lines of `flags`: each head padded to `column` (two spaces after
 * a longer one), continuation lines indented to where the text starts.
 */
export function usageLines (flags: Flags, column: number): string {
  const indent = ' '.repeat(2 + column)
  let text = ''
  for (const [name, flag] of Object.entries(flags)) {
    if (flag.usage === undefined) continue
    const head = flagHead(name, flag)
    let help = flag.usage
    if (flag.default !== undefined) {
      help = help.includes('{default}') ? help.replace('{default}', flag.default) : [help, `(default ${flag.default})`].filter((part) => part !== '').join(' ')
    }
    if (flag.required === true) help += ' (required)'
    text += `  ${head.length < column ? head.padEnd(column) : head + '  '}${help.split('\n').join('\n' + indent)}\n`
  }
  return text
}

/**
 * The rows `| \`--flag VALUE\` | default | meaning |` of a command's docs
 * table, of the flags with a `doc`; without the default cell when
 * `withDefault` is false (a table of differences).
 */
export function flagRows (flags: Flags, withDefault = true): string[] {
  return Object.entries(flags).filter(([, flag]) => flag.doc !== undefined).map(([name, flag]) => {
    const fallback = flag.required === true ? 'required' : flag.default === undefined ? (flag.type === 'boolean' ? 'off' : 'none') : `\`${flag.default}\``
    const head = `\`${flagHead(name, flag).replace(/\|/g, '\\|')}\``
    return withDefault ? `| ${head} | ${flag.shown ?? fallback} | ${flag.doc as string} |` : `| ${head} | ${flag.doc as string} |`
  })
}
