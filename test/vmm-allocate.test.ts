/**
 * The block allocator services, per the DDK contract (spec §4.9 _PageAllocate, §4.10 _PageFree,
 * §4.11 _PageReAllocate, §4.21 _PageGetSizeAddr) and the choices documented in src/vmm/services.ts.
 * Every observation goes through the services a driver has: _CopyPageTable for residency and
 * frames, _PageCheckLinRange / _PageGetSizeAddr for sizes, the CPU for contents.
 */

import { describe, expect, it } from 'vitest';
import {
  MAXSHAREDLADDR,
  MAXSYSTEMLADDR,
  MEM_COMMIT,
  PAGE_READWRITE,
  MINSHAREDLADDR,
  MINSYSTEMLADDR,
  PAGECONTIG,
  PAGEFIXED,
  PAGELOCKED,
  PAGELOCKEDIFDP,
  PAGENOCOPY,
  PAGEUSEALIGN,
  PAGEZEROINIT,
  PAGEZEROREINIT,
  PC_WRITEABLE,
  PD_ZEROINIT,
  PG_HOOKED,
  PG_INSTANCE,
  PG_PRIVATE,
  PG_RESERVED1,
  PG_SYS,
  PG_VM,
  PR_FIXED,
  PR_STATIC,
  PR_SYSTEM,
  P_PRES,
  type Simulator,
} from '../src/index.js';
import { dirtyAllFreeFrames, expectFailure, expectUnchanged, faultOf, frameNumber, pte, ptes, query, simulatorsClosedAfterEach } from './helpers.js';

const sims = simulatorsClosedAfterEach();
let sim: Simulator;

async function boot(memory = 1 << 20): Promise<Simulator> {
  sim = await sims.make({ memory, pager: 'off', seed: 7 });
  return sim;
}

const allZero = (bytes: Uint8Array): boolean => bytes.every((b) => b === 0);
const pattern = (len: number, seed: number): Uint8Array => Uint8Array.from({ length: len }, (_, i) => (i * 31 + seed) & 0xff);

const sysAlloc = (n: number, flags = 0): number => sim.vmm.pageAllocate(n, PG_SYS, 0, 0, 0, 0, null, flags);

describe('_PageAllocate: where blocks go', () => {
  it('PG_SYS blocks are page-aligned, committed blocks in the system arena (0xC0000000 and up)', async () => {
    await boot();
    const lin = sysAlloc(3);
    expect(sim.vmm.lastError).toBeNull();
    expect(lin).toBeGreaterThanOrEqual(MINSYSTEMLADDR);
    expect(lin + 3 * 4096 - 1).toBeLessThanOrEqual(MAXSYSTEMLADDR);
    expect(lin & 0xfff).toBe(0);
    expect(sim.vmm.pageCheckLinRange(lin >>> 12, 3, 0)).toBe(3);
    expect(sim.vmm.pageGetSizeAddr(lin, 0)).toBe(3);
    const mbi = query(sim, lin);
    expect(mbi[1]).toBe(lin); // mbi_AllocationBase
    expect(mbi[4]).toBe(MEM_COMMIT);
  });

  it('PG_VM and PG_HOOKED blocks need the VM handle and land in the shared arena 0x80000000–0xBFFFFFFF', async () => {
    await boot();
    const vm = sim.vmm.getSysVMHandle();
    expect(vm).not.toBe(0);
    for (const type of [PG_VM, PG_HOOKED]) {
      const lin = sim.vmm.pageAllocate(2, type, vm, 0, 0, 0, null, 0);
      expect(sim.vmm.lastError).toBeNull();
      expect(lin).toBeGreaterThanOrEqual(MINSHAREDLADDR);
      expect(lin + 2 * 4096 - 1).toBeLessThanOrEqual(MAXSHAREDLADDR);
      expect(sim.vmm.pageCheckLinRange(lin >>> 12, 2, 0)).toBe(2);
    }
  });

  it('PG_VM without a VM handle, and PG_SYS with one, fail with invalid-vm and change nothing', async () => {
    await boot();
    const vm = sim.vmm.getSysVMHandle();
    expectUnchanged(sim, () => {
      expectFailure(sim, sim.vmm.pageAllocate(1, PG_VM, 0, 0, 0, 0, null, 0), 0, '_PageAllocate', 'invalid-vm');
      expectFailure(sim, sim.vmm.pageAllocate(1, PG_HOOKED, 0x1234, 0, 0, 0, null, 0), 0, '_PageAllocate', 'invalid-vm');
      expectFailure(sim, sim.vmm.pageAllocate(1, PG_SYS, vm, 0, 0, 0, null, 0), 0, '_PageAllocate', 'invalid-vm');
    });
  });

  it('only PG_VM, PG_SYS and PG_HOOKED are valid page types', async () => {
    await boot();
    const vm = sim.vmm.getSysVMHandle();
    for (const type of [PG_RESERVED1, PG_PRIVATE, PG_INSTANCE, 0xffffffff]) {
      expectFailure(sim, sim.vmm.pageAllocate(1, type, vm, 0, 0, 0, null, 0), 0, '_PageAllocate', 'invalid-page-type');
    }
  });

  it('returns the same address in EAX and in the EDX out-array; EDX is 0 on failure', async () => {
    await boot();
    const edx = Uint32Array.of(0xdeadbeef);
    const lin = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, 0, edx);
    expect(lin).not.toBe(0);
    expect(edx[0]).toBe(lin);
    edx[0] = 0xdeadbeef;
    expect(sim.vmm.pageAllocate(0, PG_SYS, 0, 0, 0, 0, null, 0, edx)).toBe(0);
    expect(edx[0]).toBe(0);
  });

  it('nPages = 0 is invalid (zero-count)', async () => {
    await boot();
    expectFailure(sim, sysAlloc(0), 0, '_PageAllocate', 'zero-count');
  });

  it('successive blocks do not overlap', async () => {
    await boot();
    const a = sysAlloc(3);
    const b = sysAlloc(2);
    expect(b >= a + 3 * 4096 || b + 2 * 4096 <= a).toBe(true);
  });
});

