// npm run test:unit: group 1 of the unit test files, in one process (test/helpers/unit-groups.ts says why).
import { runUnitGroup } from '../helpers/unit-groups.js'

await runUnitGroup(1)
