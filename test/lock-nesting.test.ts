/**
 * Lock counts nest (spec §1.7, §4.2–4.5): n locks need n unlocks, the page keeps its frame until the
 * count is back at 0, an unlock at count 0 fails and changes nothing, _PageLock/_PageUnLock use the
 * same counters as _LinPageLock, and PAGELOCKEDIFDP is a successful no-op (no DOS paging, §1.11).
 */

import { describe, expect, it } from 'vitest';
import {
  P_ACC,
  P_PRES,
  PAGEMARKPAGEOUT,
  PAGELOCKED,
  PAGELOCKEDIFDP,
  PAGEZEROINIT,
  PC_LOCKEDIFDP,
  PC_WRITEABLE,
  PD_ZEROINIT,
  PR_SYSTEM,
  type Simulator,
} from '../src/index.js';
import { allocSwappable, expectFailure, expectUnchanged, frameOf, pte, simulatorsClosedAfterEach } from './helpers.js';

const sims = simulatorsClosedAfterEach();

/** Gives the pager something to do: bring a few unrelated swappable pages in, then run a pass. */
function churn(s: Simulator, filler: number, npages: number, rounds: number): void {
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < npages; i++) s.cpu.read8(filler + i * 4096);
    s.pager.pass();
  }
}

describe('nested locks', () => {
  it('5 locks need 5 unlocks: the frame holds through 4 unlocks under the aggressive pager, moves after the 5th', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 11 });
    const lin = allocSwappable(sim, 1);
    const filler = allocSwappable(sim, 8);
    const page = lin >>> 12;
    sim.cpu.write32(lin + 0x40, 0xcafef00d);
    for (let i = 0; i < 5; i++) expect(sim.vmm.linPageLock(page, 1, 0)).toBe(1);
    const f0 = frameOf(sim, page);
    expect(f0).not.toBeNull();

    for (let u = 1; u <= 4; u++) {
      expect(sim.vmm.linPageUnLock(page, 1, 0)).toBe(1);
      churn(sim, filler, 8, 50);
      expect(frameOf(sim, page)).toBe(f0);
      expect(sim.cpu.read32(lin + 0x40)).toBe(0xcafef00d);
      expect(frameOf(sim, page)).toBe(f0);
    }

    // The 5th unlock brings the count to 0: the aggressive pager moves or pages it out at once.
    expect(sim.vmm.linPageUnLock(page, 1, 0)).toBe(1);
    expect(frameOf(sim, page)).not.toBe(f0);
    expect(sim.cpu.read32(lin + 0x40)).toBe(0xcafef00d);
  });

  it('a 6th unlock fails with not-locked and changes nothing', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 12 });
    const lin = allocSwappable(sim, 2);
    const page = lin >>> 12;
    sim.cpu.write8(lin, 0x5a);
    for (let i = 0; i < 5; i++) expect(sim.vmm.linPageLock(page, 1, 0)).toBe(1);
    for (let i = 0; i < 5; i++) expect(sim.vmm.linPageUnLock(page, 1, 0)).toBe(1);
    // Touch it again: the page comes back in (the aggressive pager may take it right out again).
    expect(sim.cpu.read8(lin)).toBe(0x5a);
    expectUnchanged(sim, () => expectFailure(sim, sim.vmm.linPageUnLock(page, 1, 0), 0, '_LinPageUnLock', 'not-locked'));
    // The same through _PageUnLock.
    expectUnchanged(sim, () => {
      expect(sim.vmm.pageUnLock(lin, 1, 0, 0)).toBe(0);
      expect(sim.vmm.lastError?.code).toBe('not-locked');
    });
  });

  it('an unlock over a range where one page is not locked unlocks none of them', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 13 });
    const lin = allocSwappable(sim, 3);
    const page = lin >>> 12;
    expect(sim.vmm.linPageLock(page, 2, 0)).toBe(1); // pages 0 and 1, count 1 each
    sim.cpu.read8(lin + 2 * 4096); // page 2 present but unlocked
    const f0 = frameOf(sim, page);
    const f1 = frameOf(sim, page + 1);
    expectUnchanged(sim, () => {
      expect(sim.vmm.linPageUnLock(page, 3, 0)).toBe(0);
      expect(sim.vmm.lastError?.code).toBe('not-locked');
    });
    for (let i = 0; i < 200; i++) sim.pager.pass();
    expect(frameOf(sim, page)).toBe(f0);
    expect(frameOf(sim, page + 1)).toBe(f1);
    // Their single lock is still there to be dropped, exactly once.
    expect(sim.vmm.linPageUnLock(page, 2, 0)).toBe(1);
    expect(sim.vmm.linPageUnLock(page, 2, 0)).toBe(0);
    expect(sim.vmm.lastError?.code).toBe('not-locked');
  });

  it('overlapping lock ranges count per page', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 14 });
    const lin = allocSwappable(sim, 3);
    const page = lin >>> 12;
    expect(sim.vmm.linPageLock(page, 2, 0)).toBe(1); // counts 1 1 0
    expect(sim.vmm.linPageLock(page + 1, 2, 0)).toBe(1); // counts 1 2 1
    const f1 = frameOf(sim, page + 1);
    expect(sim.vmm.linPageUnLock(page, 3, 0)).toBe(1); // counts 0 1 0
    for (let i = 0; i < 100; i++) sim.pager.pass();
    expect(frameOf(sim, page + 1)).toBe(f1);
    expect(sim.vmm.linPageUnLock(page, 1, 0)).toBe(0);
    expect(sim.vmm.lastError?.code).toBe('not-locked');
    expect(sim.vmm.linPageUnLock(page + 2, 1, 0)).toBe(0);
    expect(sim.vmm.linPageUnLock(page + 1, 1, 0)).toBe(1);
    expect(frameOf(sim, page + 1)).not.toBe(f1);
  });
});

