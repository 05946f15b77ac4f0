#!/usr/bin/env node
// deploy-kit: the command-line half of the package. Each subcommand lives in
// its own module under lib/cli/ and exports `run(args, io)`; this file only
// dispatches, so `deploy-kit --help` stays fast and never loads Fastify.
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { realpathSync } from 'node:fs'
import type { CliCommand, CliIo } from './io.js'

export type { CliCommand, CliIo }

interface CommandEntry {
  summary: string
  load: () => Promise<CliCommand>
}

// One line per subcommand; each module is imported only when used.
export const COMMANDS: Record<string, CommandEntry> = {
  nginx: { summary: 'print an nginx configuration for the app processes', load: async () => (await import('./nginx.js')).run },
  haproxy: { summary: 'print an HAProxy configuration for the app processes', load: async () => (await import('./haproxy.js')).run },
  supervisord: { summary: 'print a supervisord configuration (one port per process)', load: async () => (await import('./supervisord.js')).run },
  systemd: { summary: 'print a systemd template unit (app@PORT.service)', load: async () => (await import('./systemd.js')).run },
  kubernetes: { summary: 'print a Kubernetes Deployment and Service (one worker per pod)', load: async () => (await import('./kubernetes.js')).run },
  assets: { summary: 'hash a static directory once, write compressed siblings and the staticManifest file', load: async () => (await import('./assets.js')).run },
  start: { summary: 'run an app module (default export buildApp) in worker processes', load: async () => (await import('./start.js')).run },
  status: { summary: 'show the running launcher\'s workers (--json for all fields)', load: async () => (await import('./control.js')).status },
  reload: { summary: 'replace every worker of the running launcher and wait for the outcome', load: async () => (await import('./control.js')).reload },
  stop: { summary: 'drain and stop the running launcher, waiting until it is down', load: async () => (await import('./control.js')).stop }
}

function version (): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

export function usage (): string {
  const lines = Object.entries(COMMANDS).map(([name, entry]) => `  ${name.padEnd(12)}${entry.summary}`)
  return [
    'Usage: deploy-kit <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Options:',
    '  --help, -h    show this help (or `deploy-kit <command> --help`)',
    '  --version     print the version',
    ''
  ].join('\n')
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 usage error). */
export async function main (argv: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    io.stdout(usage())
    return first === undefined ? 2 : 0
  }
  if (first === '--version' || first === '-v') {
    io.stdout(version() + '\n')
    return 0
  }
  const entry = COMMANDS[first]
  if (entry === undefined) {
    io.stderr(`deploy-kit: unknown command "${first}"\n\n${usage()}`)
    return 2
  }
  const command = await entry.load()
  return await command(rest, io)
}

/* c8 ignore start -- runs only when executed as a program; test/process/cli.test.ts spawns it */
function isEntryPoint (): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  return import.meta.url === pathToFileURL(realpathSync(script)).href
}

if (isEntryPoint()) {
  const io: CliIo = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) }
  main(process.argv.slice(2), io).then((code) => { process.exitCode = code }, (error: unknown) => {
    process.stderr.write(`deploy-kit: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  })
}
/* c8 ignore stop */
