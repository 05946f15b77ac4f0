import t from 'tap'
import { countOpenFiles, openFilesWarning, parseOpenFileLimit, RateLimitedWarning, readOpenFileLimit } from '../../lib/cluster/limits.js'

const limits = `Limit                     Soft Limit           Hard Limit           Units
Max processes             63457                63457                processes
Max open files            1024                 524288               files
`

t.test('the soft and hard open-file limits are read from /proc/self/limits', async (t) => {
  t.same(parseOpenFileLimit(limits), { soft: 1024, hard: 524288 })
  t.same(parseOpenFileLimit('Max open files            unlimited            unlimited            files'), { soft: Infinity, hard: Infinity })
  t.equal(parseOpenFileLimit('Max processes 1 1'), null)
  const dir = t.testdir({ limits })
  t.same(readOpenFileLimit(dir + '/limits'), { soft: 1024, hard: 524288 })
  t.equal(readOpenFileLimit(dir + '/missing'), null, 'no /proc: no limit, no warning')
})

t.test('a soft limit below minOpenFiles warns with ulimit, limits.conf, supervisord minfds and systemd LimitNOFILE', async (t) => {
  const warning = openFilesWarning({ soft: 256, hard: 4096 }, 1024)!
  t.match(warning, 'open-file limit is 256 (hard 4096), below minOpenFiles 1024')
  for (const fix of ['ulimit -n 1024', '/etc/security/limits.conf', 'minfds=1024', 'LimitNOFILE=1024']) t.match(warning, fix)
  t.equal(openFilesWarning({ soft: 1024, hard: 4096 }, 1024), null)
  t.equal(openFilesWarning(null, 1024), null)
})

t.test('open descriptors are counted from /proc/self/fd, null without it', async (t) => {
  t.ok(countOpenFiles()! > 2)
  t.equal(countOpenFiles('/nonexistent/fd'), null)
})

t.test('running out of descriptors is reported once per interval with the number suppressed', async (t) => {
  const warning = new RateLimitedWarning(1000)
  t.equal(warning.hit(0), 0)
  t.equal(warning.hit(10), null)
  t.equal(warning.hit(999), null)
  t.equal(warning.hit(1000), 2)
})
