// The launcher behind the real nginx, as docs/deploying.md runs it:
// `deploy-kit start --mode ports` and `deploy-kit nginx` pointing at its ports.
// A killed worker is covered by nginx and brought back by the launcher; a
// SIGHUP rolls every worker under load without a failed request.
import t from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { main } from '../../lib/cli/main.js'
import { NGINX, freePort, need, startProcess, tempDir, waitForPort } from '../helpers/tools.js'
import { HEALTH_PATH, cli, get, killThenReload, root, startLauncher } from '../helpers/launcher.js'

if (need(t, NGINX, 'nginx')) {
  if (!existsSync(cli)) {
    t.fail('dist/ is missing: run `npm run build` (npm test does it first)')
  } else {
    t.test('the launcher behind nginx: kill a worker, then reload under load', async (t) => {
      const { first, launcher } = await startLauncher(t, 2)
      const prefix = tempDir(t, 'deploy-launcher')
      const nginxPort = await freePort()
      let config = ''
      const code = await main(['nginx', '--upstream', `127.0.0.1:${first}-${first + 1}`, '--listen', `127.0.0.1:${nginxPort}`,
        '--static-root', join(root, 'example', 'static'), '--health', HEALTH_PATH, '--prefix', prefix], { stdout: (text) => { config += text }, stderr: () => {} })
      t.equal(code, 0)
      writeFileSync(join(prefix, 'nginx.conf'), config)
      const nginx = startProcess(t, NGINX, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', 'stderr', '-g', 'daemon off;'])
      await waitForPort(nginxPort, '127.0.0.1', nginx)
      const healthy = await get(nginxPort, HEALTH_PATH)
      t.same([healthy.status, JSON.parse(healthy.body)], [200, { status: 'ok' }], 'nginx passes the launcher\'s health route through')
      await killThenReload(t, 'nginx', nginxPort, first, launcher, () => readFileSync(join(prefix, 'error.log'), 'utf8'))
    })
  }
}
