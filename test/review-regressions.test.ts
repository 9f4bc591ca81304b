/**
 * Regressions for defects found in review (one test each): a stale global alias handing out another
 * owner's frame, PAGEZEROREINIT zeroing lost at page-out, a faulting CPU access paging pages in, a
 * CPU write through a physical mapping marking someone else's frame dirty, _PageReAllocate taking
 * over frames of _PageCommitPhys pages, and the quarantine being flushed by a contiguous request.
 */

import { describe, expect, it } from 'vitest';
import {
  P_PRES,
  PAGECONTIG,
  PAGEFIXED,
  PAGEMAPGLOBAL,
  PAGEMARKDIRTY,
  PAGEUSEALIGN,
  PAGEZEROREINIT,
  PC_WRITEABLE,
  PD_ZEROINIT,
  PG_SYS,
  PG_VM,
  PR_SYSTEM,
  testProbe as TP,
} from '../src/index.js';
import { probe } from './dma-helpers.js';
import { ptes, simulatorsClosedAfterEach } from './helpers.js';

const sims = simulatorsClosedAfterEach();

describe('review regressions', () => {
  it('a stale PAGEMAPGLOBAL alias copies as not present and hands nothing out: a device using it is refused', async () => {
    const sim = await sims.make({ pager: 'off' });
    const a = sim.createDriver('A');
    const b = sim.createDriver('B');
    const pa = a.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
    a.cpu.write32(pa, 0x11111111);
    const alias = a.vmm.linPageLock(pa >>> 12, 1, (PAGEMAPGLOBAL | PAGEMARKDIRTY) >>> 0);
    expect(a.vmm.linPageUnLock(pa >>> 12, 1, 0)).toBe(1); // the misuse: the original, not the alias
    sim.pager.pass();
    const pb = b.vmm.pageAllocate(1, PG_VM, b.vmm.getSysVMHandle(), 0, 0, 0, null, PAGEFIXED);
    b.cpu.write32(pb, 0xbbbbbbbb);
    const aliasPte = ptes(a, alias >>> 12, 1)[0]!;
    expect(aliasPte & P_PRES).toBe(0);
    // Even the frame number the alias still maps is not a hand-out to A.
    const bFrame = ptes(b, pb >>> 12, 1)[0]! & ~0xfff;
    const dev = await a.attachDevice('test-probe');
    const r = await probe(dev, TP.OP.STORE32, bFrame >>> 0, { value: 0xdeadbeef });
    expect(r.status & TP.STATUS.REFUSED).toBe(TP.STATUS.REFUSED);
    expect(b.cpu.read32(pb)).toBe(0xbbbbbbbb);
    expect(sim.violations().map((v) => v.code)).toEqual(['dma-not-handed-out']);
  });

  it('PAGEZEROREINIT zeroing survives the next page-out (the zeroed page is dirty, its old copy dropped)', async () => {
    const sim = await sims.make({ pager: 'off' });
    const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
    sim.cpu.writeBytes(lin, new Uint8Array(4096).fill(0xab));
    sim.pager.pass(); // written to the backing store
    expect(sim.cpu.read8(lin)).toBe(0xab); // back in, clean, with a backing copy
    expect(sim.vmm.pageReAllocate(lin, 1, PAGEZEROREINIT)).toBe(lin);
    expect(sim.cpu.read8(lin)).toBe(0);
    sim.pager.pass();
    expect(sim.cpu.readBytes(lin, 4096)).toEqual(new Uint8Array(4096));
  });

  it('a CPU access that faults on a later page pages nothing in', async () => {
    const sim = await sims.make({ pager: 'off' });
    const base = sim.vmm.pageReserve(PR_SYSTEM, 2, 0);
    expect(sim.vmm.pageCommit(base >>> 12, 1, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1); // page 1 stays reserved
    const before = sim.fingerprint();
    expect(() => sim.cpu.readBytes(base + 4000, 200)).toThrow(expect.objectContaining({ name: 'PageFault', reason: 'reserved' }));
    expect(sim.fingerprint()).toBe(before);
    expect(ptes(sim, base >>> 12, 1)[0]! & P_PRES).toBe(0);
  });

  it("a CPU write through a physical mapping does not mark the frame's later owner dirty", async () => {
    const sim = await sims.make({ memory: 1 << 20, pager: 'off' });
    const X = 0xff; // the last frame: free until everything else is taken
    const m = sim.vmm.mapPhysToLinear(X * 4096, 4096, 0);
    sim.cpu.write8(m, 1);
    const n = 255;
    const lin = sim.vmm.pageAllocate(n, PG_SYS, 0, 0, 0, 0, null, 0);
    expect(sim.vmm.linPageLock(lin >>> 12, n, 0)).toBe(1); // without PAGEMARKDIRTY
    const entries = ptes(sim, lin >>> 12, n);
    const iX = entries.findIndex((e) => e >>> 12 === X);
    expect(iX).toBeGreaterThanOrEqual(0);
    const dev = await sim.attachDevice('test-probe');
    const r = await probe(dev, TP.OP.FILL, X * 4096, { len: 64, value: 0x5a });
    expect(r.status & TP.STATUS.REFUSED).toBe(TP.STATUS.REFUSED);
    expect(sim.violations().map((v) => v.code)).toEqual(['dma-not-marked-dirty']);
  });

  it('_PageReAllocate moving a block leaves the frames of its _PageCommitPhys pages with their owner', async () => {
    const sim = await sims.make({ pager: 'off' });
    const owner = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
    sim.cpu.write32(owner, 1234);
    const alias = sim.vmm.linPageLock(owner >>> 12, 1, PAGEMAPGLOBAL);
    const frame = ptes(sim, owner >>> 12, 1)[0]! >>> 12;
    const blk = sim.vmm.pageReserve(PR_SYSTEM, 1, 0);
    expect(sim.vmm.pageCommitPhys(blk >>> 12, 1, frame, PC_WRITEABLE)).toBe(1);
    sim.vmm.pageReserve((blk >>> 12) + 1, 1, 0); // blocks growth in place
    const moved = sim.vmm.pageReAllocate(blk, 2, 0);
    expect(moved).not.toBe(blk);
    expect(sim.cpu.read32(alias)).toBe(1234); // the alias still validates against its owner
    expect(sim.outstandingLocks().map((l) => l.linearPage)).toEqual([owner >>> 12]);
  });

  it('a contiguous request prefers frames outside the quarantine and takes only the frames it needs', async () => {
    const sim = await sims.make({ memory: 1 << 20, pager: 'aggressive', quarantine: 64 });
    const lin = sim.vmm.pageAllocate(32, PG_SYS, 0, 0, 0, 0, null, 0);
    expect(sim.vmm.linPageLock(lin >>> 12, 32, 0)).toBe(1);
    const held = new Set(ptes(sim, lin >>> 12, 32).map((e) => e >>> 12));
    expect(sim.vmm.linPageUnLock(lin >>> 12, 32, 0)).toBe(1); // frames go to quarantine
    const phys = new Uint32Array(1);
    expect(sim.vmm.pageAllocate(4, PG_SYS, 0, 0, 0, 0x100, phys, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED)).not.toBe(0);
    const got = [0, 1, 2, 3].map((i) => (phys[0]! >>> 12) + i);
    expect(got.filter((f) => held.has(f))).toEqual([]);
  });
});
