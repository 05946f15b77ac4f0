// xheaders: Tornado's `HTTPServer(app, xheaders=True)` for Fastify. Behind
// nginx or a load balancer, `request.ip`, `request.ips` and `request.protocol`
// report the client (X-Real-IP / X-Forwarded-For, X-Scheme /
// X-Forwarded-Proto) instead of the proxy, but only when the socket peer is a
// trusted proxy: Tornado believes any client, which lets anyone who reaches
// the app directly choose their own address. The rules live in
// lib/proxy/forwarded.ts; this file decorates the request with lazy getters,
// so the values are computed once per request, on that request's own headers,
// and only when something (the request log, a rate limiter, a cookie) asks.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { FDK_PROXY_TRUST_PROXY_CONFLICT } from './shared/errors.js'
import { invalid, requirePlainObject, rejectUnknownSettings } from './shared/settings.js'
import type { Socket } from 'node:net'
import {
  compileTrust, isTrustedPeer, resolveForwarded,
  type Forwarded, type ForwardedPolicy, type TrustFunction
} from './proxy/forwarded.js'
import type { ProxyAddress } from './proxy/proxy-protocol.js'
import { settingNames } from './shared/declarations.js'
import { PROXY_SETTINGS, XHEADERS_OPTIONS } from './proxy/settings.js'

export interface XheadersOptions {
  /** Socket peers allowed to set the headers: IPs, CIDRs, `loopback`, `linklocal`, `uniquelocal`, or `'all'` (Tornado's behaviour, unsafe when the app is reachable directly). Default loopback + link-local + unique-local. */
  trustedProxies?: 'all' | string | string[]
  /** X-Forwarded-For hops skipped when looking for the client (Tornado's `trusted_downstream`), IPs or CIDRs. Default none. */
  trustedDownstream?: string | string[]
  /** Read a PROXY protocol v1/v2 header at the start of every connection from a trusted proxy, which then must send one (HAProxy `send-proxy-v2`, network load balancers); its source address is the peer. Default false. */
  proxyProtocol?: boolean
}

export interface ProxyOptions {
  /** Honour X-Real-IP / X-Forwarded-For / X-Scheme / X-Forwarded-Proto from trusted proxies (Tornado's `xheaders`). Default off. */
  xheaders?: boolean | XheadersOptions
}

export const PROXY_SETTING_NAMES = settingNames<ProxyOptions, typeof PROXY_SETTINGS>(PROXY_SETTINGS)
const XHEADERS_OPTION_NAMES = settingNames<XheadersOptions, typeof XHEADERS_OPTIONS>(XHEADERS_OPTIONS)

// No `declare module 'fastify'` augmentation: request.ip, request.ips
// (optional, as with trustProxy) and request.protocol are typed by Fastify.

function trustList (name: string, value: unknown, fallback: 'all' | readonly string[], allowAll: boolean): TrustFunction {
  let entries: unknown = value ?? fallback
  if (typeof entries === 'string' && entries !== 'all') entries = [entries]
  if (entries === 'all' && allowAll) return compileTrust('all')
  if (!Array.isArray(entries) || !entries.every((item) => typeof item === 'string' && item !== '' && item !== 'all')) {
    throw invalid(name, value, `${allowAll ? '"all", ' : ''}an IP, a CIDR, "loopback", "linklocal", "uniquelocal" or an array of them`)
  }
  try {
    return compileTrust(entries as string[])
  } catch (error) {
    throw invalid(name, value, `IPs, CIDRs or range names (${(error as Error).message})`)
  }
}

/** Validates `xheaders`; returns the trust policy, or false when off. */
/** The trust policy plus whether connections start with a PROXY header. */
export interface ProxyPolicy extends ForwardedPolicy {
  proxyProtocol: boolean
}

