/**
 * VDMAD_Scatter_Lock locking only a prefix (spec §5.5): carry clear, ZF clear — SCATTER_LOCK.PARTIAL
 * — with DDS_size reduced to the bytes locked and DDS_used = DDS_avail when the table ran out; EDX
 * still counts the entries the whole region needs, so the driver can size a table and call again.
 * The walk also stops where a page cannot be locked (_LinPageLock(page, 1, 0) fails there [S]).
 * Scatter_Unlock with the same EDDS unlocks exactly the prefix: it recomputes the pages from
 * DDS_linear and DDS_size.
 *
 * Choice (src/vmm/vdmad.ts): VDMAD locks a page, looks at its frame and unlocks it again when it
 * does not fit a full table; dmasim looks first, so a full table never locks or pages in a page it
 * cannot describe — a page that is not present has no known frame, so it never fits a full table.
 * For EDX, a page that is not present counts as an entry of its own (an upper bound).
 */

import { describe, expect, it } from 'vitest';
import { DMA_SL_Get_PgTable, P_PRES, PAGEFIXED, PG_SYS, SCATTER_LOCK, SYS_VM_HANDLE, type Simulator } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { eddsPage, framesOf, lockCounts, readEdds, regions, scatterLock, swappable, writeEdds } from './vdmad-helpers.js';

const sims = simulatorsClosedAfterEach();
let sim: Simulator;

async function boot(): Promise<Simulator> {
  sim = await sims.make({ memory: 1 << 20, pager: 'off', seed: 13 });
  return sim;
}

describe('VDMAD_Scatter_Lock: a table too short for the region', () => {
  it('region list: locks the regions that fit; DDS_size = their bytes; EDX = the entries the whole region needs', async () => {
    await boot();
    const lin = swappable(sim, 4, [0, 1, 3, 2]); // frames f, f+1, f+3, f+2: runs pages 0–1, page 2, page 3
    const [f0, f1, f2, f3] = framesOf(sim, lin, 4) as [number, number, number, number];
    expect([f1 - f0, f3 - f1, f2 - f3]).toEqual([4096, 4096, 4096]);
    const edds = eddsPage(sim);
    writeEdds(sim, edds, { size: 4 * 4096 - 0x20, linear: lin + 0x20, avail: 2 });
    expect(scatterLock(sim, SYS_VM_HANDLE, 0, edds)).toEqual({ result: SCATTER_LOCK.PARTIAL, edx: 3, esi: 0x20 });
    expect(sim.vdmad.lastError).toBeNull();
    const e = readEdds(sim, edds, 4);
    expect({ size: e.size, used: e.used }).toEqual({ size: 3 * 4096 - 0x20, used: 2 });
    expect(regions(e.table, 2)).toEqual([
      { phys: f0 + 0x20, length: 2 * 4096 - 0x20 },
      { phys: f2, length: 4096 },
    ]);
    expect([...lockCounts(sim).keys()].sort()).toEqual([f0, f1, f2].map((f) => f >>> 12).sort());
    // Scatter_Unlock recomputes the pages from DDS_size: the three locked ones, not page 3.
    expect(sim.vdmad.scatterUnlock(SYS_VM_HANDLE, 0, edds)).toBe(0);
    expect(sim.outstandingLocks()).toEqual([]);
  });

  it('region list: a page contiguous with the last region still fits a full table', async () => {
    await boot();
    const lin = swappable(sim, 3, [0, 1, 2]);
    const edds = eddsPage(sim);
    writeEdds(sim, edds, { size: 3 * 4096, linear: lin, avail: 1 });
    expect(scatterLock(sim, SYS_VM_HANDLE, 0, edds).result).toBe(SCATTER_LOCK.ALL);
  });

  it('region list: a full table stops before a page that is not present, without paging it in', async () => {
    await boot();
    const lin = swappable(sim, 2, [0]);
    const edds = eddsPage(sim);
    writeEdds(sim, edds, { size: 8192, linear: lin, avail: 1 });
    expect(scatterLock(sim, SYS_VM_HANDLE, 0, edds)).toEqual({ result: SCATTER_LOCK.PARTIAL, edx: 2, esi: 0 });
    expect(framesOf(sim, lin, 2)[1]).toBeNull();
    expect(readEdds(sim, edds, 2)).toMatchObject({ size: 4096, used: 1 });
  });

  it('PTE list: locks DDS_avail pages', async () => {
    await boot();
    const lin = swappable(sim, 5, [0, 1, 2, 3, 4]);
    const frames = framesOf(sim, lin, 5) as number[];
    const edds = eddsPage(sim);
    writeEdds(sim, edds, { size: 5 * 4096 - 0x800, linear: lin + 0x800, avail: 3 });
    expect(scatterLock(sim, SYS_VM_HANDLE, DMA_SL_Get_PgTable, edds)).toEqual({ result: SCATTER_LOCK.PARTIAL, edx: 5, esi: 0x800 });
    const e = readEdds(sim, edds, 3);
    expect({ size: e.size, used: e.used }).toEqual({ size: 3 * 4096 - 0x800, used: 3 });
    expect(e.table).toEqual(frames.slice(0, 3).map((f) => (f | P_PRES) >>> 0));
    expect(lockCounts(sim).size).toBe(3);
    expect(sim.vdmad.scatterUnlock(SYS_VM_HANDLE, DMA_SL_Get_PgTable, edds)).toBe(0);
    expect(sim.outstandingLocks()).toEqual([]);
  });

  it('DDS_avail = 0: nothing fits, nothing locked (NONE) — but EDX says how many entries are needed', async () => {
    await boot();
    const lin = swappable(sim, 3, [0, 2]);
    const edds = eddsPage(sim);
    writeEdds(sim, edds, { size: 3 * 4096, linear: lin + 0x10, avail: 0 });
    const before = sim.fingerprint();
    // Page 1 is not present: a region of its own in the count, and page 2 after it another.
    expect(scatterLock(sim, SYS_VM_HANDLE, 0, edds)).toEqual({ result: SCATTER_LOCK.NONE, edx: 3, esi: 0x10 });
    expect(sim.vdmad.lastError).toMatchObject({ service: 'VDMAD_Scatter_Lock', code: 'table-too-small', needed: 3 });
    expect(sim.fingerprint()).toBe(before);
    expect(scatterLock(sim, SYS_VM_HANDLE, DMA_SL_Get_PgTable, edds)).toEqual({ result: SCATTER_LOCK.NONE, edx: 4, esi: 0x10 });
  });
});

