import t from 'tap'
import net from 'node:net'
import { existsSync } from 'node:fs'
import { get, launchFixture } from '../helpers/cluster.js'
import { tail, until } from '../helpers/wait.js'
import { EMFILE_LOG_INTERVAL_MS } from '../../lib/cluster/server.js'

const prlimit = ['/usr/bin/prlimit', '/bin/prlimit'].find((path) => existsSync(path))

// Without prlimit the test is skipped loudly locally, and fails on CI.
const skip = prlimit === undefined && process.env.CI !== 'true' ? 'SKIPPED: prlimit (util-linux) is not installed, cannot run a process under a low open-file limit' : false

t.test('under prlimit --nofile=64 the server warns with the fixes, survives more connections than that and serves again once they close', { skip }, async (t) => {
  if (prlimit === undefined) return t.fail('prlimit (util-linux) is required on CI')
  const launched = launchFixture(t, { processes: 1, port: 0, host: '127.0.0.1' }, {}, [prlimit, '--nofile=64:64', '--'])
  const [warning] = await launched.waitFor((line) => /open-file limit is 64/.test(line.msg))
  for (const fix of ['ulimit -n 1024', '/etc/security/limits.conf', 'minfds=1024', 'LimitNOFILE=1024']) {
    t.match(warning!.msg, fix, `the warning names ${fix}`)
  }
  const [listening] = await launched.waitFor((line) => /listening/.test(line.msg))
  const port = listening!.port as number
  const sockets: net.Socket[] = []
  t.teardown(() => { for (const socket of sockets) socket.destroy() })
  let connected = 0
  await Promise.all(Array.from({ length: 150 }, () => new Promise<void>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => { connected++; resolve() })
    socket.on('error', () => resolve())
    sockets.push(socket)
  })))
  t.ok(connected > 0, 'connections were made')
  const [exhausted] = await launched.waitFor((line) => /out of file descriptors/.test(line.msg))
  const exhaustedAt = Date.now()
  t.equal(exhausted!.code, 'EMFILE')
  for (const socket of sockets) socket.destroy()
  let answer: Awaited<ReturnType<typeof get>> | undefined
  await until('an answer once the connections are gone', async () => {
    answer = await get(port).catch(() => undefined)
    return answer !== undefined
  }, { everyMs: 100, last: () => tail(launched.output()) })
  t.equal(answer?.status, 200, 'it serves again once the connections are gone')
  t.equal(answer?.body.pid, listening!.pid, 'the same process: it never crashed')
  // One warning per EMFILE_LOG_INTERVAL_MS at most, however long recovery took on this machine.
  const windows = 1 + Math.floor((Date.now() - exhaustedAt) / EMFILE_LOG_INTERVAL_MS)
  const warnings = launched.lines.filter((line) => /out of file descriptors/.test(line.msg)).length
  t.ok(warnings >= 1 && warnings <= windows, `logged ${warnings} time(s) in ${windows} interval(s), not once per connection`)
  launched.child.kill('SIGTERM')
  t.same(await launched.exit(), { code: 0, signal: null })
})
