// Interop with the real Tornado (Debian python3-tornado via /usr/bin/python3):
// fresh random secrets, names and values signed on one side and verified on
// the other, then real HTTP: Set-Cookie from one server sent back as a
// browser would to the other.
import t, { type Test } from 'tap'
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { randomBytes, randomInt } from 'node:crypto'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import fastifyDeployCookie, { createSignedValue, decodeSignedValueBytes, type CookieSecret } from '../../lib/cookie.js'

const PYTHON = '/usr/bin/python3'
const PEER = fileURLToPath(new URL('../fixtures/cookie/tornado-peer.py', import.meta.url))
const missing = spawnSync(PYTHON, ['-c', 'import tornado.web'], { timeout: 20_000 }).status !== 0
const reason = `LIVE TORNADO TESTS NOT RUN: ${PYTHON} with python3-tornado is not installed (apt-get install python3-tornado)`
// On CI the peer is installed by .ci/run, so its absence is a failure, not a skip.
if (missing && process.env.CI === 'true') t.fail(reason)
const tornadoMissing = missing ? reason : false

/** One Python process answering JSON lines; every exchange is bounded in time. */
function startPipe (t: Test): (request: object) => Promise<any> {
  const child: ChildProcessWithoutNullStreams = spawn(PYTHON, [PEER, 'pipe'])
  t.teardown(() => { child.kill() })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  return async (request) => {
    child.stdin.write(JSON.stringify(request) + '\n')
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('Tornado peer did not answer within 10 s')), 10_000)
    })
    try {
      const line = await Promise.race([lines.next(), timeout])
      return JSON.parse(line.value as string)
    } finally {
      clearTimeout(timer)
    }
  }
}

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&\'*+-.^_`|~:'
function randomName (): string {
  return Array.from({ length: randomInt(1, 25) }, () => NAME_CHARS[randomInt(NAME_CHARS.length)]).join('')
}
/** Any Unicode scalar value: ASCII, Latin-1, BMP and astral planes (no surrogates). */
function randomText (): string {
  const ranges: Array<[number, number]> = [[0, 0x7f], [0x80, 0x7ff], [0x800, 0xd7ff], [0xe000, 0xffff], [0x10000, 0x10ffff]]
  return Array.from({ length: randomInt(0, 40) }, () => {
    const [low, high] = ranges[randomInt(ranges.length)]!
    return String.fromCodePoint(randomInt(low, high + 1))
  }).join('')
}
function randomSecret (): { json: object, secret: CookieSecret, keyVersion?: number } {
  if (randomInt(2) === 0) {
    const key = randomBytes(32).toString('base64')
    return { json: { str: key }, secret: key }
  }
  const keys: Record<string, string> = {}
  for (const version of [randomInt(0, 5), randomInt(5, 1000)]) keys[version] = randomText() + randomBytes(8).toString('hex')
  const versions = Object.keys(keys).map(Number)
  return {
    json: { dict: Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, { str: v }])) },
    secret: keys,
    keyVersion: versions[randomInt(versions.length)]
  }
}

const CASES = 150

t.test('values Tornado signs with fresh random secrets, names and values verify here to the same bytes', { skip: tornadoMissing }, async (t) => {
  const ask = startPipe(t)
  for (let i = 0; i < CASES; i++) {
    const { json, secret, keyVersion } = randomSecret()
    const name = randomName()
    const value = i % 5 === 0 ? randomBytes(randomInt(0, 30)) : Buffer.from(randomText())
    const version = keyVersion === undefined && i % 2 === 0 ? 1 : 2
    const clock = 1_600_000_000 + randomInt(100_000_000)
    const { signed } = await ask({ op: 'sign', secret: json, name, value_hex: value.toString('hex'), version, key_version: keyVersion, clock })
    const decoded = decodeSignedValueBytes(secret, name, Buffer.from(signed, 'latin1'), { clock: () => clock })
    t.equal(decoded?.toString('hex'), value.toString('hex'), `v${version} ${JSON.stringify(name)}`)
    // Same inputs, same clock: the two implementations agree byte for byte.
    t.equal(createSignedValue(secret, name, value, { version, keyVersion, clock: () => clock }), signed)
  }
})

