// The XSRF settings, declared once: names for the umbrella, the default the
// normaliser reads and the rows of docs/xsrf.md's settings table
// (lib/shared/declarations.ts). `requires`: the umbrella registers the XSRF
// part only when xsrfCookies is given, so the others alone are refused.
// The keys of xsrfCookieOptions, declared the same way: the names the
// normaliser accepts, the defaults it applies and docs/xsrf.md's table.
export const XSRF_COOKIE_OPTIONS = {
  path: { default: '/', tornado: '`path`', doc: 'Path attribute.' },
  domain: { shown: 'none (host-only)', tornado: '`domain`', doc: 'Domain attribute.' },
  sameSite: { default: 'lax', tornado: '`samesite` (none by default)', doc: 'SameSite attribute: `\'lax\'`, `\'strict\'`, `\'none\'` (requires `secure: true`: browsers drop it otherwise) or `false`, which omits it.' },
  secure: { default: false, tornado: '`secure`', doc: 'Secure attribute; `\'auto\'` sets it on https requests.' },
  httpOnly: { default: false, tornado: '`httponly`', doc: 'HttpOnly attribute; keep `false` when scripts send the `X-XSRFToken` header.' },
  maxAge: { shown: 'none (session cookie)', tornado: '`max_age`', doc: 'Lifetime in seconds (`Max-Age`).' },
  expiresDays: { shown: 'none (session cookie)', tornado: '`expires_days`', doc: 'Lifetime in days (`Expires`). With neither `maxAge` nor `expiresDays` set, **30** for a request with a truthy `request.currentUser` (an async `getCurrentUser` counts once loaded, see [auth.md](auth.md#when-getcurrentuser-runs)).' }
} as const

export const XSRF_SETTINGS = {
  xsrfCookies: { shown: '`false` in the umbrella; `true` when the plugin is registered on its own', tornado: '`xsrf_cookies`', doc: 'Check every request whose method is not GET, HEAD or OPTIONS. With `false` nothing is checked and `xsrfToken()` / `xsrfFormHtml()` keep working, as Tornado\'s do; left out of the umbrella\'s settings, no XSRF part (and no helper) is registered.' },
  xsrfCookieVersion: { default: 2, tornado: '`xsrf_cookie_version`', requires: 'xsrfCookies', doc: 'Format of newly issued tokens and cookies: `2` (masked, `2\\|mask\\|token\\|time`) or `1` (hex). Both are accepted on input.' },
  xsrfCookieOptions: { default: { path: XSRF_COOKIE_OPTIONS.path.default, sameSite: XSRF_COOKIE_OPTIONS.sameSite.default }, tornado: '`xsrf_cookie_kwargs`', requires: 'xsrfCookies', doc: '`_xsrf` cookie attributes, below.' }
} as const
