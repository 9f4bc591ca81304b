// explore() finds the e1000 driver whose interrupt handler trusts a stale DD left in a reused
// transmit descriptor (simulated memory, written by the NIC's DMA, read by the driver's CPU), and
// the reproducer replays to the same first violation at the same step.

import { expect, test } from 'vitest';
import { expectReproduces, exploreDemo } from './explore-helpers.js';

test('a random walk finds ring-index-race, and the shrunk reproducer replays it', async () => {
  const r = await exploreDemo('ring-index-race', { strategy: 'random', budget: 20, seed: 1, maxReplays: 20 });
  await expectReproduces(r, 'dma-unlocked');
  expect(r.firstViolation!.device).toMatch(/^nic#/);
  expect(r.shrink!.to).toBeLessThan(r.shrink!.from);
});

test('PCT (depth 2) finds ring-index-race too', async () => {
  const r = await exploreDemo('ring-index-race', { strategy: 'pct', depth: 2, budget: 20, seed: 1, maxReplays: 0 });
  await expectReproduces(r, 'dma-unlocked');
});
