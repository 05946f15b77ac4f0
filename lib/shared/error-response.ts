// A 4xx answered from a hook without going through the app's error handler:
// JSON like Fastify's default error handler, or Tornado's HTML error page when
// the client prefers HTML (a browser submitting a form). The message is always
// one of our fixed sentences, never anything the client sent.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { STATUS_CODES } from 'node:http'
import { Negotiator } from '@fastify/accept-negotiator'
import { escapeHtml } from './python.js'

export interface CodedHttpError {
  code: string
  message: string
  statusCode: number
}

// JSON first: no Accept header or `*/*` answers like Fastify's default handler.
const negotiator = new Negotiator({ supportedValues: ['application/json', 'text/html'] })

export function sendErrorResponse (request: FastifyRequest, reply: FastifyReply, error: CodedHttpError): FastifyReply {
  const statusCode = error.statusCode
  const reason = STATUS_CODES[statusCode]
  request.log.info({ route: request.routeOptions.url, method: request.method, code: error.code, statusCode }, error.message)
  reply.code(statusCode)
  if (negotiator.negotiate(request.headers.accept ?? '*/*') === 'text/html') {
    const text = `${statusCode}: ${reason}`
    return reply.type('text/html; charset=utf-8')
      .send(`<html><title>${text}</title><body>${text}: ${escapeHtml(error.message)}</body></html>`)
  }
  return reply.type('application/json; charset=utf-8')
    .send(JSON.stringify({ statusCode, code: error.code, error: reason, message: error.message }))
}
