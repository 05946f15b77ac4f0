// Every coded error the package throws, grouped by area. docs/errors.md lists
// the same codes; test/errors.test.ts keeps the two in step.
import createError from '@fastify/error'

// SETTINGS: mistakes in what was passed to register(); thrown at registration.
export const FDK_SETTINGS_UNKNOWN = createError(
  'FDK_SETTINGS_UNKNOWN',
  'Unknown setting "%s"%s',
  500,
  TypeError
)
export const FDK_SETTINGS_INVALID = createError(
  'FDK_SETTINGS_INVALID',
  'Invalid setting "%s": received %s, expected %s',
  500,
  TypeError
)

// STATIC: the static file plugin.
export const FDK_STATIC_PATH_MISSING = createError(
  'FDK_STATIC_PATH_MISSING',
  'Setting "staticPath": %s does not exist or is not a directory (%s)',
  500
)
export const FDK_STATIC_FORBIDDEN = createError(
  'FDK_STATIC_FORBIDDEN',
  'Forbidden',
  403
)

// COOKIE: signed cookies (lib/cookie.ts, lib/cookie/*). Programmer mistakes,
// so they surface as 500s in the handler that made them, never from a cookie
// a client sent: a bad or forged cookie only ever reads as null.
export const FDK_COOKIE_SECRET_MISSING = createError(
  'FDK_COOKIE_SECRET_MISSING',
  '%s was used but the "cookieSecret" setting is not set',
  500
)
export const FDK_COOKIE_SECRET_WEAK = createError(
  'FDK_COOKIE_SECRET_WEAK',
  'Setting "cookieSecret"%s is %s; generate one with `node -e "console.log(require(\'crypto\').randomBytes(32).toString(\'base64url\'))"` (or set debug: true while developing)',
  500
)
export const FDK_COOKIE_NAME_INVALID = createError(
  'FDK_COOKIE_NAME_INVALID',
  'Cookie name %s cannot be signed: %s',
  500,
  TypeError
)
export const FDK_COOKIE_VALUE_INVALID = createError(
  'FDK_COOKIE_VALUE_INVALID',
  'Cookie value %s cannot be written: %s',
  500,
  TypeError
)
export const FDK_COOKIE_OPTIONS_INVALID = createError(
  'FDK_COOKIE_OPTIONS_INVALID',
  'Invalid %s: received %s, expected %s',
  500,
  TypeError
)

// PROXY: xheaders (lib/proxy.ts).
export const FDK_PROXY_TRUST_PROXY_CONFLICT = createError(
  'FDK_PROXY_TRUST_PROXY_CONFLICT',
  'Setting "xheaders" cannot be combined with Fastify\'s own "trustProxy" option (or another plugin that defines request.ip): ' +
    'choose one; xheaders replaces trustProxy and adds X-Real-IP, X-Scheme and trusted-proxy checks',
  500
)

// CLI: deploy-kit nginx | supervisord | systemd; usage errors exit with status 2.
export const FDK_CLI_INVALID_OPTION = createError(
  'FDK_CLI_INVALID_OPTION',
  'Invalid option %s: received %s, expected %s',
  500,
  TypeError
)
