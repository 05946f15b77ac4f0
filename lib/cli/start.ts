// deploy-kit start ./app.js: runs a module that default-exports buildApp (the
// fastify-cli convention) under launch(), so an app needs no launcher code.
import { parseArgs } from 'node:util'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { CliIo } from './main.js'
import { launch, type ClusterOptions } from '../cluster.js'
import { size, sizeBytes } from './config/validate.js'

export const USAGE = `Usage: deploy-kit start <app module> [options]

Runs the module's default export, buildApp(), in worker processes.

Options:
  --processes N   worker processes; 0 = one per CPU, 1 = in-process (default 1)
  --port P        port, or the first port in ports mode (default 8888)
  --host H        address to listen on (default localhost)
  --mode M        shared (all workers on one port) or ports (worker i on P + i)
  --max-body SIZE maxBodySize, e.g. 50m: bigger bodies get 413 (default 1m);
                  give deploy-kit nginx the same --max-body
  --help, -h      show this help
`

function integerFlag (name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value)) throw new Error(`--${name} must be a non-negative integer, got "${value}"`)
  return Number(value)
}

/** Parses the arguments into the module path and launch options; throws a usage message. */
export function parseStartArgs (args: string[]): { module: string, options: ClusterOptions } | 'help' {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      processes: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      mode: { type: 'string' },
      'max-body': { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help === true) return 'help'
  if (positionals.length !== 1) throw new Error(positionals.length === 0 ? 'missing the app module' : `one app module expected, got ${positionals.length}`)
  if (values.mode !== undefined && values.mode !== 'shared' && values.mode !== 'ports') {
    throw new Error(`--mode must be "shared" or "ports", got "${values.mode}"`)
  }
  const options: ClusterOptions = {}
  const processes = integerFlag('processes', values.processes)
  const port = integerFlag('port', values.port)
  if (processes !== undefined) options.processes = processes
  if (port !== undefined) options.port = port
  if (values.host !== undefined) options.host = values.host
  if (values.mode !== undefined) options.mode = values.mode
  if (values['max-body'] !== undefined) options.maxBodySize = sizeBytes(size('--max-body', values['max-body']))
  return { module: positionals[0]!, options }
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
  const imported = await import(pathToFileURL(resolve(parsed.module)).href) as { default?: unknown }
  if (typeof imported.default !== 'function') {
    io.stderr(`deploy-kit start: ${parsed.module} must default-export buildApp(), a function returning a Fastify instance\n`)
    return 2
  }
  /* c8 ignore next 3 -- runs only in a launched process; test/cluster-*.test.ts exercise it through real processes, whose coverage is not recorded (see test/fixtures/cluster/spawn.ts) */
  await launch(imported.default as Parameters<typeof launch>[0], parsed.options)
  return 0
}

export default run
