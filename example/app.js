// The seed's application (Tornado's make_app()) in Fastify. `buildApp` only
// builds; example/main.js decides how to run it.
import Fastify from 'fastify'
import fastifyView from '@fastify/view'
import ejs from 'ejs'
import deployKit from 'fastify-deploy-kit'

const here = new URL('.', import.meta.url).pathname

/** The seed's settings block, in camelCase. */
export function settingsFromEnv (env = process.env) {
  return {
    staticPath: here + 'static',
    staticRootAliases: ['robots.txt', 'favicon.ico', 'apple-touch-icon.png'],
    compressResponse: true,
    debug: env.NODE_ENV === 'development'
  }
}

export default async function buildApp (options = {}) {
  const app = Fastify({ logger: options.logger ?? { level: process.env.LOG_LEVEL ?? 'info' } })
  await app.register(fastifyView, { engine: { ejs }, root: here + 'templates' })
  await app.register(deployKit, { ...settingsFromEnv(), ...options.settings })

  app.get('/', (request, reply) => reply.view('index.ejs', { title: 'Home' }))
  return app
}
