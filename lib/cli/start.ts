// deploy-kit start ./app.js: runs an app module under launch(), so an app
// needs no launcher code. The module default-exports either buildApp() (a
// function of no arguments returning a Fastify instance) or a fastify-cli
// style plugin `async function (fastify, opts)`, with Fastify's server
// options in an optional `options` export.
import { parseArgs } from 'node:util'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import type { CliIo } from './io.js'
import { launch, normalizeClusterOptions, type ClusterOptions } from '../cluster.js'
import type { BuildApp } from '../cluster/server.js'
import { LAUNCH_OPTIONS } from '../cluster/options.js'
import { WATCH_OPTIONS } from '../cluster/watch-options.js'
import { parseOptions, usageLines, type Flags } from './flags.js'
import { nginxSize, size, sizeBytes } from './validate.js'

/**
 * The flags of `deploy-kit start`, declared once: parseArgs options and
 * --help lines. The defaults are launch()'s (normalizeClusterOptions), so
 * the usage only names them.
 */
export const START_FLAGS = {
  processes: { type: 'string', value: 'N', usage: `worker processes, 0 to 1024; 0 = one per CPU,\n1 = in-process (default ${LAUNCH_OPTIONS.processes.default})` },
  port: { type: 'string', value: 'P', usage: `port, or the first port in ports mode; 0 to 65535\n(default $PORT, else ${LAUNCH_OPTIONS.port.default})` },
  host: { type: 'string', value: 'H', usage: 'address to listen on (default $HOST, else localhost)' },
  mode: { type: 'string', value: 'M', usage: 'shared (all workers on one port) or ports (worker i on P + i)' },
  'shutdown-timeout': { type: 'string', value: 'S', usage: `seconds a stopping worker may drain, 0 to 86400 (default ${LAUNCH_OPTIONS.shutdownTimeoutMs.default / 1000})` },
  'max-restarts': { type: 'string', value: 'N', usage: `crash restarts within 15 minutes before giving up (default ${LAUNCH_OPTIONS.maxRestarts.default})` },
  'max-body': { type: 'string', value: 'SIZE', usage: `maxBodySize, e.g. 50m: bigger bodies get 413 (default ${nginxSize(LAUNCH_OPTIONS.maxBodySize.default)});\ngive deploy-kit nginx the same --max-body` },
  'health-path': { type: 'string', value: 'PATH', usage: 'healthPath: every worker answers GET PATH with 200,\n503 once draining; a new worker is ready (and a reload\ngoes on) only once it answers 200; give deploy-kit\nnginx / haproxy the same --health' },
  'readiness-timeout': { type: 'string', value: 'S', usage: `seconds a new worker may take to become ready (default ${WATCH_OPTIONS.readinessTimeoutMs.default / 1000})` },
  help: { type: 'boolean', short: 'h', usage: 'show this help' }
} as const satisfies Flags

export const USAGE = `Usage: deploy-kit start <app module> [options]

Runs the module's default export in worker processes: buildApp(), returning
a Fastify instance, or a fastify-cli style plugin async (fastify, opts) => {}
(Fastify's server options may come from an \`options\` export).

Options:
${usageLines(START_FLAGS, 24)}
Flags win over the PORT and HOST environment variables (which supervisord,
systemd and most platforms set).
`

/** Each integer flag with its range; the launcher's option name and unit. */
const INTEGER_FLAGS = {
  processes: { min: 0, max: 1024, option: 'processes', scale: 1 },
  port: { min: 0, max: 65535, option: 'port', scale: 1 },
  'shutdown-timeout': { min: 0, max: 86400, option: 'shutdownTimeoutMs', scale: 1000 },
  'max-restarts': { min: 0, max: 1_000_000, option: 'maxRestarts', scale: 1 },
  'readiness-timeout': { min: 1, max: 86400, option: 'readinessTimeoutMs', scale: 1000 }
} as const

function integer (source: string, value: string, min: number, max: number): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new Error(`${source} must be an integer from ${min} to ${max}, got "${value}"`)
  }
  return Number(value)
}

