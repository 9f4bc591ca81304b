/**
 * The small services (spec §4.8 _GetNulPageHandle, §4.17 _PageGetAllocInfo, §4.18
 * _GetFreePageCount, §4.19 _MapPhysToLinear, §4.22 _PageDiscardPages), per the DDK contract and the
 * choices documented in src/vmm/services.ts.
 */

import { describe, expect, it } from 'vitest';
import {
  MINSYSTEMLADDR,
  MAXSYSTEMLADDR,
  PAGECONTIG,
  PAGEDISCARD,
  PAGEFIXED,
  PAGELOCKED,
  PAGEUSEALIGN,
  PAGEZEROINIT,
  PC_FIXED,
  PC_WRITEABLE,
  PD_FIXED,
  PD_NOINIT,
  PD_ZEROINIT,
  PG_SYS,
  PR_SYSTEM,
  P_ACC,
  P_PRES,
  type Simulator,
} from '../src/index.js';
import { dirtyAllFreeFrames, expectFailure, expectUnchanged, faultOf, frameNumber, freeCounts, pte, ptes, simulatorsClosedAfterEach } from './helpers.js';

const sims = simulatorsClosedAfterEach();
let sim: Simulator;

async function boot(): Promise<Simulator> {
  sim = await sims.make({ memory: 1 << 20, pager: 'off', seed: 3 });
  return sim;
}

const MAPPHYS_FAILED = 0xffffffff;

const allZero = (bytes: Uint8Array): boolean => bytes.every((b) => b === 0);
const pattern = (len: number, seed: number): Uint8Array => Uint8Array.from({ length: len }, (_, i) => (i * 17 + seed) & 0xff);

/** Committed pages of a fresh reservation with pager `hpd`. */
function committed(n: number, hpd: number, flags = PC_WRITEABLE): number {
  const lin = sim.vmm.pageReserve(PR_SYSTEM, n, 0);
  expect(sim.vmm.pageCommit(lin >>> 12, n, hpd, 0, flags)).toBe(1);
  return lin;
}

describe('_GetNulPageHandle', () => {
  it('returns one stable nonzero handle that is not an address', async () => {
    await boot();
    const nul = sim.vmm.getNulPageHandle();
    expect(sim.vmm.lastError).toBeNull();
    expect(nul).not.toBe(0);
    expect(sim.vmm.getNulPageHandle()).toBe(nul);
    // Not a block base: the block services refuse it, and nothing is mapped at it.
    expectFailure(sim, sim.vmm.pageFree(nul, 0), 0, '_PageFree', 'not-a-block');
    expectFailure(sim, sim.vmm.pageLock(nul, 1, 0, 0), 0, '_PageLock', 'not-a-block');
    expectFailure(sim, sim.vmm.pageReAllocate(nul, 1, 0), 0, '_PageReAllocate', 'not-a-block');
    expect(faultOf(() => sim.cpu.read8(nul))).not.toBe('no fault');
  });

  it('is accepted as hMem by _PageGetSizeAddr (a "not entirely meaningful" success)', async () => {
    await boot();
    const edx = Uint32Array.of(0x12345678);
    const eax = sim.vmm.pageGetSizeAddr(sim.vmm.getNulPageHandle(), 0, edx);
    expect(sim.vmm.lastError).toBeNull();
    expect(eax).not.toBe(0);
    expect(edx[0]).not.toBe(0x12345678);
  });

  it('is accepted as physpg by _PageCommitPhys: every nul mapping shares one physical page', async () => {
    await boot();
    const nul = sim.vmm.getNulPageHandle();
    const a = sim.vmm.pageReserve(PR_SYSTEM, 2, 0);
    const b = sim.vmm.pageReserve(PR_SYSTEM, 1, 0);
    expect(sim.vmm.pageCommitPhys(a >>> 12, 2, nul, PC_WRITEABLE)).toBe(1);
    expect(sim.vmm.pageCommitPhys(b >>> 12, 1, nul, PC_WRITEABLE)).toBe(1);
    sim.cpu.write32(a + 0x100, 0x4e554c4c);
    expect(sim.cpu.read32(a + 4096 + 0x100)).toBe(0x4e554c4c);
    expect(sim.cpu.read32(b + 0x100)).toBe(0x4e554c4c);
    expect(frameNumber(pte(sim, a >>> 12))).toBe(frameNumber(pte(sim, b >>> 12)));
  });
});

