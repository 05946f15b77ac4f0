// Each option is declared once: the docs tables of settings (and the CLI's
// usage and option tables) are rendered here from the declarations and must
// appear in docs/ exactly so. On a mismatch the message carries the block to
// paste; the declarations in lib/ are the source, the docs the copy.
import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { settingNames, settingRows, type DeclaresExactly, type SettingDeclaration } from '../../lib/shared/declarations.js'
import { STATIC_SETTINGS } from '../../lib/static/options.js'
import { COMPRESS_SETTINGS } from '../../lib/compress/settings.js'
import { COOKIE_SETTINGS, GET_SIGNED_COOKIE_OPTIONS, SET_SIGNED_COOKIE_OPTIONS } from '../../lib/cookie/settings.js'
import { XSRF_COOKIE_OPTIONS, XSRF_SETTINGS } from '../../lib/xsrf/settings.js'
import { AUTH_SETTINGS } from '../../lib/auth/settings.js'
import { PROXY_SETTINGS, XHEADERS_OPTIONS } from '../../lib/proxy/settings.js'
import { SETTING_NAMES } from '../../lib/index.js'
import { STATIC_SETTING_NAMES } from '../../lib/static.js'
import { COMPRESS_SETTING_NAMES } from '../../lib/compress.js'
import { COOKIE_SETTING_NAMES, type GetSignedCookieOptions, type SetSignedCookieOptions } from '../../lib/cookie.js'
import { XSRF_SETTING_NAMES, normalizeXsrfOptions } from '../../lib/xsrf.js'
import { AUTH_SETTING_NAMES } from '../../lib/auth.js'
import { PROXY_SETTING_NAMES } from '../../lib/proxy.js'
import { flagRows, type Flags } from '../../lib/cli/flags.js'
import { NGINX_FLAGS } from '../../lib/cli/nginx.js'
import { HAPROXY_FLAGS } from '../../lib/cli/haproxy.js'
import { SUPERVISORD_FLAGS } from '../../lib/cli/supervisord.js'
import { SYSTEMD_FLAGS } from '../../lib/cli/systemd.js'
import { KUBERNETES_FLAGS } from '../../lib/cli/kubernetes.js'
import { ASSETS_FLAGS } from '../../lib/cli/assets.js'
import { LAUNCH_OPTIONS } from '../../lib/cluster/options.js'
import { WATCH_OPTIONS } from '../../lib/cluster/watch-options.js'
import { normalizeClusterOptions } from '../../lib/cluster.js'

const SETTINGS_HEADER = '| setting | default | Tornado | meaning |\n|---|---|---|---|\n'

function page (name: string): string {
  return readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8')
}

function table (declarations: Readonly<Record<string, SettingDeclaration>>, prefix = ''): string {
  return SETTINGS_HEADER + settingRows(declarations, prefix).join('\n') + '\n'
}

/** Passes when docs/`name` holds `block` as it is; otherwise prints the block to paste. */
function holds (t: Test, name: string, block: string): void {
  const found = page(name).includes(block)
  if (!found) t.comment(`docs/${name} should hold, exactly:\n\n${block}`)
  t.ok(found, `docs/${name} holds the block rendered from the declaration`)
}

const PLUGINS: Array<{ topic: string, page: string, declarations: Readonly<Record<string, SettingDeclaration>>, names: readonly string[] }> = [
  { topic: 'static files', page: 'static.md', declarations: STATIC_SETTINGS, names: STATIC_SETTING_NAMES },
  { topic: 'compression', page: 'compress.md', declarations: COMPRESS_SETTINGS, names: COMPRESS_SETTING_NAMES },
  { topic: 'signed cookies', page: 'cookie.md', declarations: COOKIE_SETTINGS, names: COOKIE_SETTING_NAMES },
  { topic: 'XSRF', page: 'xsrf.md', declarations: XSRF_SETTINGS, names: XSRF_SETTING_NAMES },
  { topic: 'login', page: 'auth.md', declarations: AUTH_SETTINGS, names: AUTH_SETTING_NAMES },
  { topic: 'proxies', page: 'proxy.md', declarations: PROXY_SETTINGS, names: PROXY_SETTING_NAMES }
]

