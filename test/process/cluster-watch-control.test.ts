// deploy-kit reload/stop through the control socket; the socket's owner check, stale sockets, the pidfile.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync, chmodSync, existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { controlRequest } from '../../lib/cluster/control.js'
import { status as statusCommand } from '../../lib/cli/control.js'
import { launchFixture } from '../helpers/cluster.js'
import { cli, start, status, tempDir } from '../helpers/watch.js'

t.test('reload and stop through the socket wait for the outcome; a failed reload exits 1 with its reason', async (t) => {
  const dir = tempDir(t)
  const crashFile = join(dir, 'broken')
  const { launched, socket } = await start(t, 'shared', {}, { FDK_TEST_CRASH_FILE: crashFile })
  const oldPids = (await status(socket)).workers.map((w) => w.pid)
  const reloaded = await cli('reload', '--socket', socket)
  t.same(reloaded, { code: 0, stdout: 'reload finished\n', stderr: '' })
  const doc = await status(socket)
  t.same(doc.workers.filter((w) => w.state !== 'draining').map((w) => w.pid).filter((pid) => oldPids.includes(pid)), [], 'every serving worker is new')
  t.equal(doc.workers.filter((w) => w.state !== 'draining').length, 2)
  t.match(doc.primary.reload.last, { ok: true })
  writeFileSync(crashFile, '')
  const failed = await cli('reload', '--socket', socket)
  t.equal(failed.code, 1)
  t.match(failed.stderr, /deploy-kit reload: the new worker 0 exited before listening; the old workers keep serving/)
  t.match((await status(socket)).primary.reload.last, { ok: false, reason: /exited before listening/ })
  const stopped = await cli('stop', '--socket', socket)
  t.same(stopped, { code: 0, stdout: 'stopped\n', stderr: '' })
  t.same(await launched.exit(), { code: 0, signal: null })
  t.notOk(existsSync(socket), 'the socket is removed on exit')
})

t.test('the socket refuses another user; a stale socket does not stop a new primary; a live one does', async (t) => {
  const dir = tempDir(t)
  chmodSync(dir, 0o755) // so that only the socket's own mode keeps "nobody" out
  const socket = join(dir, 'control.sock')
  const pidFile = join(dir, 'primary.pid')
  const options = { processes: 2, port: 0, host: '127.0.0.1', controlSocket: socket, pidFile }
  const first = launchFixture(t, options)
  await first.waitFor((line) => line.msg === 'worker listening', 2)
  t.equal((await status(socket)).primary.pid, first.child.pid)
  // The client runs as "nobody" in this process (effective uid only, for the
  // one connect): a `setpriv` child would have to read the checkout, which a
  // clone inside a `mktemp -d` directory (mode 0700) does not let nobody do.
  // The command is imported here, not through main()'s dynamic import,
  // which would stat the file as nobody.
  const nobody = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim())
  const seteuid = process.seteuid!.bind(process) // POSIX, and these tests run as root
  seteuid(nobody)
  const refused = { code: 0, stderr: '' }
  try {
    refused.code = await statusCommand(['--socket', socket], { stdout: () => {}, stderr: (text) => { refused.stderr += text } })
  } finally {
    seteuid(0)
  }
  t.equal(refused.code, 1, 'nobody is refused')
  t.match(refused.stderr, /permission denied on .*control\.sock: only the user who started the primary \(uid 0\) may use it/)
  // A second primary on the same socket, while the first answers: refused.
  const second = launchFixture(t, options)
  t.not((await second.exit()).code, 0)
  t.match(second.output(), /FDK_CLUSTER_CONTROL_SOCKET|another primary is running and answers on it/)
  // The first dies without cleaning up: its socket file stays, a new primary takes the path over.
  first.child.kill('SIGKILL')
  await first.exit()
  t.ok(existsSync(socket), 'the stale socket is still there')
  const third = launchFixture(t, options)
  await third.waitFor((line) => line.msg === 'worker listening', 2)
  t.equal((await status(socket)).primary.pid, third.child.pid)
  t.equal(readFileSync(pidFile, 'utf8'), `${third.child.pid}\n`, 'the pidfile names the running primary')
  t.equal((await controlRequest(socket, { command: 'nope' }, 5_000)).error, 'unknown command "nope" (known: status, reload, stop)')
  third.child.kill('SIGTERM')
  await third.exit()
  t.notOk(existsSync(pidFile), 'the pidfile is removed on exit')
})
