/**
 * VDMAD_Lock_DMA_Region failing (spec §5.3, §5.5): carry set and AL = DMA_Not_Contiguous (1),
 * DMA_Not_Aligned (2) or DMA_Lock_Failed (3); ECX = the bytes from ESI that could have been locked
 * (the contiguous, non-crossing, lockable prefix; 0 when nothing could); nothing stays locked — and
 * nothing at all changes (the simulator's fingerprint is equal before and after).
 *
 * Choices (src/vmm/vdmad.ts): the outcome is decided from the page tables before anything is
 * locked, pages in address order, the first failing page naming the code. A page that is not
 * present has no frame until a page-in puts it somewhere, so it ends the contiguous prefix (a
 * one-page region excepted). The boundary rule is the hardware's, on the real bank bits. Bad
 * arguments, size 0 and a range past 4 GiB are DMA_Lock_Failed with ECX = 0 (the DDK's ring-0 code
 * set is 1–3; Win95 builds the service on Scatter_Lock, which locks nothing for them).
 */

import { describe, expect, it } from 'vitest';
import { DMA_Lock_Failed, DMA_Not_Aligned, DMA_Not_Contiguous, PAGEFIXED, PG_SYS, PC_WRITEABLE, PD_ZEROINIT, PR_SYSTEM, type Simulator, type VdmadErrorCode } from '../src/index.js';
import { expectUnchanged, simulatorsClosedAfterEach } from './helpers.js';
import { contiguous } from './dma-helpers.js';
import { framesOf, lockRegion, swappable, type LockResult } from './vdmad-helpers.js';

const sims = simulatorsClosedAfterEach();
let sim: Simulator;

async function boot(): Promise<Simulator> {
  sim = await sims.make({ memory: 1 << 20, pager: 'off', seed: 11 });
  return sim;
}

/** A Lock_DMA_Region call that fails with `code` and ECX = `ecx`, changing nothing. */
function expectLockFailure(linear: number, size: number, boundary: number, result: number, code: VdmadErrorCode, ecx: number): void {
  let r: LockResult | undefined;
  expectUnchanged(sim, () => {
    r = lockRegion(sim, linear, size, boundary);
  });
  expect(r).toEqual({ result, edx: 0, ecx });
  expect(sim.vdmad.lastError).toMatchObject({ service: 'VDMAD_Lock_DMA_Region', code });
  expect(sim.outstandingLocks()).toEqual([]);
}

describe('DMA_Not_Contiguous (1)', () => {
  it('present pages in frames out of order: ECX = the bytes up to the page that breaks the run', async () => {
    await boot();
    const lin = swappable(sim, 2, [1, 0]); // page 1 gets the lower frame
    const [f0, f1] = framesOf(sim, lin, 2) as [number, number];
    expect(f1 + 4096).toBe(f0);
    expectLockFailure(lin, 8192, 0, DMA_Not_Contiguous, 'not-contiguous', 4096);
    expectLockFailure(lin + 0x300, 8192 - 0x300, 0, DMA_Not_Contiguous, 'not-contiguous', 4096 - 0x300);
    expect(sim.vdmad.lastError).toMatchObject({ page: (lin >>> 12) + 1, lockable: 4096 - 0x300 });
  });

  it('a gap in the frames after two contiguous pages: ECX = two pages', async () => {
    await boot();
    const lin = swappable(sim, 3, [0, 1]);
    swappable(sim, 1, [0]); // takes the next frame
    sim.cpu.read8(lin + 2 * 4096);
    const [f0, f1, f2] = framesOf(sim, lin, 3) as [number, number, number];
    expect([f1 - f0, f2 - f1]).toEqual([4096, 8192]);
    expectLockFailure(lin, 3 * 4096, 0, DMA_Not_Contiguous, 'not-contiguous', 8192);
  });

  it('a page that is not present: its frame is unknown, so the prefix ends before it (nothing is paged in)', async () => {
    await boot();
    const lin = swappable(sim, 3, [0]);
    expectLockFailure(lin, 3 * 4096, 0, DMA_Not_Contiguous, 'not-contiguous', 4096);
    expect(framesOf(sim, lin, 3).slice(1)).toEqual([null, null]);
  });

  it('a first page that is not present: it alone could be locked, so ECX = its bytes', async () => {
    await boot();
    const lin = swappable(sim, 2, [1]);
    expectLockFailure(lin + 0x100, 8192 - 0x100, 0, DMA_Not_Contiguous, 'not-contiguous', 4096 - 0x100);
    // The bytes it names can indeed be locked on their own.
    expect(lockRegion(sim, lin + 0x100, 4096 - 0x100, 0).result).toBe(0);
  });

  it('is found before a later uncommitted page: pages are checked in address order', async () => {
    await boot();
    const lin = swappable(sim, 3, [1, 0]);
    expect(sim.vmm.pageDecommit((lin >>> 12) + 2, 1, 0)).toBe(1);
    expectLockFailure(lin, 3 * 4096, 0, DMA_Not_Contiguous, 'not-contiguous', 4096);
  });
});

