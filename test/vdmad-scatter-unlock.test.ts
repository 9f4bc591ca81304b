/**
 * VDMAD_Scatter_Unlock (spec §5.5): with the EDDS Scatter_Lock filled, it unlocks the pages of
 * DDS_linear / DDS_size, marking them dirty first unless DMA_SL_Dont_Dirty. Only with
 * DMA_SL_Get_PgTable | DMA_SL_Allow_NPs does it read the table, to skip the holes (0 entries, never
 * locked); otherwise it recomputes the pages and the table may have been discarded. Carry set when
 * the memory was not locked — dmasim returns DMA_Region_Not_Locked (8) then, DMA_Invalid_Region (7)
 * for an EDDS or VM handle that describes nothing, DMA_NonZero_Reserved_Flags (0x10) for flags it
 * does not know — and nothing changes.
 */

import { describe, expect, it } from 'vitest';
import {
  DMA_Invalid_Region,
  DMA_NonZero_Reserved_Flags,
  DMA_Region_Not_Locked,
  DMA_SL_Allow_NPs,
  DMA_SL_Dont_Dirty,
  DMA_SL_Get_PgTable,
  P_DIRTY,
  P_PRES,
  SCATTER_LOCK,
  SYS_VM_HANDLE,
  type Simulator,
  type VdmadErrorCode,
} from '../src/index.js';
import { expectUnchanged, ptes, simulatorsClosedAfterEach } from './helpers.js';
import { eddsPage, framesOf, scatterLock, swappable, writeEdds } from './vdmad-helpers.js';

const sims = simulatorsClosedAfterEach();
let sim: Simulator;

async function boot(): Promise<Simulator> {
  sim = await sims.make({ memory: 1 << 20, pager: 'off', seed: 19 });
  return sim;
}

const PTES_WITH_HOLES = DMA_SL_Get_PgTable | DMA_SL_Allow_NPs;
const bits = (lin: number, n: number): number[] => ptes(sim, lin >>> 12, n).map((e) => e & (P_PRES | P_DIRTY));

/** A swappable block, its pages read (present, clean) in the order given, scatter-locked into a fresh EDDS. */
function locked(npages: number, touch: readonly number[], flags: number): { lin: number; edds: number } {
  const lin = swappable(sim, npages, touch);
  const edds = eddsPage(sim);
  writeEdds(sim, edds, { size: npages * 4096, linear: lin, avail: npages });
  expect(scatterLock(sim, SYS_VM_HANDLE, flags, edds).result).toBe(SCATTER_LOCK.ALL);
  return { lin, edds };
}

function expectUnlockFailure(flags: number, edds: number, result: number, code: VdmadErrorCode, vm = SYS_VM_HANDLE): void {
  expectUnchanged(sim, () => {
    expect(sim.vdmad.scatterUnlock(vm, flags, edds)).toBe(result);
  });
  expect(sim.vdmad.lastError).toMatchObject({ service: 'VDMAD_Scatter_Unlock', code });
}

describe('VDMAD_Scatter_Unlock: dirty (or not), then unlock', () => {
  it('region list: dirties and unlocks every page', async () => {
    await boot();
    const { lin, edds } = locked(3, [0, 2, 1], 0);
    expect(bits(lin, 3)).toEqual([P_PRES, P_PRES, P_PRES]);
    expect(sim.vdmad.scatterUnlock(SYS_VM_HANDLE, 0, edds)).toBe(0);
    expect(sim.vdmad.lastError).toBeNull();
    expect(bits(lin, 3)).toEqual([P_PRES | P_DIRTY, P_PRES | P_DIRTY, P_PRES | P_DIRTY]);
    expect(sim.outstandingLocks()).toEqual([]);
  });

  it('DMA_SL_Dont_Dirty: unlocks and leaves the pages clean', async () => {
    await boot();
    const { lin, edds } = locked(2, [0, 1], DMA_SL_Get_PgTable);
    expect(sim.vdmad.scatterUnlock(SYS_VM_HANDLE, DMA_SL_Get_PgTable | DMA_SL_Dont_Dirty, edds)).toBe(0);
    expect(bits(lin, 2)).toEqual([P_PRES, P_PRES]);
    expect(sim.outstandingLocks()).toEqual([]);
  });

  it('PTE list with holes: the holes are skipped — neither unlocked nor dirtied', async () => {
    await boot();
    const { lin, edds } = locked(3, [0, 2], PTES_WITH_HOLES);
    // Someone else locks the hole page meanwhile: Scatter_Unlock must not take that lock away.
    expect(sim.vmm.linPageLock((lin >>> 12) + 1, 1, 0)).toBe(1);
    expect(sim.vdmad.scatterUnlock(SYS_VM_HANDLE, PTES_WITH_HOLES, edds)).toBe(0);
    expect(sim.outstandingLocks().map((l) => l.linearPage)).toEqual([(lin >>> 12) + 1]);
    expect(bits(lin, 3)).toEqual([P_PRES | P_DIRTY, P_PRES, P_PRES | P_DIRTY]);
  });

  it('without DMA_SL_Allow_NPs the table is not read: the pages are recomputed from DDS_linear / DDS_size', async () => {
    await boot();
    const { lin, edds } = locked(2, [0, 1], DMA_SL_Get_PgTable);
    writeEdds(sim, edds, { size: 8192, linear: lin, avail: 2 }, [0, 0]); // the table discarded
    expect(sim.vdmad.scatterUnlock(SYS_VM_HANDLE, DMA_SL_Get_PgTable, edds)).toBe(0);
    expect(sim.outstandingLocks()).toEqual([]);
  });
});

