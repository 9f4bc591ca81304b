/**
 * _GetFreePageCount (spec §4.18): EAX = pages on the free list, EDX = pages that could be allocated
 * locked. Every kind of block gives its frames back when freed, so after allocating many kinds and
 * freeing everything the counts are where they started. Frames in the aggressive pager's quarantine
 * are unowned, so they count as free (and can really be allocated).
 */

import { describe, expect, it } from 'vitest';
import {
  P_PRES,
  PAGECONTIG,
  PAGEFIXED,
  PAGELOCKED,
  PAGEMAPGLOBAL,
  PAGEUSEALIGN,
  PAGEZEROINIT,
  PC_FIXED,
  PC_LOCKED,
  PC_STATIC,
  PC_USER,
  PC_WRITEABLE,
  PD_FIXED,
  PD_ZEROINIT,
  PG_SYS,
  PG_VM,
  PR_PRIVATE,
  PR_STATIC,
  PR_SYSTEM,
  type Simulator,
} from '../src/index.js';
import { freeCounts, ptes, simulatorsClosedAfterEach } from './helpers.js';

const sims = simulatorsClosedAfterEach();

function ok(s: Simulator, r: number, failure = 0): number {
  expect(s.vmm.lastError).toBeNull();
  expect(r).not.toBe(failure);
  return r;
}

