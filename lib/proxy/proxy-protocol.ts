// The PROXY protocol (v1 text, v2 binary) on the app's own listener: what a
// balancer in TCP mode (HAProxy `send-proxy-v2`, cloud network load
// balancers) sends before the first byte of the connection instead of
// X-Forwarded-For, so that request.ip is the client's even when the TLS
// session goes through the balancer untouched. Tornado has no equivalent.
//
// proxy-protocol-js decodes a complete header (v1's fields, v2's version,
// command, family, transport and addresses); this file frames it on a
// socket (how many bytes, at most how many, when to give up), checks what
// the library leaves open (IP spellings, port range, v2 TLVs inside the
// announced length) and decides whom to believe. Never imports fastify.
import { isIP, type Server, type Socket } from 'node:net'
import { Server as TlsServer } from 'node:tls'
import proxyProtocol from 'proxy-protocol-js'
import { isValidIp } from './forwarded.js'

const { V1ProxyProtocol, V2ProxyProtocol, Command, AddressFamilyType, TransportProtocol, INETProtocol } = proxyProtocol

const V2_SIGNATURE = Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1')
const V1_SIGNATURE = Buffer.from('PROXY ', 'latin1')
/** The v1 line's maximum, CRLF included (HAProxy's proxy-protocol.txt, section 2.1). */
export const V1_MAX_LENGTH = 107
/** v2 allows 16 + 65535 bytes; real balancers send well under 1 KiB of TLVs. */
export const V2_MAX_LENGTH = 16 + 4096
/** A connection must have sent enough to decide within this time. */
export const HEADER_TIMEOUT_MS = 10_000

export interface ProxyAddress { address: string, port: number }

export interface ProxyTlv { type: number, value: Buffer }

export type ProxyHeader =
  /** Not enough bytes yet to decide. */
  | { kind: 'more' }
  /** The connection does not start with a PROXY header. */
  | { kind: 'none' }
  /** It starts like one but is not a valid one. */
  | { kind: 'invalid', reason: string }
  /**
   * A valid header of `length` bytes. `source` is absent for v2 LOCAL
   * (health checks), v1 UNKNOWN and the UNSPEC / UNIX families: the
   * connection's own endpoints stand.
   */
  | { kind: 'header', version: 1 | 2, length: number, source?: ProxyAddress, destination?: ProxyAddress, tlvs: ProxyTlv[] }

/** Does `data` (shorter than `signature`) agree with its start? */
function isPrefixOf (data: Buffer, signature: Buffer): boolean {
  return signature.subarray(0, data.length).equals(data)
}

function invalid (reason: string): ProxyHeader {
  return { kind: 'invalid', reason }
}

function ipv6 (bytes: ArrayLike<number>): string {
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16))
  // The URL parser writes IPv6 addresses canonically (RFC 5952), as sockets report them.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1)
}

function port (text: string): number | undefined {
  return /^(?:0|[1-9][0-9]{0,4})$/.test(text) && Number(text) <= 65535 ? Number(text) : undefined
}

function parseV1 (data: Buffer): ProxyHeader {
  const end = data.indexOf('\r\n', 0, 'latin1')
  if (end === -1) return data.length >= V1_MAX_LENGTH ? invalid(`v1 header longer than ${V1_MAX_LENGTH} bytes`) : { kind: 'more' }
  const length = end + 2
  if (length > V1_MAX_LENGTH) return invalid(`v1 header longer than ${V1_MAX_LENGTH} bytes`)
  const line = data.toString('latin1', 0, length)
  if (line.startsWith('PROXY UNKNOWN')) return { kind: 'header', version: 1, length, tlvs: [] }
  let parsed
  try {
    parsed = V1ProxyProtocol.parse(line)
  } catch {
    return invalid('not a v1 header: PROXY TCP4|TCP6 SRC DST SPORT DPORT')
  }
  const family = parsed.inetProtocol === INETProtocol.TCP4 ? 4 : 6
  // The library takes any digits; a port is 0-65535 without leading zeros.
  const fields = line.slice(0, -2).split(' ')
  const sourcePort = port(fields[4]!)
  const destinationPort = port(fields[5]!)
  const valid = (address: string): boolean => isValidIp(address) && isIP(address) === family
  if (!valid(parsed.source.ipAddress) || !valid(parsed.destination.ipAddress) || sourcePort === undefined || destinationPort === undefined) {
    return invalid(`v1 addresses or ports are not valid ${parsed.inetProtocol}`)
  }
  return {
    kind: 'header',
    version: 1,
    length,
    source: { address: parsed.source.ipAddress, port: sourcePort },
    destination: { address: parsed.destination.ipAddress, port: destinationPort },
    tlvs: []
  }
}

function parseTlvs (data: Uint8Array): ProxyTlv[] | undefined {
  const tlvs: ProxyTlv[] = []
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  for (let at = 0; at < bytes.length;) {
    if (at + 3 > bytes.length) return undefined
    const length = bytes.readUInt16BE(at + 1)
    if (at + 3 + length > bytes.length) return undefined
    tlvs.push({ type: bytes[at]!, value: bytes.subarray(at + 3, at + 3 + length) })
    at += 3 + length
  }
  return tlvs
}

