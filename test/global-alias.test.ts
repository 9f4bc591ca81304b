/**
 * Global aliases (spec §1.5, §4.2, §4.3, §6.2 item 5): _LinPageLock(…, PAGEMAPGLOBAL) locks the
 * pages and maps them again in the system arena; the alias is torn down only by _LinPageUnLock with
 * the alias page, the alias length and PAGEMAPGLOBAL; CPU writes through the alias dirty the alias
 * PTE only, which is why PAGEMARKDIRTY exists.
 */

import { describe, expect, it } from 'vitest';
import {
  MEM_COMMIT,
  MEM_FREE,
  MININVALIDPAGE,
  MINSYSTEMLADDR,
  P_ACC,
  P_DIRTY,
  P_PRES,
  PAGELOCKEDIFDP,
  PCC_NOLIN,
  PAGEMAPGLOBAL,
  PAGEMARKDIRTY,
  PC_USER,
  PC_WRITEABLE,
  PD_ZEROINIT,
  PR_PRIVATE,
  PageFault,
  type Simulator,
} from '../src/index.js';
import { expectUnchanged, faultOf, frames, pte, ptes, query, simulatorsClosedAfterEach } from './helpers.js';

/** PAGEMAPGLOBAL | PAGEMARKDIRTY as the ULONG the services take (JS `|` yields a negative int32). */
const MAPGLOBAL_MARKDIRTY = (PAGEMAPGLOBAL | PAGEMARKDIRTY) >>> 0;

const sims = simulatorsClosedAfterEach();

/** Private-arena memory, committed swappable (zero-init, ring 3 read/write). Returns its address. */
function privateBlock(s: Simulator, n: number): number {
  const r = s.vmm.pageReserve(PR_PRIVATE, n, 0);
  expect(r).not.toBe(0xffffffff);
  expect(r).toBeGreaterThanOrEqual(0x00400000);
  expect(r).toBeLessThan(0x80000000);
  expect(s.vmm.pageCommit(r >>> 12, n, PD_ZEROINIT, 0, PC_USER | PC_WRITEABLE)).toBe(1);
  return r;
}

describe('creating a global alias', () => {
  it('returns a page-aligned system-arena address mapping the same frames', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 1 });
    const orig = privateBlock(sim, 3);
    const alias = sim.vmm.linPageLock(orig >>> 12, 3, PAGEMAPGLOBAL);
    expect(sim.vmm.lastError).toBeNull();
    expect(alias).not.toBe(0);
    expect(alias & 0xfff).toBe(0);
    expect(alias).toBeGreaterThanOrEqual(MINSYSTEMLADDR);
    expect(alias >>> 12).toBeLessThan(MININVALIDPAGE);
    const fo = frames(sim, orig >>> 12, 3);
    fo.forEach((f) => expect(f).not.toBeNull());
    expect(frames(sim, alias >>> 12, 3)).toEqual(fo);
    const q = query(sim, alias);
    expect(q[4]).toBe(MEM_COMMIT);
    expect(q[3]).toBe(3 * 4096);
  });

  it('data written through either address is visible through the other', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 2 });
    const orig = privateBlock(sim, 2);
    sim.cpu.write32(orig + 0x10, 0xa1b2c3d4);
    const alias = sim.vmm.linPageLock(orig >>> 12, 2, PAGEMAPGLOBAL);
    expect(sim.cpu.read32(alias + 0x10)).toBe(0xa1b2c3d4);
    const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 3) & 0xff);
    sim.cpu.writeBytes(alias + 3000, data); // crosses the page boundary
    expect(sim.cpu.readBytes(orig + 3000, 5000)).toEqual(data);
    sim.cpu.write16(orig + 8190, 0xbeef);
    expect(sim.cpu.read16(alias + 8190)).toBe(0xbeef);
    for (let i = 0; i < 200; i++) sim.pager.pass();
    expect(sim.cpu.readBytes(alias + 3000, 5000)).toEqual(data);
    expect(sim.cpu.read16(alias + 8190)).toBe(0xbeef);
  });

  it('accepts PAGEMAPGLOBAL | PAGEMARKDIRTY written as driver code writes it (spec §6.2 item 5)', async () => {
    // In TypeScript `PAGEMAPGLOBAL | PAGEMARKDIRTY` is the int32 -0x40000000: the same 32 bits as the
    // ULONG 0xC0000000. ddk.ts keeps the constants "so they read exactly as driver code written
    // against the DDK does", and §6.2 item 5 makes this combination legal.
    const sim = await sims.make({ pager: 'off', seed: 12 });
    const orig = privateBlock(sim, 1);
    const flags = PAGEMAPGLOBAL | PAGEMARKDIRTY;
    const alias = sim.vmm.linPageLock(orig >>> 12, 1, flags);
    expect(sim.vmm.lastError).toBeNull();
    expect(alias).toBeGreaterThanOrEqual(MINSYSTEMLADDR);
  });

  it('PAGEMAPGLOBAL with PAGELOCKEDIFDP is refused and changes nothing', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 3 });
    const orig = privateBlock(sim, 1);
    expectUnchanged(sim, () => {
      expect(sim.vmm.linPageLock(orig >>> 12, 1, PAGEMAPGLOBAL | PAGELOCKEDIFDP)).toBe(0);
      expect(sim.vmm.lastError?.code).toBe('invalid-flags');
    });
  });
});

