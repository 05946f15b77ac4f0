// deploy-kit systemd: prints a template unit, one instance per port
// (lib/cli/render/systemd.ts).
import type { CliIo } from './io.js'
import { systemdUnit } from './render/systemd.js'
import { optional, required, runGenerator, type Generator } from './generate.js'
import * as check from './validate.js'

export const USAGE = `Usage: deploy-kit systemd --command "/usr/bin/node app.js" [options]

Prints a systemd template unit <name>@.service; the instance name is the port
(systemctl enable --now app@8000 app@8001 ...), given to the app as PORT.

  --command CMD            the app's command line, absolute program path (required)
  --name NAME              unit name (default app)
  --directory DIR          working directory
  --user NAME              run as this user
  --limit-nofile N         open-file limit (default 50000)
  --environment-file FILE  EnvironmentFile= (KEY=value lines, e.g. secrets),
                           read by systemd at start; never copied into the unit
  --shutdown-timeout SECS  the app's graceful-shutdown time (default 10)
  --reload                 add ExecReload sending SIGHUP (on by default when the
                           command is the launcher, deploy-kit start)
  --output, -o FILE        write the file instead of printing it
`

export const generator: Generator = {
  command: 'systemd',
  usage: USAGE,
  options: {
    command: { type: 'string' },
    name: { type: 'string' },
    directory: { type: 'string' },
    user: { type: 'string' },
    'limit-nofile': { type: 'string' },
    'environment-file': { type: 'string' },
    'shutdown-timeout': { type: 'string' },
    reload: { type: 'boolean' }
  },
  build (values, generatedBy) {
    const command = check.launchCommand('--command', required(values, 'command', 'the app\'s command line'))
    if (!command.startsWith('/')) throw check.invalidOption('--command', command, 'a command line starting with an absolute program path (e.g. /usr/bin/node)')
    return systemdUnit({
      name: check.name('--name', optional(values, 'name', 'app')),
      command,
      directory: values.directory === undefined ? undefined : check.absolutePath('--directory', values.directory as string),
      user: values.user === undefined ? undefined : check.name('--user', values.user as string),
      environmentFile: values['environment-file'] === undefined ? undefined : check.absolutePath('--environment-file', values['environment-file'] as string),
      limitNofile: check.positiveInteger('--limit-nofile', optional(values, 'limit-nofile', '50000'), 1048576),
      shutdownTimeout: check.positiveInteger('--shutdown-timeout', optional(values, 'shutdown-timeout', '10'), 86400),
      reload: values.reload === true || check.isLauncher(command),
      generatedBy
    })
  }
}

export async function run (args: string[], io: CliIo): Promise<number> {
  return await runGenerator(generator, args, io)
}