for (const plugin of PLUGINS) {
  t.test(`docs/${plugin.page}'s settings table is rendered from the plugin's declaration, whose names the umbrella accepts`, async (t) => {
    const rows = plugin.page === 'proxy.md' ? [...settingRows(XHEADERS_OPTIONS, 'xheaders.')] : []
    holds(t, plugin.page, table(plugin.declarations) + rows.map((row) => row + '\n').join(''))
    t.same(plugin.names, Object.keys(plugin.declarations))
    for (const name of plugin.names) t.ok(SETTING_NAMES.includes(name), `the umbrella accepts ${name}`)
  })
}

t.test('docs/xsrf.md\'s table of xsrfCookieOptions keys is rendered from their declaration, and the normaliser accepts exactly those keys', async (t) => {
  holds(t, 'xsrf.md', '| key | default | Tornado kwarg | meaning |\n|---|---|---|---|\n' + settingRows(XSRF_COOKIE_OPTIONS).join('\n') + '\n')
  const keys = Object.keys(XSRF_COOKIE_OPTIONS)
  t.throws(() => normalizeXsrfOptions({ xsrfCookieOptions: { samesite: 'lax' } as never }), { code: 'FDK_SETTINGS_INVALID', message: new RegExp(`one of ${keys.join(', ')}`) }, 'an unknown key is refused, naming every declared one')
  const { cookie } = normalizeXsrfOptions({})
  t.same(cookie, { path: XSRF_COOKIE_OPTIONS.path.default, sameSite: XSRF_COOKIE_OPTIONS.sameSite.default, secure: XSRF_COOKIE_OPTIONS.secure.default, httpOnly: XSRF_COOKIE_OPTIONS.httpOnly.default }, 'the defaults applied are the declared ones')
  t.same(XSRF_SETTINGS.xsrfCookieOptions.default, { path: cookie.path, sameSite: cookie.sameSite }, 'and the setting\'s default shows them')
})

t.test('docs/cookie.md\'s tables of setSignedCookie() and getSignedCookie() options are rendered from their declarations', async (t) => {
  // A compile error (npm run typecheck) when an option is missing from a declaration or declared but not an option.
  const setOptions: DeclaresExactly<SetSignedCookieOptions, typeof SET_SIGNED_COOKIE_OPTIONS> = SET_SIGNED_COOKIE_OPTIONS
  const getOptions: DeclaresExactly<GetSignedCookieOptions, typeof GET_SIGNED_COOKIE_OPTIONS> = GET_SIGNED_COOKIE_OPTIONS
  for (const declarations of [setOptions, getOptions]) {
    holds(t, 'cookie.md', '| option | default | Tornado | meaning |\n|---|---|---|---|\n' + settingRows(declarations).join('\n') + '\n')
  }
})

t.test('docs/settings.md lists every setting by topic, from the same declarations', async (t) => {
  const rows = PLUGINS.map((plugin) => {
    const names = plugin.names.filter((name) => name !== 'debug').map((name) => `\`${name}\``).join(', ')
    return `| ${plugin.topic} | ${names} | [${plugin.page}](${plugin.page}) |`
  })
  holds(t, 'settings.md', '| general | `debug` | below |\n' + rows.join('\n') + '\n')
  t.same([...SETTING_NAMES].sort(), [...new Set(['debug', ...PLUGINS.flatMap((plugin) => plugin.names)])].sort(), 'and the umbrella accepts nothing else')
})

