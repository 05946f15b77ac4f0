// deploy-kit supervisord: prints a supervisord.conf running the app as a
// process group, one port per process (lib/cli/render/supervisord.ts).
import type { CliIo } from './io.js'
import { supervisordConfig } from './render/supervisord.js'
import { optional, required, runGenerator, type Generator } from './generate.js'
import * as check from './validate.js'
import { readOpenFileLimit, type OpenFileLimit } from '../cluster/limits.js'

const DEFAULT_MINFDS = 50000

export const USAGE = `Usage: deploy-kit supervisord --command "node app.js" --processes N --port FIRST [options]

Prints a supervisord configuration: N processes of the app, the first on port
FIRST, each told its port in the PORT environment variable (which
deploy-kit start reads).

  --command CMD            the app's command line (required)
  --processes N            number of processes (default 4)
  --port FIRST             first port (default 8000)
  --name NAME              program name (default app)
  --directory DIR          working directory of the processes
  --user NAME              run the processes as this user
  --minfds N               open-file limit (default 50000, or this host's hard
                           limit when lower: supervisord cannot raise it)
  --environment-file FILE  KEY=value file (secrets) read into the processes'
                           environment at start; never copied into this file
  --shutdown-timeout SECS  the app's graceful-shutdown time (default 10)
  --prefix DIR             put supervisord's pid, socket and logs under DIR
  --output, -o FILE        write the file instead of printing it
`

export const generator: Generator = {
  command: 'supervisord',
  usage: USAGE,
  options: {
    command: { type: 'string' },
    processes: { type: 'string' },
    port: { type: 'string' },
    name: { type: 'string' },
    directory: { type: 'string' },
    user: { type: 'string' },
    minfds: { type: 'string' },
    'environment-file': { type: 'string' },
    'shutdown-timeout': { type: 'string' },
    prefix: { type: 'string' }
  },
  build (values, generatedBy) {
    const processes = check.positiveInteger('--processes', optional(values, 'processes', '4'), 1024)
    const port = check.port('--port', optional(values, 'port', '8000'))
    if (port + processes - 1 > 65535) throw check.invalidOption('--port', String(port), `a first port that leaves room for ${processes} ports`)
    const command = check.launchCommand('--command', required(values, 'command', 'the app\'s command line'))
    const minfds = values.minfds === undefined ? defaultMinfds() : { value: check.positiveInteger('--minfds', values.minfds as string, 1048576) }
    const environmentFile = values['environment-file'] === undefined ? undefined : check.absolutePath('--environment-file', values['environment-file'] as string)
    if (environmentFile !== undefined && command.includes("'")) throw check.invalidOption('--command', command, "a command line without ' (with --environment-file it runs inside sh -c '...')")
    return supervisordConfig({
      name: check.name('--name', optional(values, 'name', 'app')),
      command,
      processes,
      port,
      directory: values.directory === undefined ? undefined : check.absolutePath('--directory', values.directory as string),
      user: values.user === undefined ? undefined : check.name('--user', values.user as string),
      minfds: minfds.value,
      minfdsNote: minfds.note,
      environmentFile,
      reload: check.isLauncher(command),
      shutdownTimeout: check.positiveInteger('--shutdown-timeout', optional(values, 'shutdown-timeout', '10'), 86400),
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
