/**
 * Sparse memory: reserving linear space and attaching storage to it, per the DDK contract (spec
 * §1.6, §4.12 _PageReserve, §4.13 _PageCommit, §4.14 _PageCommitPhys, §4.15 _PageCommitContig,
 * §4.16 _PageDecommit, §4.24 _PageCheckLinRange) and the choices documented in src/vmm/services.ts.
 */

import { describe, expect, it } from 'vitest';
import {
  MAXPRIVATELADDR,
  MAXSHAREDLADDR,
  MAXSYSTEMLADDR,
  MEM_COMMIT,
  MEM_RESERVE,
  MINPRIVATELADDR,
  MINSHAREDLADDR,
  MINSYSTEMLADDR,
  PAGEFIXED,
  PAGE_NOACCESS,
  PAGE_READONLY,
  PAGE_READWRITE,
  PCC_NOLIN,
  PCC_ZEROINIT,
  PC_FIXED,
  PC_INCR,
  PC_LOCKED,
  PC_LOCKEDIFDP,
  PC_STATIC,
  PC_USER,
  PC_WRITEABLE,
  PD_FIXED,
  PD_FIXEDZERO,
  PD_NOINIT,
  PD_ZEROINIT,
  PG_SYS,
  PR_4MEG,
  PR_FIXED,
  PR_PRIVATE,
  PR_SHARED,
  PR_STATIC,
  PR_SYSTEM,
  P_PRES,
  P_USER,
  P_WRITE,
  type Simulator,
} from '../src/index.js';
import { dirtyAllFreeFrames, expectFailure, expectUnchanged, faultOf, frameNumber, pte, ptes, query, simulatorsClosedAfterEach } from './helpers.js';

const sims = simulatorsClosedAfterEach();
let sim: Simulator;

async function boot(memory = 1 << 20): Promise<Simulator> {
  sim = await sims.make({ memory, pager: 'off', seed: 11 });
  return sim;
}

const RESERVE_FAILED = 0xffffffff;
const CONTIG_FAILED = 0xffffffff;

const allZero = (bytes: Uint8Array): boolean => bytes.every((b) => b === 0);
const reserveSys = (n: number, flags = 0): number => sim.vmm.pageReserve(PR_SYSTEM, n, flags);

/** A physical address of RAM the test owns (a fixed page), with its linear address. */
function ownedFrame(): { lin: number; frame: number } {
  const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED);
  return { lin, frame: frameNumber(pte(sim, lin >>> 12)) };
}

