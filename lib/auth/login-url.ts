// Where Tornado's `tornado.web.authenticated` sends an anonymous GET, with no
// Fastify import: `loginUrl?next=<form-encoded request target>`, the target
// made absolute when the login URL has a scheme, and a login URL that already
// has a query used unchanged.

/** Python's urlsplit() scheme test: a letter, then letters, digits, `+`, `-`, `.`, then `:`. */
const HAS_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/

/**
 * Python's `urlencode` value encoding (quote_plus, nothing safe): everything
 * but `A-Z a-z 0-9 _ . - ~` percent-encoded as UTF-8, spaces as `+`.
 */
export function formEncode (value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+')
}

export interface LoginTarget {
  /** The raw request target as received (path and query). */
  uri: string
  /** `http` or `https`, after proxy headers. */
  protocol: string
  /** The Host header. */
  host: string
}

export function loginRedirectLocation (loginUrl: string, target: LoginTarget): string {
  if (loginUrl.includes('?')) return loginUrl
  const next = HAS_SCHEME.test(loginUrl) ? `${target.protocol}://${target.host}${target.uri}` : target.uri
  return `${loginUrl}?next=${formEncode(next)}`
}
