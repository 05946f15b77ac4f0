// Descriptor exhaustion by stalled clients (issue 14): a worker under
// `prlimit --nofile=256` and 300 connections that never finish their
// headers. While they hold every descriptor, new connections are dropped;
// once the header timeout cuts them, normal clients are served again by the
// same process, without a restart. Bounded: 300 sockets, polls of at most
// 20 s.
import t from 'tap'
import net from 'node:net'
import { existsSync } from 'node:fs'
import { get, launchFixture } from '../helpers/cluster.js'

const prlimit = ['/usr/bin/prlimit', '/bin/prlimit'].find((path) => existsSync(path))
const skip = prlimit === undefined && process.env.CI !== 'true' ? 'SKIPPED: prlimit (util-linux) is not installed, cannot run a process under a low open-file limit' : false
const STALLED = 300
const HEADER_TIMEOUT_MS = 3000

t.test('under prlimit --nofile=256, 300 stalled connections: served again after the header timeout, same process', { skip }, async (t) => {
  if (prlimit === undefined) return t.fail('prlimit (util-linux) is required on CI')
  const launched = launchFixture(t, { processes: 1, port: 0, host: '127.0.0.1', clientHeaderTimeoutMs: HEADER_TIMEOUT_MS }, {}, [prlimit, '--nofile=256:256', '--'])
  const [listening] = await launched.waitFor((line) => /listening/.test(line.msg))
  const port = listening!.port as number
  t.equal((await get(port)).status, 200, 'served before the attack')

  const sockets: net.Socket[] = []
  t.teardown(() => { for (const socket of sockets) socket.destroy() })
  let closed = 0
  const started = Date.now()
  await Promise.all(Array.from({ length: STALLED }, () => new Promise<void>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nX-Stalled: ')
      resolve()
    })
    socket.on('error', () => resolve())
    socket.resume() // read the 408, so that the server's close is seen
    socket.on('close', () => { closed++ })
    sockets.push(socket)
  })))
  const [exhausted] = await launched.waitFor((line) => /out of file descriptors/.test(line.msg))
  t.equal(exhausted!.code, 'EMFILE', 'the stalled clients took every descriptor')

  let answer
  let attempts = 0
  while (answer === undefined && Date.now() - started < HEADER_TIMEOUT_MS + 20_000) {
    attempts++
    answer = await Promise.race([
      get(port).catch(() => undefined),
      new Promise<undefined>((resolve) => setTimeout(resolve, 1000))
    ])
    if (answer === undefined) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const servedAfterMs = Date.now() - started
  const closedThen = closed
  // Bounded wait (10 s) for the last closes to reach this side.
  for (let i = 0; i < 100; i++) {
    if (closed === STALLED) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.comment(`served again ${servedAfterMs} ms after the stalled connections opened (header timeout ${HEADER_TIMEOUT_MS} ms, ${attempts} attempts); ${closedThen}/${STALLED} stalled connections closed by then, ${closed} ${Date.now() - started} ms after`)
  t.equal(answer?.status, 200, 'normal clients are served again')
  t.equal(answer?.body.pid, listening!.pid, 'by the same process: no restart')
  t.equal(closed, STALLED, 'the server cut (or, out of descriptors, dropped) every stalled connection')
  for (const socket of sockets) socket.destroy()
  launched.child.kill('SIGTERM')
  t.same(await launched.exit(), { code: 0, signal: null })
})