export function normalizeProxyOptions (options: ProxyOptions): ProxyPolicy | false {
  const value = options.xheaders
  if (value === undefined || value === false) return false
  if (value !== true && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw invalid('xheaders', value, 'a boolean or { trustedProxies, trustedDownstream, proxyProtocol }')
  }
  const settings = value === true ? {} : { ...requirePlainObject('xheaders', value) }
  rejectUnknownSettings(settings, XHEADERS_OPTION_NAMES)
  if (settings.proxyProtocol !== undefined && typeof settings.proxyProtocol !== 'boolean') {
    throw invalid('xheaders.proxyProtocol', settings.proxyProtocol, 'a boolean')
  }
  return {
    trustProxy: trustList('xheaders.trustedProxies', settings.trustedProxies, XHEADERS_OPTIONS.trustedProxies.default, true),
    trustDownstream: trustList('xheaders.trustedDownstream', settings.trustedDownstream, XHEADERS_OPTIONS.trustedDownstream.default, false),
    proxyProtocol: settings.proxyProtocol === true
  }
}

const kForwarded = Symbol('fastify-deploy-kit.forwarded')

type ForwardedRequest = FastifyRequest & { [kForwarded]: Forwarded | null }

const proxy: FastifyPluginAsync<ProxyOptions> = async (fastify, options) => {
  const policy = normalizeProxyOptions(options)
  if (policy === false) return
  // The peer is fixed for a connection: match it against the trusted ranges
  // once per socket, not on every keep-alive request.
  const trustedSockets = new WeakMap<Socket, boolean>()
  // Through a PROXY header, the balancer's client is the peer. The PROXY
  // protocol reader (and proxy-protocol-js) is loaded only when it is on.
  let proxiedSource: ((socket: Socket) => ProxyAddress | undefined) | undefined
  if (policy.proxyProtocol) {
    const proxyProtocol = await import('./proxy/proxy-protocol.js')
    proxiedSource = proxyProtocol.proxiedSource
    proxyProtocol.acceptProxyProtocol(fastify.server, {
      trusted: policy.trustProxy,
      // A trusted proxy without a header is a misconfiguration worth a warning;
      // anyone else's mistakes are theirs, and must not fill the log.
      refused: (peer, reason, trusted) => {
        if (trusted) fastify.log.warn({ peer, reason }, 'PROXY protocol: connection refused')
        else fastify.log.debug({ peer, reason }, 'PROXY protocol: connection refused')
      }
    })
  }

  function forwarded (fastifyRequest: FastifyRequest): Forwarded {
    const request = fastifyRequest as ForwardedRequest
    let result = request[kForwarded]
    if (result === null) {
      const socket = request.raw.socket
      const encrypted = (socket as { encrypted?: boolean }).encrypted === true
      const peer = proxiedSource === undefined ? socket.remoteAddress : proxiedSource(socket)?.address ?? socket.remoteAddress
      let trusted = trustedSockets.get(socket)
      if (trusted === undefined) {
        // No address: a Unix socket when the server listens on a path, else a
        // TCP connection already closed (never trusted, never cached).
        trusted = isTrustedPeer(peer, policy as ForwardedPolicy, typeof fastify.server.address() === 'string')
        if (peer !== undefined) trustedSockets.set(socket, trusted)
      }
      result = resolveForwarded(peer, encrypted, request.raw.headers, policy as ForwardedPolicy, trusted)
      request[kForwarded] = result
    }
    return result
  }

  try {
    // Public decorator API: Fastify refuses to redefine `ip` when its own
    // trustProxy already did, which is exactly the conflict to report.
    fastify.decorateRequest('ip', { getter (this: FastifyRequest) { return forwarded(this).ip as string } })
  } catch (error) {
    // Other failures (decorating after start) cannot happen inside register().
    /* c8 ignore next */
    throw (error as { code?: string }).code === 'FST_ERR_DEC_ALREADY_PRESENT' ? new FDK_PROXY_TRUST_PROXY_CONFLICT() : error
  }
  fastify.decorateRequest(kForwarded, null)
  fastify.decorateRequest('ips', { getter (this: FastifyRequest) { return forwarded(this).ips } })
  fastify.decorateRequest('protocol', { getter (this: FastifyRequest) { return forwarded(this).protocol } })
}

export const fastifyDeployProxy = fp(proxy, { fastify: '5.x', name: 'fastify-deploy-kit/proxy' })
export default fastifyDeployProxy
