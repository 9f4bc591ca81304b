// explore() finds the two drivers whose lock and unlock orders interleave badly: the statistics
// driver's extra unlock ends the capture driver's lock while its copy engine is still filling the
// shared buffer. The reproducer replays to the same first violation at the same step.

import { expect, test } from 'vitest';
import { expectReproduces, exploreDemo } from './explore-helpers.js';

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
