// Signed-value throughput: createSignedValue / decodeSignedValue (Tornado's
// v2 format, HMAC-SHA256) against @fastify/cookie's own signer (sign/unsign,
// via signerFactory, HMAC-SHA256) measured in the same process, side by side, in alternating
// rounds. Bounded: ROUNDS x 2 x MS_PER_RUN milliseconds per pair.
//
//   npm run build && node bench/signed-value.js
import { signerFactory, sign } from '@fastify/cookie'
import { createSignedValue, decodeSignedValue } from '../dist/cookie.js'

const MS_PER_RUN = Number(process.env.MS_PER_RUN ?? 500)
const ROUNDS = Number(process.env.ROUNDS ?? 5)
const SECRET = 'k'.repeat(43)
const VALUE = 'alice@example.com'
const NAME = 'user'

/** Calls fn in batches until MS_PER_RUN elapsed; returns operations per second. */
function measure (fn) {
  const deadline = process.hrtime.bigint() + BigInt(MS_PER_RUN) * 1_000_000n
  const start = process.hrtime.bigint()
  let ops = 0
  let sink = 0
  do {
    for (let i = 0; i < 1000; i++) sink += fn().length
    ops += 1000
  } while (process.hrtime.bigint() < deadline)
  if (sink === 0) throw new Error('benchmark body returned nothing')
  return ops / (Number(process.hrtime.bigint() - start) / 1e9)
}

const signer = signerFactory(SECRET)
const ours = createSignedValue(SECRET, NAME, VALUE)
const theirs = sign(VALUE, SECRET)
if (decodeSignedValue(SECRET, NAME, ours) !== VALUE || signer.unsign(theirs).value !== VALUE) throw new Error('round trip failed')

const pairs = [
  ['sign', () => createSignedValue(SECRET, NAME, VALUE), () => signer.sign(VALUE)],
  ['verify', () => decodeSignedValue(SECRET, NAME, ours), () => signer.unsign(theirs).value]
]

measure(pairs[0][1]); measure(pairs[0][2]) // warm-up
console.log(`node ${process.version}, ${ROUNDS} rounds x ${MS_PER_RUN} ms per side, value ${JSON.stringify(VALUE)}`)
console.log('operation                      fastify-deploy-kit   @fastify/cookie   ratio (ours/peer)')
for (const [label, oursFn, peerFn] of pairs) {
  let a = 0
  let b = 0
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate who goes first so drift in CPU speed hits both sides alike.
    if (round % 2 === 0) { a += measure(oursFn); b += measure(peerFn) } else { b += measure(peerFn); a += measure(oursFn) }
  }
  a /= ROUNDS
  b /= ROUNDS
  console.log(`${label.padEnd(30)} ${Math.round(a).toLocaleString('en').padStart(18)}   ${Math.round(b).toLocaleString('en').padStart(15)}   ${(a / b).toFixed(2)}`)
}
