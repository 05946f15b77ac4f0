import neostandard from 'neostandard'

export default neostandard({
  ts: true,
  ignores: ['dist/**', 'test/fixtures/vite/build/**', 'coverage/**', '.tap/**', 'node_modules/**', 'tap-snapshots/**']
})
