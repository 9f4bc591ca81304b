/**
 * Memory exhausted step by step, not by one impossible request: fixed pages, locks, the swappable
 * commit charge and the linear address space are each taken until a call fails. The failing call
 * returns its DDK failure value with lastError 'insufficient-memory' and changes nothing; the count
 * that succeeded is what _GetFreePageCount (or the arena) promised; and once everything is given
 * back, both free counts are at their start values again.
 *
 * (Covered elsewhere: a single request larger than RAM, swap or an arena fails with
 * insufficient-memory, test/vmm-bad-input.test.ts; free counts return after freeing every kind of
 * block, test/free-count.test.ts.)
 */

import { describe, expect, it } from 'vitest';
import { PAGEFIXED, PG_SYS, PR_SYSTEM, RESERVE_FAILED, type Simulator } from '../src/index.js';
import { expectFailure, expectUnchanged, freeCounts, simulatorsClosedAfterEach } from './helpers.js';
import { bytes, firstDiff } from './dma-helpers.js';

const pool = simulatorsClosedAfterEach();
const MEMORY = 1 << 20; // 256 frames, 255 of them for drivers (one is the nul page)

/** Calls `take` until it fails; returns the results that succeeded (the failure is the caller's to check). */
function untilFailure(take: () => number, failure: number, limit: number): number[] {
  const got: number[] = [];
  for (;;) {
    const r = take();
    if (r === failure) return got;
    got.push(r);
    if (got.length > limit) throw new Error(`still succeeding after ${limit} calls`);
  }
}

function freeAll(sim: Simulator, blocks: readonly number[]): void {
  for (const b of blocks) expect(sim.vmm.pageFree(b, 0)).toBe(1);
}

