/**
 * Fixed pages (spec §1.7, §1.8 item 2, §4.2, §4.4): PAGEFIXED blocks, PC_FIXED commits and every
 * _PageCommitContig page are permanently locked. Lock and unlock calls on them succeed and have no
 * effect (an unlock without a lock is not an error), and the pager never moves them.
 */

import { describe, expect, it } from 'vitest';
import {
  PAGEFIXED,
  PAGEZEROINIT,
  PC_FIXED,
  PC_WRITEABLE,
  PD_FIXED,
  PD_FIXEDZERO,
  PG_SYS,
  PR_SYSTEM,
  type Simulator,
} from '../src/index.js';
import { expectUnchanged, frames, simulatorsClosedAfterEach } from './helpers.js';

const sims = simulatorsClosedAfterEach();

interface FixedBlock {
  kind: string;
  lin: number;
  npages: number;
  /** Base for _PageLock/_PageUnLock, and the page offset of the range inside it. */
  hMem: number;
  off: number;
}

const N = 4;

/** One block of each fixed kind. */
function makeFixedBlocks(s: Simulator): FixedBlock[] {
  const out: FixedBlock[] = [];
  const a = s.vmm.pageAllocate(N, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED | PAGEZEROINIT);
  expect(s.vmm.lastError).toBeNull();
  out.push({ kind: 'PAGEFIXED', lin: a, npages: N, hMem: a, off: 0 });

  const r1 = s.vmm.pageReserve(PR_SYSTEM, N + 2, 0);
  expect(r1).not.toBe(0xffffffff);
  expect(s.vmm.pageCommit((r1 >>> 12) + 1, N, PD_FIXED, 0, PC_FIXED | PC_WRITEABLE)).toBe(1);
  out.push({ kind: 'PC_FIXED/PD_FIXED', lin: r1 + 4096, npages: N, hMem: r1, off: 1 });

  const r2 = s.vmm.pageReserve(PR_SYSTEM, N, 0);
  expect(s.vmm.pageCommit(r2 >>> 12, N, PD_FIXEDZERO, 0, PC_FIXED | PC_WRITEABLE)).toBe(1);
  out.push({ kind: 'PC_FIXED/PD_FIXEDZERO', lin: r2, npages: N, hMem: r2, off: 0 });

  const r3 = s.vmm.pageReserve(PR_SYSTEM, N, 0);
  const phys = s.vmm.pageCommitContig(r3 >>> 12, N, PC_WRITEABLE, 0, 0, 0xffffffff);
  expect(s.vmm.lastError).toBeNull();
  expect(phys).not.toBe(0xffffffff);
  out.push({ kind: '_PageCommitContig', lin: r3, npages: N, hMem: r3, off: 0 });
  return out;
}

function pattern(seed: number): Uint8Array {
  return Uint8Array.from({ length: N * 4096 }, (_, i) => (i * 31 + seed * 17 + (i >>> 12)) & 0xff);
}

