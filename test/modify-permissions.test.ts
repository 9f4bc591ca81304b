/**
 * _PageModifyPermissions (spec §4.7, §0.1): for each committed page new = (old & permand) | permor,
 * over PC_USER / PC_WRITEABLE; the return value is the FIRST page's previous bits; the PTE's P_USER
 * and P_WRITE follow; a failure returns 0xFFFFFFFF and changes no page. PC_STATIC is the key for
 * PR_STATIC blocks and is not stored.
 */

import { describe, expect, it } from 'vitest';
import {
  P_ACC,
  P_DIRTY,
  P_PRES,
  P_USER,
  P_WRITE,
  PAGE_READONLY,
  PAGE_READWRITE,
  PC_FIXED,
  PC_STATIC,
  PC_USER,
  PC_WRITEABLE,
  PD_ZEROINIT,
  PR_STATIC,
  PR_SYSTEM,
  type Simulator,
} from '../src/index.js';
import { expectFailure, expectUnchanged, pte, ptes, query, simulatorsClosedAfterEach } from './helpers.js';

const FAILED = 0xffffffff;
const RW = PC_USER | PC_WRITEABLE;
/** ~PC_WRITEABLE / ~PC_USER as ULONGs. */
const NOT_W = ~PC_WRITEABLE >>> 0;
const NOT_U = ~PC_USER >>> 0;
const ALL = 0xffffffff;

const sims = simulatorsClosedAfterEach();

/** The current permission bits of a page, read without changing them. */
function permsOf(s: Simulator, page: number): number {
  const r = s.vmm.pageModifyPermissions(page, 1, ALL, 0);
  expect(r).not.toBe(FAILED);
  return r;
}

