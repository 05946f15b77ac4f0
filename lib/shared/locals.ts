// Template helpers (staticUrl, xsrfToken, xsrfFormHtml, ...) reach templates
// through `reply.locals`, the object @fastify/view merges into every render.
// Tornado puts static_url and xsrf_form_html in every template namespace; we do
// the same without a per-request hook: `reply.locals` becomes a lazy getter
// that builds the helpers only when a template (or handler) reads it.
import type { FastifyInstance, FastifyReply } from 'fastify'

export type TemplateLocalFactory = (reply: FastifyReply) => unknown

declare module 'fastify' {
  interface FastifyReply {
    /** Values merged into every @fastify/view render; includes the kit's template helpers. */
    locals: Record<string, unknown>
  }
}

/** A string Handlebars writes unescaped: its escapeExpression returns `toHTML()` as is (Handlebars.SafeString's contract). */
class TemplateHtml extends String {
  toHTML (): string {
    return this.valueOf()
  }
}

/**
 * HTML a template helper returns, marked safe for the engine that calls it,
 * so `{{ xsrfFormHtml() }}` renders as HTML while everything else stays
 * escaped. nunjucks calls a helper with its template Context as `this`; the
 * environment's own `safe` filter makes the SafeString its autoescape lets
 * through (an instanceof check, so only nunjucks' own class works).
 * Handlebars duck-types `toHTML()`. EJS, eta and pug have no such marker:
 * their raw tags (`<%-`, `<%~`, `!{}`) output it (docs/locals.md).
 */
export function templateHtml (caller: unknown, html: string): unknown {
  const env = (caller as { env?: { getFilter?: (name: string) => unknown } } | null | undefined)?.env
  if (typeof env?.getFilter === 'function') return (env.getFilter('safe') as (value: string) => unknown)(html)
  return new TemplateHtml(html)
}

const kFactories = Symbol('fastify-deploy-kit.localFactories')
const kLocals = Symbol('fastify-deploy-kit.locals')

type WithFactories = FastifyInstance & { [kFactories]?: Map<string, TemplateLocalFactory> }
type ReplyWithLocals = FastifyReply & { [kLocals]?: Record<string, unknown> }

function buildLocals (reply: FastifyReply, factories: Map<string, TemplateLocalFactory>): Record<string, unknown> {
  const locals: Record<string, unknown> = {}
  for (const [name, factory] of factories) locals[name] = factory(reply)
  return locals
}

/**
 * Makes `name` available in `reply.locals` (and so in every @fastify/view
 * template) as `factory(reply)`. Call it from a plugin wrapped in
 * fastify-plugin so the helper reaches the whole application.
 */
export function addTemplateLocal (fastify: FastifyInstance, name: string, factory: TemplateLocalFactory): void {
  const instance = fastify as WithFactories
  const existing = instance[kFactories]
  if (existing !== undefined) {
    existing.set(name, factory)
    return
  }
  const factories = new Map([[name, factory]])
  instance[kFactories] = factories

  if (fastify.hasReplyDecorator('locals')) {
    // @fastify/view (or the app) got there first and resets reply.locals to {}
    // in its own onRequest hook; fill that object after it.
    fastify.addHook('preHandler', (request, reply, done) => {
      reply.locals = Object.assign(buildLocals(reply, factories), reply.locals)
      done()
    })
    return
  }
  fastify.decorateReply('locals', {
    getter (this: ReplyWithLocals) {
      this[kLocals] ??= buildLocals(this, factories)
      return this[kLocals]
    },
    setter (this: ReplyWithLocals, value: Record<string, unknown>) {
      this[kLocals] = Object.assign(buildLocals(this, factories), value)
    }
  })
}
