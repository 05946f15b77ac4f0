// The signed-cookie settings, declared once: names for the umbrella, the
// default the normaliser reads and the rows of docs/cookie.md's settings
// table (lib/shared/declarations.ts).
export const COOKIE_SETTINGS = {
  cookieSecret: { tornado: '`cookie_secret`', doc: 'A string of at least 32 bytes, or an object mapping integer key versions to such strings, e.g. `{ 1: old, 2: new }`. Without it the signed-cookie API throws `FDK_COOKIE_SECRET_MISSING`.' },
  keyVersion: { tornado: '`key_version`', doc: 'The key version that signs new cookies. Required when `cookieSecret` is an object and must be one of its keys; refused with a string secret (Tornado ignores it there, which hides mistakes).' },
  debug: { default: false, tornado: '`debug`', doc: 'Lets a weak or placeholder secret start, with a warning.' }
} as const
