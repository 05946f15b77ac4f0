// The seed's main(): run the app with launch(), Tornado's `server.start(n)`.
// buildApp runs only in the worker processes; this module runs in the
// primary too, so it opens nothing itself. PORT, HOST and PROCESSES override
// the defaults (PROCESSES=0: one worker per CPU).
import { launch } from 'fastify-deploy-kit'
import buildApp from './app.js'

await launch(() => buildApp(), {
  port: Number(process.env.PORT ?? 8888),
  host: process.env.HOST ?? '127.0.0.1',
  processes: Number(process.env.PROCESSES ?? 1)
})