describe('tearing down a global alias', () => {
  it('the original pages with PAGEMAPGLOBAL fail with not-an-alias and change nothing', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 4 });
    const orig = privateBlock(sim, 2);
    const alias = sim.vmm.linPageLock(orig >>> 12, 2, PAGEMAPGLOBAL);
    expectUnchanged(sim, () => {
      expect(sim.vmm.linPageUnLock(orig >>> 12, 2, PAGEMAPGLOBAL)).toBe(0);
      expect(sim.vmm.lastError?.code).toBe('not-an-alias');
    });
    // A wrong length or a start inside the alias is not the alias either.
    expectUnchanged(sim, () => {
      expect(sim.vmm.linPageUnLock(alias >>> 12, 1, PAGEMAPGLOBAL)).toBe(0);
      expect(sim.vmm.lastError?.code).toBe('not-an-alias');
      expect(sim.vmm.linPageUnLock(alias >>> 12, 3, PAGEMAPGLOBAL)).toBe(0);
      expect(sim.vmm.lastError?.code).toBe('not-an-alias');
      expect(sim.vmm.linPageUnLock((alias >>> 12) + 1, 1, PAGEMAPGLOBAL)).toBe(0);
      expect(sim.vmm.lastError?.code).toBe('not-an-alias');
    });
  });

  it('the alias without PAGEMAPGLOBAL fails with alias-needs-mapglobal and changes nothing', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 5 });
    const orig = privateBlock(sim, 2);
    const alias = sim.vmm.linPageLock(orig >>> 12, 2, PAGEMAPGLOBAL);
    expectUnchanged(sim, () => {
      expect(sim.vmm.linPageUnLock(alias >>> 12, 2, 0)).toBe(0);
      expect(sim.vmm.lastError?.code).toBe('alias-needs-mapglobal');
      expect(sim.vmm.linPageUnLock((alias >>> 12) + 1, 1, 0)).toBe(0);
      expect(sim.vmm.lastError?.code).toBe('alias-needs-mapglobal');
    });
    // The alias is not a handle either.
    expectUnchanged(sim, () => {
      expect(sim.vmm.pageFree(alias, 0)).toBe(0);
      expect(sim.vmm.lastError?.code).toBe('not-freeable');
    });
  });

  it('after the alias unlock the originals are unlocked (movable) and the alias range is free', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 6 });
    const orig = privateBlock(sim, 2);
    const alias = sim.vmm.linPageLock(orig >>> 12, 2, MAPGLOBAL_MARKDIRTY);
    sim.cpu.write32(alias + 4096 + 8, 0x600dcafe);
    const fo = frames(sim, orig >>> 12, 2);
    for (let i = 0; i < 100; i++) sim.pager.pass();
    expect(frames(sim, orig >>> 12, 2)).toEqual(fo);

    expect(sim.vmm.linPageUnLock(alias >>> 12, 2, PAGEMAPGLOBAL)).toBe(1);
    // Unlocked to 0: the aggressive pager moved or paged out both pages at once.
    const fa = frames(sim, orig >>> 12, 2);
    fa.forEach((f, i) => expect(f).not.toBe(fo[i]));
    // No lock left on the originals.
    expect(sim.vmm.linPageUnLock(orig >>> 12, 1, 0)).toBe(0);
    expect(sim.vmm.lastError?.code).toBe('not-locked');
    // The alias range is free again.
    const q = query(sim, alias);
    expect(q[0]).toBe(alias);
    expect(q[4]).toBe(MEM_FREE);
    expect(faultOf(() => sim.cpu.read8(alias)), 'reading a freed alias must fault').toBe('free');
    expect(sim.vmm.linPageUnLock(alias >>> 12, 2, PAGEMAPGLOBAL)).toBe(0);
    expect(sim.vmm.lastError?.code).toBe('not-an-alias');
    // PAGEMARKDIRTY made the data survive the pager.
    for (let i = 0; i < 50; i++) sim.pager.pass();
    expect(sim.cpu.read32(orig + 4096 + 8)).toBe(0x600dcafe);
  });

  it('an alias lock nests with a plain lock: tearing the alias down leaves the plain lock', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 7 });
    const orig = privateBlock(sim, 2);
    expect(sim.vmm.linPageLock(orig >>> 12, 2, 0)).toBe(1);
    const a1 = sim.vmm.linPageLock(orig >>> 12, 2, PAGEMAPGLOBAL);
    const a2 = sim.vmm.linPageLock(orig >>> 12, 2, PAGEMAPGLOBAL);
    expect(a1).not.toBe(0);
    expect(a2).not.toBe(0);
    expect(a2).not.toBe(a1);
    const fo = frames(sim, orig >>> 12, 2);
    expect(sim.vmm.linPageUnLock(a1 >>> 12, 2, PAGEMAPGLOBAL)).toBe(1);
    expect(sim.vmm.linPageUnLock(a2 >>> 12, 2, PAGEMAPGLOBAL)).toBe(1);
    for (let i = 0; i < 100; i++) sim.pager.pass();
    expect(frames(sim, orig >>> 12, 2)).toEqual(fo);
    expect(sim.vmm.linPageUnLock(orig >>> 12, 2, 0)).toBe(1);
    expect(frames(sim, orig >>> 12, 2)).not.toEqual(fo);
    expect(sim.vmm.linPageUnLock(orig >>> 12, 2, 0)).toBe(0);
  });

  it('unlocking the original pages instead (no PAGEMAPGLOBAL) drops their lock and leaves a stale alias behind', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 13 });
    const orig = privateBlock(sim, 1);
    const alias = sim.vmm.linPageLock(orig >>> 12, 1, PAGEMAPGLOBAL);
    sim.cpu.write32(orig, 0x77777777);
    const f = frames(sim, orig >>> 12, 1)[0];
    expect(sim.vmm.linPageUnLock(orig >>> 12, 1, 0)).toBe(1);
    expect(frames(sim, orig >>> 12, 1)[0]).not.toBe(f); // unlocked to 0, taken by the pager
    try {
      sim.cpu.read32(alias);
      expect.unreachable('an alias whose page moved must fault');
    } catch (e) {
      expect(e).toBeInstanceOf(PageFault);
      expect((e as PageFault).reason).toBe('stale-alias');
      expect((e as PageFault).address).toBe(alias);
    }
    expect(sim.cpu.read32(orig)).toBe(0x77777777);
    // The leaked alias can still be torn down; there is no lock left to drop.
    expect(sim.vmm.linPageUnLock(alias >>> 12, 1, PAGEMAPGLOBAL)).toBe(1);
    expect(query(sim, alias)[4]).toBe(MEM_FREE);
    expect(sim.vmm.linPageUnLock(orig >>> 12, 1, 0)).toBe(0);
  });

  it('two aliases of the same pages: each one still works after the other is gone', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 8 });
    const orig = privateBlock(sim, 1);
    const a1 = sim.vmm.linPageLock(orig >>> 12, 1, PAGEMAPGLOBAL);
    const a2 = sim.vmm.linPageLock(orig >>> 12, 1, PAGEMAPGLOBAL);
    sim.cpu.write32(a1, 0x12121212);
    expect(sim.vmm.linPageUnLock(a1 >>> 12, 1, PAGEMAPGLOBAL)).toBe(1);
    for (let i = 0; i < 50; i++) sim.pager.pass();
    expect(sim.cpu.read32(a2)).toBe(0x12121212);
    sim.cpu.write32(a2, 0x34343434);
    expect(sim.cpu.read32(orig)).toBe(0x34343434);
    expect(sim.vmm.linPageUnLock(a2 >>> 12, 1, PAGEMAPGLOBAL)).toBe(1);
    expect(sim.vmm.linPageUnLock(orig >>> 12, 1, 0)).toBe(0);
  });
});