t.test('values signed here with fresh random secrets, names and values verify in Tornado to the same bytes', { skip: tornadoMissing }, async (t) => {
  const ask = startPipe(t)
  for (let i = 0; i < CASES; i++) {
    const { json, secret, keyVersion } = randomSecret()
    const name = randomName()
    const text = randomText()
    const version = keyVersion === undefined && i % 2 === 0 ? 1 : 2
    const clock = 1_600_000_000 + randomInt(100_000_000)
    const signed = createSignedValue(secret, name, text, { version, keyVersion, clock: () => clock })
    const answer = await ask({ op: 'decode', secret: json, name, signed, clock })
    t.equal(answer.hex, Buffer.from(text).toString('hex'), `v${version} ${JSON.stringify(name)}`)
    const other = await ask({ op: 'decode', secret: json, name: name + 'x', signed, clock })
    t.equal(other.hex, null, 'Tornado rejects it under another name too')
  }
})

/** Starts the Tornado server from tornado-peer.py; resolves with its base URL. */
async function startTornado (t: Test, secretJson: object, keyVersion: number): Promise<string> {
  const child = spawn(PYTHON, [PEER, 'http', JSON.stringify(secretJson), String(keyVersion)])
  t.teardown(() => { child.kill() })
  const port = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Tornado did not start within 20 s')), 20_000)
    createInterface({ input: child.stdout }).once('line', (line) => { clearTimeout(timer); resolve(line) })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`Tornado exited with ${code}`)) })
  })
  return `http://127.0.0.1:${port}`
}

async function startFastify (t: Test, secret: Record<number, string>, keyVersion: number): Promise<string> {
  const app = Fastify()
  await app.register(fastifyDeployCookie, { cookieSecret: secret, keyVersion })
  app.get<{ Querystring: { name: string, value: string } }>('/set', async (request, reply) => {
    reply.setSignedCookie(request.query.name, request.query.value)
    return 'ok'
  })
  app.get<{ Querystring: { name: string } }>('/get', async (request) => ({ value: request.getSignedCookie(request.query.name) }))
  t.teardown(() => app.close())
  return await app.listen({ host: '127.0.0.1', port: 0 })
}

/** What a browser sends back: `name=value` exactly as it appeared before the first `;`. */
function cookieFrom (response: Response): string {
  const header = response.headers.getSetCookie()
  if (header.length !== 1) throw new Error(`expected one Set-Cookie, got ${JSON.stringify(header)}`)
  return header[0]!.split(';')[0]!
}

const WIRE_VALUES = ['hello', 'héllo wörld ☃ 🎉', '{"id":42,"role":"admin"}', 'a;b,c "d" \\e', '']

t.test('a signed cookie set by Fastify is accepted by Tornado\'s get_signed_cookie over real HTTP', { skip: tornadoMissing }, async (t) => {
  const keys = { 1: randomBytes(32).toString('hex'), 2: randomBytes(32).toString('hex') }
  const secretJson = { dict: { 1: { str: keys[1] }, 2: { str: keys[2] } } }
  const [tornado, fastify] = await Promise.all([startTornado(t, secretJson, 2), startFastify(t, keys, 2)])
  for (const value of WIRE_VALUES) {
    const set = await fetch(`${fastify}/set?` + new URLSearchParams({ name: 'user', value }), { signal: AbortSignal.timeout(10_000) })
    const cookie = cookieFrom(set)
    const got = await fetch(`${tornado}/get?name=user`, { headers: { cookie }, signal: AbortSignal.timeout(10_000) })
    t.same(await got.json(), { value }, cookie)
  }
})

t.test('a Python-quoted signed cookie set by Tornado is accepted by getSignedCookie over real HTTP', { skip: tornadoMissing }, async (t) => {
  const keys = { 1: randomBytes(32).toString('hex'), 2: randomBytes(32).toString('hex') }
  const secretJson = { dict: { 1: { str: keys[1] }, 2: { str: keys[2] } } }
  const [tornado, fastify] = await Promise.all([startTornado(t, secretJson, 1), startFastify(t, keys, 2)])
  let quoted = 0
  for (const value of WIRE_VALUES) {
    const set = await fetch(`${tornado}/set?` + new URLSearchParams({ name: 'user', value }), { signal: AbortSignal.timeout(10_000) })
    const cookie = cookieFrom(set)
    if (cookie.startsWith('user="')) quoted++
    const got = await fetch(`${fastify}/get?name=user`, { headers: { cookie }, signal: AbortSignal.timeout(10_000) })
    t.same(await got.json(), { value }, cookie)
  }
  t.ok(quoted > 0, 'some of Tornado\'s cookies were Python-quoted')
})
