/**
 * _PageQuery (spec §3.7, §4.6): the kernel half of Win32 VirtualQuery. The region reported is the
 * maximal run of pages from the (page-rounded) address with the same state, the same originating
 * _PageReserve block (unless free) and the same access; the structure is 7 DWORDs in DDK order and
 * the service returns the 28 bytes written.
 */

import { describe, expect, it } from 'vitest';
import {
  MEM_COMMIT,
  MEM_FREE,
  MEM_PRIVATE,
  MEM_RESERVE,
  MININVALIDPAGE,
  PAGE_NOACCESS,
  PAGE_READONLY,
  PAGE_READWRITE,
  PAGEZEROINIT,
  PC_USER,
  PC_WRITEABLE,
  PD_ZEROINIT,
  PG_SYS,
  PG_VM,
  type Simulator,
} from '../src/index.js';
import { expectUnchanged, simulatorsClosedAfterEach } from './helpers.js';

const sims = simulatorsClosedAfterEach();

interface Mbi {
  BaseAddress: number;
  AllocationBase: number;
  AllocationProtect: number;
  RegionSize: number;
  State: number;
  Protect: number;
  Type: number;
}

function query(s: Simulator, addr: number): Mbi {
  const m = new Uint32Array(7);
  expect(s.vmm.pageQuery(addr, m, 28)).toBe(28);
  expect(s.vmm.lastError).toBeNull();
  return { BaseAddress: m[0]!, AllocationBase: m[1]!, AllocationProtect: m[2]!, RegionSize: m[3]!, State: m[4]!, Protect: m[5]!, Type: m[6]! };
}

/** Far from where first-fit placement puts anything the simulator makes by itself. */
const X = 0xe0000;
const RW = PC_USER | PC_WRITEABLE;
/** ~PC_WRITEABLE as a ULONG. */
const NOT_WRITEABLE = ~PC_WRITEABLE >>> 0;

function reserveAt(s: Simulator, page: number, n: number): number {
  const r = s.vmm.pageReserve(page, n, 0);
  expect(s.vmm.lastError).toBeNull();
  expect(r).toBe(page * 4096);
  return r;
}

describe('free regions', () => {
  it('a free region runs from the page-rounded address to the next block', async () => {
    const sim = await sims.make({ pager: 'off' });
    reserveAt(sim, X, 4);
    reserveAt(sim, X + 0x10, 4);
    const q = query(sim, (X + 4) * 4096 + 0x123);
    expect(q.BaseAddress).toBe((X + 4) * 4096);
    expect(q.State).toBe(MEM_FREE);
    expect(q.RegionSize).toBe((0x10 - 4) * 4096);
    // From the middle of the gap: to the same next block.
    const q2 = query(sim, (X + 9) * 4096);
    expect(q2.BaseAddress).toBe((X + 9) * 4096);
    expect(q2.RegionSize).toBe((0x10 - 9) * 4096);
    expect(q2.State).toBe(MEM_FREE);
  });

  it('a free region with no block after it ends where the invalid region starts', async () => {
    const sim = await sims.make({ pager: 'off' });
    reserveAt(sim, X, 2);
    const q = query(sim, (X + 2) * 4096);
    expect(q.State).toBe(MEM_FREE);
    expect(q.RegionSize).toBe((MININVALIDPAGE - (X + 2)) * 4096);
    const last = query(sim, MININVALIDPAGE * 4096 - 1);
    expect(last.BaseAddress).toBe((MININVALIDPAGE - 1) * 4096);
    expect(last.RegionSize).toBe(4096);
  });

  it('freeing a block makes its range part of the surrounding free region', async () => {
    const sim = await sims.make({ pager: 'off' });
    const a = reserveAt(sim, X, 4);
    reserveAt(sim, X + 8, 1);
    expect(sim.vmm.pageFree(a, 0)).toBe(1);
    const q = query(sim, a);
    expect(q.State).toBe(MEM_FREE);
    expect(q.RegionSize).toBe(8 * 4096);
  });
});

