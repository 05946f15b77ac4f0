// One body limit for the app and nginx (issue 14): `deploy-kit start
// --max-body` and `deploy-kit nginx --max-body` take the same nginx size and
// default to launch()'s maxBodySize, so the two refuse the same bodies.
import t from 'tap'
import { main } from '../../lib/cli/main.js'
import { parseStartArgs } from '../../lib/cli/start.js'
import { DEFAULT_MAX_BODY } from '../../lib/cli/nginx.js'
import { nginxSize, sizeBytes } from '../../lib/cli/validate.js'
import { CLIENT_LIMIT_DEFAULTS } from '../../lib/cluster/client-limits.js'

async function nginx (...args: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const code = await main(['nginx', '--upstream', '127.0.0.1:8000', ...args], { stdout: (s) => { out += s }, stderr: (s) => { err += s } })
  return { code, out, err }
}

t.test('deploy-kit nginx writes launch()\'s default maxBodySize as client_max_body_size', async (t) => {
  t.equal(DEFAULT_MAX_BODY, '1m')
  t.equal(sizeBytes(DEFAULT_MAX_BODY), CLIENT_LIMIT_DEFAULTS.maxBodySize)
  const { code, out } = await nginx()
  t.equal(code, 0)
  t.match(out, /^ {8}client_max_body_size 1m;$/m)
  t.match((await nginx('--max-body', '50M')).out, /client_max_body_size 50M;/)
})

t.test('deploy-kit start --max-body sets maxBodySize in bytes; a bad size is a usage error', async (t) => {
  t.same(parseStartArgs(['app.js', '--max-body', '50m']), { module: 'app.js', options: { maxBodySize: 50 * 1024 * 1024 } })
  t.same(parseStartArgs(['app.js', '--max-body', '512k']), { module: 'app.js', options: { maxBodySize: 512 * 1024 } })
  t.same(parseStartArgs(['app.js', '--max-body', '1000']), { module: 'app.js', options: { maxBodySize: 1000 } })
  t.throws(() => parseStartArgs(['app.js', '--max-body', '5 G']), { code: 'FDK_CLI_INVALID_OPTION', message: /--max-body/ })
  let err = ''
  const code = await main(['start', 'app.js', '--max-body', 'lots'], { stdout: () => {}, stderr: (s) => { err += s } })
  t.equal(code, 2)
  t.match(err, /--max-body/)
})

t.test('sizes convert both ways as nginx reads them', async (t) => {
  t.same(['1m', '2g', '3k', '4K', '5M', '1000'].map(sizeBytes), [1048576, 2 * 1024 ** 3, 3072, 4096, 5 * 1048576, 1000])
  t.same([1048576, 52428800, 3072, 1000].map(nginxSize), ['1m', '50m', '3k', '1000'])
})