/** A reserved block of 6 pages committed as [RW, RW, USER, USER, WRITEABLE, WRITEABLE]. */
function mixedBlock(s: Simulator): number {
  const r = s.vmm.pageReserve(PR_SYSTEM, 6, 0);
  expect(r).not.toBe(FAILED);
  const p = r >>> 12;
  expect(s.vmm.pageCommit(p, 2, PD_ZEROINIT, 0, RW)).toBe(1);
  expect(s.vmm.pageCommit(p + 2, 2, PD_ZEROINIT, 0, PC_USER)).toBe(1);
  expect(s.vmm.pageCommit(p + 4, 2, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1);
  return p;
}

describe('return value', () => {
  it('is the first page\'s previous permission bits', async () => {
    const sim = await sims.make({ pager: 'off' });
    const p = mixedBlock(sim);
    expect(sim.vmm.pageModifyPermissions(p, 6, ALL, 0)).toBe(RW);
    expect(sim.vmm.pageModifyPermissions(p + 2, 4, ALL, 0)).toBe(PC_USER);
    expect(sim.vmm.pageModifyPermissions(p + 3, 3, ALL, 0)).toBe(PC_USER);
    expect(sim.vmm.pageModifyPermissions(p + 4, 2, ALL, 0)).toBe(PC_WRITEABLE);
  });

  it('is the bits before the change, and 0 (not a failure) for a page with no permission', async () => {
    const sim = await sims.make({ pager: 'off' });
    const p = mixedBlock(sim);
    expect(sim.vmm.pageModifyPermissions(p, 1, 0, 0)).toBe(RW);
    expect(sim.vmm.pageModifyPermissions(p, 1, ALL, PC_USER)).toBe(0);
    expect(sim.vmm.lastError).toBeNull();
    expect(permsOf(sim, p)).toBe(PC_USER);
  });
});

describe('new = (old & permand) | permor, page by page', () => {
  // Over mixedBlock's pages [RW, RW, USER, USER, WRITEABLE, WRITEABLE]; each call returns RW, the first page's old bits.
  for (const { title, first, n, permand, permor, after } of [
    { title: "revoking write keeps each page's user bit", first: 0, n: 6, permand: NOT_W, permor: 0, after: [PC_USER, PC_USER, PC_USER, PC_USER, 0, 0] },
    { title: "granting user keeps each page's write bit", first: 0, n: 6, permand: ALL, permor: PC_USER, after: [RW, RW, PC_USER, PC_USER, RW, RW] },
    { title: 'and + or together: revoke user, grant write', first: 0, n: 6, permand: NOT_U, permor: PC_WRITEABLE, after: new Array<number>(6).fill(PC_WRITEABLE) },
    { title: 'only the pages in the range change', first: 1, n: 2, permand: 0, permor: 0, after: [RW, 0, 0, PC_USER, PC_WRITEABLE, PC_WRITEABLE] },
  ]) {
    it(title, async () => {
      const sim = await sims.make({ pager: 'off' });
      const p = mixedBlock(sim);
      expect(sim.vmm.pageModifyPermissions(p + first, n, permand, permor)).toBe(RW);
      expect([0, 1, 2, 3, 4, 5].map((i) => permsOf(sim, p + i))).toEqual(after);
    });
  }
});

describe('PTE bits follow', () => {
  it('P_WRITE / P_USER of present pages follow; P_PRES, P_ACC, P_DIRTY and the frame do not change', async () => {
    const sim = await sims.make({ pager: 'off' });
    const p = mixedBlock(sim);
    for (let i = 0; i < 6; i++) sim.cpu.write8((p + i) * 4096, i);
    const before = ptes(sim, p, 6);
    before.forEach((e) => expect(e & (P_PRES | P_ACC | P_DIRTY)).toBe(P_PRES | P_ACC | P_DIRTY));
    expect(before.map((e) => e & (P_WRITE | P_USER))).toEqual([P_WRITE | P_USER, P_WRITE | P_USER, P_USER, P_USER, P_WRITE, P_WRITE]);

    expect(sim.vmm.pageModifyPermissions(p, 6, NOT_W, PC_USER)).toBe(RW);
    const after = ptes(sim, p, 6);
    after.forEach((e, i) => {
      expect(e & (P_WRITE | P_USER)).toBe(P_USER);
      expect(e & ~(P_WRITE | P_USER)).toBe(before[i]! & ~(P_WRITE | P_USER));
    });

    expect(sim.vmm.pageModifyPermissions(p, 6, 0, PC_WRITEABLE)).toBe(PC_USER);
    ptes(sim, p, 6).forEach((e) => expect(e & (P_WRITE | P_USER)).toBe(P_WRITE));
  });

  it('a paged-out page gets the new bits when it comes back in', async () => {
    const sim = await sims.make({ pager: 'off' });
    const p = mixedBlock(sim);
    sim.cpu.write8(p * 4096, 0x99);
    for (let i = 0; i < 100 && pte(sim, p) & P_PRES; i++) sim.pager.pass();
    expect(pte(sim, p) & P_PRES).toBe(0);
    expect(sim.vmm.pageModifyPermissions(p, 1, NOT_W, 0)).toBe(RW);
    expect(sim.cpu.read8(p * 4096)).toBe(0x99);
    const e = pte(sim, p);
    expect(e & P_PRES).toBe(P_PRES);
    expect(e & (P_WRITE | P_USER)).toBe(P_USER);
  });

  it('_PageQuery reports the new protection', async () => {
    const sim = await sims.make({ pager: 'off' });
    const p = mixedBlock(sim);
    expect(query(sim, p * 4096)[5]).toBe(PAGE_READWRITE);
    expect(sim.vmm.pageModifyPermissions(p, 2, NOT_W, 0)).toBe(RW);
    const mbi = query(sim, p * 4096);
    expect(mbi[5]).toBe(PAGE_READONLY);
    expect(mbi[3]).toBe(4 * 4096); // now one run with pages 2–3 (PC_USER only)
  });
});

describe('failures change no page', () => {
  it('an uncommitted page in the middle of the range: 0xFFFFFFFF, not-committed, nothing changed', async () => {
    const sim = await sims.make({ pager: 'aggressive' });
    const r = sim.vmm.pageReserve(PR_SYSTEM, 5, 0);
    const p = r >>> 12;
    expect(sim.vmm.pageCommit(p, 2, PD_ZEROINIT, 0, RW)).toBe(1);
    expect(sim.vmm.pageCommit(p + 3, 2, PD_ZEROINIT, 0, RW)).toBe(1);
    sim.cpu.write8(r, 1);
    expectUnchanged(sim, () => expectFailure(sim, sim.vmm.pageModifyPermissions(p, 5, 0, 0), FAILED, '_PageModifyPermissions', 'not-committed'));
    sim.pager.policy = 'off';
    expect(permsOf(sim, p)).toBe(RW);
    expect(permsOf(sim, p + 4)).toBe(RW);
  });

  it('a PR_STATIC block without PC_STATIC: 0xFFFFFFFF, static-block, nothing changed', async () => {
    const sim = await sims.make({ pager: 'off' });
    const plain = sim.vmm.pageReserve(PR_SYSTEM, 1, 0);
    const st = sim.vmm.pageReserve(PR_SYSTEM, 2, PR_STATIC);
    expect(st).toBe(plain + 4096); // adjacent: one range covers both blocks
    expect(sim.vmm.pageCommit(plain >>> 12, 1, PD_ZEROINIT, 0, RW)).toBe(1);
    expect(sim.vmm.pageCommit(st >>> 12, 2, PD_ZEROINIT, 0, RW | PC_STATIC)).toBe(1);
    expectUnchanged(sim, () => {
      expect(sim.vmm.pageModifyPermissions(plain >>> 12, 3, NOT_W, 0)).toBe(FAILED);
      expect(sim.vmm.lastError?.code).toBe('static-block');
    });
    expectUnchanged(sim, () => expect(sim.vmm.pageModifyPermissions(st >>> 12, 2, NOT_W, 0)).toBe(FAILED));
    // With the key it works, over both blocks.
    expect(sim.vmm.pageModifyPermissions(plain >>> 12, 3, NOT_W, PC_STATIC)).toBe(RW);
    expect(permsOf(sim, plain >>> 12)).toBe(PC_USER);
  });

  it('PC_STATIC is a key, not a stored permission', async () => {
    const sim = await sims.make({ pager: 'off' });
    const st = sim.vmm.pageReserve(PR_SYSTEM, 1, PR_STATIC);
    expect(sim.vmm.pageCommit(st >>> 12, 1, PD_ZEROINIT, 0, PC_WRITEABLE | PC_STATIC)).toBe(1);
    expect(sim.vmm.pageModifyPermissions(st >>> 12, 1, ALL, PC_STATIC | PC_USER)).toBe(PC_WRITEABLE);
    expect(sim.vmm.pageModifyPermissions(st >>> 12, 1, ALL, PC_STATIC)).toBe(RW);
  });

  it('reserved bits in permor fail and change nothing', async () => {
    const sim = await sims.make({ pager: 'off' });
    const p = mixedBlock(sim);
    expectUnchanged(sim, () => {
      expect(sim.vmm.pageModifyPermissions(p, 6, ALL, PC_FIXED)).toBe(FAILED);
      expect(sim.vmm.lastError?.code).toBe('reserved-flags');
    });
  });

  it('a free or reserved page fails; a range reaching the invalid region fails', async () => {
    const sim = await sims.make({ pager: 'off' });
    const r = sim.vmm.pageReserve(PR_SYSTEM, 1, 0);
    expect(sim.vmm.pageModifyPermissions(r >>> 12, 1, ALL, 0)).toBe(FAILED);
    expect(sim.vmm.lastError?.code).toBe('not-committed');
    expect(sim.vmm.pageModifyPermissions(0xe0000, 1, ALL, 0)).toBe(FAILED);
    expect(sim.vmm.lastError?.code).toBe('not-committed');
    expect(sim.vmm.pageModifyPermissions(0xffbff, 2, ALL, 0)).toBe(FAILED);
    expect(sim.vmm.lastError?.code).toBe('invalid-region');
    expect(sim.vmm.pageModifyPermissions(r >>> 12, 0, ALL, 0)).toBe(FAILED);
    expect(sim.vmm.lastError?.code).toBe('zero-count');
  });
});

describe('DDK idiom', () => {
  it('accepts permand written as ~PC_WRITEABLE, the way driver code revokes a bit (§4.7)', async () => {
    // In TypeScript ~PC_WRITEABLE is the int32 -0x20001: the same 32 bits as the ULONG 0xFFFDFFFF.
    const sim = await sims.make({ pager: 'off' });
    const p = mixedBlock(sim);
    expect(sim.vmm.pageModifyPermissions(p, 1, ~PC_WRITEABLE, 0)).toBe(RW);
    expect(sim.vmm.lastError).toBeNull();
    expect(permsOf(sim, p)).toBe(PC_USER);
  });
});
