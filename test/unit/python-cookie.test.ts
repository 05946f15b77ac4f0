import t from 'tap'
import { encodeCookieValue, quoteCookieValue, unquoteCookieValue } from '../../lib/shared/python.js'

t.test('the Set-Cookie encoder is Python\'s quoting with a space written \\040, and Python\'s unquoting restores it', async (t) => {
  t.equal(encodeCookieValue('a b c'), '"a\\040b\\040c"')
  t.equal(quoteCookieValue('a b c'), '"a b c"', 'Python itself writes the space raw')
  t.equal(encodeCookieValue('2|1:0|4:YQ==|x'), '"2|1:0|4:YQ==|x"')
  t.equal(encodeCookieValue('a|b'), 'a|b')
  t.equal(encodeCookieValue(''), '""')
  for (const value of ['a b', 'x;y,z', '"q"\\', 'é ÿ \u0000 \u007f', '', 'plain']) {
    t.equal(unquoteCookieValue(encodeCookieValue(value)), value, JSON.stringify(value))
  }
})

t.test('the Set-Cookie encoder refuses characters above U+00FF with a coded error', async (t) => {
  t.throws(() => encodeCookieValue('☃'), { code: 'FDK_COOKIE_VALUE_INVALID', message: /"☃" cannot be written/ })
  t.throws(() => encodeCookieValue('x'.repeat(50) + '☃'), { code: 'FDK_COOKIE_VALUE_INVALID', message: /x{37}\.\.\."/ })
})
