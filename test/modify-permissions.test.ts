/**
 * _PageModifyPermissions (spec §4.7, §0.1): for each committed page new = (old & permand) | permor,
 * over PC_USER / PC_WRITEABLE; the return value is the FIRST page's previous bits; the PTE's P_USER
 * and P_WRITE follow; a failure returns 0xFFFFFFFF and changes no page. PC_STATIC is the key for
 * PR_STATIC blocks and is not stored.
 */

import { afterEach, describe, expect, it } from 'vitest';
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
  createSimulator,
  type Simulator,
} from '../src/index.js';

const FAILED = 0xffffffff;
const RW = PC_USER | PC_WRITEABLE;
/** ~PC_WRITEABLE / ~PC_USER as ULONGs. */
const NOT_W = ~PC_WRITEABLE >>> 0;
const NOT_U = ~PC_USER >>> 0;
const ALL = 0xffffffff;

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

function ptes(s: Simulator, page: number, n: number): number[] {
  const buf = new Uint32Array(n);
  expect(s.vmm.copyPageTable(page, n, buf, 0)).toBe(1);
  return [...buf];
}

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
    sim = await createSimulator({ pager: 'off' });
    const p = mixedBlock(sim);
    expect(sim.vmm.pageModifyPermissions(p, 6, ALL, 0)).toBe(RW);
    expect(sim.vmm.pageModifyPermissions(p + 2, 4, ALL, 0)).toBe(PC_USER);
    expect(sim.vmm.pageModifyPermissions(p + 3, 3, ALL, 0)).toBe(PC_USER);
    expect(sim.vmm.pageModifyPermissions(p + 4, 2, ALL, 0)).toBe(PC_WRITEABLE);
  });

  it('is the bits before the change, and 0 (not a failure) for a page with no permission', async () => {
    sim = await createSimulator({ pager: 'off' });
    const p = mixedBlock(sim);
    expect(sim.vmm.pageModifyPermissions(p, 1, 0, 0)).toBe(RW);
    expect(sim.vmm.pageModifyPermissions(p, 1, ALL, PC_USER)).toBe(0);
    expect(sim.vmm.lastError).toBeNull();
    expect(permsOf(sim, p)).toBe(PC_USER);
  });
});

describe('new = (old & permand) | permor, page by page', () => {
  it('revoking write keeps each page\'s user bit', async () => {
    sim = await createSimulator({ pager: 'off' });
    const p = mixedBlock(sim);
    expect(sim.vmm.pageModifyPermissions(p, 6, NOT_W, 0)).toBe(RW);
    expect([0, 1, 2, 3, 4, 5].map((i) => permsOf(sim!, p + i))).toEqual([PC_USER, PC_USER, PC_USER, PC_USER, 0, 0]);
  });

  it('granting user keeps each page\'s write bit', async () => {
    sim = await createSimulator({ pager: 'off' });
    const p = mixedBlock(sim);
    expect(sim.vmm.pageModifyPermissions(p, 6, ALL, PC_USER)).toBe(RW);
    expect([0, 1, 2, 3, 4, 5].map((i) => permsOf(sim!, p + i))).toEqual([RW, RW, PC_USER, PC_USER, RW, RW]);
  });

  it('and + or together: revoke user, grant write', async () => {
    sim = await createSimulator({ pager: 'off' });
    const p = mixedBlock(sim);
    expect(sim.vmm.pageModifyPermissions(p, 6, NOT_U, PC_WRITEABLE)).toBe(RW);
    for (let i = 0; i < 6; i++) expect(permsOf(sim, p + i)).toBe(PC_WRITEABLE);
  });

  it('only the pages in the range change', async () => {
    sim = await createSimulator({ pager: 'off' });
    const p = mixedBlock(sim);
    expect(sim.vmm.pageModifyPermissions(p + 1, 2, 0, 0)).toBe(RW);
    expect([0, 1, 2, 3, 4, 5].map((i) => permsOf(sim!, p + i))).toEqual([RW, 0, 0, PC_USER, PC_WRITEABLE, PC_WRITEABLE]);
  });
});

describe('PTE bits follow', () => {
  it('P_WRITE / P_USER of present pages follow; P_PRES, P_ACC, P_DIRTY and the frame do not change', async () => {
    sim = await createSimulator({ pager: 'off' });
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
    sim = await createSimulator({ pager: 'off' });
    const p = mixedBlock(sim);
    sim.cpu.write8(p * 4096, 0x99);
    for (let i = 0; i < 100 && ptes(sim, p, 1)[0]! & P_PRES; i++) sim.pager.pass();
    expect(ptes(sim, p, 1)[0]! & P_PRES).toBe(0);
    expect(sim.vmm.pageModifyPermissions(p, 1, NOT_W, 0)).toBe(RW);
    expect(sim.cpu.read8(p * 4096)).toBe(0x99);
    const e = ptes(sim, p, 1)[0]!;
    expect(e & P_PRES).toBe(P_PRES);
    expect(e & (P_WRITE | P_USER)).toBe(P_USER);
  });

  it('_PageQuery reports the new protection', async () => {
    sim = await createSimulator({ pager: 'off' });
    const p = mixedBlock(sim);
    const mbi = new Uint32Array(7);
    expect(sim.vmm.pageQuery(p * 4096, mbi, 28)).toBe(28);
    expect(mbi[5]).toBe(PAGE_READWRITE);
    expect(sim.vmm.pageModifyPermissions(p, 2, NOT_W, 0)).toBe(RW);
    expect(sim.vmm.pageQuery(p * 4096, mbi, 28)).toBe(28);
    expect(mbi[5]).toBe(PAGE_READONLY);
    expect(mbi[3]).toBe(4 * 4096); // now one run with pages 2–3 (PC_USER only)
  });
});

