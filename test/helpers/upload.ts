// The upload app of the issue 14 tests (test/process/direct-*.test.ts): a Fastify app
// launched in this process whose POST /upload streams a multipart file and
// answers its size, and whose /form and /json parse their bodies.
import Fastify from 'fastify'
import formbody from '@fastify/formbody'
import multipart from '@fastify/multipart'
import { launch } from '../../lib/cluster.js'

const quiet = { info: () => {}, warn: () => {}, error: () => {} }

export interface UploadApp {
  port: number
  /** Requests that reached a route (a 413 from the gate or nginx never does). */
  reached: () => number
}

/** Launches the app on a loopback port with launch()'s defaults; closed at teardown. */
export async function launchUploadApp (t: { teardown: (fn: () => unknown) => void }): Promise<UploadApp> {
  let reached = 0
  const handle = await launch(async () => {
    const app = Fastify()
    await app.register(formbody)
    await app.register(multipart)
    app.addHook('preHandler', async () => { reached++ })
    app.post('/form', async (request) => ({ got: typeof request.body }))
    app.post('/json', async (request) => ({ got: typeof request.body }))
    app.post('/upload', async (request) => {
      const file = await request.file()
      let size = 0
      for await (const chunk of file!.file) size += (chunk as Buffer).length
      return { size }
    })
    return app
  }, { port: 0, host: '127.0.0.1', logger: quiet })
  t.teardown(() => handle.close())
  return { port: handle.workers()[0]!.port, reached: () => reached }
}
