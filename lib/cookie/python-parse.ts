// Python's int() and base64.b64decode() as Tornado applies them to the fields
// of a signed value. Only a key holder can put odd text there (it is under the
// MAC), but values must decode to exactly what Tornado returns. Pure.

// Python and Node agree on canonical base64; only odd input needs the slow path.
const CANONICAL_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const PYTHON_INT = /^[ \t\n\v\f\r]*([+-]?[0-9]+(?:_[0-9]+)*)[ \t\n\v\f\r]*$/
const B64_VALUES = new Int8Array(256).fill(-1)
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries()) B64_VALUES[c.charCodeAt(0)] = i

/** Python's int() on ASCII bytes: surrounding whitespace, a sign and `_` between digits are allowed. */
export function pythonInt (text: string): number | null {
  // Fast path for what Tornado and we write: up to 15 plain decimal digits.
  let value = 0
  for (let i = 0; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return lenientInt(text)
    value = value * 10 + digit
  }
  return text.length > 0 && text.length <= 15 ? value : lenientInt(text)
}

function lenientInt (text: string): number | null {
  const match = PYTHON_INT.exec(text)
  return match === null ? null : Number(match[1]!.replaceAll('_', ''))
}

/**
 * Python's lenient base64.b64decode: bytes outside the alphabet are skipped,
 * enough `=` ends the input, a missing pad or a lone trailing character is an
 * error (null). Node's decoder differs (URL-safe letters, no errors).
 * `text` holds one byte per character (latin1), as every caller builds it.
 */
export function pythonB64Decode (text: string): Buffer | null {
  if (CANONICAL_B64.test(text)) return Buffer.from(text, 'base64')
  const out = Buffer.allocUnsafe(Math.ceil(text.length * 3 / 4))
  let length = 0
  let quad = 0
  let pads = 0
  let left = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code === 0x3d) {
      pads++
      if (quad >= 2 && quad + pads >= 4) return out.subarray(0, length)
      continue
    }
    const bits = B64_VALUES[code]!
    if (bits < 0) continue
    pads = 0
    // Bits left over in a quad are dropped, so non-canonical endings decode too.
    if (quad === 1) out[length++] = (left << 2) | (bits >> 4)
    else if (quad === 2) out[length++] = ((left & 0x0f) << 4) | (bits >> 2)
    else if (quad === 3) out[length++] = ((left & 0x03) << 6) | bits
    left = bits
    quad = (quad + 1) % 4
  }
  return quad === 0 ? out.subarray(0, length) : null
}
