// `node --import=<this file>`: lets Node load this repository's TypeScript
// (lib/, test/) without a build step. tap passes it to every test process
// (package.json "tap"."node-arg"), and test/helpers/cluster.ts to the
// primaries and workers it launches, so both load the same JavaScript for
// each file. How and why: hooks.mjs.
import { register } from 'node:module'

register('./hooks.mjs', import.meta.url)
