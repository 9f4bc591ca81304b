// explore() finds the two drivers whose lock and unlock orders interleave badly: the statistics
// driver's extra unlock ends the capture driver's lock while its copy engine is still filling the
// shared buffer. The reproducer replays to the same first violation at the same step.

import { expect, test } from 'vitest';
import { expectReproduces, exploreDemo } from './explore-helpers.js';
import { explore, loadScenario } from '../src/index.js';
import { expect as fixtureExpect, test as fixtureTest } from '../src/vitest.js';

const lockOrder = await loadScenario({ builtin: 'lock-order' });

test('a random walk finds lock-order, and the shrunk reproducer replays it', async () => {
  const r = await exploreDemo('lock-order', { strategy: 'random', budget: 20, seed: 1, maxReplays: 40 });
  await expectReproduces(r, 'dma-unlocked');
  expect(r.firstViolation!.device).toMatch(/capture-dma/);
  expect(r.shrink!.to).toBeLessThanOrEqual(r.shrink!.from);
});

test('PCT (depth 2) finds lock-order too', async () => {
  const r = await exploreDemo('lock-order', { strategy: 'pct', depth: 2, budget: 20, seed: 1, maxReplays: 0 });
  await expectReproduces(r, 'dma-unlocked');
});

// The library call inside a dmasim/vitest test: a plain async call (it makes its own simulators;
// the test's `sim` fixture is not involved), its result asserted like any other.
fixtureTest('explore() is a plain async call inside a dmasim/vitest test', async () => {
  const r = await explore(lockOrder, { budget: 20, seed: 1, maxReplays: 0, codes: ['dma-unlocked', 'unlock-during-dma'] });
  fixtureExpect(r.found).toBe(true);
  fixtureExpect(['dma-unlocked', 'unlock-during-dma']).toContain(r.firstViolation!.code);
});