/** Parses the arguments (and PORT / HOST) into the module path and launch options; throws a usage message. */
export function parseStartArgs (args: string[], env: NodeJS.ProcessEnv = process.env): { module: string, options: ClusterOptions } | 'help' {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: parseOptions(START_FLAGS)
  })
  if (values.help === true) return 'help'
  if (positionals.length !== 1) throw new Error(positionals.length === 0 ? 'missing the app module' : `one app module expected, got ${positionals.length}`)
  if (values.mode !== undefined && values.mode !== 'shared' && values.mode !== 'ports') {
    throw new Error(`--mode must be "shared" or "ports", got "${values.mode}"`)
  }
  const options: Record<string, unknown> = {}
  for (const [flag, spec] of Object.entries(INTEGER_FLAGS)) {
    const value = values[flag as keyof typeof INTEGER_FLAGS]
    if (value !== undefined) options[spec.option] = integer(`--${flag}`, value, spec.min, spec.max) * spec.scale
  }
  if (options.port === undefined && env.PORT !== undefined && env.PORT !== '') options.port = integer('PORT', env.PORT, 0, 65535)
  const host = values.host ?? (env.HOST === '' ? undefined : env.HOST)
  if (values.host === '') throw new Error('--host must not be empty')
  if (host !== undefined) options.host = host
  if (values.mode !== undefined) options.mode = values.mode
  if (values['max-body'] !== undefined) options.maxBodySize = sizeBytes(size('--max-body', values['max-body']))
  if (values['health-path'] !== undefined) options.healthPath = values['health-path']
  // The launcher's own checks (ports mode needs room for every port) as usage errors too.
  try {
    normalizeClusterOptions(options)
  } catch (error) {
    throw new Error((error as Error).message)
  }
  return { module: positionals[0]!, options: options as ClusterOptions }
}

type Plugin = (fastify: unknown, options: unknown, done?: () => void) => unknown

/**
 * fastify-cli's rule: a plugin takes (fastify, opts) or (fastify, opts, done);
 * buildApp takes nothing (deploy-kit start calls it without arguments).
 */
export function isPlugin (fn: (...args: never[]) => unknown): boolean {
  return fn.length >= 2
}

/** A buildApp for a fastify-cli style plugin: the app's own Fastify, its `options` export as server options. */
export function pluginApp (plugin: Plugin, serverOptions: unknown): BuildApp {
  return async () => {
    // Resolved from the app (fastify is the app's dependency and the kit's peer).
    const { default: Fastify } = await import('fastify')
    const app = (Fastify as (options: object) => FastifyInstance)((serverOptions ?? {}) as object)
    await app.register(plugin as FastifyPluginAsync)
    return app
  }
}

/** What the module exports, as the launcher's buildApp; throws a message for anything else. */
export function appFromModule (imported: { default?: unknown, options?: unknown }, name: string): BuildApp {
  let main = imported.default
  // A CommonJS module that set module.exports.default (compiled TypeScript).
  if (typeof main === 'object' && main !== null && typeof (main as { default?: unknown }).default === 'function') main = (main as { default: unknown }).default
  if (typeof main !== 'function') {
    throw new Error(`${name} must default-export buildApp(), a function returning a Fastify instance, or a plugin async (fastify, opts) => {}`)
  }
  const fn = main as (...args: never[]) => unknown
  if (!isPlugin(fn)) return fn as BuildApp
  const serverOptions = imported.options ?? (main as { options?: unknown }).options
  return pluginApp(fn as Plugin, serverOptions)
}

export async function run (args: string[], io: CliIo): Promise<number> {
  let parsed
  try {
    parsed = parseStartArgs(args)
  } catch (error) {
    io.stderr(`deploy-kit start: ${(error as Error).message}\n\n${USAGE}`)
    return 2
  }
  if (parsed === 'help') {
    io.stdout(USAGE)
    return 0
  }
  const imported = await import(pathToFileURL(resolve(parsed.module)).href) as { default?: unknown, options?: unknown }
  let buildApp: BuildApp
  try {
    buildApp = appFromModule(imported, parsed.module)
  } catch (error) {
    io.stderr(`deploy-kit start: ${(error as Error).message}\n`)
    return 2
  }
  /* c8 ignore next 3 -- runs only in a launched process; test/process/cluster-*.test.ts exercise it through real processes, whose coverage is not recorded (see test/helpers/cluster.ts) */
  await launch(buildApp, parsed.options)
  return 0
}

export default run