describe('_PageAllocate: flags', () => {
  for (const [flags, what] of [
    [PAGEZEROINIT, 'PAGEZEROINIT zeroes a swappable block'],
    [PAGEZEROINIT | PAGEFIXED, 'PAGEZEROINIT|PAGEFIXED zeroes a fixed block'],
  ] as const) {
    it(`${what} even when every free frame held garbage`, async () => {
      await boot();
      dirtyAllFreeFrames(sim);
      const lin = sysAlloc(4, flags);
      expect(allZero(sim.cpu.readBytes(lin, 4 * 4096))).toBe(true);
    });
  }

  it('without PAGELOCKED/PAGEFIXED the pages are not present until first touched', async () => {
    await boot();
    const lin = sysAlloc(2);
    const page = lin >>> 12;
    expect(ptes(sim, page, 2).map((e) => e & P_PRES)).toEqual([0, 0]);
    sim.cpu.read8(lin);
    expect(pte(sim, page) & P_PRES).toBe(P_PRES);
    expect(pte(sim, page + 1) & P_PRES).toBe(0);
  });

  it('PAGEFIXED pages are present at once and keep their frames through a pager pass and an unlock', async () => {
    await boot();
    const lin = sysAlloc(3, PAGEFIXED);
    const page = lin >>> 12;
    const before = ptes(sim, page, 3);
    expect(before.every((e) => (e & P_PRES) !== 0)).toBe(true);
    // Lock/unlock calls on fixed pages have no effect (§1.7): an unlock neither fails nor releases.
    expect(sim.vmm.pageUnLock(lin, 3, 0, 0)).toBe(1);
    sim.pager.pass();
    expect(ptes(sim, page, 3).map(frameNumber)).toEqual(before.map(frameNumber));
    expect(ptes(sim, page, 3).every((e) => (e & P_PRES) !== 0)).toBe(true);
  });

  it('a plain swappable page does move or leave on a pager pass (the contrast to PAGEFIXED/PAGELOCKED)', async () => {
    await boot();
    const lin = sysAlloc(1);
    sim.cpu.write8(lin, 1);
    const e0 = pte(sim, lin >>> 12);
    sim.pager.pass();
    const e1 = pte(sim, lin >>> 12);
    expect((e1 & P_PRES) === 0 || frameNumber(e1) !== frameNumber(e0)).toBe(true);
  });

  it('PAGELOCKED pages are present and locked once: one unlock succeeds, a second finds nothing locked', async () => {
    await boot();
    const lin = sysAlloc(2, PAGELOCKED);
    const page = lin >>> 12;
    const locked = ptes(sim, page, 2);
    expect(locked.every((e) => (e & P_PRES) !== 0)).toBe(true);
    sim.pager.pass();
    expect(ptes(sim, page, 2)).toEqual(locked);
    expect(sim.vmm.pageUnLock(lin, 2, 0, 0)).toBe(1);
    expectFailure(sim, sim.vmm.pageUnLock(lin, 2, 0, 0), 0, '_PageUnLock', 'not-locked');
    sim.pager.pass();
    const after = ptes(sim, page, 2);
    for (let i = 0; i < 2; i++) expect((after[i]! & P_PRES) === 0 || frameNumber(after[i]!) !== frameNumber(locked[i]!)).toBe(true);
  });

  it('PAGELOCKEDIFDP locks nothing when the pager does not use MS-DOS paging (§1.11)', async () => {
    await boot();
    const lin = sysAlloc(1, PAGELOCKEDIFDP);
    expect(lin).not.toBe(0);
    expect(pte(sim, lin >>> 12) & P_PRES).toBe(0);
    expectFailure(sim, sim.vmm.pageUnLock(lin, 1, 0, 0), 0, '_PageUnLock', 'not-locked');
  });

  it('PAGELOCKED and PAGELOCKEDIFDP together are rejected (invalid-flags), changing nothing', async () => {
    await boot();
    expectUnchanged(sim, () => expectFailure(sim, sysAlloc(1, PAGELOCKED | PAGELOCKEDIFDP), 0, '_PageAllocate', 'invalid-flags'));
  });

  it('PAGEUSEALIGN requires PAGEFIXED (invalid-flags), changing nothing', async () => {
    await boot();
    expectUnchanged(sim, () => {
      expectFailure(sim, sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0x100, null, PAGEUSEALIGN), 0, '_PageAllocate', 'invalid-flags');
      expectFailure(sim, sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0x100, null, PAGEUSEALIGN | PAGECONTIG | PAGELOCKED), 0, '_PageAllocate', 'invalid-flags');
    });
  });

  it('AlignMask, minPhys and maxPhys are ignored without PAGEUSEALIGN', async () => {
    await boot();
    const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0x1234, 9, 3, null, PAGEFIXED);
    expect(sim.vmm.lastError).toBeNull();
    expect(lin).not.toBe(0);
  });

  it('PAGEUSEALIGN|PAGECONTIG|PAGEFIXED: contiguous, aligned, inside [minPhys, maxPhys), PhysAddr = first frame', async () => {
    await boot();
    sysAlloc(3, PAGEFIXED); // so the lowest free frame is not 64 KiB aligned
    const phys = Uint32Array.of(0xdeadbeef);
    const lin = sim.vmm.pageAllocate(4, PG_SYS, 0, 0x0f, 0x20, 0x60, phys, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED);
    expect(sim.vmm.lastError).toBeNull();
    const frames = ptes(sim, lin >>> 12, 4).map(frameNumber);
    expect(frames[0]! * 4096).toBe(phys[0]);
    expect(frames).toEqual([0, 1, 2, 3].map((i) => frames[0]! + i));
    expect(frames[0]! & 0x0f).toBe(0);
    expect(frames[0]!).toBeGreaterThanOrEqual(0x20);
    expect(frames[3]!).toBeLessThan(0x60);
  });

  it('PAGEUSEALIGN with an impossible physical window fails with insufficient-memory, changing nothing', async () => {
    await boot();
    // 8 pages 64 KiB-aligned inside [0x20, 0x28) would need 0x20…0x27 and more: 8 fit, 9 do not.
    expectUnchanged(sim, () =>
      expectFailure(sim, sim.vmm.pageAllocate(9, PG_SYS, 0, 0x0f, 0x20, 0x28, null, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED), 0, '_PageAllocate', 'insufficient-memory'),
    );
    expect(sim.vmm.pageAllocate(8, PG_SYS, 0, 0x0f, 0x20, 0x28, null, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED)).not.toBe(0);
  });

  it('PAGEUSEALIGN rejects align masks that are not 2^k − 1 (invalid-align-mask)', async () => {
    await boot();
    for (const mask of [0x05, 0x10, 0x1e]) {
      expectFailure(sim, sim.vmm.pageAllocate(1, PG_SYS, 0, mask, 0, 0x100, null, PAGEUSEALIGN | PAGEFIXED), 0, '_PageAllocate', 'invalid-align-mask');
    }
  });

  it('PAGEUSEALIGN rejects minPhys ≥ maxPhys (invalid-phys-range)', async () => {
    await boot();
    expectFailure(sim, sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0x80, 0x80, null, PAGEUSEALIGN | PAGEFIXED), 0, '_PageAllocate', 'invalid-phys-range');
  });

  it('PAGECONTIG is ignored without PAGEUSEALIGN: with no two free frames adjacent, it still succeeds', async () => {
    await boot();
    // Fragment RAM: one fixed page per free frame, then free every other one.
    const n = sim.vmm.getFreePageCount(0);
    const pages = Array.from({ length: n }, () => sysAlloc(1, PAGEFIXED));
    const byFrame = pages.map((lin) => ({ lin, frame: frameNumber(pte(sim, lin >>> 12)) })).sort((x, y) => x.frame - y.frame);
    byFrame.forEach(({ lin, frame }) => {
      if (frame % 2 === 0) expect(sim.vmm.pageFree(lin, 0)).toBe(1);
    });
    expectFailure(sim, sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0x100, null, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED), 0, '_PageAllocate', 'insufficient-memory');
    const lin = sysAlloc(2, PAGECONTIG | PAGEFIXED);
    expect(sim.vmm.lastError).toBeNull();
    const [f0, f1] = ptes(sim, lin >>> 12, 2).map(frameNumber) as [number, number];
    expect(Math.abs(f1 - f0)).not.toBe(1);
  });

  it('PhysAddr is written only when both PAGEUSEALIGN and PAGECONTIG are given', async () => {
    await boot();
    const phys = Uint32Array.of(0xa5a5a5a5);
    for (const flags of [0, PAGEFIXED, PAGEFIXED | PAGECONTIG, PAGEFIXED | PAGEUSEALIGN, PAGELOCKED | PAGECONTIG]) {
      const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0x100, phys, flags);
      expect(lin).not.toBe(0);
      expect(phys[0]).toBe(0xa5a5a5a5);
    }
    const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0x100, phys, PAGEFIXED | PAGEUSEALIGN | PAGECONTIG);
    expect(phys[0]).toBe(frameNumber(pte(sim, lin >>> 12)) * 4096);
  });

  it('PhysAddr is left alone when the call fails', async () => {
    await boot();
    const phys = Uint32Array.of(0xa5a5a5a5);
    expectFailure(sim, sim.vmm.pageAllocate(0x200, PG_SYS, 0, 0, 0, 0x100, phys, PAGEFIXED | PAGEUSEALIGN | PAGECONTIG), 0, '_PageAllocate', 'insufficient-memory');
    expect(phys[0]).toBe(0xa5a5a5a5);
  });

  it('PAGEUSEALIGN without PAGECONTIG still honours the alignment and the window (documented: served contiguously)', async () => {
    await boot();
    sysAlloc(1, PAGEFIXED);
    const lin = sim.vmm.pageAllocate(3, PG_SYS, 0, 0x07, 0x30, 0x40, null, PAGEUSEALIGN | PAGEFIXED);
    expect(sim.vmm.lastError).toBeNull();
    const frames = ptes(sim, lin >>> 12, 3).map(frameNumber);
    expect(frames[0]! & 0x07).toBe(0);
    for (const f of frames) {
      expect(f).toBeGreaterThanOrEqual(0x30);
      expect(f).toBeLessThan(0x40);
    }
  });

  it('PhysAddr may be null (ignored) even with PAGEUSEALIGN|PAGECONTIG', async () => {
    await boot();
    expect(sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0x100, null, PAGEFIXED | PAGEUSEALIGN | PAGECONTIG)).not.toBe(0);
    expect(sim.vmm.lastError).toBeNull();
  });

  it('maxPhys = 0xFFFFFFFF is taken as 0x1000, i.e. below 16 MiB (KB Q180579)', async () => {
    await boot(32 << 20); // 0x2000 frames: RAM above 16 MiB exists
    const flags = PAGEUSEALIGN | PAGECONTIG | PAGEFIXED;
    const phys = new Uint32Array(1);
    // 8 pages from frame 0xFFC up: they would fit below 0x2000, not below 0x1000.
    expectUnchanged(sim, () => expectFailure(sim, sim.vmm.pageAllocate(8, PG_SYS, 0, 0, 0xffc, 0xffffffff, phys, flags), 0, '_PageAllocate', 'insufficient-memory'));
    // minPhys 0x1000 with the remapped maximum is an empty window.
    expectFailure(sim, sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0x1000, 0xffffffff, phys, flags), 0, '_PageAllocate', 'invalid-phys-range');
    // The largest meaningful value, 0x100000 (4 GiB), is not remapped.
    const lin = sim.vmm.pageAllocate(8, PG_SYS, 0, 0, 0xffc, 0x100000, phys, flags);
    expect(lin).not.toBe(0);
    expect(phys[0]).toBeGreaterThanOrEqual(0xffc * 4096);
    // And "-1" with no minimum hands out memory below 16 MiB.
    expect(sim.vmm.pageAllocate(4, PG_SYS, 0, 0, 0, 0xffffffff, phys, flags)).not.toBe(0);
    expect(phys[0]! + 4 * 4096).toBeLessThanOrEqual(0x1000000);
  });

  it('flag bits outside the allocator set are reserved', async () => {
    await boot();
    for (const flags of [PAGEZEROREINIT, PAGENOCOPY, 0x10, 0x80000000]) {
      expectFailure(sim, sysAlloc(1, flags), 0, '_PageAllocate', 'reserved-flags');
    }
  });
});

