// Form parsing for the XSRF check. Tornado parses urlencoded and multipart
// bodies itself, so a form's `_xsrf` field just works; Fastify parses neither.
// The parsers are fallbacks registered under regular expressions: Fastify
// tries a parser registered for the exact type (the app's own
// @fastify/formbody or @fastify/multipart, whether registered before or after
// the kit) first, and a second registration under the same string would be
// Fastify's "already present" crash.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { errorCodes } from 'fastify'
import type { IncomingMessage } from 'node:http'
import { parse as parseQuerystring } from 'fast-querystring'
import { Busboy, type BusboyHeaders } from '@fastify/busboy'
import { FDK_XSRF_MULTIPART_INVALID } from '../shared/errors.js'

/** @fastify/multipart's default part count: enough for any form, bounded for hostile ones. */
const MAX_PARTS = 1000
// Fastify matches these against the normalised `type/subtype; k="v"` string.
const URLENCODED = /^application\/x-www-form-urlencoded(?:;|$)/i
const MULTIPART = /^multipart\/form-data(?:;|$)/i

export async function registerFormParsers (fastify: FastifyInstance): Promise<void> {
  // fast-querystring, as @fastify/formbody parses (its default parser).
  fastify.addContentTypeParser(URLENCODED, { parseAs: 'string' }, (_request, body, done) => done(null, parseQuerystring(body as string)))
  // A content-type parser (not @fastify/multipart, whose hooks run on every
  // request): it costs nothing unless a multipart body arrives.
  fastify.addContentTypeParser(MULTIPART, parseMultipart)
}

type Done = (error: Error | null, body?: unknown) => void

/**
 * Fields as strings, files as Buffers, repeated names as arrays (like
 * @fastify/multipart's `attachFieldsToBody: 'keyValues'`). The route's body
 * limit bounds the whole body; a malformed body is a 400, never a 500.
 */
function parseMultipart (request: FastifyRequest, payload: IncomingMessage, done: Done): void {
  const limit = request.routeOptions.bodyLimit!
  const body: Record<string, unknown> = Object.create(null)
  let finished = false
  const finish = (error: Error | null): void => {
    if (finished) return
    finished = true
    if (error !== null) {
      payload.unpipe()
      payload.resume() // drain, so the 4xx can be written
    }
    done(error, error === null ? body : undefined)
  }
  const tooLarge = (): void => finish(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE())
  const add = (name: string, value: string | Buffer): void => {
    const previous = body[name]
    body[name] = previous === undefined ? value : [previous, value].flat()
  }

  let busboy
  try {
    busboy = Busboy({ headers: request.headers as BusboyHeaders, limits: { fieldSize: limit, fileSize: limit, parts: MAX_PARTS } })
  } catch {
    return finish(new FDK_XSRF_MULTIPART_INVALID()) // no boundary
  }
  let received = 0
  payload.on('data', (chunk: Buffer) => {
    received += chunk.length
    if (received > limit) tooLarge()
  })
  // fieldSize/fileSize = the body limit, so nothing is truncated silently:
  // the byte count above fails the body before any part can outgrow it.
  busboy.on('field', add)
  busboy.on('file', (name: string, stream: NodeJS.ReadableStream) => {
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('limit', tooLarge)
    stream.on('end', () => add(name, Buffer.concat(chunks)))
  })
  busboy.on('partsLimit', tooLarge)
  busboy.on('error', () => finish(new FDK_XSRF_MULTIPART_INVALID()))
  busboy.on('finish', () => finish(null))
  payload.pipe(busboy)
}
