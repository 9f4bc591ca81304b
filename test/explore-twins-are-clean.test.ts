// The correct twin of each race demo: explore() finds nothing within the budget the finding tests
// use (20 schedules, explore seed 1), by random walk and by PCT, and every schedule ran to its end
// without a driver error — the twins differ from the demos only in the bug.

import { expect, test } from 'vitest';
import { exploreDemo } from './explore-helpers.js';

const TWINS = ['timer-unlock-fixed', 'ring-index-race-fixed', 'lock-order-fixed'] as const;

for (const name of TWINS) {
  test(`${name}: no violation in 20 random schedules, nor in 4 PCT ones`, async () => {
    const random = await exploreDemo(name, { strategy: 'random', budget: 20, seed: 1 });
    expect(random).toMatchObject({ found: false, schedulesRun: 20, firstViolation: null, reproducer: null, errorCount: 0 });
    const pct = await exploreDemo(name, { strategy: 'pct', depth: 2, budget: 4, seed: 1 });
    expect(pct).toMatchObject({ found: false, schedulesRun: 4, errorCount: 0 });
    await expect(random.save('/nonexistent/x.json')).rejects.toThrow(/no violation/);
  });
}