describe('free page count', () => {
  it('starts at every frame but the nul page', async () => {
    const sim = await sims.make({ memory: 4 << 20, pager: 'off' });
    expect(freeCounts(sim)).toEqual({ eax: 1023, edx: 1023 });
  });

  it('EAX drops as swappable pages come in; EDX does not (they can still be taken for a lock)', async () => {
    const sim = await sims.make({ pager: 'off' });
    const c0 = freeCounts(sim);
    const lin = ok(sim, sim.vmm.pageAllocate(10, PG_SYS, 0, 0, 0, 0, null, 0));
    expect(freeCounts(sim)).toEqual(c0); // not present until touched
    for (let i = 0; i < 10; i++) sim.cpu.write8(lin + i * 4096, i);
    expect(freeCounts(sim)).toEqual({ eax: c0.eax - 10, edx: c0.edx });
    expect(sim.vmm.linPageLock(lin >>> 12, 4, 0)).toBe(1);
    expect(freeCounts(sim)).toEqual({ eax: c0.eax - 10, edx: c0.edx - 4 });
    const fixed = ok(sim, sim.vmm.pageAllocate(3, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED));
    expect(freeCounts(sim)).toEqual({ eax: c0.eax - 13, edx: c0.edx - 7 });
    expect(sim.vmm.pageFree(fixed, 0)).toBe(1);
    expect(sim.vmm.pageFree(lin, 0)).toBe(1);
    expect(freeCounts(sim)).toEqual(c0);
  });

  for (const pager of ['off', 'random', 'aggressive'] as const) {
    it(`returns to its start value after allocating and freeing every kind of block (pager ${pager})`, async () => {
      const s = await sims.make({ pager, seed: 77 });
      const start = freeCounts(s);
      const blocks: { hMem: number; flags: number }[] = [];
      const add = (hMem: number, flags = 0) => blocks.push({ hMem, flags });

      // Fixed.
      add(ok(s, s.vmm.pageAllocate(5, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED | PAGEZEROINIT)));
      // Swappable, touched (some will be paged out to backing copies).
      const swap = ok(s, s.vmm.pageAllocate(12, PG_SYS, 0, 0, 0, 0, null, PAGEZEROINIT));
      add(swap);
      s.cpu.writeBytes(swap, new Uint8Array(12 * 4096).fill(0x11));
      // Swappable in the shared arena (PG_VM).
      const vm = s.vmm.getSysVMHandle();
      const shared = ok(s, s.vmm.pageAllocate(4, PG_VM, vm, 0, 0, 0, null, 0));
      add(shared);
      s.cpu.write32(shared + 3 * 4096, 1);
      // Locked at allocation, and locked again.
      const locked = ok(s, s.vmm.pageAllocate(3, PG_SYS, 0, 0, 0, 0, null, PAGELOCKED));
      add(locked);
      expect(s.vmm.pageLock(locked, 3, 0, 0)).toBe(1);
      // Aligned contiguous.
      const phys = new Uint32Array(1);
      add(ok(s, s.vmm.pageAllocate(16, PG_SYS, 0, 0x0f, 0, 0x1000, phys, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED)));
      // Reserve + commit contig.
      const rc = ok(s, s.vmm.pageReserve(PR_SYSTEM, 10, 0), 0xffffffff);
      add(rc);
      ok(s, s.vmm.pageCommitContig(rc >>> 12, 8, PC_WRITEABLE, 0x07, 0, 0xffffffff), 0xffffffff);
      // Reserve + PC_FIXED commit, + PC_LOCKED commit, + swappable commit, in one sparse block.
      const rs = ok(s, s.vmm.pageReserve(PR_SYSTEM, 20, 0), 0xffffffff);
      add(rs);
      expect(s.vmm.pageCommit(rs >>> 12, 4, PD_FIXED, 0, PC_FIXED | PC_WRITEABLE)).toBe(1);
      expect(s.vmm.pageCommit((rs >>> 12) + 6, 3, PD_ZEROINIT, 0, PC_LOCKED | PC_WRITEABLE)).toBe(1);
      expect(s.vmm.pageCommit((rs >>> 12) + 10, 5, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1);
      s.cpu.writeBytes(rs + 10 * 4096, new Uint8Array(5 * 4096).fill(0x22));
      // A static block.
      const st = ok(s, s.vmm.pageReserve(PR_SYSTEM, 3, PR_STATIC), 0xffffffff);
      add(st, PR_STATIC);
      expect(s.vmm.pageCommit(st >>> 12, 3, PD_ZEROINIT, 0, PC_WRITEABLE | PC_STATIC)).toBe(1);
      s.cpu.write8(st, 1);
      // Private memory with two global aliases.
      const priv = ok(s, s.vmm.pageReserve(PR_PRIVATE, 4, 0), 0xffffffff);
      add(priv);
      expect(s.vmm.pageCommit(priv >>> 12, 4, PD_ZEROINIT, 0, PC_USER | PC_WRITEABLE)).toBe(1);
      const a1 = ok(s, s.vmm.linPageLock(priv >>> 12, 4, PAGEMAPGLOBAL));
      const a2 = ok(s, s.vmm.linPageLock((priv >>> 12) + 1, 2, PAGEMAPGLOBAL));
      s.cpu.write32(a1 + 4, 5);
      // A block grown (and maybe moved) by _PageReAllocate, and a decommit in the middle of one.
      const grow = ok(s, s.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, PAGEZEROINIT));
      s.cpu.write8(grow, 9);
      const grown = ok(s, s.vmm.pageReAllocate(grow, 7, PAGEZEROINIT));
      add(grown);
      s.cpu.write8(grown + 6 * 4096, 9);
      expect(s.vmm.pageDecommit((rs >>> 12) + 11, 2, 0)).toBe(1);

      for (let i = 0; i < 20; i++) s.pager.pass();
      const mid = freeCounts(s);
      expect(mid.eax).toBeLessThan(start.eax);

      // Tear everything down.
      expect(s.vmm.linPageUnLock(a2 >>> 12, 2, PAGEMAPGLOBAL)).toBe(1);
      expect(s.vmm.linPageUnLock(a1 >>> 12, 4, PAGEMAPGLOBAL)).toBe(1);
      expect(s.vmm.pageUnLock(locked, 3, 0, 0)).toBe(1);
      expect(s.vmm.linPageUnLock(locked >>> 12, 3, 0)).toBe(1);
      expect(s.vmm.linPageUnLock((rs >>> 12) + 6, 3, 0)).toBe(1);
      for (const b of blocks) expect(s.vmm.pageFree(b.hMem, b.flags), (b.hMem >>> 0).toString(16)).toBe(1);
      expect(freeCounts(s)).toEqual(start);
    });
  }

  it('freeing memory that is still locked (and aliased) gives every frame back too', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 78 });
    const start = freeCounts(sim);
    const lin = ok(sim, sim.vmm.pageAllocate(6, PG_SYS, 0, 0, 0, 0, null, 0));
    expect(sim.vmm.linPageLock(lin >>> 12, 6, 0)).toBe(1);
    expect(sim.vmm.linPageLock(lin >>> 12, 6, 0)).toBe(1);
    const alias = ok(sim, sim.vmm.linPageLock(lin >>> 12, 6, PAGEMAPGLOBAL));
    expect(sim.vmm.pageFree(lin, 0)).toBe(1);
    expect(freeCounts(sim)).toEqual(start);
    // The leaked alias maps nothing the allocator owns; tearing it down changes no count.
    expect(sim.vmm.linPageUnLock(alias >>> 12, 6, PAGEMAPGLOBAL)).toBe(1);
    expect(freeCounts(sim)).toEqual(start);
  });

  it('quarantined frames count as free and can really be allocated', async () => {
    const sim = await sims.make({ memory: 2 << 20, pager: 'aggressive', seed: 79 });
    const start = freeCounts(sim);
    // Churn: every unlock and pager pass sends frames through the quarantine.
    const lin = ok(sim, sim.vmm.pageAllocate(64, PG_SYS, 0, 0, 0, 0, null, 0));
    for (let r = 0; r < 5; r++) {
      sim.cpu.writeBytes(lin, new Uint8Array(64 * 4096).fill(r));
      expect(sim.vmm.linPageLock(lin >>> 12, 64, 0)).toBe(1);
      expect(sim.vmm.linPageUnLock(lin >>> 12, 64, 0)).toBe(1);
      sim.pager.pass();
    }
    expect(sim.vmm.pageFree(lin, 0)).toBe(1);
    const now = freeCounts(sim);
    expect(now).toEqual(start);
    // All of them, quarantined or not, can be taken by a fixed allocation …
    const all = ok(sim, sim.vmm.pageAllocate(now.eax, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED));
    expect(freeCounts(sim)).toEqual({ eax: 0, edx: 0 });
    const fs = new Set(ptes(sim, all >>> 12, now.eax).map((e) => (e & P_PRES ? e >>> 12 : -1)));
    expect(fs.has(-1)).toBe(false);
    expect(fs.size).toBe(now.eax);
    // … and then there is no more.
    expect(sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED)).toBe(0);
    expect(sim.vmm.lastError?.code).toBe('insufficient-memory');
    expect(sim.vmm.pageFree(all, 0)).toBe(1);
    expect(freeCounts(sim)).toEqual(start);
  });

  it('a quarantined frame is also usable by a contiguous request', async () => {
    const sim = await sims.make({ memory: 1 << 20, pager: 'aggressive', seed: 80 });
    const start = freeCounts(sim);
    const lin = ok(sim, sim.vmm.pageAllocate(start.eax, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED));
    expect(sim.vmm.pageFree(lin, 0)).toBe(1); // every frame goes back, many through the quarantine
    expect(freeCounts(sim)).toEqual(start);
    const phys = new Uint32Array(1);
    const big = ok(sim, sim.vmm.pageAllocate(128, PG_SYS, 0, 0x7f, 0, 0x100, phys, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED));
    expect(phys[0]).toBe(0x80 * 4096);
    expect(sim.vmm.pageFree(big, 0)).toBe(1);
    expect(freeCounts(sim)).toEqual(start);
  });

  it('rejects nonzero flags', async () => {
    const sim = await sims.make({ pager: 'off' });
    const edx = new Uint32Array([7]);
    expect(sim.vmm.getFreePageCount(1, edx)).toBe(0);
    expect(sim.vmm.lastError?.code).toBe('reserved-flags');
    expect(edx[0]).toBe(0); // EDX = 0 on failure
  });
});
