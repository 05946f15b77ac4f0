// The proxy settings, declared once: `xheaders` and the keys of its object
// form, with the defaults the normaliser reads and the rows of
// docs/proxy.md's settings table (lib/shared/declarations.ts).
import { DEFAULT_TRUSTED_PROXIES } from './forwarded.js'

export const PROXY_SETTINGS = {
  xheaders: { default: false, tornado: '`xheaders`', doc: '`true` or an object below turns the rewrite on' }
} as const

/** The keys of `xheaders: { ... }`, shown in the docs as `xheaders.<key>`. */
export const XHEADERS_OPTIONS = {
  trustedProxies: { default: DEFAULT_TRUSTED_PROXIES, tornado: '— (Tornado trusts everyone)', doc: 'socket peers allowed to set the headers: IPs, CIDRs (`10.0.0.0/8`), the names `loopback`, `linklocal`, `uniquelocal`, or `\'all\'`' },
  trustedDownstream: { default: [], tornado: '`trusted_downstream`', doc: '`X-Forwarded-For` hops to skip when looking for the client (your CDN or inner load balancers); IPs or CIDRs (Tornado: exact strings only)' },
  proxyProtocol: { default: false, tornado: '—', doc: 'connections from `trustedProxies` start with a PROXY protocol v1/v2 header, whose source address is the peer ([below](#the-proxy-protocol))' }
} as const
