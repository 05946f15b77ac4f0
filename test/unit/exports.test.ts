// The public surface as a consumer imports it: every subpath of package.json
// "exports", by the package's own name (so the built dist/ through the exports
// map, not lib/), with the sorted export names and the kind of each. A name
// that appears, disappears or changes kind is a change for users: it fails
// here until it is pinned (and documented). Each plugin subpath gives one
// fastify-plugin-wrapped plugin, named and default, the same one the barrel
// gives, so its decorators reach the app it is registered on (as
// @fastify/under-pressure's test/exports.test.js checks its own).
import t from 'tap'
import { readFileSync } from 'node:fs'
import Fastify, { type FastifyInstance } from 'fastify'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string, exports: Record<string, unknown> }

const ERROR_CODES = [
  'FDK_AUTH_LOGIN_URL_MISSING', 'FDK_AUTH_REQUIRED', 'FDK_AUTH_USER_NOT_LOADED', 'FDK_CLI_INVALID_OPTION',
  'FDK_CLUSTER_BODY_TIMEOUT', 'FDK_CLUSTER_BODY_TOO_LARGE', 'FDK_CLUSTER_BUILD_APP_INVALID', 'FDK_CLUSTER_CONTROL_SOCKET',
  'FDK_CLUSTER_NOT_READY', 'FDK_CLUSTER_OPTION_INVALID', 'FDK_CLUSTER_TOO_MANY_RESTARTS', 'FDK_CLUSTER_WORKER_BOOT_FAILED',
  'FDK_COMPRESS_ALREADY_REGISTERED', 'FDK_COOKIE_NAME_INVALID', 'FDK_COOKIE_OPTIONS_INVALID', 'FDK_COOKIE_SECRET_MISSING',
  'FDK_COOKIE_SECRET_UNSET', 'FDK_COOKIE_SECRET_WEAK', 'FDK_COOKIE_VALUE_INVALID', 'FDK_PROXY_TRUST_PROXY_CONFLICT',
  'FDK_SETTINGS_INVALID', 'FDK_SETTINGS_UNKNOWN', 'FDK_STATIC_FORBIDDEN', 'FDK_STATIC_MANIFEST_INVALID',
  'FDK_STATIC_MANIFEST_MISSING', 'FDK_STATIC_PATH_MISSING', 'FDK_XSRF_COOKIE_MISSING', 'FDK_XSRF_MULTIPART_INVALID',
  'FDK_XSRF_TOKEN_INVALID', 'FDK_XSRF_TOKEN_MISMATCH', 'FDK_XSRF_TOKEN_MISSING'
]

/** Every subpath's exports: name → typeof. Sorted on comparison, so the order here is free. */
const SURFACE: Record<string, Record<string, string>> = {
  '.': {
    ...Object.fromEntries(ERROR_CODES.map((code) => [code, 'function'])),
    SETTING_NAMES: 'object',
    addTemplateLocal: 'function',
    createSignedValue: 'function',
    decodeSignedValue: 'function',
    decodeSignedValueBytes: 'function',
    default: 'function',
    encodeCookieValue: 'function',
    fastifyDeployAuth: 'function',
    fastifyDeployCompress: 'function',
    fastifyDeployCookie: 'function',
    fastifyDeployKit: 'function',
    fastifyDeployProxy: 'function',
    fastifyDeployStatic: 'function',
    fastifyDeployXsrf: 'function',
    getSignedValueKeyVersion: 'function',
    launch: 'function',
    quoteCookieValue: 'function',
    taskId: 'function',
    unquoteCookieValue: 'function'
  },
  './static': {
    STATIC_SETTING_NAMES: 'object',
    default: 'function',
    fastifyDeployStatic: 'function',
    normalizeStaticOptions: 'function'
  },
  './compress': {
    COMPRESS_SETTING_NAMES: 'object',
    DEFAULT_COMPRESS_THRESHOLD: 'number',
    default: 'function',
    fastifyDeployCompress: 'function',
    normalizeCompressOptions: 'function'
  },
  './cookie': {
    COOKIE_SETTING_NAMES: 'object',
    MIN_SECRET_BYTES: 'number',
    PLACEHOLDER_SECRET: 'string',
    createSignedValue: 'function',
    decodeSignedValue: 'function',
    decodeSignedValueBytes: 'function',
    default: 'function',
    encodeCookieValue: 'function',
    fastifyDeployCookie: 'function',
    getSignedValueKeyVersion: 'function',
    normalizeCookieOptions: 'function',
    quoteCookieValue: 'function',
    unquoteCookieValue: 'function'
  },
  './xsrf': {
    XSRF_COOKIE_NAME: 'string',
    XSRF_SETTING_NAMES: 'object',
    checkXsrf: 'function',
    default: 'function',
    fastifyDeployXsrf: 'function',
    normalizeXsrfOptions: 'function'
  },
  './auth': {
    AUTH_SETTING_NAMES: 'object',
    LOGIN_LOOP_WARNING: 'string',
    default: 'function',
    fastifyDeployAuth: 'function',
    normalizeAuthOptions: 'function'
  },
  './proxy': {
    PROXY_SETTING_NAMES: 'object',
    default: 'function',
    fastifyDeployProxy: 'function',
    normalizeProxyOptions: 'function'
  },
  './cluster': {
    launch: 'function',
    normalizeClusterOptions: 'function',
    taskId: 'function'
  }
}

