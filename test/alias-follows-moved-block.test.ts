/**
 * _PageReAllocate may move a block to a new linear address (spec §1.8 item 3, §4.11); its locked
 * pages keep their frames. A global alias of those pages follows them: it still maps them, and
 * _LinPageUnLock(alias, n, PAGEMAPGLOBAL) still releases the lock it stands for — otherwise that
 * lock could never be released by any call.
 */

import { describe, expect, it } from 'vitest';
import { PAGEMAPGLOBAL, PAGEMARKDIRTY } from '../src/index.js';
import { allocSwappable, expectFailure, frames, simulatorsClosedAfterEach } from './helpers.js';

const MAPGLOBAL_MARKDIRTY = (PAGEMAPGLOBAL | PAGEMARKDIRTY) >>> 0;

const sims = simulatorsClosedAfterEach();

describe('a global alias follows its block when _PageReAllocate moves it', () => {
  it('the alias keeps mapping the moved pages, and unlocking it releases their lock', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 3 });
    const a = allocSwappable(sim, 2);
    expect(allocSwappable(sim, 1)).toBe(a + 2 * 4096); // the neighbour that blocks growth in place
    const alias = sim.vmm.linPageLock(a >>> 12, 2, MAPGLOBAL_MARKDIRTY);
    expect(sim.vmm.lastError).toBeNull();
    sim.cpu.write32(alias + 8, 0x1234abcd);
    const before = frames(sim, a >>> 12, 2);

    const r = sim.vmm.pageReAllocate(a, 4, 0);
    expect(sim.vmm.lastError).toBeNull();
    expect(r).not.toBe(a);
    for (let i = 0; i < 20; i++) sim.pager.pass();

    expect(frames(sim, r >>> 12, 2)).toEqual(before);
    expect(frames(sim, alias >>> 12, 2)).toEqual(before);
    expect(sim.cpu.read32(alias + 8)).toBe(0x1234abcd);
    sim.cpu.write32(alias + 4096, 0x5678);
    expect(sim.cpu.read32(r + 4096)).toBe(0x5678);
    expect(sim.outstandingLocks().map((l) => [l.linearPage, l.lockCount])).toEqual([
      [r >>> 12, 1],
      [(r >>> 12) + 1, 1],
    ]);

    expect(sim.vmm.linPageUnLock(alias >>> 12, 2, PAGEMAPGLOBAL)).toBe(1);
    expect(sim.outstandingLocks()).toEqual([]);
    expectFailure(sim, sim.vmm.pageUnLock(r, 2, 0, 0), 0, '_PageUnLock', 'not-locked');
    // PAGEMARKDIRTY kept what was written through the alias across the moves that followed.
    for (let i = 0; i < 20; i++) sim.pager.pass();
    expect(sim.cpu.read32(r + 8)).toBe(0x1234abcd);
    expect(sim.cpu.read32(r + 4096)).toBe(0x5678);
  });
});
