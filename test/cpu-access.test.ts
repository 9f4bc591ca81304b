/**
 * CPU-side access through linear addresses (cpu.ts, spec §1.3, §1.6, §2): page faults name their
 * reason and address; a CPU write sets P_DIRTY|P_ACC, a read only P_ACC; a multi-page access that
 * faults moves no byte; multi-byte values are little-endian.
 */

import { describe, expect, it } from 'vitest';
import {
  INVALID_LINEAR_POINTER,
  P_ACC,
  P_DIRTY,
  P_PRES,
  PAGEFIXED,
  PAGEZEROINIT,
  PC_WRITEABLE,
  PD_ZEROINIT,
  PG_SYS,
  PR_SYSTEM,
  PageFault,
  type PageFaultReason,
  type Simulator,
} from '../src/index.js';
import { expectUnchanged, faultOf, pte, query, simulatorsClosedAfterEach } from './helpers.js';

const sims = simulatorsClosedAfterEach();

function expectFault(fn: () => unknown, reason: PageFaultReason, address: number, write: boolean): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(PageFault);
  const f = caught as PageFault;
  expect(f.name).toBe('PageFault');
  expect(f.reason).toBe(reason);
  expect(f.address >>> 0).toBe(address >>> 0);
  expect(f.write).toBe(write);
}