describe('_PageReserve', () => {
  it('PR_PRIVATE, PR_SHARED and PR_SYSTEM reserve inside their arenas and return an ADDRESS', async () => {
    await boot();
    const cases: [number, number, number][] = [
      [PR_PRIVATE, MINPRIVATELADDR, MAXPRIVATELADDR],
      [PR_SHARED, MINSHAREDLADDR, MAXSHAREDLADDR],
      [PR_SYSTEM, MINSYSTEMLADDR, MAXSYSTEMLADDR],
    ];
    for (const [sel, lo, hi] of cases) {
      const lin = sim.vmm.pageReserve(sel, 3, 0);
      expect(sim.vmm.lastError).toBeNull();
      expect(lin).toBeGreaterThanOrEqual(lo);
      expect(lin + 3 * 4096 - 1).toBeLessThanOrEqual(hi);
      expect(lin & 0xfff).toBe(0); // an address, not a page number
      expect(sim.vmm.pageGetSizeAddr(lin, 0)).toBe(3);
    }
  });

  it('reserved pages consume no storage, are not committed and fault when touched', async () => {
    await boot();
    const free0 = sim.vmm.getFreePageCount(0);
    const lin = reserveSys(4);
    expect(sim.vmm.getFreePageCount(0)).toBe(free0);
    expect(sim.vmm.pageCheckLinRange(lin >>> 12, 4, 0)).toBe(0);
    expect(query(sim, lin)[4]).toBe(MEM_RESERVE);
    expect(faultOf(() => sim.cpu.read8(lin + 4096))).toBe('reserved');
  });

  it('an explicit page number reserves exactly there and returns its address (page << 12)', async () => {
    await boot();
    expect(sim.vmm.pageReserve(0x12345, 2, 0)).toBe(0x12345000);
    expect(sim.vmm.pageReserve(0xc1000, 1, 0)).toBe(0xc1000000);
    expect(sim.vmm.pageGetSizeAddr(0x12345000, 0)).toBe(2);
  });

  it('an explicit range that overlaps a block fails with 0xFFFFFFFF (address-in-use), changing nothing', async () => {
    await boot();
    expect(sim.vmm.pageReserve(0xc1000, 4, 0)).toBe(0xc1000000);
    expectUnchanged(sim, () => {
      for (const [page, n] of [
        [0xc1000, 1],
        [0xc1003, 2],
        [0xc0ffe, 3],
        [0xc0f00, 0x200],
      ] as const) {
        expectFailure(sim, sim.vmm.pageReserve(page, n, 0), RESERVE_FAILED, '_PageReserve', 'address-in-use');
      }
    });
    expect(sim.vmm.pageReserve(0xc0ffc, 4, 0)).toBe(0xc0ffc000); // adjacent is fine
    expect(sim.vmm.pageReserve(0xc1004, 1, 0)).toBe(0xc1004000);
  });

  it('arena selectors place blocks after existing ones, never overlapping', async () => {
    await boot();
    const a = reserveSys(3);
    const b = reserveSys(2);
    expect(b >= a + 3 * 4096 || b + 2 * 4096 <= a).toBe(true);
  });

  it('PR_4MEG puts an arena-selected block on a 4 MiB boundary', async () => {
    await boot();
    reserveSys(1); // the arena's first page is taken: an unaligned first fit would follow it
    sim.vmm.pageReserve(PR_PRIVATE, 1, 0);
    for (const sel of [PR_SYSTEM, PR_PRIVATE, PR_SHARED]) {
      const lin = sim.vmm.pageReserve(sel, 2, PR_4MEG);
      expect(sim.vmm.lastError).toBeNull();
      expect(lin % 0x400000).toBe(0);
    }
  });

  it('PR_4MEG is ignored for an explicit page', async () => {
    await boot();
    expect(sim.vmm.pageReserve(0xc0401, 1, PR_4MEG)).toBe(0xc0401000);
  });

  it('an explicit range crossing an arena boundary or reaching the invalid region fails', async () => {
    await boot();
    expectUnchanged(sim, () => {
      expectFailure(sim, sim.vmm.pageReserve(0xbffff, 2, 0), RESERVE_FAILED, '_PageReserve', 'crosses-arena');
      expectFailure(sim, sim.vmm.pageReserve(0x3ff, 2, 0), RESERVE_FAILED, '_PageReserve', 'crosses-arena');
      expectFailure(sim, sim.vmm.pageReserve(0xffbff, 2, 0), RESERVE_FAILED, '_PageReserve', 'invalid-region');
      expectFailure(sim, sim.vmm.pageReserve(0xffc00, 1, 0), RESERVE_FAILED, '_PageReserve', 'invalid-region');
      expectFailure(sim, sim.vmm.pageReserve(0xfffe0, 1, 0), RESERVE_FAILED, '_PageReserve', 'invalid-region');
    });
  });

  it('a request larger than the arena fails with 0xFFFFFFFF (insufficient-memory)', async () => {
    await boot();
    expectFailure(sim, sim.vmm.pageReserve(PR_SHARED, 0x40001, 0), RESERVE_FAILED, '_PageReserve', 'insufficient-memory');
    expect(sim.vmm.pageReserve(PR_SHARED, 0x40000, 0)).toBe(MINSHAREDLADDR); // exactly the whole arena
  });

  it('rejects a zero count and unknown flags with 0xFFFFFFFF', async () => {
    await boot();
    expectFailure(sim, sim.vmm.pageReserve(PR_SYSTEM, 0, 0), RESERVE_FAILED, '_PageReserve', 'zero-count');
    expectFailure(sim, sim.vmm.pageReserve(PR_SYSTEM, 1, 0x2), RESERVE_FAILED, '_PageReserve', 'reserved-flags');
    expectFailure(sim, sim.vmm.pageReserve(PR_SYSTEM, 1, PC_WRITEABLE), RESERVE_FAILED, '_PageReserve', 'reserved-flags');
  });

  it('a bit-31 page value other than the three selectors is not a page number (invalid-range)', async () => {
    await boot();
    expectFailure(sim, sim.vmm.pageReserve(0x80000000, 1, 0), RESERVE_FAILED, '_PageReserve', 'invalid-range');
    expectFailure(sim, sim.vmm.pageReserve(0x100000, 1, 0), RESERVE_FAILED, '_PageReserve', 'invalid-range');
  });

  it('PR_FIXED and PR_STATIC are accepted', async () => {
    await boot();
    expect(reserveSys(1, PR_FIXED | PR_STATIC | PR_4MEG)).not.toBe(RESERVE_FAILED);
  });
});

