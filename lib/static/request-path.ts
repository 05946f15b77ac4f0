// Turns the decoded path a client asked for into a path relative to the static
// root, or a refusal. Lexical checks only; lib/static/store.ts then resolves
// symlinks and refuses anything whose real path leaves the root.

export type RequestPathResult = { ok: true, path: string } | { ok: false, status: 403 | 404 }

/** Longest relative path accepted; longer requests are refused before touching the disk. */
export const MAX_REQUEST_PATH_LENGTH = 1024

/**
 * Normalises `requested` ("css/site.css", "a//b", "./x") to a canonical
 * relative path. `..` anywhere is a traversal attempt: 403, as Tornado answers
 * paths outside the root. NUL bytes, backslashes (a Windows separator that
 * never names a file we serve) and dotfiles (unless allowed) are 404.
 */
export function normalizeRequestPath (requested: string, allowDotfiles: boolean): RequestPathResult {
  if (requested.length > MAX_REQUEST_PATH_LENGTH) return { ok: false, status: 404 }
  if (requested.includes('\0') || requested.includes('\\')) return { ok: false, status: 404 }
  const segments: string[] = []
  for (const segment of requested.split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') return { ok: false, status: 403 }
    if (segment.startsWith('.') && !allowDotfiles) return { ok: false, status: 404 }
    segments.push(segment)
  }
  if (segments.length === 0) return { ok: false, status: 404 }
  return { ok: true, path: segments.join('/') }
}