describe('_GetFreePageCount', () => {
  it('EAX counts free frames; fixed allocations take from it and freeing gives back', async () => {
    await boot();
    const c0 = freeCounts(sim);
    expect(c0.eax).toBeGreaterThan(0);
    expect(c0.eax).toBeLessThan(sim.memory.frames); // the nul page, at least, is not free
    const lin = sim.vmm.pageAllocate(3, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED);
    expect(freeCounts(sim)).toEqual({ eax: c0.eax - 3, edx: c0.edx - 3 });
    expect(sim.vmm.pageFree(lin, 0)).toBe(1);
    expect(freeCounts(sim)).toEqual(c0);
  });

  it('EDX counts lockable pages: a touched swappable page leaves EAX but stays lockable until locked', async () => {
    await boot();
    const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
    const c0 = freeCounts(sim);
    sim.cpu.write8(lin, 1);
    const c1 = freeCounts(sim);
    expect(c1).toEqual({ eax: c0.eax - 1, edx: c0.edx });
    expect(sim.vmm.linPageLock(lin >>> 12, 1, 0)).toBe(1);
    expect(freeCounts(sim)).toEqual({ eax: c1.eax, edx: c1.edx - 1 });
  });

  it('the EDX out-array is optional', async () => {
    await boot();
    const eax = sim.vmm.getFreePageCount(0);
    expect(sim.vmm.lastError).toBeNull();
    expect(eax).toBe(freeCounts(sim).eax);
  });

  it('flags must be 0 (reserved-flags); EDX is 0 on failure', async () => {
    await boot();
    const edx = Uint32Array.of(77);
    expectFailure(sim, sim.vmm.getFreePageCount(1, edx), 0, '_GetFreePageCount', 'reserved-flags');
    expect(edx[0]).toBe(0);
  });
});

describe('_PageGetAllocInfo', () => {
  it('EDX is the number of pages that could be allocated locked, and it tracks locks', async () => {
    await boot();
    const edx = new Uint32Array(1);
    sim.vmm.pageGetAllocInfo(0, edx);
    expect(sim.vmm.lastError).toBeNull();
    const lockable0 = edx[0]!;
    expect(lockable0).toBe(freeCounts(sim).edx);
    const lin = sim.vmm.pageAllocate(4, PG_SYS, 0, 0, 0, 0, null, PAGELOCKED);
    sim.vmm.pageGetAllocInfo(0, edx);
    expect(edx[0]).toBe(lockable0 - 4);
    expect(sim.vmm.pageUnLock(lin, 4, 0, 0)).toBe(1);
    sim.vmm.pageGetAllocInfo(0, edx);
    expect(edx[0]).toBe(lockable0);
  });

  it('really can allocate EDX pages locked when nothing else competes', async () => {
    await boot();
    const edx = new Uint32Array(1);
    sim.vmm.pageGetAllocInfo(0, edx);
    expect(sim.vmm.pageAllocate(edx[0]!, PG_SYS, 0, 0, 0, 0, null, PAGELOCKED)).not.toBe(0);
    sim.vmm.pageGetAllocInfo(0, edx);
    expect(edx[0]).toBe(0);
    expectFailure(sim, sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGELOCKED), 0, '_PageAllocate', 'insufficient-memory');
  });

  it('flags must be 0 (reserved-flags)', async () => {
    await boot();
    const edx = Uint32Array.of(5);
    expectFailure(sim, sim.vmm.pageGetAllocInfo(2, edx), 0, '_PageGetAllocInfo', 'reserved-flags');
    expect(edx[0]).toBe(0);
  });
});

