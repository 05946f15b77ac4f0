// Content types of static files, from the same table @fastify/static uses
// (@fastify/send's mime), with `charset=utf-8` on text types (Tornado never adds a charset,
// which leaves browsers guessing for CSS and JavaScript).
import send from '@fastify/send'

// RFC 9239 made text/javascript the one JavaScript type (Tornado sends it too);
// the mime table still says application/javascript.
const JAVASCRIPT = /\.m?js$/

export function contentTypeFor (path: string): string {
  const type = JAVASCRIPT.test(path) ? 'text/javascript' : send.mime.getType(path)
  if (type === null) return 'application/octet-stream'
  return send.isUtf8MimeType(type) ? `${type}; charset=utf-8` : type
}