/** A block of `n` pages whose first `committed` pages are committed (swappable, zero-init). */
function sparse(s: Simulator, n: number, committed: number): number {
  const r = s.vmm.pageReserve(PR_SYSTEM, n, 0);
  expect(r).not.toBe(0xffffffff);
  if (committed > 0) expect(s.vmm.pageCommit(r >>> 12, committed, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1);
  return r;
}

describe('page faults', () => {
  it("a free page faults with reason 'free'", async () => {
    const sim = await sims.make({ pager: 'off' });
    const a = 0xe0000000 + 0x123;
    expectFault(() => sim.cpu.read8(a), 'free', a, false);
    expectFault(() => sim.cpu.write32(a, 1), 'free', a, true);
    const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
    expect(sim.vmm.pageFree(lin, 0)).toBe(1);
    expectFault(() => sim.cpu.read8(lin), 'free', lin, false);
  });

  it("a reserved, uncommitted page faults with reason 'reserved' (also after a decommit)", async () => {
    const sim = await sims.make({ pager: 'off' });
    const r = sparse(sim, 2, 1);
    expectFault(() => sim.cpu.read16(r + 4096 + 6), 'reserved', r + 4096 + 6, false);
    expectFault(() => sim.cpu.write8(r + 4096, 0), 'reserved', r + 4096, true);
    sim.cpu.write8(r, 1);
    expect(sim.vmm.pageDecommit(r >>> 12, 1, 0)).toBe(1);
    expectFault(() => sim.cpu.read8(r), 'reserved', r, false);
  });

  it("the last 4 MiB fault with reason 'invalid-region'", async () => {
    const sim = await sims.make({ pager: 'off' });
    for (const a of [0xffc00000, INVALID_LINEAR_POINTER, 0xffe00000, 0xfffffffc]) {
      expectFault(() => sim.cpu.read32(a), 'invalid-region', a, false);
      expectFault(() => sim.cpu.write8(a, 0), 'invalid-region', a, true);
    }
  });

  it('an access running from a valid page into the invalid region faults before any byte moves', async () => {
    const sim = await sims.make({ pager: 'off' });
    // The last system-arena page, right below 0xFFC00000.
    const r = sim.vmm.pageReserve(0xffbff, 1, 0);
    expect(r).toBe(0xffbff000);
    expect(sim.vmm.pageCommit(0xffbff, 1, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1);
    sim.cpu.write32(0xffbffffc, 0x01020304);
    expectUnchanged(sim, () => expectFault(() => sim.cpu.write32(0xffbffffe, 0xaabbccdd), 'invalid-region', 0xffc00000, true));
    expect(sim.cpu.read32(0xffbffffc)).toBe(0x01020304);
  });

  it('an access past 4 GiB faults', async () => {
    const sim = await sims.make({ pager: 'off' });
    expect(faultOf(() => sim.cpu.readBytes(0xfffffff0, 0x20))).toBe('invalid-region');
  });

  it('non-ULONG addresses are programming errors (TypeError), not page faults', async () => {
    const sim = await sims.make({ pager: 'off' });
    expect(() => sim.cpu.read8(-1)).toThrow(TypeError);
    expect(() => sim.cpu.read8(1.5)).toThrow(TypeError);
    expect(() => sim.cpu.readBytes(0xe0000000, -1)).toThrow(TypeError);
  });
});

describe('accessed and dirty bits', () => {
  it('a read sets P_ACC only; a write sets P_DIRTY | P_ACC', async () => {
    const sim = await sims.make({ pager: 'off' });
    const lin = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, PAGEZEROINIT);
    const p = lin >>> 12;
    expect(pte(sim, p) & P_PRES).toBe(0);
    expect(sim.cpu.read8(lin)).toBe(0);
    expect(pte(sim, p) & (P_PRES | P_ACC | P_DIRTY)).toBe(P_PRES | P_ACC);
    sim.cpu.write8(lin + 4096, 1);
    expect(pte(sim, p + 1) & (P_PRES | P_ACC | P_DIRTY)).toBe(P_PRES | P_ACC | P_DIRTY);
    sim.cpu.write8(lin, 1);
    expect(pte(sim, p) & (P_ACC | P_DIRTY)).toBe(P_ACC | P_DIRTY);
  });

  it('the same holds for fixed pages, which are present from the start with neither bit', async () => {
    const sim = await sims.make({ pager: 'off' });
    const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED);
    const p = lin >>> 12;
    expect(pte(sim, p) & (P_PRES | P_ACC | P_DIRTY)).toBe(P_PRES);
    sim.cpu.readBytes(lin, 16);
    expect(pte(sim, p) & (P_ACC | P_DIRTY)).toBe(P_ACC);
    sim.cpu.writeBytes(lin, [1, 2, 3]);
    expect(pte(sim, p) & (P_ACC | P_DIRTY)).toBe(P_ACC | P_DIRTY);
  });

  it('a multi-page read marks every page it touched accessed, and no other', async () => {
    const sim = await sims.make({ pager: 'off' });
    const lin = sim.vmm.pageAllocate(4, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED);
    sim.cpu.readBytes(lin + 4095, 4098); // pages 0, 1, 2
    const bits = [0, 1, 2, 3].map((i) => pte(sim, (lin >>> 12) + i) & (P_ACC | P_DIRTY));
    expect(bits).toEqual([P_ACC, P_ACC, P_ACC, 0]);
  });

  it('a zero-length access touches nothing', async () => {
    const sim = await sims.make({ pager: 'off' });
    const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED);
    expectUnchanged(sim, () => {
      expect(sim.cpu.readBytes(lin, 0)).toEqual(new Uint8Array(0));
      sim.cpu.writeBytes(lin, []);
      sim.cpu.writeBytes(0xe0000000, []); // not even a free page faults
    });
  });
});

describe('faulting multi-page writes leave memory unchanged', () => {
  it('a write that runs from a committed page into a reserved one moves no byte', async () => {
    const sim = await sims.make({ pager: 'off' });
    const r = sparse(sim, 3, 1);
    const old = Uint8Array.from({ length: 4096 }, (_, i) => i & 0xff);
    sim.cpu.writeBytes(r, old);
    expectUnchanged(sim, () => expectFault(() => sim.cpu.writeBytes(r + 4000, new Uint8Array(200).fill(0xee)), 'reserved', r + 4096, true));
    expect(sim.cpu.readBytes(r, 4096)).toEqual(old);
  });

  it('a write over three pages whose last is free moves no byte', async () => {
    const sim = await sims.make({ pager: 'off' });
    const lin = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED | PAGEZEROINIT);
    // The page right after the block must be free for this test.
    expect(query(sim, lin + 2 * 4096)[4]).toBe(0x10000); // MEM_FREE
    expectUnchanged(sim, () => expectFault(() => sim.cpu.writeBytes(lin + 10, new Uint8Array(3 * 4096).fill(1)), 'free', lin + 2 * 4096, true));
    expect(sim.cpu.readBytes(lin, 2 * 4096)).toEqual(new Uint8Array(2 * 4096));
  });

  it('with the aggressive pager a faulting write still moves no byte', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 3 });
    const r = sparse(sim, 4, 3);
    const old = new Uint8Array(3 * 4096).fill(0x42);
    sim.cpu.writeBytes(r, old);
    for (let i = 0; i < 20; i++) sim.pager.pass();
    expectFault(() => sim.cpu.writeBytes(r + 5, new Uint8Array(4 * 4096 - 10).fill(0x99)), 'reserved', r + 3 * 4096, true);
    expect(sim.cpu.readBytes(r, 3 * 4096)).toEqual(old);
  });
});