describe('PAGEMARKPAGEOUT', () => {
  it('clears P_ACC only on the unlock that brings the count to 0', async () => {
    const sim = await sims.make({ pager: 'off', seed: 15 });
    const hMem = allocSwappable(sim, 1);
    const page = hMem >>> 12;
    expect(sim.vmm.pageLock(hMem, 1, 0, 0)).toBe(1);
    expect(sim.vmm.pageLock(hMem, 1, 0, 0)).toBe(1);
    sim.cpu.read8(hMem);
    expect(pte(sim, page) & P_ACC).toBe(P_ACC);
    expect(sim.vmm.pageUnLock(hMem, 1, 0, PAGEMARKPAGEOUT)).toBe(1);
    expect(pte(sim, page) & P_ACC).toBe(P_ACC);
    expect(sim.vmm.pageUnLock(hMem, 1, 0, PAGEMARKPAGEOUT)).toBe(1);
    expect(pte(sim, page) & (P_PRES | P_ACC)).toBe(P_PRES);
    // _LinPageUnLock takes it too (3.1 docs).
    expect(sim.vmm.linPageLock(page, 1, 0)).toBe(1);
    sim.cpu.read8(hMem);
    expect(sim.vmm.linPageUnLock(page, 1, PAGEMARKPAGEOUT)).toBe(1);
    expect(pte(sim, page) & (P_PRES | P_ACC)).toBe(P_PRES);
  });
});

describe('_PageLock / _PageUnLock share the _LinPageLock counters', () => {
  it('two linear locks and one handle lock need three unlocks, in any mix of services', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 21 });
    const hMem = allocSwappable(sim, 3);
    const filler = allocSwappable(sim, 4);
    const page = (hMem >>> 12) + 1; // the middle page: PageOff 1
    sim.cpu.write32(hMem + 4096, 0x01020304);
    expect(sim.vmm.linPageLock(page, 1, 0)).toBe(1);
    expect(sim.vmm.linPageLock(page, 1, 0)).toBe(1);
    expect(sim.vmm.pageLock(hMem, 1, 1, 0)).toBe(1);
    const f = frameOf(sim, page);
    expect(f).not.toBeNull();

    expect(sim.vmm.pageUnLock(hMem, 1, 1, 0)).toBe(1);
    churn(sim, filler, 4, 30);
    expect(frameOf(sim, page)).toBe(f);
    expect(sim.vmm.pageUnLock(hMem, 1, 1, 0)).toBe(1);
    churn(sim, filler, 4, 30);
    expect(frameOf(sim, page)).toBe(f);

    expect(sim.vmm.linPageUnLock(page, 1, 0)).toBe(1);
    expect(frameOf(sim, page)).not.toBe(f);
    expect(sim.vmm.pageUnLock(hMem, 1, 1, 0)).toBe(0);
    expect(sim.vmm.lastError?.code).toBe('not-locked');
    expect(sim.cpu.read32(hMem + 4096)).toBe(0x01020304);
  });

  it('a _PageLock is undone by _LinPageUnLock', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 22 });
    const hMem = allocSwappable(sim, 2);
    expect(sim.vmm.pageLock(hMem, 2, 0, 0)).toBe(1);
    const f = frameOf(sim, hMem >>> 12);
    for (let i = 0; i < 100; i++) sim.pager.pass();
    expect(frameOf(sim, hMem >>> 12)).toBe(f);
    expect(sim.vmm.linPageUnLock(hMem >>> 12, 2, 0)).toBe(1);
    expect(sim.vmm.linPageUnLock(hMem >>> 12, 2, 0)).toBe(0);
    expect(sim.vmm.lastError?.code).toBe('not-locked');
  });

  it('PAGELOCKED at allocation is one lock: one unlock succeeds, the second fails', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 23 });
    const hMem = allocSwappable(sim, 2, PAGELOCKED | PAGEZEROINIT);
    const f0 = frameOf(sim, hMem >>> 12);
    expect(f0).not.toBeNull();
    for (let i = 0; i < 100; i++) sim.pager.pass();
    expect(frameOf(sim, hMem >>> 12)).toBe(f0);
    expect(sim.vmm.pageUnLock(hMem, 2, 0, 0)).toBe(1);
    expect(sim.vmm.pageUnLock(hMem, 2, 0, 0)).toBe(0);
    expect(sim.vmm.lastError?.code).toBe('not-locked');
  });

  it('_PageLock past the end of the block fails and locks nothing', async () => {
    const sim = await sims.make({ pager: 'off', seed: 24 });
    const hMem = allocSwappable(sim, 2);
    expectUnchanged(sim, () => {
      expect(sim.vmm.pageLock(hMem, 2, 1, 0)).toBe(0);
      expect(sim.vmm.lastError?.code).toBe('invalid-range');
    });
  });
});

