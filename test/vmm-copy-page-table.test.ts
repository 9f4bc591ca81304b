/**
 * _CopyPageTable (spec §4.1, §2, §6.1): a snapshot of raw x86 PTEs, one DWORD per page; P_PRES says
 * whether the frame bits mean anything; no page table for a 4 MiB slot means failure. The DDK's
 * own sample copies 5 entries into a 3-entry buffer: here that is an error and nothing is written.
 */

import { describe, expect, it } from 'vitest';
import {
  PAGEFIXED,
  PAGELOCKED,
  PC_LOCKED,
  PC_WRITEABLE,
  PD_ZEROINIT,
  PG_SYS,
  PR_SYSTEM,
  P_ACC,
  P_DIRTY,
  P_PRES,
  P_WRITE,
  type Simulator,
  type VmmErrorCode,
} from '../src/index.js';
import { expectFailure, expectUnchanged, simulatorsClosedAfterEach } from './helpers.js';

const sims = simulatorsClosedAfterEach();
let sim: Simulator;

async function boot(): Promise<Simulator> {
  sim = await sims.make({ memory: 1 << 20, pager: 'off', seed: 5 });
  return sim;
}

const SENTINEL = 0xdeadbeef;
const sentinel = (n: number): Uint32Array => new Uint32Array(n).fill(SENTINEL);
const frameAddr = (entry: number): number => (entry & ~0xfff) >>> 0;

/** A _CopyPageTable call that failed with `code` (it returns 0). */
function expectCopyFailure(result: number, code: VmmErrorCode): void {
  expectFailure(sim, result, 0, '_CopyPageTable', code);
}

function copy(page: number, n: number): number[] {
  const buf = new Uint32Array(n);
  expect(sim.vmm.copyPageTable(page, n, buf, 0)).not.toBe(0);
  expect(sim.vmm.lastError).toBeNull();
  return [...buf];
}

/** Reads physical memory through a fresh _MapPhysToLinear mapping. */
function readPhys(phys: number, len: number): Uint8Array {
  const lin = sim.vmm.mapPhysToLinear(phys, len, 0);
  expect(lin).not.toBe(0xffffffff);
  return sim.cpu.readBytes(lin, len);
}

const pattern = (len: number, seed: number): Uint8Array => Uint8Array.from({ length: len }, (_, i) => (i * 13 + seed) & 0xff);

describe('_CopyPageTable: entries', () => {
  it('a locked page has P_PRES set and pte & ~0xFFF is the frame that really holds its bytes', async () => {
    await boot();
    const lin = sim.vmm.pageAllocate(3, PG_SYS, 0, 0, 0, 0, null, 0);
    const page = lin >>> 12;
    expect(sim.vmm.linPageLock(page, 3, 0)).toBe(1);
    const data = pattern(3 * 4096, 1);
    sim.cpu.writeBytes(lin, data);
    const entries = copy(page, 3);
    for (let i = 0; i < 3; i++) {
      expect(entries[i]! & P_PRES).toBe(P_PRES);
      expect(readPhys(frameAddr(entries[i]!), 4096)).toEqual(data.subarray(i * 4096, (i + 1) * 4096));
    }
  });

  it('the entries of locked pages stay true across a pager pass', async () => {
    await boot();
    const lin = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, 0);
    expect(sim.vmm.linPageLock(lin >>> 12, 2, 0)).toBe(1);
    const before = copy(lin >>> 12, 2);
    sim.pager.pass();
    expect(copy(lin >>> 12, 2)).toEqual(before);
  });

  it('reports the CPU-set P_ACC / P_DIRTY bits and the P_WRITE permission', async () => {
    await boot();
    const lin = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, PAGELOCKED);
    const page = lin >>> 12;
    sim.cpu.read8(lin);
    sim.cpu.write8(lin + 4096, 1);
    const [e0, e1] = copy(page, 2) as [number, number];
    expect(e0 & (P_ACC | P_DIRTY)).toBe(P_ACC);
    expect(e1 & (P_ACC | P_DIRTY)).toBe(P_ACC | P_DIRTY);
    expect(e0 & P_WRITE).toBe(P_WRITE);
  });

  it('committed-but-untouched, reserved and free pages (with a page table) give entries with P_PRES clear', async () => {
    await boot();
    const lin = sim.vmm.pageReserve(0xc2000, 3, 0); // free pages follow it in the same 4 MiB slot
    expect(lin).toBe(0xc2000000);
    expect(sim.vmm.pageCommit(0xc2000, 1, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1);
    const buf = sentinel(5);
    expect(sim.vmm.copyPageTable(0xc2000, 5, buf, 0)).toBe(1);
    expect([...buf].map((e) => e & P_PRES)).toEqual([0, 0, 0, 0, 0]);
    // Every entry was written, not left alone.
    expect([...buf]).not.toContain(SENTINEL);
  });

  it('a paged-out page gives P_PRES clear; the frame it had is stale', async () => {
    await boot();
    const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
    sim.cpu.write32(lin, 7);
    const [before] = copy(lin >>> 12, 1) as [number];
    expect(before & P_PRES).toBe(P_PRES);
    // A pager pass moves or pages out the unlocked page; repeat until it is out.
    for (let i = 0; i < 16 && (copy(lin >>> 12, 1)[0]! & P_PRES) !== 0; i++) sim.pager.pass();
    const [after] = copy(lin >>> 12, 1) as [number];
    expect(after & P_PRES).toBe(0);
    expect(sim.cpu.read32(lin)).toBe(7); // the contents were kept in the backing store
  });

  it('fixed pages are present without any lock', async () => {
    await boot();
    const lin = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED);
    expect(copy(lin >>> 12, 2).map((e) => e & P_PRES)).toEqual([P_PRES, P_PRES]);
  });

  it('is a snapshot: writing into the buffer changes nothing', async () => {
    await boot();
    const lin = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED);
    const buf = new Uint32Array(2);
    expect(sim.vmm.copyPageTable(lin >>> 12, 2, buf, 0)).toBe(1);
    const first = [...buf];
    expectUnchanged(sim, () => buf.fill(0));
    expect(copy(lin >>> 12, 2)).toEqual(first);
  });

  it('writes exactly nPages entries into a larger buffer and leaves the rest alone', async () => {
    await boot();
    const lin = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED);
    const buf = sentinel(5);
    expect(sim.vmm.copyPageTable(lin >>> 12, 2, buf, 0)).toBe(1);
    expect(buf[0]! & P_PRES).toBe(P_PRES);
    expect(buf[1]! & P_PRES).toBe(P_PRES);
    expect([...buf.subarray(2)]).toEqual([SENTINEL, SENTINEL, SENTINEL]);
  });
});

