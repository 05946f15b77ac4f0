// deploy-kit supervisord: prints a supervisord.conf running the app as a
// process group, one port per process (lib/cli/config/supervisord.ts).
import type { CliIo } from './main.js'
import { supervisordConfig } from './config/supervisord.js'
import { optional, required, runGenerator, type Generator } from './generate.js'
import * as check from './config/validate.js'

export const USAGE = `Usage: deploy-kit supervisord --command "node app.js" --processes N --port FIRST [options]

Prints a supervisord configuration: N processes of the app, the first on port
FIRST, each told its port in the PORT environment variable.

  --command CMD            the app's command line (required)
  --processes N            number of processes (default 4)
  --port FIRST             first port (default 8000)
  --name NAME              program name (default app)
  --directory DIR          working directory of the processes
  --user NAME              run the processes as this user
  --minfds N               open-file limit (default 50000)
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
    'shutdown-timeout': { type: 'string' },
    prefix: { type: 'string' }
  },
  build (values, generatedBy) {
    const processes = check.positiveInteger('--processes', optional(values, 'processes', '4'), 1024)
    const port = check.port('--port', optional(values, 'port', '8000'))
    if (port + processes - 1 > 65535) throw check.invalidOption('--port', String(port), `a first port that leaves room for ${processes} ports`)
    return supervisordConfig({
      name: check.name('--name', optional(values, 'name', 'app')),
      command: check.command('--command', required(values, 'command', 'the app\'s command line')),
      processes,
      port,
      directory: values.directory === undefined ? undefined : check.absolutePath('--directory', values.directory as string),
      user: values.user === undefined ? undefined : check.name('--user', values.user as string),
      minfds: check.positiveInteger('--minfds', optional(values, 'minfds', '50000'), 1048576),
      shutdownTimeout: check.positiveInteger('--shutdown-timeout', optional(values, 'shutdown-timeout', '10'), 86400),
      prefix: values.prefix === undefined ? undefined : check.absolutePath('--prefix', values.prefix as string),
      generatedBy
    })
  }
}

export async function run (args: string[], io: CliIo): Promise<number> {
  return await runGenerator(generator, args, io)
}
