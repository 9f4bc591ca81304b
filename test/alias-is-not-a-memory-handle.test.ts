/**
 * hMem of _PageLock, _PageUnLock and _PageGetSizeAddr is a block from _PageAllocate,
 * _PageReAllocate or _PageReserve (spec §4.4, §4.5, §4.21). A PAGEMAPGLOBAL alias and a
 * _MapPhysToLinear mapping are not: each call fails with 'not-a-block' and changes nothing. Taken
 * as handles they "succeeded" doing nothing, so a driver could believe an alias released that way.
 */

import { describe, expect, it } from 'vitest';
import { PAGEMAPGLOBAL, type Simulator } from '../src/index.js';
import { allocSwappable, expectFailure, expectUnchanged, simulatorsClosedAfterEach } from './helpers.js';

const sims = simulatorsClosedAfterEach();

function refusedAsHandle(sim: Simulator, hMem: number): void {
  expectUnchanged(sim, () => {
    expectFailure(sim, sim.vmm.pageLock(hMem, 1, 0, 0), 0, '_PageLock', 'not-a-block');
    expectFailure(sim, sim.vmm.pageUnLock(hMem, 1, 0, 0), 0, '_PageUnLock', 'not-a-block');
    const edx = new Uint32Array([7]);
    expectFailure(sim, sim.vmm.pageGetSizeAddr(hMem, 0, edx), 0, '_PageGetSizeAddr', 'not-a-block');
    expect(edx[0]).toBe(0);
  });
}

describe('mappings are not memory handles', () => {
  it('a global alias is refused by _PageLock, _PageUnLock and _PageGetSizeAddr; its lock is released through it only', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 2 });
    const lin = allocSwappable(sim, 2);
    const alias = sim.vmm.linPageLock(lin >>> 12, 2, PAGEMAPGLOBAL);
    expect(sim.vmm.lastError).toBeNull();
    refusedAsHandle(sim, alias);
    expect(sim.outstandingLocks()).toHaveLength(2);
    expect(sim.vmm.linPageUnLock(alias >>> 12, 2, PAGEMAPGLOBAL)).toBe(1);
    expect(sim.outstandingLocks()).toEqual([]);
  });

  it('so is a _MapPhysToLinear mapping', async () => {
    const sim = await sims.make({ pager: 'off', seed: 2 });
    const lin = sim.vmm.mapPhysToLinear(0x5000, 0x2000, 0);
    expect(sim.vmm.lastError).toBeNull();
    expect(lin & 0xfff).toBe(0);
    refusedAsHandle(sim, lin);
  });
});
