/**
 * CHECKER SELF-TESTS ONLY — not part of dmasim's API (src/index.ts does not export it, and it is
 * not documented there). The bug corpus (test/corpus) proves its worth by failing when a check is
 * broken: `createSimulator({ ...options, [SABOTAGE]: 'no-epoch-bump' })` makes every DMA port of
 * that simulator break one check on purpose (layout.ts SABOTAGE_CODE says which and how), and
 * test/corpus-sabotage.test.ts asserts that the corpus then misses exactly the bugs that check
 * exists for. Like KASAN's KUnit tests: a detector nobody has seen fail proves nothing.
 *
 * Zero-cost when off: the option becomes the H.SABOTAGE header word before any device exists, and
 * each port reads it once, at construction, as it reads H.UNCHECKED; the ports' fast path never
 * looks at it (sabotage only ever turns a refusal into a pass, and refusals take the slow path).
 */

import type { SimulatorOptions } from './simulator.js';
import { SABOTAGE_CODE, type SabotageName } from './layout.js';

export { SABOTAGE_CODE, type SabotageName };

/** The internal option's key: a symbol, so no documented or JSON option can ever set it. */
export const SABOTAGE: unique symbol = Symbol('dmasim.sabotage');

/** Simulator options with a check broken on purpose. */
export type SabotagedOptions = SimulatorOptions & { [SABOTAGE]?: SabotageName };

export const SABOTAGE_NAMES = Object.keys(SABOTAGE_CODE) as SabotageName[];

/** H.SABOTAGE for `options` (0: no sabotage); a name that is not a SABOTAGE_CODE is a TypeError. */
export function sabotageWord(options: SimulatorOptions): number {
  const name = (options as SabotagedOptions)[SABOTAGE];
  if (name === undefined) return 0;
  if (!Object.hasOwn(SABOTAGE_CODE, name)) throw new TypeError(`unknown sabotage ${String(name)}`);
  return SABOTAGE_CODE[name];
}
