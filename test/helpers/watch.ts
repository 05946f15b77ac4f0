// Shared by the test/process/cluster-watch-*.test.ts files: a launch with a control
// socket in a temporary directory, and the `deploy-kit status --json` client
// run in-process (so lib/cli/control.ts is covered).
import type { Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { main } from '../../lib/cli/main.js'
import { WAIT_MS } from './wait.js'
import type { StatusDocument } from '../../lib/cluster/watch.js'
import { freePorts, launchFixture, type Launched } from './cluster.js'

export const root = new URL('../../', import.meta.url).pathname

export function tempDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'fdk-watch-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** `deploy-kit <args>` in-process; reload and stop wait at most WAIT_MS for the outcome (their own default is 10 minutes). */
export async function cli (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  if (['reload', 'stop'].includes(args[0]!) && !args.includes('--timeout')) args = [...args, '--timeout', String(WAIT_MS)]
  const code = await main(args, { stdout: (text) => { stdout += text }, stderr: (text) => { stderr += text } })
  return { code, stdout, stderr }
}

export async function status (socket: string): Promise<StatusDocument> {
  const answer = await cli('status', '--json', '--socket', socket)
  if (answer.code !== 0) throw new Error(answer.stderr)
  return JSON.parse(answer.stdout) as StatusDocument
}

/** Polls status until `ready` holds, at most `ms`; fails with the last document. */
export async function statusUntil (socket: string, ready: (doc: StatusDocument) => boolean, ms = 20_000): Promise<StatusDocument> {
  const deadline = Date.now() + ms
  let doc = await status(socket)
  while (!ready(doc)) {
    if (Date.now() > deadline) throw new Error('status never matched; last:\n' + JSON.stringify(doc, null, 2))
    await new Promise((resolve) => setTimeout(resolve, 100))
    doc = await status(socket)
  }
  return doc
}

export async function start (t: Test, mode: 'shared' | 'ports', extra: object = {}, env: Record<string, string> = {}): Promise<{ launched: Launched, socket: string, port: number, dir: string }> {
  const dir = tempDir(t)
  const socket = join(dir, 'control.sock')
  const port = mode === 'ports' ? await freePorts(2) : 0
  const launched = launchFixture(t, { processes: 2, port, mode, host: '127.0.0.1', controlSocket: socket, ...extra }, env)
  const listening = await launched.waitFor((line) => line.msg === 'worker listening', 2)
  return { launched, socket, port: port === 0 ? listening[0]!.port as number : port, dir }
}
