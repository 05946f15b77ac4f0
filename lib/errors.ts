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