describe('DMA_Not_Aligned (2): the boundary DL forbids crossing', () => {
  it('frames 0x0F, 0x10 cross 64 KiB: boundary 1 fails with ECX = the bytes below it; 2 and 0 pass', async () => {
    await boot();
    const buf = contiguous(sim, 2, 0x0f, 0x11, false);
    expect(framesOf(sim, buf.lin, 2)).toEqual([0xf000, 0x10000]);
    expectLockFailure(buf.lin, 8192, 1, DMA_Not_Aligned, 'crosses-boundary', 4096);
    expect(sim.vdmad.lastError).toMatchObject({ boundary: 0x10000, at: 0x10000 });
    expectLockFailure(buf.lin + 0x800, 4096, 1, DMA_Not_Aligned, 'crosses-boundary', 0x800);
    expect(lockRegion(sim, buf.lin, 8192, 2)).toEqual({ result: 0, edx: 0xf000, ecx: 8192 });
    expect(lockRegion(sim, buf.lin, 8192, 0)).toEqual({ result: 0, edx: 0xf000, ecx: 8192 });
    // Up to the boundary, not across it: fine with boundary 1.
    expect(lockRegion(sim, buf.lin + 0x800, 0x800, 1)).toEqual({ result: 0, edx: 0xf800, ecx: 0x800 });
  });

  it('frames 0x1F, 0x20 cross 128 KiB (and 64 KiB): boundary 2 and 1 fail, 0 passes', async () => {
    await boot();
    const buf = contiguous(sim, 2, 0x1f, 0x21, false);
    expect(framesOf(sim, buf.lin, 2)).toEqual([0x1f000, 0x20000]);
    expectLockFailure(buf.lin + 0xf00, 0x200, 2, DMA_Not_Aligned, 'crosses-boundary', 0x100);
    expect(sim.vdmad.lastError).toMatchObject({ boundary: 0x20000, at: 0x20000 });
    expectLockFailure(buf.lin + 0xf00, 0x200, 1, DMA_Not_Aligned, 'crosses-boundary', 0x100);
    expect(lockRegion(sim, buf.lin + 0xf00, 0x200, 0)).toEqual({ result: 0, edx: 0x1ff00, ecx: 0x200 });
  });

  it('a region inside one bank passes boundary 2 even where it crosses a 64 KiB line', async () => {
    await boot();
    const buf = contiguous(sim, 4, 0x2e, 0x32, false); // 0x2E000 … 0x31FFF crosses 0x30000 (64 KiB) only
    expect(lockRegion(sim, buf.lin, 4 * 4096, 2)).toEqual({ result: 0, edx: 0x2e000, ecx: 4 * 4096 });
    expectLockFailure(buf.lin, 4 * 4096, 1, DMA_Not_Aligned, 'crosses-boundary', 2 * 4096);
  });
});

