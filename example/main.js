// The seed's main(): build the app and listen on 8888.
import buildApp from './app.js'

async function main () {
  const app = await buildApp()
  const port = Number(process.env.PORT ?? 8888)
  await app.listen({ port, host: process.env.HOST ?? '127.0.0.1' })
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