describe('dirty tracking through an alias', () => {
  it('CPU writes through the alias set P_DIRTY on the alias PTE only', async () => {
    const sim = await sims.make({ pager: 'off', seed: 9 });
    const orig = privateBlock(sim, 1);
    const alias = sim.vmm.linPageLock(orig >>> 12, 1, PAGEMAPGLOBAL);
    expect(pte(sim, orig >>> 12) & P_DIRTY).toBe(0);
    expect(pte(sim, alias >>> 12) & P_DIRTY).toBe(0);
    sim.cpu.write8(alias + 1, 0x42);
    const pa = pte(sim, alias >>> 12);
    const po = pte(sim, orig >>> 12);
    expect(pa & (P_DIRTY | P_ACC)).toBe(P_DIRTY | P_ACC);
    expect(po & P_DIRTY).toBe(0);
    // A read through the original sets only its accessed bit.
    expect(sim.cpu.read8(orig + 1)).toBe(0x42);
    expect(pte(sim, orig >>> 12) & (P_DIRTY | P_ACC)).toBe(P_ACC);
  });

  it('PAGEMARKDIRTY marks the original pages dirty at lock time', async () => {
    const sim = await sims.make({ pager: 'off', seed: 10 });
    const orig = privateBlock(sim, 2);
    const alias = sim.vmm.linPageLock(orig >>> 12, 2, MAPGLOBAL_MARKDIRTY);
    expect(alias).not.toBe(0);
    for (const e of ptes(sim, orig >>> 12, 2)) expect(e & (P_PRES | P_DIRTY)).toBe(P_PRES | P_DIRTY);
  });

  // The documented consequence (services.ts: "the reason PAGEMARKDIRTY exists"; core.ts pageOut).
  for (const { title, lockFlags, leavesBy, readBack } of [
    {
      title: 'without PAGEMARKDIRTY, data written only through the alias is lost when the clean original is discarded',
      lockFlags: PAGEMAPGLOBAL,
      leavesBy: 'discards',
      readBack: 0,
    },
    { title: 'with PAGEMARKDIRTY the same write survives the page-out', lockFlags: MAPGLOBAL_MARKDIRTY, leavesBy: 'pageOuts', readBack: 0xdeadbeef },
  ] as const) {
    it(title, async () => {
      const sim = await sims.make({ pager: 'off', seed: 11 });
      const orig = privateBlock(sim, 1);
      const alias = sim.vmm.linPageLock(orig >>> 12, 1, lockFlags);
      sim.cpu.write32(alias, 0xdeadbeef);
      expect(sim.vmm.linPageUnLock(alias >>> 12, 1, PAGEMAPGLOBAL)).toBe(1);
      const n0 = sim.pager.stats[leavesBy];
      for (let i = 0; i < 100 && (pte(sim, orig >>> 12) & P_PRES) !== 0; i++) sim.pager.pass();
      expect(pte(sim, orig >>> 12) & P_PRES).toBe(0);
      expect(sim.pager.stats[leavesBy]).toBe(n0 + 1);
      expect(sim.cpu.read32(orig)).toBe(readBack);
    });
  }
});

