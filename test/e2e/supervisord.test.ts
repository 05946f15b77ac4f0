// The generated supervisord.conf run by the real supervisord, unprivileged
// paths under a temporary --prefix: a process group, one port per process.
import t from 'tap'
import { request as httpRequest } from 'node:http'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { main } from '../../lib/cli/main.js'
import { SUPERVISORD, childEnv, freePortRange, need, startProcess, stopProcess, tempDir, waitForPort } from '../helpers/tools.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const worker = join(root, 'test', 'fixtures', 'deploy', 'worker.js')

function whoami (port: number): Promise<{ port: number, pid: number }> {
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path: '/whoami', agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve(JSON.parse(body)))
    }).on('error', reject).end()
  })
}

function refused (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    httpRequest({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => { res.resume(); resolve(false) })
      .on('error', () => resolve(true)).end()
  })
}

t.test('supervisord runs the generated process group: each process on its own port, all stopped by SIGTERM', async (t) => {
  if (!need(t, SUPERVISORD, 'supervisor')) return
  if (!existsSync(join(root, 'dist', 'proxy.js'))) {
    t.fail('dist/ is missing: run `npm run build`; the example app loads the built package')
    return
  }
  const prefix = tempDir(t, 'supervisord')
  const first = await freePortRange(2)
  let config = ''
  let errors = ''
  const code = await main(['supervisord', '--command', `${process.execPath} ${worker}`, '--processes', '2', '--port', String(first),
    '--minfds', '1024', '--shutdown-timeout', '2', '--prefix', prefix], { stdout: (s) => { config += s }, stderr: (s) => { errors += s } })
  t.equal(code, 0, errors)
  const file = join(prefix, 'supervisord.conf')
  writeFileSync(file, config)
  const supervisord = startProcess(t, SUPERVISORD, ['-n', '-c', file], childEnv())
  await waitForPort(first, '127.0.0.1', supervisord)
  await waitForPort(first + 1, '127.0.0.1', supervisord)
  const answers = [await whoami(first), await whoami(first + 1)]
  t.same(answers.map((a) => a.port), [first, first + 1], 'PORT=%(process_num)d gave each process its own port')
  t.not(answers[0]!.pid, answers[1]!.pid, 'two processes')
  await stopProcess(supervisord)
  t.ok(await refused(first), 'first process stopped')
  t.ok(await refused(first + 1), 'second process stopped')
})
