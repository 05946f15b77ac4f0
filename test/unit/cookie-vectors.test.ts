// Every Tornado vector both ways: what Tornado signed we verify to the same
// bytes, and what we sign equals what Tornado signed for the same inputs.
// Fixtures: test/fixtures/cookie/README.md says where each file came from.
import t from 'tap'
import { readFileSync } from 'node:fs'
import {
  createSignedValue, decodeSignedValue, decodeSignedValueBytes, getSignedValueKeyVersion, type CookieSecret
} from '../../lib/cookie/signed-value.js'
import { quoteCookieValue, unquoteCookieValue } from '../../lib/shared/python.js'

function load (file: string): any {
  return JSON.parse(readFileSync(new URL(`../fixtures/cookie/${file}`, import.meta.url), 'utf8'))
}
const reference = load('reference-vectors.json')
const ours = load('tornado-vectors.json')

interface Described { hex: string, utf8: string | null }
const bytesOf = (d: Described): Buffer => Buffer.from(d.hex, 'hex')
/** Strings where Tornado had text (exercises the UTF-8 path), bytes otherwise. */
const valueOf = (d: Described): string | Buffer => d.utf8 ?? bytesOf(d)

function referenceSecret (id: string): CookieSecret {
  const s = reference.secrets
  const key = (d: { type?: string } & Described): string | Buffer => d.type === 'bytes' ? bytesOf(d) : d.utf8!
  const dict = Object.fromEntries(Object.entries(s.dict.keys).map(([k, v]) => [k, (v as Described).utf8!]))
  switch (id) {
    case 'dict': return dict
    case '{0: ascii}': return { 0: s.ascii.utf8 }
    case '{1: ascii}': return { 1: s.ascii.utf8 }
    case 'key-twelve as plain str': return dict['12']!
    case 'dict without 12': return { 0: dict['0']!, 1: dict['1']! }
    default: return key(s[id])
  }
}

function ourSecret (json: any): CookieSecret {
  if (json.str !== undefined) return json.str
  if (json.hex !== undefined) return Buffer.from(json.hex, 'hex')
  return Object.fromEntries(Object.entries(json.dict).map(([k, v]) => [k, ourSecret(v) as string]))
}

const hexOrNull = (b: Buffer | null): string | null => b === null ? null : b.toString('hex')
const isAscii = (s: string): boolean => /^[\x00-\x7f]*$/.test(s) // eslint-disable-line no-control-regex

t.test('every reference signed value Tornado made is produced byte for byte and verifies to the same bytes', async (t) => {
  let checked = 0
  for (const v of reference.signed_values) {
    const secret = referenceSecret(v.secret_id)
    const name = v.name.utf8 as string
    const clock = (): number => v.timestamp
    const expected = v.value.hex
    if (v.v1 !== undefined) {
      t.equal(createSignedValue(secret, name, valueOf(v.value), { version: 1, clock }), v.v1)
      t.equal(hexOrNull(decodeSignedValueBytes(secret, name, v.v1, { clock })), v.v1_decodes_at_timestamp ? expected : null)
      checked++
    }
    if (isAscii(name)) {
      t.equal(createSignedValue(secret, name, bytesOf(v.value), { version: 2, keyVersion: v.key_version, clock }), v.v2)
    } else {
      // Tornado signs these but can never verify them (non-ASCII names: `create_signed_value` counts characters, `_consume_field` bytes); we refuse to sign.
      t.throws(() => createSignedValue(secret, name, valueOf(v.value), { keyVersion: v.key_version, clock }), { code: 'FDK_COOKIE_NAME_INVALID' })
    }
    t.equal(hexOrNull(decodeSignedValueBytes(secret, name, v.v2, { clock })), v.v2_decodes_at_timestamp ? expected : null)
    if (v.signature_key_version !== undefined) t.equal(getSignedValueKeyVersion(v.v2), v.signature_key_version)
    checked++
  }
  t.equal(checked, 192 * 2 + 36, 'every v1 and v2 value was checked')
})

t.test('every reference decode case gives Tornado\'s result, and null where Tornado raised on a cookie', async (t) => {
  for (const c of reference.decode_cases) {
    const options = { clock: () => c.clock, maxAgeDays: c.max_age_days, minVersion: c.min_version }
    const secret = referenceSecret(c.secret_id)
    if (c.expected.result === 'exception' && c.expected.exception === 'ValueError') {
      t.throws(() => decodeSignedValue(secret, c.name, c.value, options), { code: 'FDK_COOKIE_OPTIONS_INVALID' }, c.description)
      continue
    }
    const want = c.expected.result === null || c.expected.result === 'exception' ? null : c.expected.result.hex
    t.equal(hexOrNull(decodeSignedValueBytes(secret, c.name, c.value, options)), want, c.description)
  }
})

t.test('every reference set_secure_cookie header carries exactly the value we would write', async (t) => {
  for (const h of reference.set_secure_cookie_headers) {
    const secret = referenceSecret(h.secret_id)
    const signed = createSignedValue(secret, h.name, valueOf(h.value), {
      version: h.kwargs.version, keyVersion: h.settings.key_version, clock: () => h.now
    })
    t.equal(h.set_cookie[0].split('; ')[0], `${h.name}=${quoteCookieValue(signed)}`)
  }
})

t.test('every signed value from scripts/tornado-vectors.py is reproduced and verified', async (t) => {
  for (const v of ours.signed_values) {
    const secret = ourSecret(v.secret)
    const value = Buffer.from(v.value_hex, 'hex')
    const signed = createSignedValue(secret, v.name, value, { version: v.version, keyVersion: v.key_version, clock: () => v.clock })
    t.equal(signed, v.signed)
    t.equal(hexOrNull(decodeSignedValueBytes(secret, v.name, v.signed, { clock: () => Math.trunc(v.clock) })), v.decodes.hex)
    if (v.signature_key_version !== undefined) t.equal(getSignedValueKeyVersion(v.signed), v.signature_key_version)
  }
})

t.test('every decode edge case from scripts/tornado-vectors.py matches Tornado, null where Tornado raised', async (t) => {
  for (const c of ours.decode_cases) {
    const options = { clock: () => c.clock, maxAgeDays: c.max_age_days, minVersion: c.min_version }
    const value = Buffer.from(c.value, 'latin1')
    const want = c.expected.exception !== undefined ? null : c.expected.hex
    t.equal(hexOrNull(decodeSignedValueBytes(ourSecret(c.secret), c.name, value, options)), want, c.description)
  }
})

t.test('Python\'s cookie quoting and unquoting are reproduced exactly', async (t) => {
  for (const q of ours.cookie_quoting.quote) t.equal(quoteCookieValue(q.value), q.quoted, JSON.stringify(q.value))
  for (const u of ours.cookie_quoting.unquote) t.equal(unquoteCookieValue(u.raw), u.value, JSON.stringify(u.raw))
})

t.test('every set_signed_cookie header from scripts/tornado-vectors.py carries exactly the value we would write', async (t) => {
  for (const h of ours.set_cookie_headers) {
    const signed = createSignedValue(ourSecret(h.secret), h.name, h.value, { version: h.kwargs.version, clock: () => h.now })
    t.equal(h.set_cookie[0].split('; ')[0], `${h.name}=${quoteCookieValue(signed)}`)
  }
})
