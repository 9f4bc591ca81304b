/**
 * Aligned, contiguous, fixed DMA buffers (spec §1.12, §4.9, §4.15, §6.2 item 1):
 * _PageAllocate(PAGEUSEALIGN|PAGECONTIG|PAGEFIXED) and _PageCommitContig give physically contiguous
 * frames whose first frame number has the AlignMask bits clear, all inside [minPhys, maxPhys);
 * PhysAddr receives the base. Impossible requests fail with insufficient-memory and change nothing.
 */

import { describe, expect, it } from 'vitest';
import {
  P_PRES,
  PAGECONTIG,
  PAGEFIXED,
  PAGEUSEALIGN,
  PAGEZEROINIT,
  PC_WRITEABLE,
  PCC_ZEROINIT,
  PG_SYS,
  PR_SYSTEM,
  type Simulator,
} from '../src/index.js';
import { expectUnchanged, frameNumber, ptes, query, simulatorsClosedAfterEach } from './helpers.js';

const DMA_FLAGS = PAGEUSEALIGN | PAGECONTIG | PAGEFIXED;

const sims = simulatorsClosedAfterEach();

/** Frame numbers of n pages (all must be present). */
function frameNumbers(s: Simulator, page: number, n: number): number[] {
  return ptes(s, page, n).map((e) => {
    expect(e & P_PRES).toBe(P_PRES);
    return frameNumber(e);
  });
}

function expectContiguous(fs: number[]): void {
  fs.forEach((f, i) => expect(f).toBe(fs[0]! + i));
}

/** Fragments low memory: a few single fixed frames so the first free frame is not aligned. */
function fragment(s: Simulator, n: number): void {
  for (let i = 0; i < n; i++) {
    expect(s.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED)).not.toBe(0);
  }
}