describe('DMA_Lock_Failed (3)', () => {
  it('uncommitted pages: ECX = the committed prefix (0 when the first page is not committed)', async () => {
    await boot();
    const lin = sim.vmm.pageReserve(PR_SYSTEM, 3, 0);
    const page = lin >>> 12;
    expect(sim.vmm.pageCommit(page, 1, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1);
    sim.cpu.read8(lin);
    expectLockFailure(lin, 3 * 4096, 0, DMA_Lock_Failed, 'not-committed', 4096);
    expect(sim.vdmad.lastError).toMatchObject({ page: page + 1 });
    expectLockFailure(lin + 4096, 4096, 0, DMA_Lock_Failed, 'not-committed', 0);
    expectLockFailure(0xd0000000, 4096, 0, DMA_Lock_Failed, 'not-committed', 0); // free: not even reserved
    expectLockFailure(0xffc00000, 16, 0, DMA_Lock_Failed, 'not-committed', 0); // the invalid region
  });

  it('size 0, a range past 4 GiB, a bad boundary value: nothing could be locked (ECX = 0)', async () => {
    await boot();
    const lin = swappable(sim, 1, [0]);
    expectLockFailure(lin, 0, 0, DMA_Lock_Failed, 'zero-size', 0);
    expectLockFailure(0xfffff000, 0x2000, 0, DMA_Lock_Failed, 'invalid-range', 0);
    for (const dl of [3, 4, 0x100, -1, 1.5]) expectLockFailure(lin, 16, dl, DMA_Lock_Failed, 'invalid-boundary', 0);
  });

  it('arguments that are not ULONGs', async () => {
    await boot();
    const lin = swappable(sim, 1, [0]);
    expectLockFailure(-1, 16, 0, DMA_Lock_Failed, 'invalid-argument', 0);
    expectLockFailure(lin + 0.5, 16, 0, DMA_Lock_Failed, 'invalid-argument', 0);
    expectLockFailure(lin, 2 ** 32, 0, DMA_Lock_Failed, 'invalid-argument', 0);
    expectLockFailure(lin, Number.NaN, 0, DMA_Lock_Failed, 'invalid-argument', 0);
  });

  it('an output array that is not a Uint32Array of 2: refused, and left untouched', async () => {
    await boot();
    const lin = swappable(sim, 1, [0]);
    const short = new Uint32Array(1).fill(7);
    expectUnchanged(sim, () => {
      expect(sim.vdmad.lockDMARegion(lin, 16, 0, short)).toBe(DMA_Lock_Failed);
      expect(sim.vdmad.lastError).toMatchObject({ code: 'buffer-too-small', length: 1 });
      expect(sim.vdmad.lockDMARegion(lin, 16, 0, [0, 0] as unknown as Uint32Array)).toBe(DMA_Lock_Failed);
      expect(sim.vdmad.lastError).toMatchObject({ code: 'invalid-argument', argument: 'out' });
    });
    expect(short[0]).toBe(7);
  });

  it('a one-page region that is not present when no frame can be had', async () => {
    await boot();
    const target = swappable(sim, 1, []);
    // Every frame fixed: nothing free, nothing pageable.
    const free = sim.vmm.getFreePageCount(0);
    expect(sim.vmm.pageAllocate(free, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED)).not.toBe(0);
    expect(sim.vmm.getFreePageCount(0)).toBe(0);
    expectLockFailure(target, 16, 0, DMA_Lock_Failed, 'insufficient-memory', 0);
  });

  it('lastError is cleared by the next success', async () => {
    await boot();
    const lin = swappable(sim, 1, [0]);
    expect(sim.vdmad.lockDMARegion(lin, 0, 0)).toBe(DMA_Lock_Failed);
    expect(sim.vdmad.lastError).not.toBeNull();
    expect(sim.vdmad.lockDMARegion(lin, 1, 0)).toBe(0);
    expect(sim.vdmad.lastError).toBeNull();
  });
});