describe('VDMAD_Scatter_Unlock: failures change nothing', () => {
  it('memory that is not locked: DMA_Region_Not_Locked, nothing unlocked or dirtied (all or nothing)', async () => {
    await boot();
    const { lin, edds } = locked(2, [0, 1], 0);
    expect(sim.vdmad.scatterUnlock(SYS_VM_HANDLE, DMA_SL_Dont_Dirty, edds)).toBe(0);
    expectUnlockFailure(0, edds, DMA_Region_Not_Locked, 'not-locked');
    // Lock page 0 only: page 1 still is not locked, so nothing happens to page 0 either.
    expect(sim.vmm.linPageLock(lin >>> 12, 1, 0)).toBe(1);
    expectUnlockFailure(0, edds, DMA_Region_Not_Locked, 'not-locked');
    expect(sim.vdmad.lastError).toMatchObject({ page: (lin >>> 12) + 1 });
    expect(bits(lin, 2)).toEqual([P_PRES, P_PRES]);
  });

  it('a hole entry is skipped, a present entry whose page is not locked is an error', async () => {
    await boot();
    const { lin, edds } = locked(2, [0], PTES_WITH_HOLES);
    const [f0] = framesOf(sim, lin, 1) as [number];
    // The driver's table claims page 1 was locked too.
    writeEdds(sim, edds, { size: 8192, linear: lin, avail: 2 }, [(f0 | P_PRES) >>> 0, 0x1001]);
    expectUnlockFailure(PTES_WITH_HOLES, edds, DMA_Region_Not_Locked, 'not-locked');
  });

  it('a VM handle, flags or EDDS that describe nothing', async () => {
    await boot();
    const { edds } = locked(1, [0], 0);
    expectUnlockFailure(0, edds, DMA_Invalid_Region, 'invalid-vm', 0);
    expectUnlockFailure(0x08, edds, DMA_NonZero_Reserved_Flags, 'reserved-flags');
    expectUnlockFailure(DMA_SL_Allow_NPs, edds, DMA_NonZero_Reserved_Flags, 'invalid-flags');
    expectUnlockFailure(0, 0xd0000000, DMA_Invalid_Region, 'invalid-edds');
    writeEdds(sim, edds, { size: 0, linear: 0xc0000000, avail: 1 });
    expectUnlockFailure(0, edds, DMA_Invalid_Region, 'zero-size');
    writeEdds(sim, edds, { size: 4096, linear: 0xd0000000, avail: 1 });
    expectUnlockFailure(0, edds, DMA_Invalid_Region, 'not-committed');
    writeEdds(sim, edds, { size: 4096, linear: 0xc0000000, avail: 1, seg: 3 });
    expectUnlockFailure(0, edds, DMA_Invalid_Region, 'invalid-selector');
  });

  it('with holes allowed, a table shorter than the region', async () => {
    await boot();
    const { lin, edds } = locked(2, [0, 1], PTES_WITH_HOLES);
    writeEdds(sim, edds, { size: 8192, linear: lin, avail: 1 });
    expectUnlockFailure(PTES_WITH_HOLES, edds, DMA_Invalid_Region, 'table-too-small');
  });
});