describe('_MapPhysToLinear', () => {
  function ownedPages(n: number): { lin: number; phys: number } {
    const phys = new Uint32Array(1);
    const lin = sim.vmm.pageAllocate(n, PG_SYS, 0, 0, 0, 0x100, phys, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED);
    expect(lin).not.toBe(0);
    return { lin, phys: phys[0]! };
  }

  it('maps physical bytes into the system arena: data written by the owner is visible through it', async () => {
    await boot();
    const own = ownedPages(3);
    const data = pattern(3 * 4096, 4);
    sim.cpu.writeBytes(own.lin, data);
    const lin = sim.vmm.mapPhysToLinear(own.phys, 3 * 4096, 0);
    expect(sim.vmm.lastError).toBeNull();
    expect(lin).toBeGreaterThanOrEqual(MINSYSTEMLADDR);
    expect(lin + 3 * 4096 - 1).toBeLessThanOrEqual(MAXSYSTEMLADDR);
    expect(sim.cpu.readBytes(lin, 3 * 4096)).toEqual(data);
  });

  it('returns the linear address of the first byte, keeping the in-page offset', async () => {
    await boot();
    const own = ownedPages(2);
    sim.cpu.writeBytes(own.lin, pattern(2 * 4096, 8));
    const lin = sim.vmm.mapPhysToLinear(own.phys + 0xff0, 0x20, 0);
    expect(lin & 0xfff).toBe(0xff0);
    expect(sim.cpu.readBytes(lin, 0x20)).toEqual(pattern(2 * 4096, 8).subarray(0xff0, 0x1010));
  });

  it('writes through the mapping land in the physical page', async () => {
    await boot();
    const own = ownedPages(1);
    const lin = sim.vmm.mapPhysToLinear(own.phys, 4096, 0);
    sim.cpu.write32(lin + 8, 0xfeedface);
    expect(sim.cpu.read32(own.lin + 8)).toBe(0xfeedface);
  });

  it('is permanent: it cannot be freed or decommitted, and the pager leaves it alone', async () => {
    await boot();
    const own = ownedPages(1);
    const lin = sim.vmm.mapPhysToLinear(own.phys, 4096, 0);
    expectUnchanged(sim, () => {
      expectFailure(sim, sim.vmm.pageFree(lin, 0), 0, '_PageFree', 'not-freeable');
      expectFailure(sim, sim.vmm.pageDecommit(lin >>> 12, 1, 0), 0, '_PageDecommit', 'not-freeable');
    });
    sim.pager.pass();
    expect(pte(sim, lin >>> 12) & P_PRES).toBe(P_PRES);
    expect(frameNumber(pte(sim, lin >>> 12))).toBe(own.phys >>> 12);
  });

  it('fails with 0xFFFFFFFF outside RAM, on a zero count and on nonzero flags, changing nothing', async () => {
    await boot();
    const ram = sim.memory.bytes;
    expectUnchanged(sim, () => {
      expectFailure(sim, sim.vmm.mapPhysToLinear(ram, 1, 0), MAPPHYS_FAILED, '_MapPhysToLinear', 'invalid-phys-range');
      expectFailure(sim, sim.vmm.mapPhysToLinear(ram - 4, 8, 0), MAPPHYS_FAILED, '_MapPhysToLinear', 'invalid-phys-range');
      expectFailure(sim, sim.vmm.mapPhysToLinear(0xfee00000, 4096, 0), MAPPHYS_FAILED, '_MapPhysToLinear', 'invalid-phys-range');
      expectFailure(sim, sim.vmm.mapPhysToLinear(0x1000, 0, 0), MAPPHYS_FAILED, '_MapPhysToLinear', 'zero-count');
      expectFailure(sim, sim.vmm.mapPhysToLinear(0x1000, 4096, 1), MAPPHYS_FAILED, '_MapPhysToLinear', 'reserved-flags');
    });
    expect(sim.vmm.mapPhysToLinear(ram - 4, 4, 0)).not.toBe(MAPPHYS_FAILED); // the last bytes are fine
  });
});

