// One body limit through the generated nginx (issue 14): `deploy-kit nginx`
// with its default --max-body in front of launch() with its default
// maxBodySize. An upload just under the limit reaches the app; one just over
// gets nginx's own 413 and never reaches the app.
import t from 'tap'
import http from 'node:http'
import { join } from 'node:path'
import { chmodSync, writeFileSync } from 'node:fs'
import { main } from '../../lib/cli/main.js'
import { CLIENT_LIMIT_DEFAULTS } from '../../lib/cluster/client-limits.js'
import { NGINX, freePort, need, startProcess, tempDir, waitForPort } from '../helpers/tools.js'
import { launchUploadApp } from '../helpers/upload.js'

const BOUNDARY = 'fdk-boundary'

const HEAD = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="upload.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`
const TAIL = `\r\n--${BOUNDARY}--\r\n`

/** A multipart body of exactly `total` bytes: one file field padded to fit. */
function multipartBody (total: number): Buffer {
  return Buffer.concat([Buffer.from(HEAD), Buffer.alloc(total - HEAD.length - TAIL.length, 1), Buffer.from(TAIL)])
}

function post (port: number, body: Buffer): Promise<{ status: number, server: string | undefined, body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request({
      host: '127.0.0.1',
      port,
      path: '/upload',
      method: 'POST',
      agent: false,
      timeout: 20_000,
      headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': body.length }
    }, (response) => {
      let text = ''
      response.on('data', (chunk: Buffer) => { text += chunk.toString() })
      response.on('end', () => resolve({ status: response.statusCode!, server: response.headers.server as string | undefined, body: text }))
    })
    request.on('timeout', () => request.destroy(new Error('timeout')))
    request.on('error', reject)
    request.end(body)
  })
}

if (need(t, NGINX, 'nginx')) {
  t.test('through the generated nginx, an upload just under maxBodySize succeeds and one just over gets nginx\'s 413', async (t) => {
    const app = await launchUploadApp(t)
    const appPort = app.port

    const prefix = tempDir(t, 'direct-nginx')
    // Bodies over 16 KiB go to nginx's client_body_temp under the prefix,
    // written by its workers (nobody, when the tests run as root).
    chmodSync(prefix, 0o755)
    const nginxPort = await freePort()
    let config = ''
    let errors = ''
    const code = await main(['nginx', '--upstream', `127.0.0.1:${appPort}`, '--listen', `127.0.0.1:${nginxPort}`, '--prefix', prefix],
      { stdout: (text) => { config += text }, stderr: (text) => { errors += text } })
    t.equal(code, 0, errors)
    t.match(config, /client_max_body_size 1m;/, 'the default limit is written, as generated')
    writeFileSync(join(prefix, 'nginx.conf'), config)
    const nginx = startProcess(t, NGINX, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', 'stderr', '-g', 'daemon off;'])
    await waitForPort(nginxPort, '127.0.0.1', nginx)

    const limit = CLIENT_LIMIT_DEFAULTS.maxBodySize
    const under = await post(nginxPort, multipartBody(limit))
    t.equal(under.status, 200, 'a body of exactly maxBodySize bytes passes nginx and the app')
    t.equal(JSON.parse(under.body).size, limit - HEAD.length - TAIL.length, 'the app read the whole file')
    t.equal(app.reached(), 1)
    const over = await post(nginxPort, multipartBody(limit + 1))
    t.equal(over.status, 413, 'one byte more is refused')
    t.match(over.server, /^nginx/, 'by nginx itself')
    t.equal(app.reached(), 1, 'the app never saw it')
    const direct = await post(appPort, multipartBody(limit + 1))
    t.equal(direct.status, 413, 'the app refuses the same body when reached directly: the two agree')
    t.match(direct.body, /FDK_CLUSTER_BODY_TOO_LARGE/)
    t.equal(app.reached(), 1)
  })
}