describe('_PageCommit', () => {
  it('PD_ZEROINIT: swappable, not present until touched, reads zeros even over dirty frames', async () => {
    await boot();
    dirtyAllFreeFrames(sim);
    const lin = reserveSys(3);
    expect(sim.vmm.pageCommit(lin >>> 12, 3, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1);
    expect(sim.vmm.lastError).toBeNull();
    expect(ptes(sim, lin >>> 12, 3).map((e) => e & P_PRES)).toEqual([0, 0, 0]);
    expect(sim.vmm.pageCheckLinRange(lin >>> 12, 3, 0)).toBe(3);
    expect(allZero(sim.cpu.readBytes(lin, 3 * 4096))).toBe(true);
    expect(query(sim, lin)[4]).toBe(MEM_COMMIT);
  });

  it('PD_NOINIT: swappable, not present until touched, readable and writable', async () => {
    await boot();
    const lin = reserveSys(2);
    expect(sim.vmm.pageCommit(lin >>> 12, 2, PD_NOINIT, 0, PC_WRITEABLE)).toBe(1);
    expect(ptes(sim, lin >>> 12, 2).map((e) => e & P_PRES)).toEqual([0, 0]);
    sim.cpu.write32(lin + 4096, 0x12345678);
    expect(sim.cpu.read32(lin + 4096)).toBe(0x12345678);
  });

  it('PD_FIXED with PC_FIXED: present at once and never moved by the pager', async () => {
    await boot();
    const lin = reserveSys(2);
    expect(sim.vmm.pageCommit(lin >>> 12, 2, PD_FIXED, 0, PC_FIXED | PC_WRITEABLE)).toBe(1);
    const before = ptes(sim, lin >>> 12, 2);
    expect(before.every((e) => (e & P_PRES) !== 0)).toBe(true);
    sim.pager.pass();
    expect(ptes(sim, lin >>> 12, 2)).toEqual(before);
  });

  it('PD_FIXEDZERO with PC_FIXED: present at once and zeroed even over dirty frames', async () => {
    await boot();
    dirtyAllFreeFrames(sim);
    const lin = reserveSys(2);
    expect(sim.vmm.pageCommit(lin >>> 12, 2, PD_FIXEDZERO, 0, PC_FIXED)).toBe(1);
    expect(ptes(sim, lin >>> 12, 2).every((e) => (e & P_PRES) !== 0)).toBe(true);
    expect(allZero(sim.cpu.readBytes(lin, 2 * 4096))).toBe(true);
  });

  it('PD_FIXED and PD_FIXEDZERO require PC_FIXED (invalid-flags), changing nothing', async () => {
    await boot();
    const lin = reserveSys(2);
    expectUnchanged(sim, () => {
      expectFailure(sim, sim.vmm.pageCommit(lin >>> 12, 2, PD_FIXED, 0, PC_WRITEABLE), 0, '_PageCommit', 'invalid-flags');
      expectFailure(sim, sim.vmm.pageCommit(lin >>> 12, 2, PD_FIXEDZERO, 0, PC_LOCKED), 0, '_PageCommit', 'invalid-flags');
    });
  });

  it('only the four built-in pagers exist, and their pagerdata must be 0', async () => {
    await boot();
    const lin = reserveSys(1);
    expectFailure(sim, sim.vmm.pageCommit(lin >>> 12, 1, 0, 0, 0), 0, '_PageCommit', 'invalid-pager');
    expectFailure(sim, sim.vmm.pageCommit(lin >>> 12, 1, 5, 0, 0), 0, '_PageCommit', 'invalid-pager');
    expectFailure(sim, sim.vmm.pageCommit(lin >>> 12, 1, PD_ZEROINIT, 7, 0), 0, '_PageCommit', 'invalid-argument');
  });

  it('PC_LOCKED: present and locked now, unlockable once later', async () => {
    await boot();
    const lin = reserveSys(2);
    expect(sim.vmm.pageCommit(lin >>> 12, 2, PD_ZEROINIT, 0, PC_LOCKED | PC_WRITEABLE)).toBe(1);
    const locked = ptes(sim, lin >>> 12, 2);
    expect(locked.every((e) => (e & P_PRES) !== 0)).toBe(true);
    sim.pager.pass();
    expect(ptes(sim, lin >>> 12, 2)).toEqual(locked);
    expect(sim.vmm.pageUnLock(lin, 2, 0, 0)).toBe(1);
    expectFailure(sim, sim.vmm.pageUnLock(lin, 2, 0, 0), 0, '_PageUnLock', 'not-locked');
  });

  it('PC_LOCKED and PC_FIXED refuse a range that holds an already-committed page, changing nothing', async () => {
    await boot();
    const lin = reserveSys(3);
    const page = lin >>> 12;
    expect(sim.vmm.pageCommit(page + 1, 1, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1);
    expectUnchanged(sim, () => {
      expectFailure(sim, sim.vmm.pageCommit(page, 3, PD_ZEROINIT, 0, PC_LOCKED), 0, '_PageCommit', 'already-committed');
      expectFailure(sim, sim.vmm.pageCommit(page, 3, PD_FIXED, 0, PC_FIXED), 0, '_PageCommit', 'already-committed');
      expectFailure(sim, sim.vmm.pageCommit(page + 1, 1, PD_ZEROINIT, 0, PC_FIXED), 0, '_PageCommit', 'already-committed');
      // PC_LOCKEDIFDP too, even though without DOS paging it would lock nothing.
      expectFailure(sim, sim.vmm.pageCommit(page, 2, PD_ZEROINIT, 0, PC_LOCKEDIFDP), 0, '_PageCommit', 'already-committed');
    });
    expect(sim.vmm.pageCheckLinRange(page, 3, 0)).toBe(0);
  });

  it('recommitting without PC_LOCKED/PC_FIXED is legal and keeps the existing contents', async () => {
    await boot();
    const lin = reserveSys(3);
    const page = lin >>> 12;
    expect(sim.vmm.pageCommit(page, 2, PD_NOINIT, 0, PC_WRITEABLE)).toBe(1);
    sim.cpu.write32(lin, 0xcafef00d);
    expect(sim.vmm.pageCommit(page, 3, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1);
    expect(sim.vmm.lastError).toBeNull();
    expect(sim.vmm.pageCheckLinRange(page, 3, 0)).toBe(3);
    expect(sim.cpu.read32(lin)).toBe(0xcafef00d);
  });

  it('the range must stay inside one reservation (crosses-block), changing nothing', async () => {
    await boot();
    const a = sim.vmm.pageReserve(0xc2000, 2, 0);
    const b = sim.vmm.pageReserve(0xc2002, 2, 0);
    expect([a, b]).toEqual([0xc2000000, 0xc2002000]);
    expectUnchanged(sim, () => {
      expectFailure(sim, sim.vmm.pageCommit(0xc2001, 2, PD_ZEROINIT, 0, 0), 0, '_PageCommit', 'crosses-block');
      expectFailure(sim, sim.vmm.pageCommit(0xc2000, 4, PD_ZEROINIT, 0, 0), 0, '_PageCommit', 'crosses-block');
      expectFailure(sim, sim.vmm.pageCommit(0xc2002, 3, PD_ZEROINIT, 0, 0), 0, '_PageCommit', 'crosses-block'); // into free space
    });
  });

  it('a range starting on a free page fails (not-a-block)', async () => {
    await boot();
    expectFailure(sim, sim.vmm.pageCommit(0xc3000, 1, PD_ZEROINIT, 0, 0), 0, '_PageCommit', 'not-a-block');
  });

  it('a PR_STATIC block is committed only with PC_STATIC', async () => {
    await boot();
    const lin = reserveSys(2, PR_STATIC);
    expectUnchanged(sim, () => expectFailure(sim, sim.vmm.pageCommit(lin >>> 12, 2, PD_ZEROINIT, 0, PC_WRITEABLE), 0, '_PageCommit', 'static-block'));
    expect(sim.vmm.pageCommit(lin >>> 12, 2, PD_ZEROINIT, 0, PC_WRITEABLE | PC_STATIC)).toBe(1);
  });

  it('PC_USER / PC_WRITEABLE become P_USER / P_WRITE and the _PageQuery protection', async () => {
    await boot();
    const lin = reserveSys(3);
    const page = lin >>> 12;
    expect(sim.vmm.pageCommit(page, 1, PD_FIXED, 0, PC_FIXED)).toBe(1);
    expect(sim.vmm.pageCommit(page + 1, 1, PD_FIXED, 0, PC_FIXED | PC_USER)).toBe(1);
    expect(sim.vmm.pageCommit(page + 2, 1, PD_FIXED, 0, PC_FIXED | PC_USER | PC_WRITEABLE)).toBe(1);
    expect(ptes(sim, page, 3).map((e) => e & (P_USER | P_WRITE))).toEqual([0, P_USER, P_USER | P_WRITE]);
    expect([query(sim, lin)[5], query(sim, lin + 4096)[5], query(sim, lin + 8192)[5]]).toEqual([PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE]);
  });

  it('more swappable pages than RAM plus swap fail (insufficient-memory), changing nothing', async () => {
    await boot(); // 256 frames; the commit limit is RAM + 3 × RAM
    const lin = reserveSys(2048);
    expectUnchanged(sim, () => expectFailure(sim, sim.vmm.pageCommit(lin >>> 12, 2048, PD_ZEROINIT, 0, 0), 0, '_PageCommit', 'insufficient-memory'));
  });
});

describe('_PageCommitPhys', () => {
  it('with PC_INCR, linear page i maps physical page physpg + i', async () => {
    await boot();
    const lin = reserveSys(3);
    expect(sim.vmm.pageCommitPhys(lin >>> 12, 3, 0x80, PC_INCR | PC_WRITEABLE)).toBe(1);
    expect(ptes(sim, lin >>> 12, 3).map(frameNumber)).toEqual([0x80, 0x81, 0x82]);
    expect(ptes(sim, lin >>> 12, 3).every((e) => (e & P_PRES) !== 0)).toBe(true);
  });

  it('without PC_INCR every linear page maps the same physical page', async () => {
    await boot();
    const lin = reserveSys(3);
    expect(sim.vmm.pageCommitPhys(lin >>> 12, 3, 0x80, PC_WRITEABLE)).toBe(1);
    expect(ptes(sim, lin >>> 12, 3).map(frameNumber)).toEqual([0x80, 0x80, 0x80]);
    sim.cpu.write32(lin + 0x10, 0xabcdef01);
    expect(sim.cpu.read32(lin + 2 * 4096 + 0x10)).toBe(0xabcdef01);
  });

  it('maps memory the caller owns: data written through one mapping is read through the other', async () => {
    await boot();
    const own = ownedFrame();
    sim.cpu.write32(own.lin + 0x40, 0x600dd00d);
    const lin = reserveSys(1);
    expect(sim.vmm.pageCommitPhys(lin >>> 12, 1, own.frame, PC_WRITEABLE)).toBe(1);
    expect(sim.cpu.read32(lin + 0x40)).toBe(0x600dd00d);
    sim.cpu.write32(lin + 0x80, 0x11223344);
    expect(sim.cpu.read32(own.lin + 0x80)).toBe(0x11223344);
  });

  it('allocates nothing: the free page count does not move, and decommitting returns nothing', async () => {
    await boot();
    const free0 = sim.vmm.getFreePageCount(0);
    const lin = reserveSys(4);
    expect(sim.vmm.pageCommitPhys(lin >>> 12, 4, 0x40, PC_INCR)).toBe(1);
    expect(sim.vmm.getFreePageCount(0)).toBe(free0);
    expect(sim.vmm.pageDecommit(lin >>> 12, 4, 0)).toBe(1);
    expect(sim.vmm.getFreePageCount(0)).toBe(free0);
  });

  it('accepts the nul page handle: every page maps the one nul page', async () => {
    await boot();
    const nul = sim.vmm.getNulPageHandle();
    const a = reserveSys(2);
    const b = reserveSys(1);
    expect(sim.vmm.pageCommitPhys(a >>> 12, 2, nul, PC_WRITEABLE)).toBe(1);
    expect(sim.vmm.pageCommitPhys(b >>> 12, 1, nul, 0)).toBe(1);
    const frames = [...ptes(sim, a >>> 12, 2), pte(sim, b >>> 12)].map(frameNumber);
    expect(new Set(frames).size).toBe(1);
    // The nul page is not allocatable RAM: no allocation, even of every free frame, gets it.
    const n = sim.vmm.getFreePageCount(0);
    const all = sim.vmm.pageAllocate(n, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED);
    expect(ptes(sim, all >>> 12, n).map(frameNumber)).not.toContain(frames[0]);
  });

  it('PC_INCR with the nul page handle is invalid-flags', async () => {
    await boot();
    const lin = reserveSys(2);
    expectFailure(sim, sim.vmm.pageCommitPhys(lin >>> 12, 2, sim.vmm.getNulPageHandle(), PC_INCR), 0, '_PageCommitPhys', 'invalid-flags');
  });

  it('physical pages outside simulated RAM are refused (invalid-phys-range), changing nothing', async () => {
    await boot(); // frames 0 … 0xFF
    const lin = reserveSys(4);
    expectUnchanged(sim, () => {
      expectFailure(sim, sim.vmm.pageCommitPhys(lin >>> 12, 1, 0x100, 0), 0, '_PageCommitPhys', 'invalid-phys-range');
      expectFailure(sim, sim.vmm.pageCommitPhys(lin >>> 12, 4, 0xfd, PC_INCR), 0, '_PageCommitPhys', 'invalid-phys-range');
      expectFailure(sim, sim.vmm.pageCommitPhys(lin >>> 12, 1, 0xfffff, 0), 0, '_PageCommitPhys', 'invalid-phys-range');
    });
    expect(sim.vmm.pageCommitPhys(lin >>> 12, 4, 0xfc, PC_INCR)).toBe(1); // the last four frames are fine
  });

  it('none of the pages may be committed already; the range stays in one block', async () => {
    await boot();
    const lin = reserveSys(2);
    expect(sim.vmm.pageCommit((lin >>> 12) + 1, 1, PD_ZEROINIT, 0, 0)).toBe(1);
    expectUnchanged(sim, () => {
      expectFailure(sim, sim.vmm.pageCommitPhys(lin >>> 12, 2, 0x40, PC_INCR), 0, '_PageCommitPhys', 'already-committed');
      expectFailure(sim, sim.vmm.pageCommitPhys(lin >>> 12, 3, 0x40, PC_INCR), 0, '_PageCommitPhys', 'crosses-block');
    });
  });

  it('a PR_STATIC block needs PC_STATIC', async () => {
    await boot();
    const lin = reserveSys(1, PR_STATIC);
    expectFailure(sim, sim.vmm.pageCommitPhys(lin >>> 12, 1, 0x40, 0), 0, '_PageCommitPhys', 'static-block');
    expect(sim.vmm.pageCommitPhys(lin >>> 12, 1, 0x40, PC_STATIC)).toBe(1);
  });

  it('pages committed with _PageCommitPhys have no pager: a pager pass leaves them mapped', async () => {
    await boot();
    const lin = reserveSys(2);
    expect(sim.vmm.pageCommitPhys(lin >>> 12, 2, 0x50, PC_INCR)).toBe(1);
    sim.pager.pass();
    expect(ptes(sim, lin >>> 12, 2).map((e) => [e & P_PRES, frameNumber(e)])).toEqual([
      [P_PRES, 0x50],
      [P_PRES, 0x51],
    ]);
  });
});

describe('_PageCommitContig', () => {
  it('returns the base PHYSICAL address of contiguous fixed pages mapped at the range', async () => {
    await boot();
    const lin = reserveSys(4);
    const phys = sim.vmm.pageCommitContig(lin >>> 12, 4, PC_WRITEABLE, 0, 0, 0x100);
    expect(sim.vmm.lastError).toBeNull();
    expect(phys & 0xfff).toBe(0);
    const entries = ptes(sim, lin >>> 12, 4);
    expect(entries.every((e) => (e & P_PRES) !== 0)).toBe(true);
    expect(entries.map(frameNumber)).toEqual([0, 1, 2, 3].map((i) => phys / 4096 + i));
    sim.pager.pass();
    expect(ptes(sim, lin >>> 12, 4)).toEqual(entries);
  });

  it('honours the alignment mask (64 KiB = 0x0F) even when the lowest free frame is unaligned', async () => {
    await boot();
    sim.vmm.pageAllocate(3, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED);
    for (const mask of [0x0f, 0x1f, 0x03]) {
      const lin = reserveSys(2);
      const phys = sim.vmm.pageCommitContig(lin >>> 12, 2, 0, mask, 0, 0x100);
      expect(phys).not.toBe(CONTIG_FAILED);
      expect((phys / 4096) & mask).toBe(0);
    }
  });

  it('keeps every page inside [minphys, maxphys)', async () => {
    await boot();
    const lin = reserveSys(4);
    const phys = sim.vmm.pageCommitContig(lin >>> 12, 4, 0, 0, 0x90, 0x94);
    expect(phys).toBe(0x90 * 4096);
    const lin2 = reserveSys(1);
    expectFailure(sim, sim.vmm.pageCommitContig(lin2 >>> 12, 1, 0, 0, 0x90, 0x94), CONTIG_FAILED, '_PageCommitContig', 'insufficient-memory');
  });

  it('maxphys = 0xFFFFFFFF means "anywhere" (documented choice: no KB Q180579 remap here)', async () => {
    await boot(32 << 20);
    const lin = reserveSys(8);
    const phys = sim.vmm.pageCommitContig(lin >>> 12, 8, 0, 0, 0xffc, 0xffffffff);
    expect(sim.vmm.lastError).toBeNull();
    expect(phys).toBeGreaterThanOrEqual(0xffc * 4096);
  });

  it('PCC_ZEROINIT zeroes the pages even over dirty frames', async () => {
    await boot();
    dirtyAllFreeFrames(sim);
    const lin = reserveSys(3);
    expect(sim.vmm.pageCommitContig(lin >>> 12, 3, PCC_ZEROINIT | PC_WRITEABLE, 0, 0, 0x100)).not.toBe(CONTIG_FAILED);
    expect(allZero(sim.cpu.readBytes(lin, 3 * 4096))).toBe(true);
  });

  it('PCC_NOLIN alone hands out raw physical pages, ignores page, and maps nothing', async () => {
    await boot();
    const free0 = sim.vmm.getFreePageCount(0);
    const lin = reserveSys(2);
    const phys = sim.vmm.pageCommitContig(lin >>> 12, 2, PCC_NOLIN, 0, 0, 0x100);
    expect(sim.vmm.lastError).toBeNull();
    expect(phys).not.toBe(CONTIG_FAILED);
    expect(sim.vmm.getFreePageCount(0)).toBe(free0 - 2);
    expect(sim.vmm.pageCheckLinRange(lin >>> 12, 2, 0)).toBe(0); // the range was not touched
    // page is ignored: an unreserved page number (or 0) works too.
    expect(sim.vmm.pageCommitContig(0, 1, PCC_NOLIN, 0, 0, 0x100)).not.toBe(CONTIG_FAILED);
    // The raw pages can be mapped with _PageCommitPhys by their owner.
    expect(sim.vmm.pageCommitPhys(lin >>> 12, 2, phys / 4096, PC_INCR | PC_WRITEABLE)).toBe(1);
    sim.cpu.write32(lin + 4096, 0x5eed);
    expect(sim.cpu.read32(lin + 4096)).toBe(0x5eed);
  });

  it('PCC_NOLIN may not be combined with any other flag (invalid-flags)', async () => {
    await boot();
    expectUnchanged(sim, () => {
      for (const other of [PC_WRITEABLE, PC_USER, PCC_ZEROINIT]) {
        expectFailure(sim, sim.vmm.pageCommitContig(0, 1, PCC_NOLIN | other, 0, 0, 0x100), CONTIG_FAILED, '_PageCommitContig', 'invalid-flags');
      }
    });
  });

  it('fails with 0xFFFFFFFF on committed pages, crossing blocks, bad masks and empty windows, changing nothing', async () => {
    await boot();
    const lin = reserveSys(2);
    expect(sim.vmm.pageCommit(lin >>> 12, 1, PD_ZEROINIT, 0, 0)).toBe(1);
    const other = reserveSys(1);
    expectUnchanged(sim, () => {
      expectFailure(sim, sim.vmm.pageCommitContig(lin >>> 12, 2, 0, 0, 0, 0x100), CONTIG_FAILED, '_PageCommitContig', 'already-committed');
      expectFailure(sim, sim.vmm.pageCommitContig((lin >>> 12) + 1, 2, 0, 0, 0, 0x100), CONTIG_FAILED, '_PageCommitContig', 'crosses-block');
      expectFailure(sim, sim.vmm.pageCommitContig(other >>> 12, 1, 0, 0x06, 0, 0x100), CONTIG_FAILED, '_PageCommitContig', 'invalid-align-mask');
      expectFailure(sim, sim.vmm.pageCommitContig(other >>> 12, 1, 0, 0, 0x80, 0x80), CONTIG_FAILED, '_PageCommitContig', 'invalid-phys-range');
      expectFailure(sim, sim.vmm.pageCommitContig(other >>> 12, 1, PC_FIXED, 0, 0, 0x100), CONTIG_FAILED, '_PageCommitContig', 'reserved-flags');
      expectFailure(sim, sim.vmm.pageCommitContig(other >>> 12, 0x200, 0, 0, 0, 0x100), CONTIG_FAILED, '_PageCommitContig', 'crosses-block');
    });
  });

  it('a PR_STATIC block needs PC_STATIC', async () => {
    await boot();
    const lin = reserveSys(1, PR_STATIC);
    expectFailure(sim, sim.vmm.pageCommitContig(lin >>> 12, 1, 0, 0, 0, 0x100), CONTIG_FAILED, '_PageCommitContig', 'static-block');
    expect(sim.vmm.pageCommitContig(lin >>> 12, 1, PC_STATIC, 0, 0, 0x100)).not.toBe(CONTIG_FAILED);
  });
});

describe('_PageDecommit', () => {
  it('returns pages to "reserved": storage released, touching faults, the block survives and can be recommitted', async () => {
    await boot();
    const free0 = sim.vmm.getFreePageCount(0);
    const lin = reserveSys(4);
    const page = lin >>> 12;
    expect(sim.vmm.pageCommit(page, 4, PD_FIXED, 0, PC_FIXED | PC_WRITEABLE)).toBe(1);
    expect(sim.vmm.getFreePageCount(0)).toBe(free0 - 4);
    expect(sim.vmm.pageDecommit(page + 1, 2, 0)).toBe(1);
    expect(sim.vmm.lastError).toBeNull();
    expect(sim.vmm.getFreePageCount(0)).toBe(free0 - 2);
    expect(sim.vmm.pageCheckLinRange(page, 4, 0)).toBe(1);
    expect(query(sim, lin + 4096)[4]).toBe(MEM_RESERVE);
    expect(faultOf(() => sim.cpu.read8(lin + 4096))).toBe('reserved');
    expect(sim.vmm.pageGetSizeAddr(lin, 0)).toBe(4);
    expect(ptes(sim, page + 1, 2).map((e) => e & P_PRES)).toEqual([0, 0]);
    expect(sim.vmm.pageCommit(page + 1, 2, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1);
    expect(sim.vmm.pageCheckLinRange(page, 4, 0)).toBe(4);
  });

  it('decommits swappable pages whether present, paged out or locked', async () => {
    await boot();
    const free0 = sim.vmm.getFreePageCount(0);
    const lin = reserveSys(3);
    const page = lin >>> 12;
    expect(sim.vmm.pageCommit(page, 3, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1);
    sim.cpu.writeBytes(lin, new Uint8Array(3 * 4096).fill(1));
    expect(sim.vmm.linPageLock(page, 1, 0)).toBe(1);
    sim.pager.pass();
    expect(sim.vmm.pageDecommit(page, 3, 0)).toBe(1);
    expect(sim.vmm.getFreePageCount(0)).toBe(free0);
    expect(sim.vmm.pageCheckLinRange(page, 3, 0)).toBe(0);
  });

  it('already-decommitted pages in the range are allowed', async () => {
    await boot();
    const lin = reserveSys(3);
    expect(sim.vmm.pageCommit(lin >>> 12, 1, PD_ZEROINIT, 0, 0)).toBe(1);
    expect(sim.vmm.pageDecommit(lin >>> 12, 3, 0)).toBe(1);
    expect(sim.vmm.pageDecommit(lin >>> 12, 3, 0)).toBe(1);
  });

  it('the range must stay in one block; flags other than the PC_STATIC key are reserved', async () => {
    await boot();
    const a = sim.vmm.pageReserve(0xc2000, 2, 0);
    sim.vmm.pageReserve(0xc2002, 2, 0);
    expect(sim.vmm.pageCommit(a >>> 12, 2, PD_ZEROINIT, 0, 0)).toBe(1);
    expectUnchanged(sim, () => {
      expectFailure(sim, sim.vmm.pageDecommit(0xc2001, 2, 0), 0, '_PageDecommit', 'crosses-block');
      expectFailure(sim, sim.vmm.pageDecommit(0xc2000, 1, 1), 0, '_PageDecommit', 'reserved-flags');
      expectFailure(sim, sim.vmm.pageDecommit(0xc2000, 1, PR_STATIC), 0, '_PageDecommit', 'reserved-flags');
      expectFailure(sim, sim.vmm.pageDecommit(0xc3000, 1, 0), 0, '_PageDecommit', 'not-a-block');
    });
  });

  it('a PR_STATIC block is decommitted only with PC_STATIC (documented choice)', async () => {
    await boot();
    const lin = reserveSys(1, PR_STATIC);
    expect(sim.vmm.pageCommit(lin >>> 12, 1, PD_ZEROINIT, 0, PC_STATIC)).toBe(1);
    expectFailure(sim, sim.vmm.pageDecommit(lin >>> 12, 1, 0), 0, '_PageDecommit', 'static-block');
    expect(sim.vmm.pageDecommit(lin >>> 12, 1, PC_STATIC)).toBe(1);
  });
});

describe('_PageCheckLinRange', () => {
  it('0 is a legal answer, not a failure', async () => {
    await boot();
    const lin = reserveSys(2);
    expect(sim.vmm.pageCheckLinRange(lin >>> 12, 2, 0)).toBe(0);
    expect(sim.vmm.lastError).toBeNull();
    expect(sim.vmm.pageCheckLinRange(0xc3000, 5, 0)).toBe(0); // free pages
    expect(sim.vmm.lastError).toBeNull();
  });

  it('counts the committed pages from the start, stopping at the first that is not', async () => {
    await boot();
    const lin = reserveSys(5);
    const page = lin >>> 12;
    expect(sim.vmm.pageCommit(page, 2, PD_ZEROINIT, 0, 0)).toBe(1);
    expect(sim.vmm.pageCommit(page + 3, 2, PD_ZEROINIT, 0, 0)).toBe(1);
    expect(sim.vmm.pageCheckLinRange(page, 5, 0)).toBe(2);
    expect(sim.vmm.pageCheckLinRange(page, 1, 0)).toBe(1);
    expect(sim.vmm.pageCheckLinRange(page + 2, 3, 0)).toBe(0);
    expect(sim.vmm.pageCheckLinRange(page + 3, 2, 0)).toBe(2);
  });

  it('returns npages when every page is committed, paged out or not', async () => {
    await boot();
    const lin = sim.vmm.pageAllocate(4, PG_SYS, 0, 0, 0, 0, null, 0);
    sim.cpu.writeBytes(lin, new Uint8Array(4 * 4096).fill(3));
    sim.pager.pass();
    expect(sim.vmm.pageCheckLinRange(lin >>> 12, 4, 0)).toBe(4);
  });

  it('flags must be 0; npages must be nonzero', async () => {
    await boot();
    const lin = reserveSys(1);
    expectFailure(sim, sim.vmm.pageCheckLinRange(lin >>> 12, 1, 1), 0, '_PageCheckLinRange', 'reserved-flags');
    expectFailure(sim, sim.vmm.pageCheckLinRange(lin >>> 12, 0, 0), 0, '_PageCheckLinRange', 'zero-count');
  });
});

describe('PR_FIXED', () => {
  it('does not by itself make pages fixed: the block can still be committed swappable', async () => {
    await boot();
    const lin = reserveSys(1, PR_FIXED);
    expect(sim.vmm.pageCommit(lin >>> 12, 1, PD_ZEROINIT, 0, 0)).toBe(1);
    expect(pte(sim, lin >>> 12) & P_PRES).toBe(0);
  });
});