describe('little-endian values', () => {
  it('8/16/32-bit round trips, and their byte order', async () => {
    const sim = await sims.make({ pager: 'off' });
    const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGEZEROINIT);
    sim.cpu.write32(lin, 0x12345678);
    expect(sim.cpu.read32(lin)).toBe(0x12345678);
    expect([...sim.cpu.readBytes(lin, 4)]).toEqual([0x78, 0x56, 0x34, 0x12]);
    expect(sim.cpu.read16(lin)).toBe(0x5678);
    expect(sim.cpu.read16(lin + 2)).toBe(0x1234);
    expect(sim.cpu.read8(lin + 3)).toBe(0x12);

    sim.cpu.write16(lin + 8, 0xbeef);
    expect(sim.cpu.read16(lin + 8)).toBe(0xbeef);
    expect([...sim.cpu.readBytes(lin + 8, 2)]).toEqual([0xef, 0xbe]);
    sim.cpu.write8(lin + 12, 0xa5);
    expect(sim.cpu.read8(lin + 12)).toBe(0xa5);
    sim.cpu.writeBytes(lin + 16, [0x01, 0x02, 0x03, 0x04]);
    expect(sim.cpu.read32(lin + 16)).toBe(0x04030201);
  });

  it('results are unsigned and inputs are truncated to their width', async () => {
    const sim = await sims.make({ pager: 'off' });
    const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGEZEROINIT);
    sim.cpu.write32(lin, 0xffffffff);
    expect(sim.cpu.read32(lin)).toBe(0xffffffff);
    expect(sim.cpu.read16(lin)).toBe(0xffff);
    expect(sim.cpu.read8(lin)).toBe(0xff);
    sim.cpu.write32(lin, -2);
    expect(sim.cpu.read32(lin)).toBe(0xfffffffe);
    sim.cpu.write16(lin + 4, 0x12345);
    expect(sim.cpu.read16(lin + 4)).toBe(0x2345);
    expect(sim.cpu.read8(lin + 6)).toBe(0); // no spill into the next byte
    sim.cpu.write8(lin + 8, 0x1ff);
    expect(sim.cpu.read8(lin + 8)).toBe(0xff);
    expect(sim.cpu.read8(lin + 9)).toBe(0);
  });

  it('values straddling a page boundary, including into a paged-out page', async () => {
    const sim = await sims.make({ pager: 'off' });
    const lin = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, PAGEZEROINIT);
    sim.cpu.write32(lin + 4094, 0xcafebabe);
    expect(sim.cpu.read32(lin + 4094)).toBe(0xcafebabe);
    expect(sim.cpu.read16(lin + 4094)).toBe(0xbabe);
    expect(sim.cpu.read16(lin + 4096)).toBe(0xcafe);
    for (let i = 0; i < 100 && (pte(sim, (lin >>> 12) + 1) & P_PRES) !== 0; i++) sim.pager.pass();
    expect(sim.cpu.read32(lin + 4094)).toBe(0xcafebabe);
    sim.cpu.write16(lin + 4095, 0x1357);
    expect(sim.cpu.read32(lin + 4094)).toBe(0xca1357be);
  });
});