t.test('docs/cluster.md\'s two launch() option tables are rendered from the declarations, and launch() accepts exactly those names', async (t) => {
  holds(t, 'cluster.md', '| option | default | Tornado | meaning |\n|---|---|---|---|\n' + settingRows(LAUNCH_OPTIONS).join('\n') + '\n')
  holds(t, 'cluster.md', '| option | default | like | meaning |\n|---|---|---|---|\n' + settingRows(WATCH_OPTIONS).join('\n') + '\n')
  const names = [...Object.keys(LAUNCH_OPTIONS), ...Object.keys(WATCH_OPTIONS)]
  t.throws(() => normalizeClusterOptions({ prot: 1 } as never), { message: new RegExp(`known: ${names.join(', ')}\\)`) }, 'the unknown-option error lists exactly the declared names')
  t.throws(() => normalizeClusterOptions({ prot: 1 } as never), { message: /; did you mean "port"\?$/ }, 'and suggests the nearest one, as the settings do')
  t.throws(() => normalizeClusterOptions({ zzzzzzzz: 1 } as never), { message: /known: [^;]*\)$/ }, 'or none when nothing is near')
  const defaults = normalizeClusterOptions({ controlSocket: false })
  t.same([defaults.port, defaults.mode, defaults.maxRestarts, defaults.shutdownTimeoutMs, defaults.minOpenFiles, defaults.clientLimits.maxBodySize, defaults.workerTimeoutMs, defaults.metricsHost, defaults.readinessTimeoutMs, defaults.maxMemoryBytes],
    [LAUNCH_OPTIONS.port.default, LAUNCH_OPTIONS.mode.default, LAUNCH_OPTIONS.maxRestarts.default, LAUNCH_OPTIONS.shutdownTimeoutMs.default, LAUNCH_OPTIONS.minOpenFiles.default, LAUNCH_OPTIONS.maxBodySize.default,
      WATCH_OPTIONS.workerTimeoutMs.default, WATCH_OPTIONS.metricsHost.default, WATCH_OPTIONS.readinessTimeoutMs.default, WATCH_OPTIONS.maxMemoryBytes.default], 'the defaults launch() applies are the declared ones')
})

/** Each command's flags and the docs/cli.md table they render. */
const COMMANDS: Array<{ command: string, flags: Flags }> = [
  { command: 'nginx', flags: NGINX_FLAGS },
  { command: 'supervisord', flags: SUPERVISORD_FLAGS },
  { command: 'systemd', flags: SYSTEMD_FLAGS },
  { command: 'kubernetes', flags: KUBERNETES_FLAGS },
  { command: 'assets', flags: ASSETS_FLAGS }
]

for (const { command, flags } of COMMANDS) {
  t.test(`docs/cli.md's table of deploy-kit ${command} is rendered from its flag declarations`, async (t) => {
    holds(t, 'cli.md', `## \`deploy-kit ${command}\``)
    const section = page('cli.md').split(`## \`deploy-kit ${command}\``)[1]!.split('\n## ')[0]!
    const block = '| option | default | meaning |\n|---|---|---|\n' + flagRows(flags).join('\n') + '\n'
    if (!section.includes(block)) t.comment(`docs/cli.md's deploy-kit ${command} section should hold, exactly:\n\n${block}`)
    t.ok(section.includes(block), `the deploy-kit ${command} section holds the table rendered from the declaration`)
  })
}

t.test('docs/cli.md\'s table of what deploy-kit haproxy does differently is rendered from its flag declarations', async (t) => {
  const section = page('cli.md').split('## `deploy-kit haproxy`')[1]!.split('\n## ')[0]!
  const block = '| option | HAProxy |\n|---|---|\n' + flagRows(HAPROXY_FLAGS, false).join('\n') + '\n'
  if (!section.includes(block)) t.comment(`docs/cli.md's deploy-kit haproxy section should hold, exactly:\n\n${block}`)
  t.ok(section.includes(block), 'the deploy-kit haproxy section holds the table rendered from the declaration')
  for (const name of ['server-name', 'keepalive', 'prefix', 'mime-types']) t.match(HAPROXY_FLAGS[name]?.doc, /^refused: /, `--${name} is listed as refused`)
})

t.test('a declaration table must name exactly the interface\'s options (checked by the compiler)', async (t) => {
  interface Two { a?: string, b?: number }
  const decl = { tornado: '—', doc: 'x' } as const
  t.same(settingNames<Two, { a: typeof decl, b: typeof decl }>({ a: decl, b: decl }), ['a', 'b'])
  // @ts-expect-error b is missing from the table
  settingNames<Two, { a: typeof decl }>({ a: decl })
  // @ts-expect-error c is not an option of Two
  settingNames<Two, { a: typeof decl, b: typeof decl, c: typeof decl }>({ a: decl, b: decl, c: decl })
})
