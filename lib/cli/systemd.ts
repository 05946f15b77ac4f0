// deploy-kit systemd: prints a template unit, one instance per port
// (lib/cli/render/systemd.ts).
import type { CliIo } from './io.js'
import { systemdUnit } from './render/systemd.js'
import { fromFlags, optional, required, runGenerator, type Generator } from './generate.js'
import type { Flags } from './flags.js'
import * as check from './validate.js'

/** The flags of `deploy-kit systemd`, declared once: parseArgs options, --help lines, docs/cli.md rows and defaults. */
export const SYSTEMD_FLAGS = {
  command: { type: 'string', value: 'CMD', required: true, usage: 'the app\'s command line, absolute program path', doc: 'absolute program path plus arguments; the program itself, not `npx`/`npm` (refused)' },
  name: { type: 'string', value: 'NAME', default: 'app', usage: 'unit name', doc: 'the unit is `NAME@.service`' },
  directory: { type: 'string', value: 'DIR', usage: 'working directory', doc: '`WorkingDirectory`' },
  user: { type: 'string', value: 'NAME', usage: 'run as this user', doc: '`User`' },
  'limit-nofile': { type: 'string', value: 'N', default: '50000', usage: 'open-file limit', doc: '`LimitNOFILE`' },
  'environment-file': { type: 'string', value: 'FILE', usage: 'EnvironmentFile= (KEY=value lines, e.g. secrets),\nread by systemd at start; never copied into the unit', doc: '`EnvironmentFile=FILE`: `KEY=value` lines (secrets) systemd reads at every start; never copied into the unit' },
  'shutdown-timeout': { type: 'string', value: 'SECS', default: '10', usage: 'the app\'s graceful-shutdown time', doc: '`TimeoutStopSec` is 5 s longer' },
  reload: { type: 'boolean', usage: 'add ExecReload sending SIGHUP (on by default when the\ncommand is the launcher, deploy-kit start)', shown: 'on when the command is `deploy-kit start`', doc: '`ExecReload=/bin/kill -HUP $MAINPID`: the launcher answers SIGHUP with a rolling reload ([cluster.md](cluster.md)); a plain Node process would exit on SIGHUP, so it is off otherwise' }
} as const satisfies Flags

export const generator: Generator = {
  command: 'systemd',
  ...fromFlags(`Usage: deploy-kit systemd --command "/usr/bin/node app.js" [options]

Prints a systemd template unit <name>@.service; the instance name is the port
(systemctl enable --now app@8000 app@8001 ...), given to the app as PORT.

`, SYSTEMD_FLAGS, 25),
  build (values, generatedBy) {
    const command = check.launchCommand('--command', required(values, 'command', 'the app\'s command line'))
    if (!command.startsWith('/')) throw check.invalidOption('--command', command, 'a command line starting with an absolute program path (e.g. /usr/bin/node)')
    return systemdUnit({
      name: check.name('--name', optional(values, 'name', SYSTEMD_FLAGS.name.default)),
      command,
      directory: values.directory === undefined ? undefined : check.absolutePath('--directory', values.directory as string),
      user: values.user === undefined ? undefined : check.name('--user', values.user as string),
      environmentFile: values['environment-file'] === undefined ? undefined : check.absolutePath('--environment-file', values['environment-file'] as string),
      limitNofile: check.positiveInteger('--limit-nofile', optional(values, 'limit-nofile', SYSTEMD_FLAGS['limit-nofile'].default), 1048576),
      shutdownTimeout: check.positiveInteger('--shutdown-timeout', optional(values, 'shutdown-timeout', SYSTEMD_FLAGS['shutdown-timeout'].default), 86400),
      reload: values.reload === true || check.isLauncher(command),
      generatedBy
    })
  }
}

export async function run (args: string[], io: CliIo): Promise<number> {
  return await runGenerator(generator, args, io)
}