function parseV2 (data: Buffer): ProxyHeader {
  if (data.length < 16) return { kind: 'more' }
  const length = 16 + data.readUInt16BE(14)
  if (length > V2_MAX_LENGTH) return invalid(`v2 header of ${length} bytes, more than ${V2_MAX_LENGTH}`)
  if (data.length < length) return { kind: 'more' }
  let parsed
  try {
    parsed = V2ProxyProtocol.parse(data.subarray(0, length))
  } catch (error) {
    return invalid(`v2: ${(error as { message: string }).message}`)
  }
  const tlvs = parseTlvs(parsed.data!)
  if (tlvs === undefined) return invalid('v2: a TLV runs past the announced length')
  // LOCAL (the balancer's own health checks), UNSPEC and UNIX: keep the real endpoints.
  const family = parsed.addressFamilyType
  if (parsed.command === Command.LOCAL || family === AddressFamilyType.UNSPEC || family === AddressFamilyType.UNIX) {
    return { kind: 'header', version: 2, length, tlvs }
  }
  if (parsed.transportProtocol !== TransportProtocol.STREAM) return invalid('v2: PROXY over a stream must announce a stream transport')
  const address = parsed.proxyAddress as { sourceAddress: { address: number[] }, destinationAddress: { address: number[] }, sourcePort: number, destinationPort: number }
  const format = family === AddressFamilyType.INET ? (bytes: number[]) => bytes.join('.') : ipv6
  return {
    kind: 'header',
    version: 2,
    length,
    source: { address: format(address.sourceAddress.address), port: address.sourcePort },
    destination: { address: format(address.destinationAddress.address), port: address.destinationPort },
    tlvs
  }
}

/** Reads a PROXY header from the first bytes of a connection. */
export function readProxyHeader (data: Buffer): ProxyHeader {
  if (data.length === 0) return { kind: 'more' }
  if (data[0] === V2_SIGNATURE[0]) {
    if (data.length < V2_SIGNATURE.length) return isPrefixOf(data, V2_SIGNATURE) ? { kind: 'more' } : { kind: 'none' }
    return data.subarray(0, V2_SIGNATURE.length).equals(V2_SIGNATURE) ? parseV2(data) : { kind: 'none' }
  }
  if (data[0] === V1_SIGNATURE[0]) {
    if (data.length < V1_SIGNATURE.length) return isPrefixOf(data, V1_SIGNATURE) ? { kind: 'more' } : { kind: 'none' }
    return data.subarray(0, V1_SIGNATURE.length).equals(V1_SIGNATURE) ? parseV1(data) : { kind: 'none' }
  }
  return { kind: 'none' }
}

/** What a connection's PROXY header said (absent: none, or the real endpoints stand). */
const proxied = new WeakMap<Socket, ProxyAddress>()

/** The client address a PROXY header gave this socket (or the TLS socket over it), if any. */
export function proxiedSource (socket: Socket): ProxyAddress | undefined {
  return proxied.get(socket) ?? proxied.get((socket as { _parent?: Socket })._parent as Socket)
}

export interface AcceptOptions {
  /** May this peer send a PROXY header? Trusted peers must. */
  trusted: (address: string) => boolean
  /** Called with why a connection was closed before HTTP saw it. */
  refused: (peer: string | undefined, reason: string, trusted: boolean) => void
  timeoutMs?: number
}

/**
 * Puts a PROXY header reader in front of the server's own connection
 * handlers (HTTP's, or TLS's for https): each connection is handed to them
 * only once its first bytes are decided, with the header taken off. A
 * trusted peer without a header, an untrusted one with a header, and an
 * invalid header are closed.
 */
export function acceptProxyProtocol (server: Server, options: AcceptOptions): void {
  const handlers = server.listeners('connection') as Array<(socket: Socket) => void>
  server.removeAllListeners('connection')
  const timeoutMs = options.timeoutMs ?? HEADER_TIMEOUT_MS
  const tls = server instanceof TlsServer
  server.on('connection', (socket: Socket) => {
    const peer = socket.remoteAddress
    const trusted = peer !== undefined && options.trusted(peer)
    let buffered: Buffer | undefined
    const refuse = (reason: string): void => {
      cleanup()
      options.refused(peer, reason, trusted)
      socket.destroy()
    }
    const timer = setTimeout(() => refuse('no PROXY header decided in time'), timeoutMs)
    const onError = (): void => { cleanup() }
    // Gone before deciding: nothing to hand over, nothing to report.
    const onEnd = (): void => { cleanup(); socket.destroy() }
    const onData = (chunk: Buffer): void => {
      buffered = buffered === undefined ? chunk : Buffer.concat([buffered, chunk])
      const result = readProxyHeader(buffered)
      if (result.kind === 'more') return
      if (result.kind === 'invalid') return refuse(result.reason)
      if (result.kind === 'none' && trusted) return refuse('a trusted proxy connected without a PROXY header')
      if (result.kind === 'header' && !trusted) return refuse('a PROXY header from a peer not in xheaders.trustedProxies')
      cleanup()
      let rest = buffered
      if (result.kind === 'header') {
        if (result.source !== undefined) proxied.set(socket, result.source)
        rest = buffered.subarray(result.length)
      }
      // Paused, what came after the header waits in the socket's buffer for
      // its new owner: a TLS server takes over the socket's handle and reads
      // the buffer itself (resuming would emit those bytes to nobody); HTTP
      // reads it once the socket flows again.
      socket.pause()
      if (rest.length > 0) socket.unshift(rest)
      for (const handler of handlers) handler.call(server, socket)
      if (!tls) socket.resume()
    }
    function cleanup (): void {
      clearTimeout(timer)
      socket.removeListener('data', onData)
      socket.removeListener('error', onError)
      socket.removeListener('close', cleanup)
      socket.removeListener('end', onEnd)
    }
    socket.on('error', onError)
    socket.on('close', cleanup)
    socket.on('end', onEnd)
    socket.on('data', onData)
  })
}
