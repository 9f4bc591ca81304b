/**
 * VDMAD_Unlock_DMA_Region and VDMAD_Unlock_DMA_Region_No_Dirty (spec §5.5). The normal variant
 * touches every page first — DMA writes bypass the CPU and never set P_DIRTY — so the memory manager
 * keeps what a device wrote; the _No_Dirty variant (memory → device transfers) leaves the pages as
 * they were. Then the pages are unlocked.
 *
 * The DDK documents only carry for these; dmasim returns 0 or a VDS code (§5.3):
 * DMA_Region_Not_Locked (8) when a page's lock count is 0, DMA_Invalid_Region (7) when the arguments
 * describe no lockable region (bad values, size 0, past 4 GiB, pages not committed). Either way
 * nothing changes.
 */

import { describe, expect, it } from 'vitest';
import { DMA_Invalid_Region, DMA_Region_Not_Locked, P_DIRTY, P_PRES, type Simulator, type VdmadErrorCode } from '../src/index.js';
import { expectUnchanged, ptes, simulatorsClosedAfterEach } from './helpers.js';
import { lockRegion, swappable } from './vdmad-helpers.js';

const sims = simulatorsClosedAfterEach();
let sim: Simulator;

async function boot(): Promise<Simulator> {
  // Pager off: unlocked pages stay where they are, so their PTE bits can be read after the unlock.
  sim = await sims.make({ memory: 1 << 20, pager: 'off', seed: 3 });
  return sim;
}

const dirtyBits = (lin: number, n: number): number[] => ptes(sim, lin >>> 12, n).map((e) => e & (P_PRES | P_DIRTY));

function expectUnlockFailure(fn: () => number, result: number, service: string, code: VdmadErrorCode): void {
  expectUnchanged(sim, () => {
    expect(fn()).toBe(result);
  });
  expect(sim.vdmad.lastError).toMatchObject({ service, code });
}

describe('VDMAD_Unlock_DMA_Region: dirty, then unlock', () => {
  it('marks every page of the region dirty (the CPU only read them) and unlocks them', async () => {
    await boot();
    const lin = swappable(sim, 3, [0, 1, 2]);
    expect(dirtyBits(lin, 3)).toEqual([P_PRES, P_PRES, P_PRES]);
    expect(lockRegion(sim, lin + 0x10, 2 * 4096, 0).result).toBe(0); // pages 0 … 2
    // Locking dirties nothing: the device has not written yet.
    expect(dirtyBits(lin, 3)).toEqual([P_PRES, P_PRES, P_PRES]);
    expect(sim.vdmad.unlockDMARegion(lin + 0x10, 2 * 4096)).toBe(0);
    expect(sim.vdmad.lastError).toBeNull();
    expect(dirtyBits(lin, 3)).toEqual([P_PRES | P_DIRTY, P_PRES | P_DIRTY, P_PRES | P_DIRTY]);
    expect(sim.outstandingLocks()).toEqual([]);
  });

  it('_No_Dirty unlocks and leaves the pages clean', async () => {
    await boot();
    const lin = swappable(sim, 2, [0, 1]);
    expect(lockRegion(sim, lin, 8192, 0).result).toBe(0);
    expect(sim.vdmad.unlockDMARegionNoDirty(lin, 8192)).toBe(0);
    expect(sim.vdmad.lastError).toBeNull();
    expect(dirtyBits(lin, 2)).toEqual([P_PRES, P_PRES]);
    expect(sim.outstandingLocks()).toEqual([]);
  });

  it('unlocks pages locked by _LinPageLock too: VDMAD only calls _LinPageUnLock', async () => {
    await boot();
    const lin = swappable(sim, 1, [0]);
    expect(sim.vmm.linPageLock(lin >>> 12, 1, 0)).toBe(1);
    expect(sim.vdmad.unlockDMARegionNoDirty(lin, 1)).toBe(0);
    expect(sim.outstandingLocks()).toEqual([]);
  });
});

describe('VDMAD_Unlock_DMA_Region(_No_Dirty): failures change nothing', () => {
  for (const [service, unlock] of [
    ['VDMAD_Unlock_DMA_Region', (l: number, n: number) => sim.vdmad.unlockDMARegion(l, n)],
    ['VDMAD_Unlock_DMA_Region_No_Dirty', (l: number, n: number) => sim.vdmad.unlockDMARegionNoDirty(l, n)],
  ] as const) {
    it(`${service}: a region that is not locked is DMA_Region_Not_Locked — all or nothing`, async () => {
      await boot();
      const lin = swappable(sim, 2, [0, 1]);
      expectUnlockFailure(() => unlock(lin, 8192), DMA_Region_Not_Locked, service, 'not-locked');
      // Page 0 locked, page 1 not: nothing is unlocked, page 0 not dirtied.
      expect(lockRegion(sim, lin, 4096, 0).result).toBe(0);
      expectUnlockFailure(() => unlock(lin, 8192), DMA_Region_Not_Locked, service, 'not-locked');
      expect(sim.vdmad.lastError).toMatchObject({ page: (lin >>> 12) + 1 });
      expect(sim.outstandingLocks()).toHaveLength(1);
      expect(unlock(lin, 4096)).toBe(0);
      // Unlocked once: a second unlock is an error again.
      expectUnlockFailure(() => unlock(lin, 4096), DMA_Region_Not_Locked, service, 'not-locked');
    });

    it(`${service}: arguments that describe no lockable region are DMA_Invalid_Region`, async () => {
      await boot();
      const lin = swappable(sim, 1, [0]);
      expect(lockRegion(sim, lin, 4096, 0).result).toBe(0);
      expectUnlockFailure(() => unlock(lin, 0), DMA_Invalid_Region, service, 'zero-size');
      expectUnlockFailure(() => unlock(0xfffff000, 0x1001), DMA_Invalid_Region, service, 'invalid-range');
      expectUnlockFailure(() => unlock(lin, 8192), DMA_Invalid_Region, service, 'not-committed'); // the page after the block
      expectUnlockFailure(() => unlock(-4096, 16), DMA_Invalid_Region, service, 'invalid-argument');
      expectUnlockFailure(() => unlock(lin, 1.5), DMA_Invalid_Region, service, 'invalid-argument');
      expect(sim.outstandingLocks()).toHaveLength(1);
    });
  }
});
