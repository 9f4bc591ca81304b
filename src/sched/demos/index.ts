/**
 * dmasim's own scenarios (BUILTIN_SCENARIOS), by name: the race demos `dmasim explore` finds, each
 * with its correct twin. Importing this module registers them.
 */

import { BUILTIN_SCENARIOS, type Scenario } from '../scenario.js';
import { lockOrder } from './lock-order.js';
import { ringIndexRace } from './ring-index-race.js';
import { timerUnlock } from './timer-unlock.js';

const DEMOS: readonly (readonly [string, () => Scenario])[] = [
  ['timer-unlock', () => timerUnlock(false)],
  ['timer-unlock-fixed', () => timerUnlock(true)],
  ['ring-index-race', () => ringIndexRace(false)],
  ['ring-index-race-fixed', () => ringIndexRace(true)],
  ['lock-order', () => lockOrder(false)],
  ['lock-order-fixed', () => lockOrder(true)],
];

for (const [name, make] of DEMOS) BUILTIN_SCENARIOS.set(name, () => Promise.resolve(make()));
