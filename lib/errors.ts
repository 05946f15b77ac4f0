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
export const FDK_STATIC_NOT_CONFIGURED = createError(
  'FDK_STATIC_NOT_CONFIGURED',
  'staticUrl("%s") was called but no "staticPath" is set',
  500
)

// XSRF: the check on unsafe methods (403, answered by lib/xsrf.ts, never thrown to the client as a 500).
export const FDK_XSRF_TOKEN_MISSING = createError(
  'FDK_XSRF_TOKEN_MISSING',
  'XSRF check failed: no "_xsrf" argument, X-XSRFToken or X-CSRFToken header',
  403
)
export const FDK_XSRF_TOKEN_INVALID = createError(
  'FDK_XSRF_TOKEN_INVALID',
  'XSRF check failed: the submitted token has an invalid format',
  403
)
export const FDK_XSRF_COOKIE_MISSING = createError(
  'FDK_XSRF_COOKIE_MISSING',
  'XSRF check failed: the request has no valid "_xsrf" cookie',
  403
)
export const FDK_XSRF_TOKEN_MISMATCH = createError(
  'FDK_XSRF_TOKEN_MISMATCH',
  'XSRF check failed: the submitted token does not match the "_xsrf" cookie',
  403
)
export const FDK_XSRF_MULTIPART_INVALID = createError(
  'FDK_XSRF_MULTIPART_INVALID',
  'Invalid multipart/form-data body',
  400
)

// AUTH: loginUrl and fastify.authenticated.
export const FDK_AUTH_LOGIN_URL_MISSING = createError(
  'FDK_AUTH_LOGIN_URL_MISSING',
  'fastify.authenticated is used but the "loginUrl" setting is not set',
  500
)
export const FDK_AUTH_REQUIRED = createError(
  'FDK_AUTH_REQUIRED',
  'Authentication required',
  403
)
