import t from 'tap'
import Fastify from 'fastify'
import deployKit, { SETTING_NAMES } from '../../lib/index.js'
import { optionalString, requirePlainObject, suggestSetting } from '../../lib/shared/settings.js'
import { describeValue } from '../../lib/shared/invalid-option.js'

async function registrationError (settings: unknown): Promise<(Error & { code: string }) | null> {
  const app = Fastify()
  app.register(deployKit, settings as never)
  return await app.ready().then(() => null, (error: Error & { code: string }) => error)
}

t.test('an empty settings object registers nothing and works', async (t) => {
  const app = Fastify()
  await app.register(deployKit, {})
  app.get('/', async () => 'ok')
  t.equal((await app.inject('/')).body, 'ok')
  await app.close()
})

t.test('Tornado snake_case settings are refused with a did-you-mean', async (t) => {
  const error = await registrationError({ static_path: '/tmp' })
  t.equal(error?.code, 'FDK_SETTINGS_UNKNOWN')
  t.equal(error?.message, 'Unknown setting "static_path"; did you mean "staticPath"?')
  t.match((await registrationError({ static_url_prefix: '/s/' }))?.message, /did you mean "staticUrlPrefix"/)
})

t.test('a typo gets the nearest setting; nonsense gets no suggestion', async (t) => {
  t.match((await registrationError({ staticPth: '/tmp' }))?.message, /did you mean "staticPath"\?/)
  t.match((await registrationError({ compressresponse: true }))?.message, /did you mean "compressResponse"\?/)
  const nonsense = await registrationError({ qqqqqqqqqq: 1 })
  t.equal(nonsense?.message, 'Unknown setting "qqqqqqqqqq"')
})

t.test('settings must be an object and debug a boolean', async (t) => {
  t.equal((await registrationError([]))?.code, 'FDK_SETTINGS_INVALID')
  const debug = await registrationError({ debug: 'yes' })
  t.equal(debug?.code, 'FDK_SETTINGS_INVALID')
  t.equal(debug?.message, 'Invalid setting "debug": received "yes", expected a boolean')
})

t.test('a setting given without the one that enables it is refused, naming both, instead of being ignored', async (t) => {
  const prefix = await registrationError({ staticUrlPrefix: 'no-slashes' })
  t.equal(prefix?.code, 'FDK_SETTINGS_INVALID')
  t.equal(prefix?.message, 'Invalid setting "staticUrlPrefix": received "no-slashes", expected to be used together with staticPath')
  t.match(prefix, { option: 'staticUrlPrefix', expected: 'to be used together with staticPath' })
  t.match(await registrationError({ staticPath: undefined, staticWarmup: false }), { code: 'FDK_SETTINGS_INVALID', option: 'staticWarmup' })
  t.match(await registrationError({ xsrfCookieOptions: { path: '/' } }), { code: 'FDK_SETTINGS_INVALID', message: /"xsrfCookieOptions".*together with xsrfCookies/ })
  t.match(await registrationError({ xsrfCookieVersion: 1 }), { code: 'FDK_SETTINGS_INVALID', option: 'xsrfCookieVersion' })
  t.equal(await registrationError({ xsrfCookies: false, xsrfCookieVersion: 1 }), null, 'xsrfCookies: false registers the helpers, so the version counts')
  t.equal(await registrationError({ debug: true }), null, 'debug needs nothing')
})

t.test('the caller\'s settings object is never changed', async (t) => {
  const settings = Object.freeze({ staticPath: t.testdir({ 'a.txt': 'a' }), staticWarmup: false })
  const app = Fastify()
  await app.register(deployKit, settings)
  await app.ready()
  t.same(Object.keys(settings), ['staticPath', 'staticWarmup'])
  await app.close()
})

t.test('every setting name is camelCase and documented in docs/', async (t) => {
  const { readFileSync, readdirSync } = await import('node:fs')
  const docsDir = new URL('../../docs/', import.meta.url)
  const docs = readdirSync(docsDir).filter((f) => f.endsWith('.md')).map((f) => readFileSync(new URL(f, docsDir), 'utf8')).join('\n')
  for (const name of SETTING_NAMES) {
    t.match(name, /^[a-z][a-zA-Z]+$/)
    t.ok(docs.includes('`' + name + '`'), `${name} is documented`)
  }
})

t.test('received values are described briefly and safely in messages', async (t) => {
  t.equal(describeValue(null), 'null')
  t.equal(describeValue([1, 2]), 'array(2)')
  t.equal(describeValue('x'.repeat(100)), JSON.stringify('x'.repeat(57) + '...'))
  t.equal(describeValue(3), '3')
  t.equal(describeValue(undefined), 'undefined')
  t.equal(describeValue(() => {}), 'a function')
  t.equal(describeValue({ secret: 'no' }), 'an object')
  t.equal(optionalString('name', undefined), undefined)
  t.equal(optionalString('name', 'value'), 'value')
  t.throws(() => optionalString('name', ''), { code: 'FDK_SETTINGS_INVALID' })
  t.equal(suggestSetting('xyzzy', []), undefined)
  t.same(requirePlainObject('settings', undefined), {})
})
