import { describe, expect, it } from 'vitest';
import { createSimulator, PAGEFIXED, PG_SYS } from '../src/index.js';

describe('outstandingLocks: the teardown leak check', () => {
  it('lists every page still locked, with the driver and the stack of its first lock; nothing once unlocked', async () => {
    const sim = await createSimulator({ pager: 'aggressive', seed: 4 });
    const b = sim.createDriver('driver-b');
    const a = sim.vmm.pageAllocate(3, PG_SYS, 0, 0, 0, 0, null, 0);
    const fixed = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED);
    expect(fixed).not.toBe(0);
    expect(sim.vmm.linPageLock(a >>> 12, 2, 0)).toBe(1);
    expect(sim.vmm.linPageLock(a >>> 12, 1, 0)).toBe(1); // nested: count 2 on the first page
    expect(b.vmm.linPageLock((a >>> 12) + 2, 1, 0)).toBe(1);

    const locks = sim.outstandingLocks().sort((x, y) => (x.linearPage ?? 0) - (y.linearPage ?? 0));
    expect(locks.map((l) => [l.driver, l.linearPage, l.lockCount])).toEqual([
      ['default', a >>> 12, 2],
      ['default', (a >>> 12) + 1, 1],
      ['driver-b', (a >>> 12) + 2, 1],
    ]);
    for (const l of locks) expect(l.stack?.join('\n')).toMatch(/outstanding-locks\.test\.ts/);

    expect(sim.vmm.linPageUnLock(a >>> 12, 2, 0)).toBe(1);
    expect(sim.vmm.linPageUnLock(a >>> 12, 1, 0)).toBe(1);
    expect(b.vmm.linPageUnLock((a >>> 12) + 2, 1, 0)).toBe(1);
    expect(sim.outstandingLocks()).toEqual([]);
    await sim.close();
  });
});
