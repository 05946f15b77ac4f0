// Form parsing for the XSRF check. Tornado parses urlencoded and multipart
// bodies itself, so a form's `_xsrf` field just works; Fastify parses neither.
// Parsers are added only for content types the app has no parser for, so an
// app that registered its own (before the kit) keeps it.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fastifyFormbody from '@fastify/formbody'
import fastifyMultipart from '@fastify/multipart'
import { FDK_XSRF_MULTIPART_INVALID } from './errors.js'

export async function registerFormParsers (fastify: FastifyInstance): Promise<void> {
  if (!fastify.hasContentTypeParser('application/x-www-form-urlencoded')) await fastify.register(fastifyFormbody)
  if (fastify.hasContentTypeParser('multipart/form-data')) return
  await fastify.register(fastifyMultipart)
  // Like @fastify/multipart's `attachFieldsToBody: 'keyValues'` (fields as
  // strings, files as Buffers), except that a malformed body is a 400:
  // busboy's errors carry no status and would otherwise become a 500.
  fastify.addHook('preValidation', async (request: FastifyRequest) => {
    if (!request.isMultipart()) return
    const body: Record<string, unknown> = Object.create(null)
    try {
      for await (const part of request.parts()) {
        const value = part.type === 'file' ? await part.toBuffer() : part.value
        const previous = body[part.fieldname]
        body[part.fieldname] = previous === undefined ? value : [previous, value].flat()
      }
    } catch (error) {
      if (typeof (error as { statusCode?: unknown }).statusCode === 'number') throw error
      throw new FDK_XSRF_MULTIPART_INVALID()
    }
    request.body = body
  })
}
