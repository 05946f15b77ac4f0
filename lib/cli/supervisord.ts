// deploy-kit supervisord: prints a supervisord.conf running the app as a
// process group, one port per process (lib/cli/render/supervisord.ts).
import type { CliIo } from './io.js'
import { supervisordConfig } from './render/supervisord.js'
import { fromFlags, optional, required, runGenerator, type Generator } from './generate.js'
import type { Flags } from './flags.js'
import * as check from './validate.js'
import { readOpenFileLimit, type OpenFileLimit } from '../cluster/limits.js'

const DEFAULT_MINFDS = 50000

/** The flags of `deploy-kit supervisord`, declared once: parseArgs options, --help lines, docs/cli.md rows and defaults. */
export const SUPERVISORD_FLAGS = {
  command: { type: 'string', value: 'CMD', required: true, usage: 'the app\'s command line', doc: 'the app\'s command line; it must listen on `process.env.PORT` (`deploy-kit start` does). The program itself, not `npx`/`npm` (refused: a signal to them does not reach the app)' },
  processes: { type: 'string', value: 'N', default: '4', usage: 'number of processes', doc: 'ports FIRST … FIRST+N-1 with `--port FIRST` (use the same range in `deploy-kit nginx --upstream`)' },
  port: { type: 'string', value: 'FIRST', default: '8000', usage: 'first port', doc: 'the first port, given to the first process as `PORT`' },
  name: { type: 'string', value: 'NAME', default: 'app', usage: 'program name', doc: 'program name, process names `NAME_PORT`' },
  directory: { type: 'string', value: 'DIR', usage: 'working directory of the processes', doc: 'working directory' },
  user: { type: 'string', value: 'NAME', usage: 'run the processes as this user', doc: 'user to run as' },
  minfds: { type: 'string', value: 'N', usage: `open-file limit (default ${DEFAULT_MINFDS}, or this host's hard\nlimit when lower: supervisord cannot raise it)`, shown: `\`${DEFAULT_MINFDS}\`, or this host's hard limit when lower`, doc: 'open-file limit for supervisord and its children ("Too many open files"); unprivileged, supervisord refuses to start with a value above the hard limit (`ulimit -Hn`), so the default is read from the host that generates the file' },
  'environment-file': { type: 'string', value: 'FILE', usage: 'KEY=value file (secrets) read into the processes\'\nenvironment at start; never copied into this file', doc: '`KEY=value` lines (secrets such as `COOKIE_SECRET`) read into each process\'s environment when it starts: the command becomes `/bin/sh -c \'set -a && . FILE && exec CMD\'` (`exec`: the app replaces the shell and gets supervisord\'s signals). Never copied into the generated file' },
  'shutdown-timeout': { type: 'string', value: 'SECS', default: '10', usage: 'the app\'s graceful-shutdown time', doc: 'the app\'s graceful-shutdown time; `stopwaitsecs` is 5 s longer so SIGTERM can drain requests before SIGKILL' },
  prefix: { type: 'string', value: 'DIR', usage: 'put supervisord\'s pid, socket and logs under DIR', shown: 'system paths', doc: 'supervisord\'s log, pid, socket and process logs under DIR' }
} as const satisfies Flags

export const generator: Generator = {
  command: 'supervisord',
  ...fromFlags(`Usage: deploy-kit supervisord --command "node app.js" --processes N --port FIRST [options]

Prints a supervisord configuration: N processes of the app, the first on port
FIRST, each told its port in the PORT environment variable (which
deploy-kit start reads).

`, SUPERVISORD_FLAGS, 25),
  build (values, generatedBy) {
    const processes = check.positiveInteger('--processes', optional(values, 'processes', SUPERVISORD_FLAGS.processes.default), 1024)
    const port = check.port('--port', optional(values, 'port', SUPERVISORD_FLAGS.port.default))
    if (port + processes - 1 > 65535) throw check.invalidOption('--port', String(port), `a first port that leaves room for ${processes} ports`)
    const command = check.launchCommand('--command', required(values, 'command', 'the app\'s command line'))
    const minfds = values.minfds === undefined ? defaultMinfds() : { value: check.positiveInteger('--minfds', values.minfds as string, 1048576) }
    const environmentFile = values['environment-file'] === undefined ? undefined : check.absolutePath('--environment-file', values['environment-file'] as string)
    if (environmentFile !== undefined && command.includes("'")) throw check.invalidOption('--command', command, "a command line without ' (with --environment-file it runs inside sh -c '...')")
    return supervisordConfig({
      name: check.name('--name', optional(values, 'name', SUPERVISORD_FLAGS.name.default)),
      command,
      processes,
      port,
      directory: values.directory === undefined ? undefined : check.absolutePath('--directory', values.directory as string),
      user: values.user === undefined ? undefined : check.name('--user', values.user as string),
      minfds: minfds.value,
      minfdsNote: minfds.note,
      environmentFile,
      reload: check.isLauncher(command),
      shutdownTimeout: check.positiveInteger('--shutdown-timeout', optional(values, 'shutdown-timeout', SUPERVISORD_FLAGS['shutdown-timeout'].default), 86400),
      prefix: values.prefix === undefined ? undefined : check.absolutePath('--prefix', values.prefix as string),
      generatedBy
    })
  }
}

/** supervisord refuses to start when minfds is above the hard limit it cannot raise; stay under this host's. */
export function defaultMinfds (limit: OpenFileLimit | null = readOpenFileLimit()): { value: number, note?: string } {
  if (limit === null || limit.hard >= DEFAULT_MINFDS) return { value: DEFAULT_MINFDS }
  return { value: limit.hard, note: `minfds is this host's hard open-file limit (${DEFAULT_MINFDS} wanted): supervisord cannot raise it unprivileged.` }
}

export async function run (args: string[], io: CliIo): Promise<number> {
  return await runGenerator(generator, args, io)
}