describe('VDMAD_Scatter_Lock: a page that cannot be locked ends the lock', () => {
  it('an uncommitted page after the first: the prefix before it is locked (PARTIAL)', async () => {
    await boot();
    const lin = swappable(sim, 3, [0, 1, 2]);
    expect(sim.vmm.pageDecommit((lin >>> 12) + 1, 1, 0)).toBe(1);
    const edds = eddsPage(sim);
    writeEdds(sim, edds, { size: 3 * 4096, linear: lin, avail: 3 });
    expect(scatterLock(sim, SYS_VM_HANDLE, 0, edds)).toMatchObject({ result: SCATTER_LOCK.PARTIAL });
    expect(readEdds(sim, edds, 2)).toMatchObject({ size: 4096, used: 1 });
    expect(sim.outstandingLocks()).toHaveLength(1);
  });

  it('no frame left for the next page: the prefix locked so far (PARTIAL)', async () => {
    await boot();
    const lin = swappable(sim, 3, [0]);
    const edds = eddsPage(sim);
    writeEdds(sim, edds, { size: 3 * 4096, linear: lin, avail: 3 });
    // Every other frame fixed: page 0 is the only one that can be locked.
    const free = sim.vmm.getFreePageCount(0);
    expect(sim.vmm.pageAllocate(free, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED)).not.toBe(0);
    expect(scatterLock(sim, SYS_VM_HANDLE, DMA_SL_Get_PgTable, edds)).toMatchObject({ result: SCATTER_LOCK.PARTIAL, edx: 3 });
    expect(readEdds(sim, edds, 3)).toMatchObject({ size: 4096, used: 1 });
  });
});
