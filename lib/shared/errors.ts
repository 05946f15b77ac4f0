// Every coded error the package throws, grouped by area. docs/errors.md lists
// the same codes; test/unit/errors.test.ts keeps the two in step.
import fastifyCreateError from '@fastify/error'

/** What every FDK_* error is: @fastify/error's FastifyError with its code and status. */
export interface DeployKitError<C extends string = string, SC extends number = number> extends Error {
  code: C
  name: string
  statusCode: SC
}

/** The class of one coded error: `new FDK_X(...args)` or `FDK_X(...args)`, and `instanceof FDK_X`. */
export interface DeployKitErrorConstructor<C extends string = string, SC extends number = number> {
  new (...args: [unknown?, unknown?, unknown?]): DeployKitError<C, SC>
  (...args: [unknown?, unknown?, unknown?]): DeployKitError<C, SC>
  readonly prototype: DeployKitError<C, SC>
}

// @fastify/error's createError, typed with the interfaces above: its own type,
// `createError.FastifyErrorConstructor`, is a namespace that a user's
// `moduleResolution: "bundler"` cannot reach through the default import
// ("Cannot find namespace 'createError'" in dist/errors.d.ts; with
// skipLibCheck every FDK_* class silently became `any`).
function createError<C extends string, SC extends number> (
  code: C, message: string, statusCode: SC, Base?: ErrorConstructor
): DeployKitErrorConstructor<C, SC> {
  return fastifyCreateError(code, message, statusCode, Base) as unknown as DeployKitErrorConstructor<C, SC>
}

// Every invalid-option code (settings, launch options, CLI flags,
// signed-value options) has this one message; lib/shared/invalid-option.ts
// fills it and sets the fields `option`, `received`, `expected`.
const INVALID_OPTION_MESSAGE = 'Invalid %s: received %s, expected %s'

// SETTINGS: mistakes in what was passed to register(); thrown at registration.
export const FDK_SETTINGS_UNKNOWN = createError(
  'FDK_SETTINGS_UNKNOWN',
  'Unknown setting "%s"%s',
  500,
  TypeError
)
export const FDK_SETTINGS_INVALID = createError(
  'FDK_SETTINGS_INVALID',
  INVALID_OPTION_MESSAGE,
  500,
  TypeError
)

// STATIC: the static file plugin.
export const FDK_STATIC_PATH_MISSING = createError(
  'FDK_STATIC_PATH_MISSING',
  'Setting "staticPath": %s does not exist or is not a directory (%s)',
  500
)
export const FDK_STATIC_MANIFEST_MISSING = createError(
  'FDK_STATIC_MANIFEST_MISSING',
  'Setting "%s": the manifest %s cannot be read (%s); build it with `deploy-kit assets DIR` or remove the setting',
  500
)
export const FDK_STATIC_MANIFEST_INVALID = createError(
  'FDK_STATIC_MANIFEST_INVALID',
  'Setting "%s": %s is not a valid manifest: %s',
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
export const FDK_COOKIE_SECRET_UNSET = createError(
  'FDK_COOKIE_SECRET_UNSET',
  'Setting "cookieSecret"%s is written but has no value (undefined: an unset environment variable?); generate one with `node -e "console.log(require(\'crypto\').randomBytes(32).toString(\'base64url\'))"` and set it (or set debug: true while developing)',
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
  INVALID_OPTION_MESSAGE,
  500,
  TypeError
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

// COMPRESS: compressResponse (lib/compress.ts).
export const FDK_COMPRESS_ALREADY_REGISTERED = createError(
  'FDK_COMPRESS_ALREADY_REGISTERED',
  'Setting "compressResponse" registers @fastify/compress, and the app registers it too (%s the kit): every response would be compressed twice. ' +
    'Remove compressResponse from the kit\'s settings to keep your own @fastify/compress, or remove your registration',
  500
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
export const FDK_AUTH_USER_NOT_LOADED = createError(
  'FDK_AUTH_USER_NOT_LOADED',
  'request.currentUser was read while the async getCurrentUser had not finished: await request.loadCurrentUser() first (or use app.authenticated)',
  500
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
  INVALID_OPTION_MESSAGE,
  500,
  TypeError
)

// CLUSTER: the process launcher (launch(), deploy-kit start).
export const FDK_CLUSTER_OPTION_INVALID = createError(
  'FDK_CLUSTER_OPTION_INVALID',
  INVALID_OPTION_MESSAGE,
  500,
  TypeError
)
export const FDK_CLUSTER_BUILD_APP_INVALID = createError(
  'FDK_CLUSTER_BUILD_APP_INVALID',
  'buildApp %s; expected a function returning a Fastify instance (or a promise of one)',
  500,
  TypeError
)
export const FDK_CLUSTER_WORKER_BOOT_FAILED = createError(
  'FDK_CLUSTER_WORKER_BOOT_FAILED',
  'Worker %s failed to start (exited with %s before it ever listened), on the first start: stopping the launcher instead of restarting a release that cannot boot',
  500
)
export const FDK_CLUSTER_TOO_MANY_RESTARTS = createError(
  'FDK_CLUSTER_TOO_MANY_RESTARTS',
  'Too many worker restarts (%s within %s), giving up; the last worker exit was %s',
  500
)
export const FDK_CLUSTER_BODY_TOO_LARGE = createError(
  'FDK_CLUSTER_BODY_TOO_LARGE',
  'Request body of %s bytes is over maxBodySize (%s bytes)',
  413
)
export const FDK_CLUSTER_BODY_TIMEOUT = createError(
  'FDK_CLUSTER_BODY_TIMEOUT',
  'Request body paused for more than clientBodyTimeoutMs (%s ms)',
  408
)
export const FDK_CLUSTER_NOT_READY = createError(
  'FDK_CLUSTER_NOT_READY',
  'Worker %s did not become ready within readinessTimeoutMs (%s ms): %s',
  503
)
export const FDK_CLUSTER_CONTROL_SOCKET = createError(
  'FDK_CLUSTER_CONTROL_SOCKET',
  'Cannot listen on the control socket %s: %s',
  500
)
