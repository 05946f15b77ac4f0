// The tap plugin (package.json "tap"."plugin") in place of @tapjs/typescript:
// tap runs .ts test files, and passes register.mjs to each test process
// before its own coverage hooks (preload), so those see the JavaScript.
exports.importLoader = 'fdk-ts-loader/register.mjs'
exports.preload = true
exports.testFileExtensions = ['ts']