describe('_PageFree', () => {
  it('frees the whole block: its frames return, the size query fails and touching it faults', async () => {
    await boot();
    const free0 = sim.vmm.getFreePageCount(0);
    const lin = sysAlloc(3, PAGEFIXED);
    expect(sim.vmm.getFreePageCount(0)).toBe(free0 - 3);
    expect(sim.vmm.pageFree(lin, 0)).toBe(1);
    expect(sim.vmm.lastError).toBeNull();
    expect(sim.vmm.getFreePageCount(0)).toBe(free0);
    expectFailure(sim, sim.vmm.pageGetSizeAddr(lin, 0), 0, '_PageGetSizeAddr', 'not-a-block');
    expect(faultOf(() => sim.cpu.read8(lin))).toBe('free');
    expect(faultOf(() => sim.cpu.read8(lin + 2 * 4096))).toBe('free');
  });

  it('only a block base is a handle: interior and unaligned addresses fail (not-a-block), changing nothing', async () => {
    await boot();
    const lin = sysAlloc(3);
    expectUnchanged(sim, () => {
      expectFailure(sim, sim.vmm.pageFree(lin + 4096, 0), 0, '_PageFree', 'not-a-block');
      expectFailure(sim, sim.vmm.pageFree(lin + 1, 0), 0, '_PageFree', 'not-a-block');
      expectFailure(sim, sim.vmm.pageFree(lin >>> 12, 0), 0, '_PageFree', 'not-a-block'); // a page number is not a handle
    });
    expect(sim.vmm.pageGetSizeAddr(lin, 0)).toBe(3);
  });

  it('freeing twice fails the second time', async () => {
    await boot();
    const lin = sysAlloc(1);
    expect(sim.vmm.pageFree(lin, 0)).toBe(1);
    expectFailure(sim, sim.vmm.pageFree(lin, 0), 0, '_PageFree', 'not-a-block');
  });

  it('a PR_STATIC block is freed only with PR_STATIC as the key', async () => {
    await boot();
    const lin = sim.vmm.pageReserve(PR_SYSTEM, 2, PR_STATIC);
    expectUnchanged(sim, () => expectFailure(sim, sim.vmm.pageFree(lin, 0), 0, '_PageFree', 'static-block'));
    expect(sim.vmm.pageFree(lin, PR_STATIC)).toBe(1);
    expect(sim.vmm.pageGetSizeAddr(lin, 0)).toBe(0);
  });

  it('PR_STATIC is accepted on an ordinary block; any other flag bit is reserved', async () => {
    await boot();
    const a = sysAlloc(1);
    expectFailure(sim, sim.vmm.pageFree(a, 1), 0, '_PageFree', 'reserved-flags');
    expectFailure(sim, sim.vmm.pageFree(a, PR_FIXED), 0, '_PageFree', 'reserved-flags');
    expect(sim.vmm.pageFree(a, PR_STATIC)).toBe(1);
  });

  it('freeing wholly or partly locked memory is allowed and releases every frame', async () => {
    await boot();
    const free0 = sim.vmm.getFreePageCount(0);
    const a = sysAlloc(2, PAGELOCKED);
    const b = sysAlloc(3);
    expect(sim.vmm.linPageLock((b >>> 12) + 1, 1, 0)).toBe(1);
    expect(sim.vmm.linPageLock((b >>> 12) + 1, 1, 0)).toBe(1);
    expect(sim.vmm.pageFree(a, 0)).toBe(1);
    expect(sim.vmm.pageFree(b, 0)).toBe(1);
    expect(sim.vmm.getFreePageCount(0)).toBe(free0);
  });

  it('frees a reserve-only block and a sparsely committed one', async () => {
    await boot();
    const r = sim.vmm.pageReserve(PR_SYSTEM, 4, 0);
    expect(sim.vmm.pageFree(r, 0)).toBe(1);
    const s = sim.vmm.pageReserve(PR_SYSTEM, 4, 0);
    expect(sim.vmm.pageCommit((s >>> 12) + 2, 1, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1);
    expect(sim.vmm.pageFree(s, 0)).toBe(1);
    expect(faultOf(() => sim.cpu.read8(s + 2 * 4096))).toBe('free');
  });
});

describe('_PageReAllocate', () => {
  it('grows in place when the pages after the block are free, keeping the contents', async () => {
    await boot();
    const lin = sysAlloc(2);
    const data = pattern(2 * 4096, 1);
    sim.cpu.writeBytes(lin, data);
    const edx = new Uint32Array(1);
    const r = sim.vmm.pageReAllocate(lin, 4, 0, edx);
    expect(r).toBe(lin);
    expect(edx[0]).toBe(lin);
    expect(sim.vmm.pageGetSizeAddr(lin, 0)).toBe(4);
    expect(sim.vmm.pageCheckLinRange(lin >>> 12, 4, 0)).toBe(4);
    expect(sim.cpu.readBytes(lin, 2 * 4096)).toEqual(data);
  });

  it('shrinking keeps the address and the reserved size (per _PageGetSizeAddr) but decommits the tail', async () => {
    await boot();
    const lin = sysAlloc(4);
    sim.cpu.writeBytes(lin, pattern(4096, 2));
    expect(sim.vmm.pageReAllocate(lin, 2, 0)).toBe(lin);
    expect(sim.vmm.pageGetSizeAddr(lin, 0)).toBe(4);
    expect(sim.vmm.pageCheckLinRange(lin >>> 12, 4, 0)).toBe(2);
    expect(faultOf(() => sim.cpu.read8(lin + 2 * 4096))).toBe('reserved');
    expect(sim.cpu.readBytes(lin, 4096)).toEqual(pattern(4096, 2));
    // Growing back within the reservation stays in place.
    expect(sim.vmm.pageReAllocate(lin, 3, 0)).toBe(lin);
    expect(sim.vmm.pageCheckLinRange(lin >>> 12, 4, 0)).toBe(3);
  });

  it('moves the block when it cannot grow in place, preserving contents (also of paged-out pages) and freeing the old one', async () => {
    await boot();
    const a = sysAlloc(2);
    const b = sysAlloc(1);
    expect(b).toBe(a + 2 * 4096); // the neighbour that blocks growth
    const data = pattern(2 * 4096, 3);
    sim.cpu.writeBytes(a, data);
    sim.cpu.writeBytes(b, pattern(4096, 4));
    sim.pager.pass(); // some of a's pages now live only in the backing store or in other frames
    const edx = new Uint32Array(1);
    const r = sim.vmm.pageReAllocate(a, 4, 0, edx);
    expect(sim.vmm.lastError).toBeNull();
    expect(r).not.toBe(0);
    expect(r).not.toBe(a);
    expect(edx[0]).toBe(r);
    expect(sim.cpu.readBytes(r, 2 * 4096)).toEqual(data);
    expect(sim.vmm.pageCheckLinRange(r >>> 12, 4, 0)).toBe(4);
    expect(sim.vmm.pageGetSizeAddr(a, 0)).toBe(0);
    expect(faultOf(() => sim.cpu.read8(a))).toBe('free');
    expect(sim.cpu.readBytes(b, 4096)).toEqual(pattern(4096, 4));
  });

  it('a moved block keeps its locks and, for locked pages, its physical frames (§1.8: locked pages do not move)', async () => {
    await boot();
    const a = sysAlloc(2, PAGELOCKED);
    expect(sysAlloc(1)).toBe(a + 2 * 4096);
    const frames = ptes(sim, a >>> 12, 2).map(frameNumber);
    const r = sim.vmm.pageReAllocate(a, 3, 0);
    expect(r).not.toBe(0);
    expect(r).not.toBe(a);
    expect(ptes(sim, r >>> 12, 2).map(frameNumber)).toEqual(frames);
    sim.pager.pass();
    expect(ptes(sim, r >>> 12, 2).map(frameNumber)).toEqual(frames);
    expect(sim.vmm.pageUnLock(r, 2, 0, 0)).toBe(1);
    expectFailure(sim, sim.vmm.pageUnLock(r, 2, 0, 0), 0, '_PageUnLock', 'not-locked');
  });

  it('a PG_VM block moves within the shared arena and keeps user-accessible pages', async () => {
    await boot();
    const vm = sim.vmm.getSysVMHandle();
    const a = sim.vmm.pageAllocate(1, PG_VM, vm, 0, 0, 0, null, 0);
    expect(sim.vmm.pageAllocate(1, PG_VM, vm, 0, 0, 0, null, 0)).toBe(a + 4096);
    const r = sim.vmm.pageReAllocate(a, 3, 0);
    expect(r).toBeGreaterThanOrEqual(MINSHAREDLADDR);
    expect(r + 3 * 4096 - 1).toBeLessThanOrEqual(MAXSHAREDLADDR);
    const mbi = query(sim, r);
    expect(mbi[3]).toBe(3 * 4096); // one region: the new pages got the block's permissions
    expect(mbi[5]).toBe(PAGE_READWRITE);
  });

  it('a block at the end of its arena moves rather than grow across the arena boundary or into the invalid region', async () => {
    await boot();
    for (const [page, lo, hi] of [
      [0xbfffe, MINSHAREDLADDR, MAXSHAREDLADDR],
      [0xffbfe, MINSYSTEMLADDR, MAXSYSTEMLADDR],
    ] as const) {
      const lin = sim.vmm.pageReserve(page, 2, 0);
      expect(lin).toBe(page * 4096);
      expect(sim.vmm.pageCommit(page, 2, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1);
      sim.cpu.write32(lin + 4096, 0xc0ffee);
      const r = sim.vmm.pageReAllocate(lin, 3, 0);
      expect(sim.vmm.lastError).toBeNull();
      expect(r).not.toBe(lin);
      expect(r).toBeGreaterThanOrEqual(lo);
      expect(r + 3 * 4096 - 1).toBeLessThanOrEqual(hi);
      expect(sim.cpu.read32(r + 4096)).toBe(0xc0ffee);
    }
  });

  for (const [allocFlags, title] of [
    [0, 'PAGEZEROINIT zeroes only the new pages'],
    [PAGEFIXED, 'PAGEZEROINIT zeroes the new pages of a fixed block too'],
  ] as const) {
    it(title, async () => {
      await boot();
      dirtyAllFreeFrames(sim);
      const lin = sysAlloc(1, allocFlags);
      sim.cpu.writeBytes(lin, new Uint8Array(4096).fill(0x5a));
      expect(sim.vmm.pageReAllocate(lin, 3, PAGEZEROINIT)).toBe(lin);
      expect(sim.cpu.readBytes(lin, 4096).every((x) => x === 0x5a)).toBe(true);
      expect(allZero(sim.cpu.readBytes(lin + 4096, 2 * 4096))).toBe(true);
    });
  }

  it('PAGEZEROREINIT zeroes every page, old (present or paged out) and new', async () => {
    await boot();
    dirtyAllFreeFrames(sim);
    const lin = sysAlloc(3);
    sim.cpu.writeBytes(lin, new Uint8Array(3 * 4096).fill(0x77));
    expect(sim.vmm.linPageLock(lin >>> 12, 1, 0)).toBe(1); // page 0 stays present
    sim.pager.pass(); // pages 1 and 2 are moved or paged out
    expect(sim.vmm.pageReAllocate(lin, 5, PAGEZEROREINIT)).toBe(lin);
    expect(allZero(sim.cpu.readBytes(lin, 5 * 4096))).toBe(true);
  });

  it('without PAGEZEROREINIT the old contents survive a pager pass and a grow', async () => {
    await boot();
    const lin = sysAlloc(3);
    const data = pattern(3 * 4096, 9);
    sim.cpu.writeBytes(lin, data);
    sim.pager.pass();
    expect(sim.vmm.pageReAllocate(lin, 4, 0)).toBe(lin);
    expect(sim.cpu.readBytes(lin, 3 * 4096)).toEqual(data);
  });

  it('a PAGEFIXED block grows in place with fixed (present) pages', async () => {
    await boot();
    const lin = sysAlloc(1, PAGEFIXED);
    expect(sim.vmm.pageReAllocate(lin, 3, 0)).toBe(lin);
    expect(ptes(sim, lin >>> 12, 3).every((e) => (e & P_PRES) !== 0)).toBe(true);
  });

  it('a PAGEFIXED block that cannot grow in place fails (fixed-block) rather than move, changing nothing', async () => {
    await boot();
    const a = sysAlloc(2, PAGEFIXED);
    const b = sysAlloc(1);
    expect(b).toBe(a + 2 * 4096);
    sim.cpu.writeBytes(a, pattern(2 * 4096, 5));
    const edx = Uint32Array.of(1);
    expectUnchanged(sim, () => {
      expectFailure(sim, sim.vmm.pageReAllocate(a, 4, 0, edx), 0, '_PageReAllocate', 'fixed-block');
      expect(edx[0]).toBe(0);
    });
    expect(sim.vmm.pageGetSizeAddr(a, 0)).toBe(2);
    expect(sim.cpu.readBytes(a, 2 * 4096)).toEqual(pattern(2 * 4096, 5));
  });

  it('a PR_FIXED reservation that cannot grow in place fails (fixed-block) rather than move', async () => {
    await boot();
    const a = sim.vmm.pageReserve(PR_SYSTEM, 2, PR_FIXED);
    expect(sim.vmm.pageCommit(a >>> 12, 2, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1);
    expect(sim.vmm.pageReserve((a >>> 12) + 2, 1, 0)).toBe(a + 2 * 4096);
    expectUnchanged(sim, () => expectFailure(sim, sim.vmm.pageReAllocate(a, 3, 0), 0, '_PageReAllocate', 'fixed-block'));
  });

  it('a PAGEUSEALIGN block always fails (aligned-block), growing or shrinking', async () => {
    await boot();
    const lin = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0x100, null, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED);
    expectUnchanged(sim, () => {
      expectFailure(sim, sim.vmm.pageReAllocate(lin, 3, 0), 0, '_PageReAllocate', 'aligned-block');
      expectFailure(sim, sim.vmm.pageReAllocate(lin, 1, 0), 0, '_PageReAllocate', 'aligned-block');
    });
  });

  it('a PR_STATIC block always fails (static-block)', async () => {
    await boot();
    const lin = sim.vmm.pageReserve(PR_SYSTEM, 2, PR_STATIC);
    expectFailure(sim, sim.vmm.pageReAllocate(lin, 3, 0), 0, '_PageReAllocate', 'static-block');
  });

  it('a reserve-only block can be grown (and thereby committed)', async () => {
    await boot();
    const lin = sim.vmm.pageReserve(PR_SYSTEM, 2, 0);
    expect(sim.vmm.pageReAllocate(lin, 3, PAGEZEROINIT)).toBe(lin);
    expect(sim.vmm.pageCheckLinRange(lin >>> 12, 3, 0)).toBe(3);
    expect(allZero(sim.cpu.readBytes(lin, 3 * 4096))).toBe(true);
  });

  it('a block whose committed pages are not one run from the base fails (not-contiguous)', async () => {
    await boot();
    const lin = sim.vmm.pageReserve(PR_SYSTEM, 4, 0);
    expect(sim.vmm.pageCommit(lin >>> 12, 1, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1);
    expect(sim.vmm.pageCommit((lin >>> 12) + 2, 1, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1);
    expectUnchanged(sim, () => expectFailure(sim, sim.vmm.pageReAllocate(lin, 4, 0), 0, '_PageReAllocate', 'not-contiguous'));
  });

  it('nPages = 0 is not a free (zero-count); a non-handle is not-a-block; PAGELOCKED|PAGELOCKEDIFDP is invalid', async () => {
    await boot();
    const lin = sysAlloc(2);
    expectUnchanged(sim, () => {
      expectFailure(sim, sim.vmm.pageReAllocate(lin, 0, 0), 0, '_PageReAllocate', 'zero-count');
      expectFailure(sim, sim.vmm.pageReAllocate(lin + 4096, 3, 0), 0, '_PageReAllocate', 'not-a-block');
      expectFailure(sim, sim.vmm.pageReAllocate(lin, 3, PAGELOCKED | PAGELOCKEDIFDP), 0, '_PageReAllocate', 'invalid-flags');
      expectFailure(sim, sim.vmm.pageReAllocate(lin, 3, PAGEFIXED), 0, '_PageReAllocate', 'reserved-flags');
    });
  });

  it('PAGELOCKED locks the new pages (they are present and one unlock each succeeds)', async () => {
    await boot();
    const lin = sysAlloc(1);
    expect(sim.vmm.pageReAllocate(lin, 3, PAGELOCKED)).toBe(lin);
    expect(ptes(sim, (lin >>> 12) + 1, 2).every((e) => (e & P_PRES) !== 0)).toBe(true);
    expect(sim.vmm.pageUnLock(lin, 2, 1, 0)).toBe(1);
  });
});

describe('_PageGetSizeAddr', () => {
  it('returns the reserved page count in EAX and the block address in EDX', async () => {
    await boot();
    const a = sysAlloc(5);
    const r = sim.vmm.pageReserve(PR_SYSTEM, 7, 0);
    const edx = new Uint32Array(1);
    expect(sim.vmm.pageGetSizeAddr(a, 0, edx)).toBe(5);
    expect(edx[0]).toBe(a);
    expect(sim.vmm.pageGetSizeAddr(r, 0, edx)).toBe(7);
    expect(edx[0]).toBe(r);
    expect(sim.vmm.lastError).toBeNull();
  });

  it('counts reserved, not committed, pages', async () => {
    await boot();
    const r = sim.vmm.pageReserve(PR_SYSTEM, 6, 0);
    expect(sim.vmm.pageCommit(r >>> 12, 2, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1);
    expect(sim.vmm.pageGetSizeAddr(r, 0)).toBe(6);
  });

  it('an address that is not a block base gives EAX = EDX = 0 (not-a-block)', async () => {
    await boot();
    const a = sysAlloc(2);
    const edx = Uint32Array.of(0x1234);
    expectFailure(sim, sim.vmm.pageGetSizeAddr(a + 4096, 0, edx), 0, '_PageGetSizeAddr', 'not-a-block');
    expect(edx[0]).toBe(0);
    expectFailure(sim, sim.vmm.pageGetSizeAddr(0xc0400000, 0), 0, '_PageGetSizeAddr', 'not-a-block');
  });

  it('flags must be 0', async () => {
    await boot();
    const a = sysAlloc(2);
    expectFailure(sim, sim.vmm.pageGetSizeAddr(a, 1), 0, '_PageGetSizeAddr', 'reserved-flags');
  });
});