/** The plugin of each plugin subpath, its fastify-plugin name, and what a registration on a fresh app must show at the root. */
const PLUGINS: Record<string, { named: string, name: string, decorates: (app: FastifyInstance) => boolean, options: (dir: string) => object }> = {
  '.': { named: 'fastifyDeployKit', name: 'fastify-deploy-kit', decorates: (app) => app.hasDecorator('authenticated'), options: () => ({}) },
  './static': { named: 'fastifyDeployStatic', name: 'fastify-deploy-kit/static', decorates: (app) => app.hasDecorator('staticUrl') && app.hasReplyDecorator('sendFile'), options: (dir) => ({ staticPath: dir, staticWarmup: false }) },
  './compress': { named: 'fastifyDeployCompress', name: 'fastify-deploy-kit/compress', decorates: (app) => app.hasReplyDecorator('compress'), options: () => ({ compressResponse: true }) },
  './cookie': { named: 'fastifyDeployCookie', name: 'fastify-deploy-kit/cookie', decorates: (app) => app.hasReplyDecorator('setSignedCookie') && app.hasRequestDecorator('getSignedCookie'), options: () => ({ cookieSecret: 'exports-test-secret-0123456789abcdefghij' }) },
  './xsrf': { named: 'fastifyDeployXsrf', name: 'fastify-deploy-kit/xsrf', decorates: (app) => app.hasReplyDecorator('xsrfToken') && app.hasReplyDecorator('xsrfFormHtml'), options: () => ({}) },
  './auth': { named: 'fastifyDeployAuth', name: 'fastify-deploy-kit/auth', decorates: (app) => app.hasDecorator('authenticated'), options: () => ({}) },
  './proxy': { named: 'fastifyDeployProxy', name: 'fastify-deploy-kit/proxy', decorates: (app) => app.hasRequestDecorator('ips'), options: () => ({ xheaders: true }) }
}

const specifier = (subpath: string): string => pkg.name + subpath.slice(1)
const subpaths = Object.keys(pkg.exports).filter((subpath) => subpath !== './package.json')

t.test('every subpath of package.json "exports" is pinned here', async (t) => {
  t.same([...subpaths].sort(), Object.keys(SURFACE).sort())
})

for (const subpath of subpaths) {
  t.test(`${specifier(subpath)} exports exactly the pinned names, each of the pinned kind`, async (t) => {
    const module = await import(specifier(subpath)) as Record<string, unknown>
    const actual = Object.keys(module).sort().map((name) => `${name}: ${typeof module[name]}`)
    const expected = Object.entries(SURFACE[subpath] ?? {}).map(([name, kind]) => `${name}: ${kind}`).sort()
    t.same(actual, expected)
  })
}

for (const [subpath, plugin] of Object.entries(PLUGINS)) {
  t.test(`${specifier(subpath)}: one fastify-plugin-wrapped plugin, named and default, whose decorators reach the app`, async (t) => {
    const module = await import(specifier(subpath)) as Record<string, unknown>
    const named = module[plugin.named] as Record<symbol, unknown>
    t.equal(named, module.default, 'the named export is the default export')
    t.equal(named[Symbol.for('skip-override')], true, 'not encapsulated')
    t.equal(named[Symbol.for('fastify.display-name')], plugin.name)
    const barrel = await import(pkg.name) as Record<string, unknown>
    if (subpath !== '.') t.equal(barrel[plugin.named], named, 'the barrel gives the same plugin under the same name')

    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(named as never, plugin.options(t.testdir({ 'a.css': 'a{}' })))
    t.ok(plugin.decorates(app), 'decorators are visible on the app the plugin was registered on')
  })
}