describe('reserved and committed runs', () => {
  it('splits reserved and committed runs, in DDK field order', async () => {
    const sim = await sims.make({ pager: 'off' });
    const base = reserveAt(sim, X, 10);
    expect(sim.vmm.pageCommit(X + 2, 4, PD_ZEROINIT, 0, RW)).toBe(1);

    expect(query(sim, base)).toEqual({
      BaseAddress: base,
      AllocationBase: base,
      AllocationProtect: PAGE_NOACCESS,
      RegionSize: 2 * 4096,
      State: MEM_RESERVE,
      Protect: 0,
      Type: MEM_PRIVATE,
    });
    expect(query(sim, base + 2 * 4096 + 77)).toEqual({
      BaseAddress: base + 2 * 4096,
      AllocationBase: base,
      AllocationProtect: PAGE_NOACCESS,
      RegionSize: 4 * 4096,
      State: MEM_COMMIT,
      Protect: PAGE_READWRITE,
      Type: MEM_PRIVATE,
    });
    const tail = query(sim, base + 6 * 4096);
    expect(tail.State).toBe(MEM_RESERVE);
    expect(tail.RegionSize).toBe(4 * 4096);
    expect(tail.AllocationBase).toBe(base);
    // Past the block: free.
    expect(query(sim, base + 10 * 4096).State).toBe(MEM_FREE);
  });

  it('a query from the middle of a run reports the rest of the run', async () => {
    const sim = await sims.make({ pager: 'off' });
    const base = reserveAt(sim, X, 10);
    expect(sim.vmm.pageCommit(X + 2, 4, PD_ZEROINIT, 0, RW)).toBe(1);
    const q = query(sim, base + 4 * 4096);
    expect(q.BaseAddress).toBe(base + 4 * 4096);
    expect(q.RegionSize).toBe(2 * 4096);
    expect(q.AllocationBase).toBe(base);
  });

  it('residency does not split a run: present and paged-out pages of one commit are one region', async () => {
    const sim = await sims.make({ pager: 'off' });
    const base = reserveAt(sim, X, 4);
    expect(sim.vmm.pageCommit(X, 4, PD_ZEROINIT, 0, RW)).toBe(1);
    sim.cpu.write8(base + 4096, 1); // page 1 present, the others not
    expect(query(sim, base).RegionSize).toBe(4 * 4096);
  });

  it('two adjacent blocks with identical attributes are two regions', async () => {
    const sim = await sims.make({ pager: 'off' });
    const a = reserveAt(sim, X, 3);
    const b = reserveAt(sim, X + 3, 5);
    expect(sim.vmm.pageCommit(X, 3, PD_ZEROINIT, 0, RW)).toBe(1);
    expect(sim.vmm.pageCommit(X + 3, 5, PD_ZEROINIT, 0, RW)).toBe(1);
    expect(query(sim, a).RegionSize).toBe(3 * 4096);
    const qb = query(sim, b);
    expect(qb.AllocationBase).toBe(b);
    expect(qb.RegionSize).toBe(5 * 4096);
    // The same for two uncommitted reservations.
    const c = reserveAt(sim, X + 0x20, 2);
    reserveAt(sim, X + 0x22, 2);
    expect(query(sim, c).RegionSize).toBe(2 * 4096);
  });

  it('runs split where the protection differs (made with _PageModifyPermissions)', async () => {
    const sim = await sims.make({ pager: 'off' });
    const base = reserveAt(sim, X, 8);
    expect(sim.vmm.pageCommit(X, 8, PD_ZEROINIT, 0, RW)).toBe(1);
    expect(query(sim, base).RegionSize).toBe(8 * 4096);
    expect(sim.vmm.pageModifyPermissions(X + 3, 2, NOT_WRITEABLE, 0)).toBe(RW);
    const q0 = query(sim, base);
    expect(q0.RegionSize).toBe(3 * 4096);
    expect(q0.Protect).toBe(PAGE_READWRITE);
    const q3 = query(sim, base + 3 * 4096);
    expect(q3.RegionSize).toBe(2 * 4096);
    expect(q3.Protect).toBe(PAGE_READONLY);
    expect(q3.State).toBe(MEM_COMMIT);
    const q4 = query(sim, base + 4 * 4096);
    expect(q4.RegionSize).toBe(4096);
    expect(q4.Protect).toBe(PAGE_READONLY);
    const q5 = query(sim, base + 5 * 4096);
    expect(q5.RegionSize).toBe(3 * 4096);
    expect(q5.Protect).toBe(PAGE_READWRITE);
    // Ring-0 only pages (no PC_USER) are PAGE_NOACCESS.
    expect(sim.vmm.pageModifyPermissions(X + 6, 1, 0, 0)).toBe(RW);
    const q6 = query(sim, base + 6 * 4096);
    expect(q6.Protect).toBe(PAGE_NOACCESS);
    expect(q6.RegionSize).toBe(4096);
  });

  it('a _PageAllocate block reports its allocation protection and base', async () => {
    const sim = await sims.make({ pager: 'off' });
    const vm = sim.vmm.getSysVMHandle();
    const shared = sim.vmm.pageAllocate(3, PG_VM, vm, 0, 0, 0, null, PAGEZEROINIT);
    expect(sim.vmm.lastError).toBeNull();
    const q = query(sim, shared + 4096);
    expect(q).toEqual({
      BaseAddress: shared + 4096,
      AllocationBase: shared,
      AllocationProtect: PAGE_READWRITE,
      RegionSize: 2 * 4096,
      State: MEM_COMMIT,
      Protect: PAGE_READWRITE,
      Type: MEM_PRIVATE,
    });
    const sys = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, 0);
    const qs = query(sim, sys);
    expect(qs.Protect).toBe(PAGE_NOACCESS); // ring-0 pages
    expect(qs.RegionSize).toBe(2 * 4096);
    expect(qs.AllocationBase).toBe(sys);
  });

  it('decommitting the middle of a run splits it', async () => {
    const sim = await sims.make({ pager: 'off' });
    const base = reserveAt(sim, X, 6);
    expect(sim.vmm.pageCommit(X, 6, PD_ZEROINIT, 0, RW)).toBe(1);
    expect(sim.vmm.pageDecommit(X + 2, 1, 0)).toBe(1);
    expect(query(sim, base).RegionSize).toBe(2 * 4096);
    const mid = query(sim, base + 2 * 4096);
    expect(mid.State).toBe(MEM_RESERVE);
    expect(mid.RegionSize).toBe(4096);
    expect(query(sim, base + 3 * 4096).RegionSize).toBe(3 * 4096);
  });
});

