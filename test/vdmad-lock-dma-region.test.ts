/**
 * VDMAD_Lock_DMA_Region succeeding (spec §5.5): carry clear (0), EDX = the physical address of the
 * first byte, every page's lock count raised by one. A contiguous fixed buffer always qualifies; a
 * swappable one does when its pages are present and happen to sit in consecutive frames — VDMAD
 * checks the page tables as they are (the 3.1 VDMAD copies the PTEs first), and locking pages that
 * are present does not move them. A one-page region is contiguous by itself and is paged in if it
 * must be.
 */

import { describe, expect, it } from 'vitest';
import { DMA_Lock_Failed, type Simulator } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { contiguous } from './dma-helpers.js';
import { framesOf, lockCounts, lockRegion, swappable } from './vdmad-helpers.js';

const sims = simulatorsClosedAfterEach();
let sim: Simulator;

async function boot(): Promise<Simulator> {
  sim = await sims.make({ memory: 1 << 20, pager: 'off', seed: 7 });
  return sim;
}

describe('VDMAD_Lock_DMA_Region: success', () => {
  it('a contiguous fixed buffer (PAGEUSEALIGN | PAGECONTIG | PAGEFIXED): 0, EDX = its physical address plus the offset', async () => {
    await boot();
    const buf = contiguous(sim, 4, 0x40, 0x80, false);
    const base = framesOf(sim, buf.lin, 1)[0]!;
    expect(lockRegion(sim, buf.lin + 0x123, 4 * 4096 - 0x123, 0)).toEqual({ result: 0, edx: base + 0x123, ecx: 4 * 4096 - 0x123 });
    expect(sim.vdmad.lastError).toBeNull();
    // Fixed pages are permanently locked: the lock changes no count (as _LinPageLock on them).
    expect(sim.outstandingLocks()).toEqual([]);
    expect(sim.vdmad.unlockDMARegion(buf.lin + 0x123, 4 * 4096 - 0x123)).toBe(0);
  });

  it('a swappable buffer whose present pages happen to be contiguous: 0, and each page locked once', async () => {
    await boot();
    const lin = swappable(sim, 3, [0, 1, 2]);
    const frames = framesOf(sim, lin, 3) as number[];
    expect(frames[1]).toBe(frames[0]! + 4096);
    expect(frames[2]).toBe(frames[0]! + 8192);
    expect(lockRegion(sim, lin + 0x10, 3 * 4096 - 0x10, 0)).toEqual({ result: 0, edx: frames[0]! + 0x10, ecx: 3 * 4096 - 0x10 });
    expect(lockCounts(sim)).toEqual(new Map(frames.map((f) => [f >>> 12, 1])));
    // Locked: a pager pass moves none of them.
    sim.pager.pass();
    expect(framesOf(sim, lin, 3)).toEqual(frames);
  });

  it('raises the count by one per call: two locks need two unlocks', async () => {
    await boot();
    const lin = swappable(sim, 2, [0, 1]);
    expect(lockRegion(sim, lin, 8192, 1).result).toBe(0);
    expect(lockRegion(sim, lin, 8192, 2).result).toBe(0);
    expect([...lockCounts(sim).values()]).toEqual([2, 2]);
    expect(sim.vdmad.unlockDMARegion(lin, 8192)).toBe(0);
    expect([...lockCounts(sim).values()]).toEqual([1, 1]);
    expect(sim.vdmad.unlockDMARegionNoDirty(lin, 8192)).toBe(0);
    expect(sim.outstandingLocks()).toEqual([]);
  });

  it('a one-page region that is not present is paged in and locked: one page is contiguous by itself', async () => {
    await boot();
    const lin = swappable(sim, 1, []);
    expect(framesOf(sim, lin, 1)).toEqual([null]);
    const r = lockRegion(sim, lin + 0x800, 0x800, 1);
    expect(r.result).toBe(0);
    const [frame] = framesOf(sim, lin, 1);
    expect(frame).not.toBeNull();
    expect(r.edx).toBe(frame! + 0x800);
    expect(lockCounts(sim).get(frame! >>> 12)).toBe(1);
  });

  it('the region may start and end anywhere in its pages: the pages spanned are locked, no more', async () => {
    await boot();
    const lin = swappable(sim, 4, [0, 1, 2, 3]);
    const frames = framesOf(sim, lin, 4) as number[];
    // 2 bytes straddling the boundary between pages 1 and 2.
    expect(lockRegion(sim, lin + 2 * 4096 - 1, 2, 0)).toMatchObject({ result: 0, edx: frames[1]! + 4095 });
    expect([...lockCounts(sim).keys()].sort()).toEqual([frames[1]! >>> 12, frames[2]! >>> 12]);
  });

  it('out is optional: without it the lock happens all the same', async () => {
    await boot();
    const lin = swappable(sim, 1, [0]);
    expect(sim.vdmad.lockDMARegion(lin, 100, 0)).toBe(0);
    expect(sim.outstandingLocks()).toHaveLength(1);
    expect(sim.vdmad.lastError).toBeNull();
  });

  it('each driver context has its own VDMAD facade and lastError', async () => {
    await boot();
    const other = sim.createDriver('other');
    expect(other.vdmad).not.toBe(sim.vdmad);
    expect(other.vdmad.lockDMARegion(0, 0, 0)).toBe(DMA_Lock_Failed);
    expect(other.vdmad.lastError).toMatchObject({ service: 'VDMAD_Lock_DMA_Region', code: 'zero-size' });
    expect(sim.vdmad.lastError).toBeNull();
    const lin = swappable(other, 1, [0]);
    expect(other.vdmad.lockDMARegion(lin, 4096, 0)).toBe(0);
    expect(sim.outstandingLocks()[0]).toMatchObject({ driver: 'other', lockCount: 1 });
  });
});
