// placeholder: replaced by the static plugin (issue 2) in the next commits
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'

export interface StaticOptions {
  staticPath?: string
}
export const STATIC_SETTING_NAMES = ['staticPath'] as const
const plugin: FastifyPluginAsync<StaticOptions> = async () => {}
export default fp(plugin, { fastify: '5.x', name: 'fastify-deploy-kit/static' })