describe('_PageAllocate(PAGEUSEALIGN | PAGECONTIG | PAGEFIXED)', () => {
  for (const mask of [0x0f, 0x1f]) {
    it(`is aligned (mask 0x${mask.toString(16)}), contiguous, in range, and writes PhysAddr`, async () => {
      const sim = await sims.make({ pager: 'aggressive', seed: mask });
      fragment(sim, 3);
      const phys = new Uint32Array([0xdeadbeef]);
      const n = mask + 1;
      const lin = sim.vmm.pageAllocate(n, PG_SYS, 0, mask, 0, 0x1000, phys, DMA_FLAGS | PAGEZEROINIT);
      expect(sim.vmm.lastError).toBeNull();
      expect(lin).not.toBe(0);
      const fs = frameNumbers(sim, lin >>> 12, n);
      expect(fs[0]! & mask).toBe(0);
      expectContiguous(fs);
      fs.forEach((f) => expect(f).toBeLessThan(0x1000));
      expect(phys[0]).toBe(fs[0]! * 4096);
      expect(sim.cpu.readBytes(lin, n * 4096)).toEqual(new Uint8Array(n * 4096));
    });
  }

  it('honours minPhys that is not itself aligned: the start rounds up', async () => {
    const sim = await sims.make({ pager: 'off' });
    const phys = new Uint32Array(1);
    const lin = sim.vmm.pageAllocate(8, PG_SYS, 0, 0x1f, 0x21, 0x1000, phys, DMA_FLAGS);
    expect(sim.vmm.lastError).toBeNull();
    const fs = frameNumbers(sim, lin >>> 12, 8);
    expect(fs[0]).toBe(0x40);
    expectContiguous(fs);
    expect(phys[0]).toBe(0x40 * 4096);
  });

  it('every page satisfies minPhys <= ppn < maxPhys: a run that just fits at the top', async () => {
    const sim = await sims.make({ pager: 'off' });
    const phys = new Uint32Array(1);
    const lin = sim.vmm.pageAllocate(16, PG_SYS, 0, 0x0f, 0x300, 0x310, phys, DMA_FLAGS);
    expect(sim.vmm.lastError).toBeNull();
    expect(frameNumbers(sim, lin >>> 12, 16)).toEqual(Array.from({ length: 16 }, (_, i) => 0x300 + i));
  });

  it('never places a buffer over frames in use, and successive buffers do not overlap', async () => {
    const sim = await sims.make({ pager: 'off' });
    const seen = new Set<number>();
    for (let k = 0; k < 6; k++) {
      const phys = new Uint32Array(1);
      const lin = sim.vmm.pageAllocate(16, PG_SYS, 0, 0x0f, 0, 0x1000, phys, DMA_FLAGS);
      expect(sim.vmm.lastError).toBeNull();
      for (const f of frameNumbers(sim, lin >>> 12, 16)) {
        expect(seen.has(f)).toBe(false);
        seen.add(f);
      }
      fragment(sim, 1);
    }
  });

  it('PhysAddr is left alone without PAGECONTIG, and a null PhysAddr is fine', async () => {
    const sim = await sims.make({ pager: 'off' });
    const phys = new Uint32Array([0x12345678]);
    const lin = sim.vmm.pageAllocate(4, PG_SYS, 0, 0x03, 0, 0x1000, phys, PAGEUSEALIGN | PAGEFIXED);
    expect(sim.vmm.lastError).toBeNull();
    expect(phys[0]).toBe(0x12345678);
    expect(frameNumbers(sim, lin >>> 12, 4)[0]! & 0x03).toBe(0);
    expect(sim.vmm.pageAllocate(4, PG_SYS, 0, 0x03, 0, 0x1000, null, DMA_FLAGS)).not.toBe(0);
  });

  it('maxPhys = 0xFFFFFFFF is taken as 0x1000 (KB Q180579): fails above 16 MiB where 0x100000 succeeds', async () => {
    const sim = await sims.make({ memory: 64 << 20, pager: 'off' });
    const n = 0x1000 + 16; // more than 16 MiB of frames
    const phys = new Uint32Array(1);
    expectUnchanged(sim, () => {
      expect(sim.vmm.pageAllocate(n, PG_SYS, 0, 0x0f, 0, 0xffffffff, phys, DMA_FLAGS)).toBe(0);
      expect(sim.vmm.lastError?.code).toBe('insufficient-memory');
    });
    const lin = sim.vmm.pageAllocate(n, PG_SYS, 0, 0x0f, 0, 0x100000, phys, DMA_FLAGS);
    expect(sim.vmm.lastError).toBeNull();
    const fs = frameNumbers(sim, lin >>> 12, n);
    expectContiguous(fs);
    expect(phys[0]).toBe(fs[0]! * 4096);
  });

  it('impossible constraints fail with insufficient-memory and change nothing', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 9 });
    fragment(sim, 5);
    const phys = new Uint32Array([0xaaaaaaaa]);
    const free0 = sim.vmm.getFreePageCount(0);
    const cases: [number, number, number, number][] = [
      // [nPages, mask, minPhys, maxPhys]
      [16, 0x0f, 0x100, 0x10f], // the window is one page short
      [17, 0x0f, 0x100, 0x110], // more pages than the window
      [2, 0x1f, 0x101, 0x120], // no 128 KiB boundary inside the window that leaves room
      [0x1001, 0x00, 0, 0x1000], // more than all memory
      [8, 0x0f, 0, 0x10], // the only aligned start (0) holds the nul page / fragment frames
    ];
    for (const [n, mask, lo, hi] of cases) {
      expectUnchanged(sim, () => {
        expect(sim.vmm.pageAllocate(n, PG_SYS, 0, mask, lo, hi, phys, DMA_FLAGS), `${n} ${mask} ${lo} ${hi}`).toBe(0);
        expect(sim.vmm.lastError?.code).toBe('insufficient-memory');
        expect(phys[0]).toBe(0xaaaaaaaa);
      });
    }
    expect(sim.vmm.getFreePageCount(0)).toBe(free0);
  });

  it('invalid alignment masks and an empty window are argument errors, not memory errors', async () => {
    const sim = await sims.make({ pager: 'off' });
    expectUnchanged(sim, () => {
      expect(sim.vmm.pageAllocate(4, PG_SYS, 0, 0x0e, 0, 0x1000, null, DMA_FLAGS)).toBe(0);
      expect(sim.vmm.lastError?.code).toBe('invalid-align-mask');
      expect(sim.vmm.pageAllocate(4, PG_SYS, 0, 0x0f, 0x200, 0x200, null, DMA_FLAGS)).toBe(0);
      expect(sim.vmm.lastError?.code).toBe('invalid-phys-range');
      expect(sim.vmm.pageAllocate(4, PG_SYS, 0, 0x0f, 0, 0x1000, null, PAGEUSEALIGN | PAGECONTIG)).toBe(0);
      expect(sim.vmm.lastError?.code).toBe('invalid-flags'); // PAGEUSEALIGN requires PAGEFIXED
    });
  });

  it('(control) in that state a plain PAGEFIXED allocation of the same size succeeds', async () => {
    const sim = await sims.make({ memory: 1 << 20, pager: 'off' });
    const swap = sim.vmm.pageAllocate(240, PG_SYS, 0, 0, 0, 0, null, 0);
    sim.cpu.writeBytes(swap, new Uint8Array(240 * 4096).fill(0x3c));
    expect(sim.vmm.pageAllocate(16, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED)).not.toBe(0);
    expect(sim.vmm.lastError).toBeNull();
    expect(sim.cpu.readBytes(swap, 240 * 4096)).toEqual(new Uint8Array(240 * 4096).fill(0x3c));
  });

  it('can use frames held by unlocked swappable pages, as a plain PAGEFIXED allocation can', async () => {
    // Memory full of resident but unlocked swappable pages: the pager may take any of them (§1.8),
    // and a plain PAGEFIXED request of the same size succeeds by paging them out; a contiguous one
    // must too.
    const sim = await sims.make({ memory: 1 << 20, pager: 'off' });
    const swap = sim.vmm.pageAllocate(240, PG_SYS, 0, 0, 0, 0, null, 0);
    sim.cpu.writeBytes(swap, new Uint8Array(240 * 4096).fill(0x3c));
    const edx = new Uint32Array(1);
    sim.vmm.getFreePageCount(0, edx);
    expect(edx[0]).toBeGreaterThanOrEqual(240); // "could be allocated locked"
    const phys = new Uint32Array(1);
    const lin = sim.vmm.pageAllocate(16, PG_SYS, 0, 0x0f, 0, 0x100, phys, DMA_FLAGS);
    expect(sim.vmm.lastError).toBeNull();
    expect(lin).not.toBe(0);
    expectContiguous(frameNumbers(sim, lin >>> 12, 16));
    expect(sim.cpu.readBytes(swap, 240 * 4096)).toEqual(new Uint8Array(240 * 4096).fill(0x3c));
  });
});

