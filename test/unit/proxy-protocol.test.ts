// readProxyHeader(): the PROXY protocol v1/v2 header at the start of a
// connection, decided from as few bytes as arrive. Valid headers of both
// versions and every family, then what a hostile or broken peer sends:
// truncated, oversized, near-miss signatures, bad versions, commands,
// families and TLVs, and a seeded fuzz of random and mutated headers (never
// a throw, never a header longer than the bytes received).
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { readProxyHeader, V1_MAX_LENGTH, V2_MAX_LENGTH } from '../../lib/proxy/proxy-protocol.js'

const SIG = Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1')
const HTTP = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')

/** A v2 header: version/command byte, family/transport byte, address block, TLVs. */
function v2 (command: number, family: number, addresses: number[], tlvs: Buffer = Buffer.alloc(0), lengthOverride?: number): Buffer {
  const body = Buffer.concat([Buffer.from(addresses), tlvs])
  const head = Buffer.from([command, family, 0, 0])
  head.writeUInt16BE(lengthOverride ?? body.length, 2)
  return Buffer.concat([SIG, head, body])
}

function tlv (type: number, value: Buffer): Buffer {
  const head = Buffer.from([type, 0, 0])
  head.writeUInt16BE(value.length, 1)
  return Buffer.concat([head, value])
}

const IPV4 = [203, 0, 113, 7, 127, 0, 0, 1, 0x15, 0xb3, 0, 80]
const IPV6 = [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1, ...Array(15).fill(0), 1, 0x15, 0xb3, 0x01, 0xbb]

t.test('v1 TCP4, TCP6 and UNKNOWN headers give their addresses and leave the request after them', async (t) => {
  const tcp4 = Buffer.concat([Buffer.from('PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\n'), HTTP])
  t.same(readProxyHeader(tcp4), {
    kind: 'header', version: 1, length: 42, source: { address: '203.0.113.7', port: 5555 }, destination: { address: '127.0.0.1', port: 80 }, tlvs: []
  })
  const tcp6 = readProxyHeader(Buffer.from('PROXY TCP6 2001:db8::1 ::1 65535 443\r\n'))
  t.match(tcp6, { kind: 'header', source: { address: '2001:db8::1', port: 65535 }, destination: { address: '::1', port: 443 } })
  const unknown = readProxyHeader(Buffer.from('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nGET'))
  t.same(unknown, { kind: 'header', version: 1, length: 35, tlvs: [] }, 'UNKNOWN: the connection\'s own endpoints stand')
})

t.test('v2 PROXY over IPv4 and IPv6, LOCAL, the UNSPEC and UNIX families, with TLVs', async (t) => {
  const four = readProxyHeader(Buffer.concat([v2(0x21, 0x11, IPV4), HTTP]))
  t.same(four, { kind: 'header', version: 2, length: 28, source: { address: '203.0.113.7', port: 5555 }, destination: { address: '127.0.0.1', port: 80 }, tlvs: [] })
  const six = readProxyHeader(v2(0x21, 0x21, IPV6))
  t.match(six, { kind: 'header', length: 52, source: { address: '2001:db8::1', port: 5555 }, destination: { address: '::1', port: 443 } })
  const withTlvs = readProxyHeader(Buffer.concat([v2(0x21, 0x11, IPV4, Buffer.concat([tlv(0x01, Buffer.from('h2')), tlv(0x04, Buffer.alloc(0)), tlv(0xea, Buffer.from('vpce-1'))])), HTTP]))
  t.match(withTlvs, { kind: 'header', length: 28 + 5 + 3 + 9, source: { address: '203.0.113.7' } })
  t.same((withTlvs as { tlvs: Array<{ type: number, value: Buffer }> }).tlvs.map((x) => [x.type, x.value.toString()]), [[1, 'h2'], [4, ''], [0xea, 'vpce-1']])
  t.same(readProxyHeader(v2(0x20, 0x11, IPV4)), { kind: 'header', version: 2, length: 28, tlvs: [] }, 'LOCAL (a health check): addresses ignored')
  t.same(readProxyHeader(v2(0x21, 0x00, [])), { kind: 'header', version: 2, length: 16, tlvs: [] }, 'UNSPEC family')
  t.same(readProxyHeader(v2(0x21, 0x31, Array(216).fill(0))), { kind: 'header', version: 2, length: 232, tlvs: [] }, 'UNIX family')
})

t.test('every truncation of a valid header asks for more bytes, never decides early', async (t) => {
  const headers = [
    Buffer.from('PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\n'),
    v2(0x21, 0x11, IPV4, tlv(0x01, Buffer.from('http/1.1'))),
    v2(0x21, 0x21, IPV6)
  ]
  for (const header of headers) {
    for (let cut = 0; cut < header.length; cut++) {
      const result = readProxyHeader(header.subarray(0, cut))
      if (result.kind !== 'more') t.fail(`${cut} of ${header.length} bytes: ${JSON.stringify(result)}`)
    }
    t.equal(readProxyHeader(header).kind, 'header')
  }
})

t.test('oversized headers are invalid, not waited for', async (t) => {
  t.match(readProxyHeader(Buffer.from('PROXY TCP4 ' + '1'.repeat(V1_MAX_LENGTH))), { kind: 'invalid', reason: /longer than 107/ })
  t.match(readProxyHeader(Buffer.from('PROXY TCP4 ' + '1'.repeat(100) + '\r\n')), { kind: 'invalid', reason: /longer than 107/ })
  t.match(readProxyHeader(v2(0x21, 0x11, IPV4, Buffer.alloc(0), V2_MAX_LENGTH)), { kind: 'invalid', reason: /more than/ })
  t.match(readProxyHeader(v2(0x21, 0x11, IPV4, Buffer.alloc(0), 0xffff)), { kind: 'invalid' })
})