describe('memory exhausted one call at a time', () => {
  for (const pager of ['off', 'aggressive'] as const) {
    it(`fixed pages (pager '${pager}'): exactly EDX of them, then insufficient-memory changing nothing; freeing them restores both counts`, async () => {
      const sim = await pool.make({ memory: MEMORY, pager });
      const start = freeCounts(sim);
      const alloc = () => sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED);
      const blocks = untilFailure(alloc, 0, 1000);
      expect(blocks).toHaveLength(start.edx);
      expect(sim.vmm.lastError).toMatchObject({ service: '_PageAllocate', code: 'insufficient-memory' });
      expect(freeCounts(sim)).toEqual({ eax: 0, edx: 0 });
      const edx = Uint32Array.of(7);
      expectUnchanged(sim, () => expectFailure(sim, sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED, edx), 0, '_PageAllocate', 'insufficient-memory'));
      expect(edx[0]).toBe(0);
      // Every one of them is real memory: distinct contents survive side by side.
      blocks.forEach((lin, i) => sim.cpu.write32(lin, i));
      blocks.forEach((lin, i) => expect(sim.cpu.read32(lin)).toBe(i));
      freeAll(sim, blocks);
      expect(freeCounts(sim)).toEqual(start);
      // And they can all be had again.
      const again = untilFailure(alloc, 0, 1000);
      expect(again).toHaveLength(start.edx);
      freeAll(sim, again);
      expect(freeCounts(sim)).toEqual(start);
    });
  }

  it('locks: every frame can be locked once, the next _LinPageLock fails with insufficient-memory changing nothing; unlocked, the contents are all there', async () => {
    const sim = await pool.make({ memory: MEMORY, pager: 'off' });
    const start = freeCounts(sim);
    // More swappable pages than frames: the commit charge allows it (RAM + swap).
    const n = start.edx + 45;
    const lin = sim.vmm.pageAllocate(n, PG_SYS, 0, 0, 0, 0, null, 0);
    expect(sim.vmm.lastError).toBeNull();
    const data = bytes(11, n * 4096);
    sim.cpu.writeBytes(lin, data); // pages some of them out to the backing store already
    const page = lin >>> 12;
    let locked = 0;
    while (sim.vmm.linPageLock(page + locked, 1, 0) === 1) locked++;
    expect(locked).toBe(start.edx);
    expect(sim.vmm.lastError).toMatchObject({ service: '_LinPageLock', code: 'insufficient-memory' });
    expect(freeCounts(sim).edx).toBe(0);
    expectUnchanged(sim, () => expectFailure(sim, sim.vmm.linPageLock(page + locked, 1, 0), 0, '_LinPageLock', 'insufficient-memory'));
    expect(sim.outstandingLocks()).toHaveLength(start.edx);
    for (let i = 0; i < locked; i++) expect(sim.vmm.linPageUnLock(page + i, 1, 0)).toBe(1);
    expect(firstDiff(sim.cpu.readBytes(lin, n * 4096), data)).toBe(-1);
    expect(sim.vmm.pageFree(lin, 0)).toBe(1);
    expect(freeCounts(sim)).toEqual(start);
    expect(sim.leaks()).toEqual([]);
  });

  it('the swappable commit charge (RAM + swapPages): exactly that many pages, then insufficient-memory; all of it holds data through the swap', async () => {
    const swapPages = 40;
    const sim = await pool.make({ memory: MEMORY, pager: 'off', swapPages });
    const start = freeCounts(sim);
    const alloc = () => sim.vmm.pageAllocate(8, PG_SYS, 0, 0, 0, 0, null, 0);
    const blocks = untilFailure(alloc, 0, 1000);
    // The limit counts every frame (the nul page too) plus the swap: 256 + 40 = 296 = 37 blocks of 8.
    expect(blocks).toHaveLength((MEMORY / 4096 + swapPages) / 8);
    expect(sim.vmm.lastError).toMatchObject({ service: '_PageAllocate', code: 'insufficient-memory' });
    expectUnchanged(sim, () => expectFailure(sim, sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0), 0, '_PageAllocate', 'insufficient-memory'));
    // More pages than frames, all written and read back: the overflow lives in the backing store.
    blocks.forEach((lin, i) => sim.cpu.writeBytes(lin, bytes(i + 1, 8 * 4096)));
    expect(sim.pager.stats.pageOuts).toBeGreaterThan(0);
    blocks.forEach((lin, i) => expect(firstDiff(sim.cpu.readBytes(lin, 8 * 4096), bytes(i + 1, 8 * 4096)), `block ${i}`).toBe(-1));
    freeAll(sim, blocks);
    expect(freeCounts(sim)).toEqual(start);
  });

  it('the system arena: reservations of 64 K pages fit three times, the fourth fails with RESERVE_FAILED; what is left can still be had', async () => {
    const sim = await pool.make({ memory: MEMORY });
    const start = freeCounts(sim);
    const reserve = (n: number) => () => sim.vmm.pageReserve(PR_SYSTEM, n, 0);
    const big = untilFailure(reserve(0x10000), RESERVE_FAILED, 10);
    // 0xC0000 … 0xFFBFF is 0x3FC00 pages: three runs of 0x10000 and a rest of 0xFC00.
    expect(big).toEqual([0xc0000000, 0xd0000000, 0xe0000000]);
    expect(sim.vmm.lastError).toMatchObject({ service: '_PageReserve', code: 'insufficient-memory' });
    expectUnchanged(sim, () => expectFailure(sim, sim.vmm.pageReserve(PR_SYSTEM, 0xfc01, 0), RESERVE_FAILED, '_PageReserve', 'insufficient-memory'));
    const rest = sim.vmm.pageReserve(PR_SYSTEM, 0xfc00, 0);
    expect(rest).toBe(0xf0000000);
    // Full: not one page more — and no allocation either, whatever RAM is free.
    expectFailure(sim, sim.vmm.pageReserve(PR_SYSTEM, 1, 0), RESERVE_FAILED, '_PageReserve', 'insufficient-memory');
    expectFailure(sim, sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0), 0, '_PageAllocate', 'insufficient-memory');
    freeAll(sim, [...big, rest]);
    expect(sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0)).toBe(0xc0000000);
    expect(freeCounts(sim)).toEqual(start);
  });
});
