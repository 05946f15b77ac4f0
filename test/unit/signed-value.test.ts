import t from 'tap'
import {
  createSignedValue, decodeSignedValue, decodeSignedValueBytes, getSignedValueKeyVersion
} from '../../lib/cookie/signed-value.js'

const SECRET = 'k'.repeat(40)
const T = 1_700_000_000
const DAY = 86400
const at = (seconds: number) => ({ clock: () => seconds })

/** Every value obtained by changing, deleting or appending one byte. */
function * singleByteChanges (value: string): Generator<Buffer> {
  const bytes = Buffer.from(value, 'latin1')
  for (let i = 0; i < bytes.length; i++) {
    for (let b = 0; b < 256; b++) {
      if (b === bytes[i]) continue
      const changed = Buffer.from(bytes)
      changed[i] = b
      yield changed
    }
    yield Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1)])
  }
  for (let b = 0; b < 256; b++) yield Buffer.concat([bytes, Buffer.from([b])])
}

for (const version of [1, 2] as const) {
  t.test(`every single-byte change of a valid v${version} value is rejected, without throwing`, async (t) => {
    const secret = version === 1 ? SECRET : { 3: SECRET, 4: 'other-key-'.repeat(4) }
    const signed = createSignedValue(secret, 'user', 'hello world', { version, keyVersion: version === 2 ? 3 : undefined, ...at(T) })
    t.equal(decodeSignedValue(secret, 'user', signed, at(T)), 'hello world', 'the original verifies')
    let tried = 0
    let accepted = 0
    for (const changed of singleByteChanges(signed)) {
      tried++
      if (decodeSignedValueBytes(secret, 'user', changed, at(T)) !== null) accepted++
    }
    t.ok(tried > signed.length * 255, `${tried} variants tried`)
    t.equal(accepted, 0, 'no variant verified')
  })
}

t.test('a value is valid for exactly maxAgeDays (31 by default) and expired one second later', async (t) => {
  for (const version of [1, 2] as const) {
    const signed = createSignedValue(SECRET, 'user', 'x', { version, ...at(T) })
    t.equal(decodeSignedValue(SECRET, 'user', signed, at(T + 31 * DAY)), 'x')
    t.equal(decodeSignedValue(SECRET, 'user', signed, at(T + 31 * DAY + 1)), null)
    t.equal(decodeSignedValue(SECRET, 'user', signed, { maxAgeDays: 1.5, ...at(T + 1.5 * DAY) }), 'x')
    t.equal(decodeSignedValue(SECRET, 'user', signed, { maxAgeDays: 1.5, ...at(T + 1.5 * DAY + 1) }), null)
  }
})

t.test('a v1 value stamped more than 31 days ahead of the clock is rejected whatever maxAgeDays says; v2 has no such limit', async (t) => {
  const v1 = createSignedValue(SECRET, 'user', 'x', { version: 1, ...at(T) })
  const v2 = createSignedValue(SECRET, 'user', 'x', at(T))
  t.equal(decodeSignedValue(SECRET, 'user', v1, at(T - 31 * DAY)), 'x')
  t.equal(decodeSignedValue(SECRET, 'user', v1, at(T - 31 * DAY - 1)), null)
  t.equal(decodeSignedValue(SECRET, 'user', v1, { maxAgeDays: 365, ...at(T - 31 * DAY - 1) }), null)
  t.equal(decodeSignedValue(SECRET, 'user', v2, at(T - 1000 * DAY)), 'x')
})

t.test('a value signed for one name is rejected under another', async (t) => {
  for (const version of [1, 2] as const) {
    const signed = createSignedValue(SECRET, 'user', 'x', { version, ...at(T) })
    t.equal(decodeSignedValue(SECRET, 'admin', signed, at(T)), null)
    t.equal(decodeSignedValue(SECRET, 'use', signed, at(T)), null)
  }
})

t.test('a value signed with a foreign key is rejected', async (t) => {
  for (const version of [1, 2] as const) {
    const signed = createSignedValue('f'.repeat(40), 'user', 'x', { version, ...at(T) })
    t.equal(decodeSignedValue(SECRET, 'user', signed, at(T)), null)
  }
  const fromRecord = createSignedValue({ 1: 'f'.repeat(40) }, 'user', 'x', { keyVersion: 1, ...at(T) })
  t.equal(decodeSignedValue({ 1: SECRET }, 'user', fromRecord, at(T)), null)
})