describe('_CopyPageTable: the DDK sample bug (§6.1) and other failures', () => {
  it('5 entries into a 3-entry buffer: returns 0 (buffer-too-small), writes nothing, changes nothing', async () => {
    await boot();
    const lin = sim.vmm.pageAllocate(5, PG_SYS, 0, 0, 0, 0, null, 0);
    const pgStart = lin >>> 12;
    expect(sim.vmm.linPageLock(pgStart, 3, 0)).toBe(1);
    const buf = sentinel(3);
    expectUnchanged(sim, () => {
      expectCopyFailure(sim.vmm.copyPageTable(pgStart, 5, buf, 0), 'buffer-too-small');
      expect(sim.vmm.lastError).toMatchObject({ length: 3, nPages: 5 });
      expect([...buf]).toEqual([SENTINEL, SENTINEL, SENTINEL]);
    });
    // The corrected call (count 3) succeeds.
    expect(sim.vmm.copyPageTable(pgStart, 3, buf, 0)).toBe(1);
    expect([...buf].every((e) => (e & P_PRES) !== 0)).toBe(true);
  });

  it('flags must be 0 (reserved-flags), buffer untouched', async () => {
    await boot();
    const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED);
    const buf = sentinel(1);
    for (const flags of [1, 0x100, 0x80000000]) {
      expectCopyFailure(sim.vmm.copyPageTable(lin >>> 12, 1, buf, flags), 'reserved-flags');
    }
    expect(buf[0]).toBe(SENTINEL);
  });

  it('an empty 4 MiB slot has no page table: returns 0 (no-page-table), buffer untouched', async () => {
    await boot();
    const buf = sentinel(4);
    expectUnchanged(sim, () => {
      expectCopyFailure(sim.vmm.copyPageTable(0x00400, 4, buf, 0), 'no-page-table'); // private arena, nothing reserved
      expectCopyFailure(sim.vmm.copyPageTable(0xc0400, 1, buf, 0), 'no-page-table');
      expect([...buf]).toEqual([SENTINEL, SENTINEL, SENTINEL, SENTINEL]);
    });
  });

  it('fails when the extra entries reach an empty slot, even though the first pages are fine (§6.1)', async () => {
    await boot();
    // The last three pages of the 4 MiB slot at 0x00400000 …; pages 0x800 and 0x801 are in the next, empty slot.
    expect(sim.vmm.pageReserve(0x7fd, 3, 0)).toBe(0x7fd000);
    expect(sim.vmm.pageCommit(0x7fd, 3, PD_ZEROINIT, 0, PC_WRITEABLE | PC_LOCKED)).toBe(1);
    const buf = sentinel(5);
    expectCopyFailure(sim.vmm.copyPageTable(0x7fd, 5, buf, 0), 'no-page-table');
    expect([...buf]).toEqual(new Array(5).fill(SENTINEL));
    expect(sim.vmm.copyPageTable(0x7fd, 3, buf, 0)).toBe(1);
  });

  it('a slot whose only block was freed has no page table any more', async () => {
    await boot();
    const lin = sim.vmm.pageReserve(0xd0000, 1, 0);
    expect(sim.vmm.copyPageTable(0xd0000, 1, new Uint32Array(1), 0)).toBe(1);
    expect(sim.vmm.pageFree(lin, 0)).toBe(1);
    expectCopyFailure(sim.vmm.copyPageTable(0xd0000, 1, new Uint32Array(1), 0), 'no-page-table');
  });

  it('the invalid region 0xFFC00000–0xFFFFFFFF has no page table', async () => {
    await boot();
    expectCopyFailure(sim.vmm.copyPageTable(0xffc00, 1, sentinel(1), 0), 'no-page-table');
    expectCopyFailure(sim.vmm.copyPageTable(0xfffff, 1, sentinel(1), 0), 'no-page-table');
  });

  it('rejects zero counts, page numbers past 0xFFFFF and non-buffers', async () => {
    await boot();
    sim.vmm.pageReserve(PR_SYSTEM, 1, 0);
    expectCopyFailure(sim.vmm.copyPageTable(0xc0000, 0, sentinel(1), 0), 'zero-count');
    expectCopyFailure(sim.vmm.copyPageTable(0x100000, 1, sentinel(1), 0), 'invalid-range');
    expectCopyFailure(sim.vmm.copyPageTable(0xffffe, 3, sentinel(3), 0), 'invalid-range');
    expectCopyFailure(sim.vmm.copyPageTable(0xc0000, 1, [0] as unknown as Uint32Array, 0), 'invalid-argument');
    expectCopyFailure(sim.vmm.copyPageTable(0xc0000, 1, new Uint8Array(8) as unknown as Uint32Array, 0), 'invalid-argument');
  });
});
