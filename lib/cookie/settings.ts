// The signed-cookie settings, declared once: names for the umbrella, the
// default the normaliser reads and the rows of docs/cookie.md's settings
// table (lib/shared/declarations.ts).
export const COOKIE_SETTINGS = {
  cookieSecret: { tornado: '`cookie_secret`', doc: 'A string of at least 32 bytes, or an object mapping integer key versions to such strings, e.g. `{ 1: old, 2: new }`. Without it the signed-cookie API throws `FDK_COOKIE_SECRET_MISSING`.' },
  keyVersion: { tornado: '`key_version`', doc: 'The key version that signs new cookies. Required when `cookieSecret` is an object and must be one of its keys; refused with a string secret (Tornado ignores it there, which hides mistakes).' },
  debug: { default: false, tornado: '`debug`', doc: 'Lets a weak or placeholder secret start, with a warning.' }
} as const

// The options of reply.setSignedCookie() and request.getSignedCookie(),
// declared the same way: the defaults the code applies and docs/cookie.md's
// two option tables. Attribute defaults differ from Tornado's on purpose
// (docs/cookie.md says why): HttpOnly, SameSite=Lax, Secure on https.
export const SET_SIGNED_COOKIE_OPTIONS = {
  expiresDays: { default: 30, tornado: '`expires_days`', doc: 'Browser lifetime in days (fractions allowed); `null` for a session cookie. An explicit `expires` date wins, as in Tornado.' },
  version: { default: 2, tornado: '`version`', doc: '`1` writes the legacy format (not with an object secret).' },
  httpOnly: { default: true, tornado: '`httponly` (Tornado: off)', doc: 'HttpOnly attribute.' },
  sameSite: { default: 'lax', tornado: '`samesite` (Tornado: none)', doc: 'SameSite attribute: `\'strict\'`, `\'none\'`, or `false` for no attribute.' },
  path: { default: '/', tornado: '`path`', doc: 'Path attribute.' },
  secure: { shown: '`request.protocol === \'https\'`', tornado: '`secure` (Tornado: off)', doc: '`true`, `false` or `\'auto\'` (the default).' },
  domain: { shown: 'none', tornado: '`domain`', doc: 'Domain attribute, as the `cookie` package writes it.' },
  maxAge: { shown: 'none', tornado: '`max_age`', doc: 'Max-Age attribute in seconds, as the `cookie` package writes it.' },
  expires: { shown: 'none', tornado: '`expires`', doc: 'Expires attribute (a `Date`), as the `cookie` package writes it.' },
  partitioned: { shown: 'none', tornado: '—', doc: 'Partitioned attribute, as the `cookie` package writes it.' },
  priority: { shown: 'none', tornado: '—', doc: 'Priority attribute, as the `cookie` package writes it.' }
} as const

export const GET_SIGNED_COOKIE_OPTIONS = {
  maxAgeDays: { default: 31, tornado: '`max_age_days`', doc: 'Reject signatures older than this (fractions allowed).' },
  minVersion: { default: 1, tornado: '`min_version`', doc: '`2` refuses legacy v1 values.' }
} as const
