/**
 * VDMAD_Scatter_Lock (spec §5.2, §5.5) with a table big enough: every page locked, the EDDS filled
 * in simulated memory — DDS_size = the bytes locked, DDS_used = the entries filled, the table — and
 * SCATTER_LOCK.ALL returned (carry clear, ZF set); EDX = the entries the whole region needs, ESI =
 * its offset in the first page.
 *
 * Region list (flags 0): 8-byte entries {physical address, length}, physically contiguous pages
 * merged into one entry, the first address including the in-page offset. PTE list
 * (DMA_SL_Get_PgTable): one DWORD per page, frame | P_PRES. Not-present pages are paged in and
 * locked — unless DMA_SL_Allow_NPs, which leaves them as 0 holes, neither locked nor paged in.
 */

import { describe, expect, it } from 'vitest';
import { DMA_SL_Allow_NPs, DMA_SL_Get_PgTable, P_PRES, SCATTER_LOCK, SYS_VM_HANDLE, type Simulator } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { eddsPage, framesOf, lockCounts, readEdds, regions, scatterLock, swappable, writeEdds } from './vdmad-helpers.js';

const sims = simulatorsClosedAfterEach();
let sim: Simulator;

async function boot(): Promise<Simulator> {
  sim = await sims.make({ memory: 1 << 20, pager: 'off', seed: 9 });
  return sim;
}

const SENTINEL = 0xdeadbeef;

describe('VDMAD_Scatter_Lock: region list (flags 0)', () => {
  it('merges physically contiguous pages into one region; the first address includes the offset', async () => {
    await boot();
    // Pages 0, 1 contiguous; page 3 right after them; page 2 paged in by the lock, after page 3.
    const lin = swappable(sim, 4, [0, 1, 3]);
    const edds = eddsPage(sim);
    const size = 4 * 4096 - 0x100 - 0x10;
    writeEdds(sim, edds, { size, linear: lin + 0x100, avail: 5 }, new Array(10).fill(SENTINEL));
    const r = scatterLock(sim, SYS_VM_HANDLE, 0, edds);
    expect(r).toEqual({ result: SCATTER_LOCK.ALL, edx: 3, esi: 0x100 });
    expect(sim.vdmad.lastError).toBeNull();
    const [f0, f1, f2, f3] = framesOf(sim, lin, 4) as [number, number, number, number];
    expect([f1 - f0, f3 - f1]).toEqual([4096, 4096]);
    const e = readEdds(sim, edds, 10);
    expect({ size: e.size, used: e.used, linear: e.linear, avail: e.avail }).toEqual({ size, used: 3, linear: lin + 0x100, avail: 5 });
    expect(regions(e.table, 3)).toEqual([
      { phys: f0 + 0x100, length: 2 * 4096 - 0x100 },
      { phys: f2, length: 4096 },
      { phys: f3, length: 4096 - 0x10 },
    ]);
    // Entries past DDS_used are left alone.
    expect(e.table.slice(6)).toEqual([SENTINEL, SENTINEL, SENTINEL, SENTINEL]);
    expect(lockCounts(sim)).toEqual(new Map([f0, f1, f2, f3].map((f) => [f >>> 12, 1])));
  });

  it('a contiguous region is one entry', async () => {
    await boot();
    const lin = swappable(sim, 3, [0, 1, 2]);
    const edds = eddsPage(sim);
    writeEdds(sim, edds, { size: 3 * 4096, linear: lin, avail: 1 });
    expect(scatterLock(sim, SYS_VM_HANDLE, 0, edds)).toEqual({ result: SCATTER_LOCK.ALL, edx: 1, esi: 0 });
    const e = readEdds(sim, edds, 2);
    expect(regions(e.table, e.used)).toEqual([{ phys: framesOf(sim, lin, 1)[0]!, length: 3 * 4096 }]);
  });
});