describe('PAGELOCKEDIFDP without DOS paging', () => {
  it('_LinPageLock(PAGELOCKEDIFDP) succeeds and changes nothing: the page is not locked', async () => {
    const sim = await sims.make({ pager: 'off', seed: 31 });
    const lin = allocSwappable(sim, 2);
    const page = lin >>> 12;
    sim.cpu.write8(lin, 7);
    expectUnchanged(sim, () => {
      expect(sim.vmm.linPageLock(page, 2, PAGELOCKEDIFDP)).not.toBe(0);
      expect(sim.vmm.lastError).toBeNull();
    });
    // Not locked: a plain unlock fails, and the pager may take the page.
    expect(sim.vmm.linPageUnLock(page, 1, 0)).toBe(0);
    expect(sim.vmm.lastError?.code).toBe('not-locked');
    const f = frameOf(sim, page);
    sim.pager.pass();
    expect(frameOf(sim, page)).not.toBe(f);
  });

  it('_PageLock(PAGELOCKEDIFDP) is a no-op success', async () => {
    const sim = await sims.make({ pager: 'off', seed: 32 });
    const hMem = allocSwappable(sim, 2);
    expectUnchanged(sim, () => expect(sim.vmm.pageLock(hMem, 2, 0, PAGELOCKEDIFDP)).toBe(1));
    expect(sim.vmm.pageUnLock(hMem, 2, 0, 0)).toBe(0);
    expect(sim.vmm.lastError?.code).toBe('not-locked');
  });

  it('unlock with PAGELOCKEDIFDP neither fails on an unlocked page nor drops a real lock', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 33 });
    const hMem = allocSwappable(sim, 1);
    const page = hMem >>> 12;
    // Unlocked page: succeeds (mirror of the no-op lock).
    expect(sim.vmm.linPageUnLock(page, 1, PAGELOCKEDIFDP)).not.toBe(0);
    expect(sim.vmm.pageUnLock(hMem, 1, 0, PAGELOCKEDIFDP)).toBe(1);
    // A real lock survives any number of PAGELOCKEDIFDP unlocks.
    expect(sim.vmm.linPageLock(page, 1, 0)).toBe(1);
    const f = frameOf(sim, page);
    for (let i = 0; i < 5; i++) {
      expect(sim.vmm.linPageUnLock(page, 1, PAGELOCKEDIFDP)).not.toBe(0);
      expect(sim.vmm.pageUnLock(hMem, 1, 0, PAGELOCKEDIFDP)).toBe(1);
      sim.pager.pass();
      expect(frameOf(sim, page)).toBe(f);
    }
    expect(sim.vmm.linPageUnLock(page, 1, 0)).toBe(1);
    expect(sim.vmm.linPageUnLock(page, 1, 0)).toBe(0);
  });

  it('_PageAllocate(PAGELOCKEDIFDP) and _PageCommit(PC_LOCKEDIFDP) leave the pages unlocked and not present', async () => {
    const sim = await sims.make({ pager: 'off', seed: 34 });
    const hMem = allocSwappable(sim, 2, PAGELOCKEDIFDP);
    expect(frameOf(sim, hMem >>> 12)).toBeNull();
    expect(sim.vmm.pageUnLock(hMem, 2, 0, 0)).toBe(0);
    expect(sim.vmm.lastError?.code).toBe('not-locked');

    const r = sim.vmm.pageReserve(PR_SYSTEM, 2, 0);
    expect(r).not.toBe(0xffffffff);
    expect(sim.vmm.pageCommit(r >>> 12, 2, PD_ZEROINIT, 0, PC_LOCKEDIFDP | PC_WRITEABLE)).toBe(1);
    expect(frameOf(sim, r >>> 12)).toBeNull();
    expect(sim.vmm.linPageUnLock(r >>> 12, 2, 0)).toBe(0);
    expect(sim.vmm.lastError?.code).toBe('not-locked');
  });

  it('PAGELOCKEDIFDP still validates the range: uncommitted pages fail', async () => {
    const sim = await sims.make({ pager: 'off', seed: 35 });
    const r = sim.vmm.pageReserve(PR_SYSTEM, 2, 0);
    expect(sim.vmm.linPageLock(r >>> 12, 2, PAGELOCKEDIFDP)).toBe(0);
    expect(sim.vmm.lastError?.code).toBe('not-committed');
  });
});