t.test('key rotation: old values verify while their key is listed, new ones carry the new version, removal rejects the old', async (t) => {
  const oldKey = 'o'.repeat(40)
  const newKey = 'n'.repeat(40)
  const before = createSignedValue({ 1: oldKey }, 'user', 'alice', { keyVersion: 1, ...at(T) })
  const during = { 1: oldKey, 2: newKey }
  const after = createSignedValue(during, 'user', 'bob', { keyVersion: 2, ...at(T) })
  t.equal(getSignedValueKeyVersion(before), 1)
  t.equal(getSignedValueKeyVersion(after), 2)
  t.equal(decodeSignedValue(during, 'user', before, at(T)), 'alice')
  t.equal(decodeSignedValue(during, 'user', after, at(T)), 'bob')
  t.equal(decodeSignedValue({ 2: newKey }, 'user', before, at(T)), null)
  t.equal(decodeSignedValue({ 2: newKey }, 'user', after, at(T)), 'bob')
})

t.test('minVersion 2 rejects v1 values and accepts v2', async (t) => {
  const v1 = createSignedValue(SECRET, 'user', 'x', { version: 1, ...at(T) })
  const v2 = createSignedValue(SECRET, 'user', 'x', at(T))
  t.equal(decodeSignedValue(SECRET, 'user', v1, { minVersion: 2, ...at(T) }), null)
  t.equal(decodeSignedValue(SECRET, 'user', v2, { minVersion: 2, ...at(T) }), 'x')
})

t.test('garbage under a record secret reads as null where Tornado raises', async (t) => {
  for (const garbage of ['garbage', 'a|b|c', '|||', '2|', '2|x', '1000|a|b', '0|a', '\u0000', '2|1:0|', '"quoted"']) {
    t.equal(decodeSignedValue({ 0: SECRET }, 'user', garbage, at(T)), null, JSON.stringify(garbage))
  }
  const v1 = createSignedValue(SECRET, 'user', 'x', { version: 1, ...at(T) })
  t.equal(decodeSignedValue({ 0: SECRET }, 'user', v1, at(T)), null, 'a v1 value under a record secret')
})

t.test('missing and empty values read as null', async (t) => {
  t.equal(decodeSignedValue(SECRET, 'user', undefined), null)
  t.equal(decodeSignedValue(SECRET, 'user', null), null)
  t.equal(decodeSignedValue(SECRET, 'user', ''), null)
  t.equal(decodeSignedValue(SECRET, 'user', new Uint8Array(0)), null)
})

t.test('strings of any Unicode and arbitrary bytes round-trip', async (t) => {
  const texts = ['', 'plain', 'héllo wörld ☃', '😀 astral 𝄞', '\u0000\u0001\u001f\u007f', '"quotes" \\ ; , = |', 'x'.repeat(3000)]
  for (const text of texts) {
    for (const version of [1, 2] as const) {
      const signed = createSignedValue(SECRET, 'user', text, { version, ...at(T) })
      t.match(signed, /^[\x21-\x7e]+$/, 'the wire value is printable ASCII')
      t.equal(decodeSignedValue(SECRET, 'user', signed, at(T)), text)
    }
  }
  const bytes = Buffer.from([0, 255, 254, 128, 10, 13])
  t.same(decodeSignedValueBytes(SECRET, 'user', createSignedValue(SECRET, 'user', bytes, at(T)), at(T)), bytes)
  t.same(decodeSignedValueBytes(SECRET, 'user', createSignedValue(SECRET, 'user', new Uint8Array(bytes), at(T)), at(T)), bytes)
})

t.test('without a clock both functions use the system time', async (t) => {
  const signed = createSignedValue(SECRET, 'user', 'now')
  t.equal(decodeSignedValue(SECRET, 'user', signed), 'now')
  t.equal(decodeSignedValue(SECRET, 'user', createSignedValue(SECRET, 'user', 'now', { version: 1 })), 'now')
  t.equal(decodeSignedValue(SECRET, 'user', createSignedValue(SECRET, 'user', 'old', at(T))), null, 'a 2023 value is long expired')
})