describe('_PageDiscardPages', () => {
  it('without flags only clears P_ACC: the page stays present with its contents', async () => {
    await boot();
    const lin = committed(1, PD_ZEROINIT);
    sim.cpu.write32(lin, 0x1234);
    const e0 = pte(sim, lin >>> 12);
    expect(e0 & (P_ACC | P_PRES)).toBe(P_ACC | P_PRES);
    expect(sim.vmm.pageDiscardPages(lin >>> 12, 0, 1, 0)).toBe(1);
    const e1 = pte(sim, lin >>> 12);
    expect(e1 & P_ACC).toBe(0);
    expect(e1 & P_PRES).toBe(P_PRES);
    expect(frameNumber(e1)).toBe(frameNumber(e0));
    expect(sim.cpu.read32(lin)).toBe(0x1234);
  });

  it('PAGEZEROINIT without PAGEDISCARD is ignored (clears P_ACC only, even on fixed pages)', async () => {
    await boot();
    const lin = committed(1, PD_ZEROINIT);
    sim.cpu.write32(lin, 0x55);
    expect(sim.vmm.pageDiscardPages(lin >>> 12, 0, 1, PAGEZEROINIT)).toBe(1);
    expect(pte(sim, lin >>> 12) & P_PRES).toBe(P_PRES);
    expect(sim.cpu.read32(lin)).toBe(0x55);
    const fixed = committed(1, PD_FIXED, PC_FIXED);
    expect(sim.vmm.pageDiscardPages(fixed >>> 12, 0, 1, PAGEZEROINIT)).toBe(1);
  });

  it('PAGEDISCARD drops the contents without writing them out; a PD_ZEROINIT page reads zeros next time', async () => {
    await boot();
    dirtyAllFreeFrames(sim);
    const lin = committed(2, PD_ZEROINIT);
    sim.cpu.writeBytes(lin, new Uint8Array(2 * 4096).fill(0x99));
    const pageOuts = sim.pager.stats.pageOuts;
    expect(sim.vmm.pageDiscardPages(lin >>> 12, 0, 2, PAGEDISCARD)).toBe(1);
    expect(ptes(sim, lin >>> 12, 2).map((e) => e & P_PRES)).toEqual([0, 0]);
    expect(sim.pager.stats.pageOuts).toBe(pageOuts);
    expect(allZero(sim.cpu.readBytes(lin, 2 * 4096))).toBe(true);
  });

  it('PAGEDISCARD also forgets a copy in the backing store (the page reverts to virgin)', async () => {
    await boot();
    dirtyAllFreeFrames(sim);
    const lin = committed(1, PD_ZEROINIT);
    sim.cpu.write32(lin, 0xabc);
    for (let i = 0; i < 16 && (pte(sim, lin >>> 12) & P_PRES) !== 0; i++) sim.pager.pass();
    expect(sim.cpu.read32(lin)).toBe(0xabc); // paged back in from the backing store, still clean
    expect(sim.vmm.pageDiscardPages(lin >>> 12, 0, 1, PAGEDISCARD)).toBe(1);
    expect(sim.cpu.read32(lin)).toBe(0);
  });

  it('PAGEDISCARD|PAGEZEROINIT makes a PD_NOINIT page read back as zeros', async () => {
    await boot();
    dirtyAllFreeFrames(sim);
    const lin = committed(2, PD_NOINIT);
    sim.cpu.writeBytes(lin, new Uint8Array(2 * 4096).fill(0x42));
    expect(sim.vmm.pageDiscardPages(lin >>> 12, 0, 2, PAGEDISCARD | PAGEZEROINIT)).toBe(1);
    expect(allZero(sim.cpu.readBytes(lin, 2 * 4096))).toBe(true);
  });

  it('skips locked pages silently: they stay present, in the same frame, with their contents', async () => {
    await boot();
    const lin = committed(3, PD_ZEROINIT);
    const page = lin >>> 12;
    const data = pattern(3 * 4096, 6);
    sim.cpu.writeBytes(lin, data);
    expect(sim.vmm.linPageLock(page + 1, 1, 0)).toBe(1);
    const locked = pte(sim, page + 1);
    expect(sim.vmm.pageDiscardPages(page, 0, 3, PAGEDISCARD)).toBe(1);
    const after = ptes(sim, page, 3);
    expect(after[0]! & P_PRES).toBe(0);
    expect(after[1]).toBe(locked);
    expect(after[2]! & P_PRES).toBe(0);
    expect(sim.cpu.readBytes(lin + 4096, 4096)).toEqual(data.subarray(4096, 8192));
  });

  it('skips fixed pages and pages that are already not present', async () => {
    await boot();
    const fixed = committed(1, PD_FIXED, PC_FIXED | PC_WRITEABLE);
    sim.cpu.write32(fixed, 0x77);
    expect(sim.vmm.pageDiscardPages(fixed >>> 12, 0, 1, PAGEDISCARD)).toBe(1);
    expect(pte(sim, fixed >>> 12) & P_PRES).toBe(P_PRES);
    expect(sim.cpu.read32(fixed)).toBe(0x77);
    const untouched = committed(2, PD_ZEROINIT);
    expect(sim.vmm.pageDiscardPages(untouched >>> 12, 0, 2, PAGEDISCARD)).toBe(1);
  });

  it('PAGEDISCARD|PAGEZEROINIT on fixed pages is an error (invalid-pager), changing nothing', async () => {
    await boot();
    const lin = committed(2, PD_ZEROINIT);
    sim.cpu.writeBytes(lin, new Uint8Array(2 * 4096).fill(1));
    const fixed = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED);
    expectUnchanged(sim, () => expectFailure(sim, sim.vmm.pageDiscardPages(fixed >>> 12, 0, 1, PAGEDISCARD | PAGEZEROINIT), 0, '_PageDiscardPages', 'invalid-pager'));
  });

  it('PAGEDISCARD|PAGEZEROINIT on pager-less (_PageCommitPhys) pages is an error too', async () => {
    await boot();
    const lin = sim.vmm.pageReserve(PR_SYSTEM, 1, 0);
    expect(sim.vmm.pageCommitPhys(lin >>> 12, 1, 0x40, 0)).toBe(1);
    expectFailure(sim, sim.vmm.pageDiscardPages(lin >>> 12, 0, 1, PAGEDISCARD | PAGEZEROINIT), 0, '_PageDiscardPages', 'invalid-pager');
  });

  it('every page must be committed (not-committed), all or nothing', async () => {
    await boot();
    const lin = sim.vmm.pageReserve(PR_SYSTEM, 3, 0);
    expect(sim.vmm.pageCommit(lin >>> 12, 2, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1);
    sim.cpu.writeBytes(lin, new Uint8Array(2 * 4096).fill(9));
    expectUnchanged(sim, () => expectFailure(sim, sim.vmm.pageDiscardPages(lin >>> 12, 0, 3, PAGEDISCARD), 0, '_PageDiscardPages', 'not-committed'));
    expect(ptes(sim, lin >>> 12, 2).map((e) => e & P_PRES)).toEqual([P_PRES, P_PRES]);
  });

  it('pages below 0x110 need a VM handle; other pages ignore VM', async () => {
    await boot();
    // The V86 space (pages 0 … 0x10F) is the VM's, not reservable by a VxD, so nothing there is
    // committed: with a VM handle the call gets past the VM check to the commit check.
    expectFailure(sim, sim.vmm.pageReserve(0x20, 1, 0), 0xffffffff, '_PageReserve', 'address-in-use');
    expectFailure(sim, sim.vmm.pageDiscardPages(0x20, 0, 1, 0), 0, '_PageDiscardPages', 'invalid-vm');
    expectFailure(sim, sim.vmm.pageDiscardPages(0x20, sim.vmm.getSysVMHandle(), 1, 0), 0, '_PageDiscardPages', 'not-committed');
    const lin = committed(1, PD_ZEROINIT);
    expect(sim.vmm.pageDiscardPages(lin >>> 12, 0x1234, 1, 0)).toBe(1);
  });

  it('flag bits other than PAGEDISCARD and PAGEZEROINIT are reserved', async () => {
    await boot();
    const lin = committed(1, PD_ZEROINIT);
    expectFailure(sim, sim.vmm.pageDiscardPages(lin >>> 12, 0, 1, 0x2), 0, '_PageDiscardPages', 'reserved-flags');
  });
});