describe('fixed pages ignore lock and unlock', () => {
  it('are present from commit on', async () => {
    const sim = await sims.make({ pager: 'off', seed: 1 });
    for (const b of makeFixedBlocks(sim)) {
      for (const f of frames(sim, b.lin >>> 12, b.npages)) expect(f, b.kind).not.toBeNull();
    }
  });

  it('an unlock without a lock succeeds and changes nothing (_LinPageUnLock and _PageUnLock)', async () => {
    const sim = await sims.make({ pager: 'off', seed: 2 });
    const blocks = makeFixedBlocks(sim);
    expectUnchanged(sim, () => {
      for (const b of blocks) {
        for (let i = 0; i < 10; i++) {
          expect(sim.vmm.linPageUnLock(b.lin >>> 12, b.npages, 0), b.kind).toBe(1);
          expect(sim.vmm.pageUnLock(b.hMem, b.npages, b.off, 0), b.kind).toBe(1);
        }
      }
    });
  });

  it('locks change nothing either, and any number of unlocks follows any number of locks', async () => {
    const sim = await sims.make({ pager: 'off', seed: 3 });
    const blocks = makeFixedBlocks(sim);
    expectUnchanged(sim, () => {
      for (const b of blocks) {
        for (let i = 0; i < 3; i++) {
          expect(sim.vmm.linPageLock(b.lin >>> 12, b.npages, 0), b.kind).toBe(1);
          expect(sim.vmm.pageLock(b.hMem, b.npages, b.off, 0), b.kind).toBe(1);
        }
      }
    });
    expectUnchanged(sim, () => {
      for (const b of blocks) {
        for (let i = 0; i < 20; i++) expect(sim.vmm.linPageUnLock(b.lin >>> 12, b.npages, 0), b.kind).toBe(1);
      }
    });
  });

  it('a range mixing fixed and swappable pages of two blocks: only the swappable page needs its lock', async () => {
    const sim = await sims.make({ pager: 'off', seed: 4 });
    // Two adjacent blocks: first fit puts the swappable one right after the fixed one.
    const fixed = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED);
    const swap = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
    expect(swap).toBe(fixed + 4096);
    expect(sim.vmm.linPageUnLock(fixed >>> 12, 2, 0)).toBe(0);
    expect(sim.vmm.lastError?.code).toBe('not-locked');
    expect(sim.vmm.linPageLock(fixed >>> 12, 2, 0)).toBe(1);
    expect(sim.vmm.linPageUnLock(fixed >>> 12, 2, 0)).toBe(1);
    expect(sim.vmm.linPageUnLock(fixed >>> 12, 2, 0)).toBe(0);
    expect(sim.vmm.lastError?.code).toBe('not-locked');
  });
});

describe('fixed pages never move', () => {
  it('keep their frames and contents across thousands of aggressive pager passes, locked, unlocked or neither', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 5, stacks: false });
    const blocks = makeFixedBlocks(sim);
    blocks.forEach((b, k) => sim.cpu.writeBytes(b.lin, pattern(k)));
    const start = blocks.map((b) => frames(sim, b.lin >>> 12, b.npages));
    // Swappable neighbours with data of their own, so every pass has real work.
    const swap = sim.vmm.pageAllocate(6, PG_SYS, 0, 0, 0, 0, null, PAGEZEROINIT);
    const swapData = Uint8Array.from({ length: 6 * 4096 }, (_, i) => (i * 13) & 0xff);
    sim.cpu.writeBytes(swap, swapData);

    let touched = 0;
    for (let pass = 0; pass < 3000; pass++) {
      // Mix in lock/unlock traffic on the fixed pages: it must not matter.
      const b = blocks[pass % blocks.length]!;
      if (pass % 3 === 0) sim.vmm.linPageLock(b.lin >>> 12, b.npages, 0);
      if (pass % 3 === 1) expect(sim.vmm.linPageUnLock(b.lin >>> 12, b.npages, 0)).toBe(1);
      if (pass % 3 === 2) expect(sim.vmm.pageUnLock(b.hMem, b.npages, b.off, 0)).toBe(1);
      sim.cpu.read8(swap + (pass % 6) * 4096);
      sim.cpu.read8(swap + ((pass + 3) % 6) * 4096);
      touched += sim.pager.pass();
      if (pass % 500 === 0) blocks.forEach((bb, k) => expect(frames(sim, bb.lin >>> 12, bb.npages), bb.kind).toEqual(start[k]));
    }
    expect(touched).toBeGreaterThan(3000); // the pager really worked
    expect(sim.pager.stats.moves + sim.pager.stats.pageOuts + sim.pager.stats.discards).toBeGreaterThan(3000);
    blocks.forEach((b, k) => {
      expect(frames(sim, b.lin >>> 12, b.npages), b.kind).toEqual(start[k]);
      expect(sim.cpu.readBytes(b.lin, b.npages * 4096), b.kind).toEqual(pattern(k));
    });
    expect(sim.cpu.readBytes(swap, 6 * 4096)).toEqual(swapData);
  });

  it('pager steps under the random policy never pick a fixed page', async () => {
    const sim = await sims.make({ pager: 'random', seed: 6, stacks: false });
    const blocks = makeFixedBlocks(sim);
    const start = blocks.map((b) => frames(sim, b.lin >>> 12, b.npages));
    for (let i = 0; i < 5000; i++) expect(sim.pager.step()).toBe(false); // nothing pageable exists
    blocks.forEach((b, k) => expect(frames(sim, b.lin >>> 12, b.npages)).toEqual(start[k]));
  });
});