t.test('getSignedValueKeyVersion reads the key version of v2 values only', async (t) => {
  t.equal(getSignedValueKeyVersion(createSignedValue(SECRET, 'user', 'x', { keyVersion: 7, ...at(T) })), 7)
  t.equal(getSignedValueKeyVersion(createSignedValue(SECRET, 'user', 'x', at(T))), 0)
  t.equal(getSignedValueKeyVersion(Buffer.from(createSignedValue(SECRET, 'user', 'x', { keyVersion: 12, ...at(T) }))), 12)
  t.equal(getSignedValueKeyVersion(createSignedValue(SECRET, 'user', 'x', { version: 1, ...at(T) })), null)
  t.equal(getSignedValueKeyVersion('2|garbage'), null)
  t.equal(getSignedValueKeyVersion(''), null)
  t.equal(getSignedValueKeyVersion(undefined), null)
})

t.test('a non-ASCII name is refused for v2 (Tornado could never verify it) and allowed for v1', async (t) => {
  t.throws(() => createSignedValue(SECRET, 'név', 'x', at(T)), { code: 'FDK_COOKIE_NAME_INVALID', message: /név.*ASCII/ })
  const v1 = createSignedValue(SECRET, 'név', 'x', { version: 1, ...at(T) })
  t.equal(decodeSignedValue(SECRET, 'név', v1, at(T)), 'x')
})

t.test('a lone UTF-16 surrogate in a value is refused rather than silently replaced', async (t) => {
  t.throws(() => createSignedValue(SECRET, 'user', 'a\ud800b', at(T)), { code: 'FDK_COOKIE_VALUE_INVALID' })
})

t.test('invalid options and arguments throw a coded error naming the option', async (t) => {
  const code = 'FDK_COOKIE_OPTIONS_INVALID'
  const create = (secret: any, name: any, value: any, options: any) => () => createSignedValue(secret, name, value, options)
  const decode = (secret: any, options: any, name: any = 'user') => () => decodeSignedValue(secret, name, 'x', options)
  t.throws(create(SECRET, 'u', 'x', { version: 3 }), { code, message: /"version".*received 3, expected 1 or 2/ })
  t.throws(create(SECRET, 'u', 'x', { keyVersion: -1 }), { code, message: /"keyVersion"/ })
  t.throws(create(SECRET, 'u', 'x', { keyVersion: 1.5 }), { code, message: /"keyVersion"/ })
  t.throws(create({ 1: SECRET }, 'u', 'x', {}), { code, message: /"keyVersion".*one of the secret's key versions \(1\)/ })
  t.throws(create({ 1: SECRET }, 'u', 'x', { keyVersion: 2 }), { code, message: /"keyVersion"/ })
  t.throws(create({ 1: SECRET }, 'u', 'x', { version: 1, keyVersion: 1 }), { code, message: /"version".*record/ })
  t.throws(create(SECRET, 42, 'x', {}), { code, message: /"name"/ })
  t.throws(create(SECRET, 'u', 42, {}), { code, message: /"value"/ })
  t.throws(create(null, 'u', 'x', {}), { code, message: /"secret"/ })
  t.throws(create({}, 'u', 'x', { keyVersion: 0 }), { code, message: /"secret"/ })
  t.throws(create({ '01': SECRET }, 'u', 'x', { keyVersion: 1 }), { code, message: /"secret"/ })
  t.throws(create({ 1: 42 }, 'u', 'x', { keyVersion: 1 }), { code, message: /"secret"/ })
  t.throws(create(SECRET, 'u', 'x', { clock: 'now' }), { code, message: /"clock"/ })
  t.throws(create(SECRET, 'u', 'x', { clock: () => Number.NaN }), { code, message: /"clock\(\)"/ })
  t.throws(decode(SECRET, { maxAgeDays: Number.NaN }), { code, message: /"maxAgeDays"/ })
  t.throws(decode(SECRET, { maxAgeDays: Infinity }), { code, message: /"maxAgeDays"/ })
  t.throws(decode(SECRET, { maxAgeDays: -1 }), { code, message: /"maxAgeDays"/ })
  t.throws(decode(SECRET, { maxAgeDays: '31' }), { code, message: /"maxAgeDays"/ })
  t.throws(decode(SECRET, { minVersion: 3 }), { code, message: /"minVersion"/ })
  t.throws(decode(SECRET, {}, 42), { code, message: /"name"/ })
  t.throws(decode(undefined, {}), { code, message: /"secret"/ })
  t.throws(decode(SECRET, { clock: 42 }), { code, message: /"clock"/ })
})