t.test('wrong or near-miss signatures are not PROXY headers: HTTP methods, TLS, garbage', async (t) => {
  for (const start of ['GET / HTTP/1.1\r\n', 'POST / HTTP/1.1\r\n', 'PUT /', 'PATCH /', 'PROPFIND / HTTP/1.1', 'PROXZ TCP4', 'proxy TCP4 1.2.3.4', 'PROXYTCP4', '\r\n\r\nGET', '\r\n\r\n\0\r\nQUIT!', '\x16\x03\x01\x02\x00']) {
    t.same(readProxyHeader(Buffer.from(start, 'latin1')), { kind: 'none' }, JSON.stringify(start))
  }
  t.same(readProxyHeader(Buffer.from('PO')), { kind: 'none' }, 'decided as soon as it differs')
  t.same(readProxyHeader(Buffer.from('\r\n\r\n\0\r\nQ')), { kind: 'more' })
  t.same(readProxyHeader(Buffer.alloc(0)), { kind: 'more' })
})

t.test('v1 headers with bad fields are invalid', async (t) => {
  for (const line of [
    'PROXY TCP4 999.0.0.1 127.0.0.1 5555 80', 'PROXY TCP4 ::1 127.0.0.1 5555 80', 'PROXY TCP6 127.0.0.1 ::1 5555 80',
    'PROXY TCP4 127.0.0.1 127.0.0.1 65536 80', 'PROXY TCP4 127.0.0.1 127.0.0.1 0555 80', 'PROXY TCP4 127.0.0.1 127.0.0.1 5555',
    'PROXY UDP4 127.0.0.1 127.0.0.1 5555 80', 'PROXY TCP4 127.0.0.1  127.0.0.1 5555 80', 'PROXY TCP6 fe80::1%eth0 ::1 1 2'
  ]) {
    t.match(readProxyHeader(Buffer.from(line + '\r\n')), { kind: 'invalid' }, line)
  }
})

t.test('v2 headers with a bad version, command, family, transport or TLV are invalid', async (t) => {
  t.match(readProxyHeader(v2(0x11, 0x11, IPV4)), { kind: 'invalid', reason: /version/ }, 'version 1 in a v2 header')
  t.match(readProxyHeader(v2(0x22, 0x11, IPV4)), { kind: 'invalid', reason: /command/ })
  t.match(readProxyHeader(v2(0x21, 0x41, IPV4)), { kind: 'invalid', reason: /family/ })
  t.match(readProxyHeader(v2(0x21, 0x13, IPV4)), { kind: 'invalid', reason: /transport/ })
  t.match(readProxyHeader(v2(0x21, 0x12, IPV4)), { kind: 'invalid', reason: /stream/ }, 'DGRAM on a TCP listener')
  t.match(readProxyHeader(v2(0x21, 0x11, IPV4.slice(0, 8))), { kind: 'invalid', reason: /length/ }, 'shorter than its family\'s addresses')
  t.match(readProxyHeader(v2(0x21, 0x11, IPV4, Buffer.from([0x01, 0x00]))), { kind: 'invalid', reason: /TLV/ }, 'a TLV cut in its head')
  t.match(readProxyHeader(v2(0x21, 0x11, IPV4, Buffer.from([0x01, 0x00, 0x09, 0x41]))), { kind: 'invalid', reason: /TLV/ }, 'a TLV longer than the header')
})

t.test('fuzz: random and mutated headers never throw and never claim bytes they do not have', async (t) => {
  const valid = [
    Buffer.from('PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\n'),
    Buffer.from('PROXY TCP6 2001:db8::1 ::1 65535 443\r\n'),
    v2(0x21, 0x11, IPV4, tlv(0x01, Buffer.from('h2'))),
    v2(0x21, 0x21, IPV6),
    v2(0x20, 0x00, [])
  ]
  const counts: Record<string, number> = { more: 0, none: 0, invalid: 0, header: 0 }
  let seed = 0x5eed
  const random = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
  for (let i = 0; i < 20_000; i++) {
    let data: Buffer
    if (i % 4 === 0) {
      data = randomBytes(random(64))
      if (random(2) === 0) data = Buffer.concat([SIG, data])
    } else {
      data = Buffer.from(valid[random(valid.length)]!)
      for (let flips = 1 + random(3); flips > 0; flips--) data[random(data.length)] = random(256)
      data = data.subarray(0, random(data.length + 1))
    }
    let result
    try {
      result = readProxyHeader(data)
    } catch (error) {
      t.fail(`threw on ${data.toString('hex')}: ${(error as Error).message}`)
      continue
    }
    counts[result.kind]!++
    if (result.kind === 'header' && result.length > data.length) t.fail(`claims ${result.length} of ${data.length} bytes: ${data.toString('hex')}`)
    if (result.kind === 'header' && result.source !== undefined && result.source.port > 65535) t.fail(`port ${result.source.port}`)
  }
  t.ok(counts.more! > 0 && counts.none! > 0 && counts.invalid! > 0 && counts.header! > 0, `every outcome met: ${JSON.stringify(counts)}`)
})
