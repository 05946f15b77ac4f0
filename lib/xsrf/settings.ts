// The XSRF settings, declared once: names for the umbrella, the default the
// normaliser reads and the rows of docs/xsrf.md's settings table
// (lib/shared/declarations.ts). `requires`: the umbrella registers the XSRF
// part only when xsrfCookies is given, so the others alone are refused.
export const XSRF_SETTINGS = {
  xsrfCookies: { shown: '`false` in the umbrella; `true` when the plugin is registered on its own', tornado: '`xsrf_cookies`', doc: 'Check every request whose method is not GET, HEAD or OPTIONS. With `false` nothing is checked and `xsrfToken()` / `xsrfFormHtml()` keep working, as Tornado\'s do; left out of the umbrella\'s settings, no XSRF part (and no helper) is registered.' },
  xsrfCookieVersion: { default: 2, tornado: '`xsrf_cookie_version`', requires: 'xsrfCookies', doc: 'Format of newly issued tokens and cookies: `2` (masked, `2\\|mask\\|token\\|time`) or `1` (hex). Both are accepted on input.' },
  xsrfCookieOptions: { default: { path: '/', sameSite: 'lax' }, tornado: '`xsrf_cookie_kwargs`', requires: 'xsrfCookies', doc: '`_xsrf` cookie attributes, below.' }
} as const