describe('aliases of memory without a pager', () => {
  it('an alias of private _PageCommitPhys memory (the caller\'s own PCC_NOLIN frame) is usable', async () => {
    // §4.14: such pages are safe at interrupt time only once locked with _LinPageLock; §1.5: to reach
    // private-arena memory from any context, lock it with PAGEMAPGLOBAL. Nothing here ever moves.
    const sim = await sims.make({ pager: 'aggressive', seed: 14 });
    const phys = sim.vmm.pageCommitContig(0, 1, PCC_NOLIN, 0, 0, 0x1000);
    expect(phys).not.toBe(0xffffffff);
    const r = sim.vmm.pageReserve(PR_PRIVATE, 1, 0);
    expect(sim.vmm.pageCommitPhys(r >>> 12, 1, phys >>> 12, PC_USER | PC_WRITEABLE)).toBe(1);
    sim.cpu.write32(r, 0x5678);
    const alias = sim.vmm.linPageLock(r >>> 12, 1, PAGEMAPGLOBAL);
    expect(sim.vmm.lastError).toBeNull();
    expect(frames(sim, alias >>> 12, 1)).toEqual([phys]);
    expect(sim.cpu.read32(alias)).toBe(0x5678);
    sim.cpu.write32(alias + 4, 0x9999);
    expect(sim.cpu.read32(r + 4)).toBe(0x9999);
    expect(sim.vmm.linPageUnLock(alias >>> 12, 1, PAGEMAPGLOBAL)).toBe(1);
  });

  it('an alias of an alias is usable while the first alias (and so the lock) is alive', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 15 });
    const orig = privateBlock(sim, 1);
    sim.cpu.write32(orig, 0x1234);
    const a1 = sim.vmm.linPageLock(orig >>> 12, 1, PAGEMAPGLOBAL);
    const a2 = sim.vmm.linPageLock(a1 >>> 12, 1, PAGEMAPGLOBAL);
    expect(sim.vmm.lastError).toBeNull();
    expect(frames(sim, a2 >>> 12, 1)).toEqual(frames(sim, orig >>> 12, 1));
    expect(sim.cpu.read32(a1)).toBe(0x1234);
    expect(sim.cpu.read32(a2)).toBe(0x1234);
  });
});