describe('VDMAD_Scatter_Lock: PTE list (DMA_SL_Get_PgTable)', () => {
  it('one DWORD per page, frame | P_PRES; ESI = the offset; not-present pages are paged in and locked', async () => {
    await boot();
    const lin = swappable(sim, 3, [2, 0]);
    const edds = eddsPage(sim);
    writeEdds(sim, edds, { size: 3 * 4096 - 0x234, linear: lin + 0x234, avail: 3 });
    expect(scatterLock(sim, SYS_VM_HANDLE, DMA_SL_Get_PgTable, edds)).toEqual({ result: SCATTER_LOCK.ALL, edx: 3, esi: 0x234 });
    const frames = framesOf(sim, lin, 3) as number[];
    expect(frames).not.toContain(null);
    const e = readEdds(sim, edds, 3);
    expect({ size: e.size, used: e.used }).toEqual({ size: 3 * 4096 - 0x234, used: 3 });
    expect(e.table).toEqual(frames.map((f) => (f | P_PRES) >>> 0));
    expect([...lockCounts(sim).values()]).toEqual([1, 1, 1]);
  });

  it('DMA_SL_Allow_NPs: not-present pages are 0 holes, neither locked nor paged in', async () => {
    await boot();
    const lin = swappable(sim, 4, [1, 3]);
    const edds = eddsPage(sim);
    writeEdds(sim, edds, { size: 4 * 4096, linear: lin, avail: 4 }, [SENTINEL, SENTINEL, SENTINEL, SENTINEL]);
    expect(scatterLock(sim, SYS_VM_HANDLE, DMA_SL_Get_PgTable | DMA_SL_Allow_NPs, edds)).toEqual({ result: SCATTER_LOCK.ALL, edx: 4, esi: 0 });
    const [f0, f1, f2, f3] = framesOf(sim, lin, 4);
    expect([f0, f2]).toEqual([null, null]);
    const e = readEdds(sim, edds, 4);
    // The table describes the holes too: DDS_size is the whole region.
    expect({ size: e.size, used: e.used }).toEqual({ size: 4 * 4096, used: 4 });
    expect(e.table).toEqual([0, (f1! | P_PRES) >>> 0, 0, (f3! | P_PRES) >>> 0]);
    expect(lockCounts(sim)).toEqual(new Map([[f1! >>> 12, 1], [f3! >>> 12, 1]]));
  });

  it('a region of holes only is described whole, and nothing is locked', async () => {
    await boot();
    const lin = swappable(sim, 2, []);
    const edds = eddsPage(sim);
    writeEdds(sim, edds, { size: 8192, linear: lin, avail: 2 });
    expect(scatterLock(sim, SYS_VM_HANDLE, DMA_SL_Get_PgTable | DMA_SL_Allow_NPs, edds).result).toBe(SCATTER_LOCK.ALL);
    expect(readEdds(sim, edds, 2)).toMatchObject({ size: 8192, used: 2, table: [0, 0] });
    expect(sim.outstandingLocks()).toEqual([]);
  });
});

describe('VDMAD_Scatter_Lock: the EDDS itself', () => {
  it('may be swappable and paged out: a failure reads it without paging it in, a success writes it back', async () => {
    await boot();
    const lin = swappable(sim, 1, [0]);
    const edds = swappable(sim, 1, []);
    writeEdds(sim, edds, { size: 4096, linear: lin, avail: 1, seg: 8 });
    for (let i = 0; i < 16 && framesOf(sim, edds, 1)[0] !== null; i++) sim.pager.pass();
    expect(framesOf(sim, edds, 1)).toEqual([null]);
    expect(framesOf(sim, lin, 1)[0]).toBeNull();
    // A bad selector: refused from the saved copy, nothing paged in.
    const before = sim.fingerprint();
    expect(scatterLock(sim, SYS_VM_HANDLE, 0, edds).result).toBe(SCATTER_LOCK.NONE);
    expect(sim.vdmad.lastError).toMatchObject({ code: 'invalid-selector', seg: 8 });
    expect(sim.fingerprint()).toBe(before);
    // Fixed up by the driver (which pages it in), paged out again, then locked.
    writeEdds(sim, edds, { size: 4096, linear: lin, avail: 1 });
    for (let i = 0; i < 16 && framesOf(sim, edds, 1)[0] !== null; i++) sim.pager.pass();
    expect(scatterLock(sim, SYS_VM_HANDLE, 0, edds).result).toBe(SCATTER_LOCK.ALL);
    const e = readEdds(sim, edds, 2);
    expect(regions(e.table, e.used)).toEqual([{ phys: framesOf(sim, lin, 1)[0]!, length: 4096 }]);
  });
});
