// explore() finds the driver that unlocks on a timer instead of the interrupt — by random walk and
// by PCT, within a budget of 20 schedules — and the shrunk reproducer replays to the same first
// violation at the same step. In most schedules the copy finishes before the timer: the first
// schedules of the walk are clean.

import { expect, test } from 'vitest';
import { expectReproduces, exploreDemo } from './explore-helpers.js';

test('a random walk finds timer-unlock and shrinks it to a few runs', async () => {
  const r = await exploreDemo('timer-unlock', { strategy: 'random', budget: 20, seed: 1, maxReplays: 40 });
  await expectReproduces(r, 'dma-unlocked');
  expect(r.schedulesRun).toBeGreaterThan(1);
  expect(r.shrink!.reproduced).toBe(true);
  expect(r.shrink!.to).toBeLessThan(r.shrink!.from);
  // The story is all that is left: the driver starts the copy, the other driver takes the steps,
  // the timer fires and the driver unlocks, and the copier's next access is refused.
  const det = r.reproducer!.deterministic!;
  const names = det.decisions.map(([e]) => det.entities[e]!.name);
  expect(names[0]).toBe('driver');
  expect(names).toContain('background');
  expect(names.filter((n) => n === 'driver').length).toBeGreaterThanOrEqual(2);
  expect(det.decisions.length).toBeLessThanOrEqual(6);
});

test('PCT (depth 2) finds timer-unlock too', async () => {
  const r = await exploreDemo('timer-unlock', { strategy: 'pct', depth: 2, budget: 20, seed: 1, maxReplays: 0 });
  await expectReproduces(r, 'dma-unlocked');
  expect(r.firstViolation!.strategy.kind).toBe('pct');
  expect(r.steps).toBeGreaterThan(0);
});
