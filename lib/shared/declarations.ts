// Each plugin declares its settings once, in a table beside its options
// interface: default, Tornado name and the docs row of every setting. From it
// come the setting-name list (unknown-setting rejection, the umbrella's
// pick()), the defaults its normaliser reads, and the rows of its docs table
// (test/unit/declarations.test.ts renders them and finds them in docs/).
// The normalisers stay hand-written: their messages and did-you-mean are
// better than a schema validator's. No Fastify here.

/** One setting, as its plugin's docs table shows it. */
export interface SettingDeclaration {
  /** The default when it is one value (the normaliser reads it from here); rendered as a JavaScript literal in the docs. */
  readonly default?: unknown
  /** The docs' default cell when there is no single value (`` `!debug` ``, `none`), or a note after the value (`(256 KiB)`). */
  readonly shown?: string
  /** Tornado's name (or what stands in for it), as a Markdown cell: `` `static_path` ``, `—`. */
  readonly tornado: string
  /** The meaning cell of the docs row (Markdown, one line). */
  readonly doc: string
  /** The setting without which this one does nothing: given alone, the umbrella refuses it (FDK_SETTINGS_INVALID naming both). */
  readonly requires?: string
}

/**
 * A declaration table naming exactly the options of `O`: a name missing from
 * either side fails to compile (the interface keeps the JSDoc users see in
 * their editor, the table the rest).
 */
export type DeclaresExactly<O, D> =
  { readonly [K in keyof Required<O>]: SettingDeclaration } & { readonly [K in Exclude<keyof D, keyof O>]: never }

/** The names of a declaration table, in its order; `O` and `D` must agree on them. */
export function settingNames<O extends object, D extends DeclaresExactly<O, D>> (declarations: D): ReadonlyArray<keyof O & string> {
  return Object.freeze(Object.keys(declarations)) as ReadonlyArray<keyof O & string>
}

/** A default as the docs write it: a JavaScript literal with single quotes. */
export function literal (value: unknown): string {
  if (typeof value === 'string') return `'${value}'`
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`
  if (typeof value === 'object' && value !== null) {
    return `{ ${Object.entries(value).map(([key, item]) => `${key}: ${literal(item)}`).join(', ')} }`
  }
  return String(value)
}

/** The default cell of a docs row. */
export function defaultCell (declaration: SettingDeclaration): string {
  if (!('default' in declaration)) return declaration.shown ?? 'none'
  const value = `\`${literal(declaration.default)}\``
  return declaration.shown === undefined ? value : `${value} ${declaration.shown}`
}

/** The rows `| \`name\` | default | Tornado | meaning |` of a table, `prefix` before each name (`xheaders.`). */
export function settingRows (declarations: Readonly<Record<string, SettingDeclaration>>, prefix = ''): string[] {
  return Object.entries(declarations).map(([name, declaration]) =>
    `| \`${prefix}${name}\` | ${defaultCell(declaration)} | ${declaration.tornado} | ${declaration.doc} |`)
}

/**
 * The first setting given (not undefined) whose `requires` is not, with what
 * it requires: without it the umbrella would not register that part, and the
 * setting would be ignored without a word.
 */
export function missingRequirement (
  settings: Readonly<Record<string, unknown>>, tables: ReadonlyArray<Readonly<Record<string, SettingDeclaration>>>
): { name: string, requires: string } | undefined {
  for (const table of tables) {
    for (const [name, declaration] of Object.entries(table)) {
      const requires = declaration.requires
      if (requires !== undefined && settings[name] !== undefined && settings[requires] === undefined) return { name, requires }
    }
  }
  return undefined
}
