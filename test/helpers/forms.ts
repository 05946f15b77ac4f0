// Request bodies and cookie plumbing shared by the XSRF tests.
import { randomBytes } from 'node:crypto'

export interface Body {
  payload: string
  contentType: string
}

export function urlencoded (fields: Record<string, string>): Body {
  return { payload: new URLSearchParams(fields).toString(), contentType: 'application/x-www-form-urlencoded' }
}

export function multipart (fields: Record<string, string>, file?: { name: string, filename: string, content: string }): Body {
  const boundary = '----fdk' + randomBytes(8).toString('hex')
  let payload = ''
  for (const [name, value] of Object.entries(fields)) {
    payload += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
  }
  if (file !== undefined) {
    payload += `--${boundary}\r\nContent-Disposition: form-data; name="${file.name}"; filename="${file.filename}"\r\n` +
      `Content-Type: text/plain\r\n\r\n${file.content}\r\n`
  }
  payload += `--${boundary}--\r\n`
  return { payload, contentType: `multipart/form-data; boundary=${boundary}` }
}

/** The `_xsrf` Set-Cookie line of a response, or undefined. */
export function xsrfSetCookie (headers: Record<string, unknown>): string | undefined {
  const raw = headers['set-cookie']
  const lines = raw === undefined ? [] : Array.isArray(raw) ? raw as string[] : [raw as string]
  return lines.find((line) => line.startsWith('_xsrf='))
}

/** The value of the `_xsrf` cookie a response set, exactly as on the wire. */
export function xsrfCookieValue (headers: Record<string, unknown>): string | undefined {
  const line = xsrfSetCookie(headers)
  return line === undefined ? undefined : line.slice('_xsrf='.length).split(';')[0]
}

/** The token in the `<input type="hidden" name="_xsrf" .../>` of a page (xsrfFormHtml()). */
export function formToken (html: string): string {
  const match = /<input type="hidden" name="_xsrf" value="([^"]+)"\/>/.exec(html)
  if (match === null) throw new Error(`no _xsrf field in the page: ${html.slice(0, 300)}`)
  return match[1] as string
}