describe('arguments', () => {
  it('returns 28 even when cbmbi is larger', async () => {
    const sim = await sims.make({ pager: 'off' });
    const m = new Uint32Array(8).fill(0xabababab);
    expect(sim.vmm.pageQuery(0xe0000000, m, 32)).toBe(28);
    expect(m[7]).toBe(0xabababab); // nothing written past the 28 bytes
  });

  it('cbmbi < 28 fails and writes nothing', async () => {
    const sim = await sims.make({ pager: 'off' });
    const m = new Uint32Array(7).fill(0x5a5a5a5a);
    expect(sim.vmm.pageQuery(0xe0000000, m, 27)).toBe(0);
    expect(sim.vmm.lastError?.code).toBe('buffer-too-small');
    expect(sim.vmm.pageQuery(0xe0000000, m, 0)).toBe(0);
    expect([...m]).toEqual(new Array(7).fill(0x5a5a5a5a));
  });

  it('a structure shorter than 7 DWORDs fails', async () => {
    const sim = await sims.make({ pager: 'off' });
    const m = new Uint32Array(6);
    expect(sim.vmm.pageQuery(0xe0000000, m, 28)).toBe(0);
    expect(sim.vmm.lastError?.code).toBe('buffer-too-small');
  });

  it('an address in the invalid region fails', async () => {
    const sim = await sims.make({ pager: 'off' });
    const m = new Uint32Array(7).fill(1);
    for (const a of [0xffc00000, 0xfffe0000, 0xffffffff]) {
      expect(sim.vmm.pageQuery(a, m, 28)).toBe(0);
      expect(sim.vmm.lastError?.code).toBe('invalid-region');
    }
    expect([...m]).toEqual(new Array(7).fill(1));
  });

  it('a failure changes nothing', async () => {
    const sim = await sims.make({ pager: 'aggressive' });
    reserveAt(sim, X, 2);
    expectUnchanged(sim, () => {
      expect(sim.vmm.pageQuery(0xffc00000, new Uint32Array(7), 28)).toBe(0);
      expect(sim.vmm.pageQuery(X * 4096, new Uint32Array(7), 20)).toBe(0);
    });
  });
});
