// The shared validators in lib/settings.ts, as every plugin's settings use them.
import t from 'tap'
import {
  describeValue, invalid, optionalBoolean, optionalInteger, optionalString, optionalStringArray,
  rejectUnknownSettings, requirePlainObject, suggestSetting
} from '../lib/settings.js'

t.test('received values are shown short and safe in error messages', async (t) => {
  t.equal(describeValue(null), 'null')
  t.equal(describeValue([1, 2]), 'array(2)')
  t.equal(describeValue('x'.repeat(100)), JSON.stringify('x'.repeat(57) + '...'))
  t.equal(describeValue(3), '3')
  t.equal(describeValue(undefined), 'undefined')
  t.equal(describeValue(() => 1), 'a function')
  t.equal(describeValue({}), 'an object')
  t.match(invalid('a', 1, 'b').message, 'Invalid setting "a": received 1, expected b')
})

t.test('each validator returns the fallback when absent and refuses the wrong type naming the setting', async (t) => {
  t.equal(optionalBoolean('b', undefined, true), true)
  t.equal(optionalBoolean('b', false, true), false)
  t.throws(() => optionalBoolean('b', 'yes', true), { code: 'FDK_SETTINGS_INVALID', message: /"b"/ })
  t.equal(optionalString('s', undefined), undefined)
  t.equal(optionalString('s', 'v'), 'v')
  t.throws(() => optionalString('s', ''), { message: /"s"/ })
  t.equal(optionalInteger('i', undefined, 4), 4)
  t.equal(optionalInteger('i', 2, 4, 1), 2)
  t.throws(() => optionalInteger('i', 0, 4, 1), { message: /an integer >= 1/ })
  t.throws(() => optionalInteger('i', 1.5, 4), { message: /"i"/ })
  t.same(optionalStringArray('a', undefined, ['x']), ['x'])
  t.same(optionalStringArray('a', ['y'], ['x']), ['y'])
  t.throws(() => optionalStringArray('a', [''], []), { message: /"a"/ })
  t.same(requirePlainObject('o', undefined), {})
  t.throws(() => requirePlainObject('o', []), { message: /"o"/ })
})

t.test('unknown settings are refused with a did-you-mean for snake_case and typos', async (t) => {
  const known = ['staticPath', 'xheaders']
  t.equal(suggestSetting('static_path', known), 'staticPath')
  t.equal(suggestSetting('xheader', known), 'xheaders')
  t.equal(suggestSetting('completely', known), undefined)
  t.doesNotThrow(() => rejectUnknownSettings({ xheaders: true }, known))
  t.throws(() => rejectUnknownSettings({ static_path: 'x' }, known), { code: 'FDK_SETTINGS_UNKNOWN', message: /did you mean "staticPath"/ })
  t.throws(() => rejectUnknownSettings({ zzz: 1 }, known), { message: /^Unknown setting "zzz"$/ })
})
