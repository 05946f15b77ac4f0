// Tornado's `xheaders=True` rewrite (`_HTTPRequestContext._apply_xheaders`) as a pure function of the socket
// peer and the request headers, plus the address matching that decides whom
// to believe. Never imports fastify: lib/proxy.ts wires it into requests.
//
// Where this is deliberately stricter than Tornado:
// - headers count only when the socket peer is a trusted proxy (Tornado
//   believes any client);
// - an address is valid only by net.isIP (Tornado's getaddrinfo also takes
//   inet_aton shorthands such as `127.1` and `0x7f.0.0.1`), and IPv6 zone ids
//   (`fe80::1%eth0`) are refused so one client cannot appear as many.
import { isIP } from 'node:net'
import type { IncomingHttpHeaders } from 'node:http'
import proxyAddr from '@fastify/proxy-addr'

/** Decides whether an address (as the socket or a header spells it) is trusted. */
export type TrustFunction = (address: string) => boolean

/** The names @fastify/proxy-addr understands, besides IPs and CIDRs. */
export const RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'] as const

/** Default proxies: loopback, link-local and private / unique-local ranges. */
export const DEFAULT_TRUSTED_PROXIES: readonly string[] = RANGE_NAMES

export const trustAll: TrustFunction = () => true
export const trustNone: TrustFunction = () => false

/**
 * Compiles IPs, CIDRs and range names into a TrustFunction; `'all'` trusts
 * everyone. Throws a TypeError naming the first entry it cannot parse.
 */
export function compileTrust (entries: 'all' | readonly string[]): TrustFunction {
  if (entries === 'all') return trustAll
  if (entries.length === 0) return trustNone
  const compiled = proxyAddr.compile([...entries])
  return (address) => compiled(address, 0)
}

/** Tornado's `is_valid_ip`, strict: a plain IPv4 dotted quad or an IPv6 address without a zone id. */
export function isValidIp (value: string): boolean {
  return isIP(value) !== 0 && !value.includes('%')
}

/** What the application sees after the rewrite. */
export interface Forwarded {
  /** The client address: from the headers when believed, else the socket peer. */
  ip: string | undefined
  /** The socket peer first, then each hop towards the client; the last element is `ip`. */
  ips: string[]
  /** `http` or `https`. */
  protocol: 'http' | 'https'
}

export interface ForwardedPolicy {
  /** May this socket peer set the headers? */
  trustProxy: TrustFunction
  /** X-Forwarded-For hops to skip when walking from the right (Tornado's trusted_downstream). */
  trustDownstream: TrustFunction
}

function header (headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  // Node joins repeated X-* lines with ", " already; an array only comes from
  // hand-built header objects, and joining it keeps Tornado's semantics.
  return Array.isArray(value) ? value.join(',') : value
}

/** Tornado's `_apply_xheaders`: X-Scheme shadows X-Forwarded-Proto; the last comma-separated value; http or https only. */
export function forwardedProtocol (headers: IncomingHttpHeaders, baseline: 'http' | 'https'): 'http' | 'https' {
  const raw = header(headers, 'x-scheme') ?? header(headers, 'x-forwarded-proto')
  if (raw === undefined) return baseline
  const value = raw.slice(raw.lastIndexOf(',') + 1).trim()
  return value === 'http' || value === 'https' ? value : baseline
}

/**
 * Tornado's `_apply_xheaders`: X-Real-IP, else the nearest X-Forwarded-For element that is
 * not a trusted downstream hop (the leftmost when all are). Returns the hops
 * walked, nearest first, with the candidate last; an invalid candidate means
 * the caller keeps the socket peer.
 */
export function forwardedChain (headers: IncomingHttpHeaders, trustDownstream: TrustFunction): string[] | undefined {
  const realIp = header(headers, 'x-real-ip')
  if (realIp !== undefined) return isValidIp(realIp) ? [realIp] : undefined
  const forwardedFor = header(headers, 'x-forwarded-for')
  if (forwardedFor === undefined) return []
  const elements = forwardedFor.split(',')
  const walked: string[] = []
  for (let i = elements.length - 1; i >= 0; i--) {
    const element = elements[i]!.trim()
    walked.push(element)
    // A hop is skipped only when it is a valid address in the trusted set, so
    // an odd spelling never lets the walk run past it.
    if (i === 0 || !isValidIp(element) || !trustDownstream(element)) break
  }
  return isValidIp(walked[walked.length - 1]!) ? walked : undefined
}

/**
 * May this socket peer set the headers? `peer` is undefined for a Unix
 * socket, which only a local process can reach (trusted exactly when
 * loopback is), but also for a TCP socket already destroyed, which must not
 * be trusted: the caller says which one it is.
 */
export function isTrustedPeer (peer: string | undefined, policy: ForwardedPolicy, unixSocket: boolean): boolean {
  if (peer === undefined) return unixSocket && policy.trustProxy('127.0.0.1')
  return policy.trustProxy(peer)
}

/** The whole rewrite for one request; `peerTrusted` is isTrustedPeer() for its socket. */
export function resolveForwarded (
  peer: string | undefined,
  encrypted: boolean,
  headers: IncomingHttpHeaders,
  policy: ForwardedPolicy,
  peerTrusted: boolean
): Forwarded {
  const baseline = encrypted ? 'https' : 'http'
  const ips = peer === undefined ? [] : [peer]
  if (!peerTrusted) return { ip: peer, ips, protocol: baseline }
  const chain = forwardedChain(headers, policy.trustDownstream)
  const protocol = forwardedProtocol(headers, baseline)
  if (chain === undefined || chain.length === 0) return { ip: peer, ips, protocol }
  return { ip: chain[chain.length - 1], ips: [...ips, ...chain], protocol }
}