describe('failures change no page', () => {
  it('an uncommitted page in the middle of the range: 0xFFFFFFFF, not-committed, nothing changed', async () => {
    sim = await createSimulator({ pager: 'aggressive' });
    const r = sim.vmm.pageReserve(PR_SYSTEM, 5, 0);
    const p = r >>> 12;
    expect(sim.vmm.pageCommit(p, 2, PD_ZEROINIT, 0, RW)).toBe(1);
    expect(sim.vmm.pageCommit(p + 3, 2, PD_ZEROINIT, 0, RW)).toBe(1);
    sim.cpu.write8(r, 1);
    const before = sim.fingerprint();
    expect(sim.vmm.pageModifyPermissions(p, 5, 0, 0)).toBe(FAILED);
    expect(sim.vmm.lastError?.code).toBe('not-committed');
    expect(sim.vmm.lastError?.service).toBe('_PageModifyPermissions');
    expect(sim.fingerprint()).toBe(before);
    sim.pager.policy = 'off';
    expect(permsOf(sim, p)).toBe(RW);
    expect(permsOf(sim, p + 4)).toBe(RW);
  });

  it('a PR_STATIC block without PC_STATIC: 0xFFFFFFFF, static-block, nothing changed', async () => {
    sim = await createSimulator({ pager: 'off' });
    const plain = sim.vmm.pageReserve(PR_SYSTEM, 1, 0);
    const st = sim.vmm.pageReserve(PR_SYSTEM, 2, PR_STATIC);
    expect(st).toBe(plain + 4096); // adjacent: one range covers both blocks
    expect(sim.vmm.pageCommit(plain >>> 12, 1, PD_ZEROINIT, 0, RW)).toBe(1);
    expect(sim.vmm.pageCommit(st >>> 12, 2, PD_ZEROINIT, 0, RW | PC_STATIC)).toBe(1);
    const before = sim.fingerprint();
    expect(sim.vmm.pageModifyPermissions(plain >>> 12, 3, NOT_W, 0)).toBe(FAILED);
    expect(sim.vmm.lastError?.code).toBe('static-block');
    expect(sim.fingerprint()).toBe(before);
    expect(sim.vmm.pageModifyPermissions(st >>> 12, 2, NOT_W, 0)).toBe(FAILED);
    expect(sim.fingerprint()).toBe(before);
    // With the key it works, over both blocks.
    expect(sim.vmm.pageModifyPermissions(plain >>> 12, 3, NOT_W, PC_STATIC)).toBe(RW);
    expect(permsOf(sim, plain >>> 12)).toBe(PC_USER);
  });

  it('PC_STATIC is a key, not a stored permission', async () => {
    sim = await createSimulator({ pager: 'off' });
    const st = sim.vmm.pageReserve(PR_SYSTEM, 1, PR_STATIC);
    expect(sim.vmm.pageCommit(st >>> 12, 1, PD_ZEROINIT, 0, PC_WRITEABLE | PC_STATIC)).toBe(1);
    expect(sim.vmm.pageModifyPermissions(st >>> 12, 1, ALL, PC_STATIC | PC_USER)).toBe(PC_WRITEABLE);
    expect(sim.vmm.pageModifyPermissions(st >>> 12, 1, ALL, PC_STATIC)).toBe(RW);
  });

  it('reserved bits in permor fail and change nothing', async () => {
    sim = await createSimulator({ pager: 'off' });
    const p = mixedBlock(sim);
    const before = sim.fingerprint();
    expect(sim.vmm.pageModifyPermissions(p, 6, ALL, PC_FIXED)).toBe(FAILED);
    expect(sim.vmm.lastError?.code).toBe('reserved-flags');
    expect(sim.fingerprint()).toBe(before);
  });

  it('a free or reserved page fails; a range reaching the invalid region fails', async () => {
    sim = await createSimulator({ pager: 'off' });
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
    sim = await createSimulator({ pager: 'off' });
    const p = mixedBlock(sim);
    expect(sim.vmm.pageModifyPermissions(p, 1, ~PC_WRITEABLE, 0)).toBe(RW);
    expect(sim.vmm.lastError).toBeNull();
    expect(permsOf(sim, p)).toBe(PC_USER);
  });
});