describe('_PageCommitContig', () => {
  for (const mask of [0x0f, 0x1f]) {
    it(`returns the base physical address of aligned (mask 0x${mask.toString(16)}), contiguous, fixed pages in range`, async () => {
      const sim = await sims.make({ pager: 'aggressive', seed: 40 + mask });
      fragment(sim, 2);
      const n = 20;
      const r = sim.vmm.pageReserve(PR_SYSTEM, n, 0);
      const base = sim.vmm.pageCommitContig(r >>> 12, n, PC_WRITEABLE | PCC_ZEROINIT, mask, 0x80, 0x1000);
      expect(sim.vmm.lastError).toBeNull();
      expect(base).not.toBe(0xffffffff);
      const fs = frameNumbers(sim, r >>> 12, n);
      expect(base).toBe(fs[0]! * 4096);
      expect(fs[0]! & mask).toBe(0);
      expect(fs[0]).toBeGreaterThanOrEqual(0x80);
      expectContiguous(fs);
      expect(fs[n - 1]).toBeLessThan(0x1000);
      expect(sim.cpu.readBytes(r, n * 4096)).toEqual(new Uint8Array(n * 4096));
      for (let i = 0; i < 100; i++) sim.pager.pass();
      expect(frameNumbers(sim, r >>> 12, n)).toEqual(fs);
    });
  }

  it('maxphys = 0xFFFFFFFF means no upper limit (the documented choice, §6.2 item 1)', async () => {
    const sim = await sims.make({ memory: 64 << 20, pager: 'off' });
    const n = 0x1000 + 16;
    const r = sim.vmm.pageReserve(PR_SYSTEM, n, 0);
    const base = sim.vmm.pageCommitContig(r >>> 12, n, PC_WRITEABLE, 0x0f, 0, 0xffffffff);
    expect(sim.vmm.lastError).toBeNull();
    expect(base).not.toBe(0xffffffff);
    expectContiguous(frameNumbers(sim, r >>> 12, n));
  });

  it('impossible constraints fail with insufficient-memory and change nothing', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 50 });
    const r = sim.vmm.pageReserve(PR_SYSTEM, 32, 0);
    expectUnchanged(sim, () => {
      expect(sim.vmm.pageCommitContig(r >>> 12, 32, PC_WRITEABLE, 0x1f, 0x101, 0x13f)).toBe(0xffffffff); // first aligned start 0x120 needs 0x140
      expect(sim.vmm.lastError?.code).toBe('insufficient-memory');
      expect(sim.vmm.pageCommitContig(r >>> 12, 17, PC_WRITEABLE, 0x0f, 0x200, 0x210)).toBe(0xffffffff);
      expect(sim.vmm.lastError?.code).toBe('insufficient-memory');
    });
    expect(query(sim, r)[4]).toBe(0x2000); // MEM_RESERVE: nothing was committed
  });

  it('can use frames held by unlocked swappable pages', async () => {
    const sim = await sims.make({ memory: 1 << 20, pager: 'off' });
    const swap = sim.vmm.pageAllocate(240, PG_SYS, 0, 0, 0, 0, null, 0);
    sim.cpu.writeBytes(swap, new Uint8Array(240 * 4096).fill(0x3c));
    const r = sim.vmm.pageReserve(PR_SYSTEM, 16, 0);
    const base = sim.vmm.pageCommitContig(r >>> 12, 16, PC_WRITEABLE, 0x0f, 0, 0x100);
    expect(sim.vmm.lastError).toBeNull();
    expect(base).not.toBe(0xffffffff);
    expect(sim.cpu.readBytes(swap, 240 * 4096)).toEqual(new Uint8Array(240 * 4096).fill(0x3c));
  });
});
