// What every subcommand is given and returns. Here, not in main.ts, so that
// the subcommands never import the dispatcher that imports them.

/** Where a subcommand writes: the process's stdout and stderr, or a test's buffers. */
export interface CliIo {
  stdout: (text: string) => void
  stderr: (text: string) => void
}

/** A subcommand: resolves to the exit code. */
export type CliCommand = (args: string[], io: CliIo) => Promise<number>
