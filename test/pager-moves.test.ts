/**
 * The pager really moves memory (spec §1.7, §1.8): a locked page keeps its frame whatever the pager
 * does; an unlocked page moves or is paged out, and its data survives; a paged-out page comes back
 * (to another frame) on a CPU touch or a lock; clean pages with a backing copy are discarded, not
 * written; and everything is reproducible from the seed.
 */

import { describe, expect, it } from 'vitest';
import { P_DIRTY, P_PRES, PAGEFIXED, PG_SYS, type PagerPolicy, type Simulator } from '../src/index.js';
import { allocSwappable, frameOf, pte, ptes, simulatorsClosedAfterEach } from './helpers.js';

const sims = simulatorsClosedAfterEach();

function fill(len: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: len }, (_, i) => (i * 7 + seed * 59 + (i >>> 9)) & 0xff);
}

/** Runs pager passes until `page` is not present; returns how many passes that took. */
function passUntilOut(s: Simulator, page: number): number {
  for (let i = 1; i <= 200; i++) {
    s.pager.pass();
    if (frameOf(s, page) === null) return i;
  }
  throw new Error(`page ${page.toString(16)} never paged out`);
}

describe('locked pages stay put', () => {
  it('a locked page keeps its frame across thousands of aggressive passes and the CPU sees its data', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 101, stacks: false });
    const lin = allocSwappable(sim, 2);
    const others = allocSwappable(sim, 8);
    const data = fill(8192, 1);
    sim.cpu.writeBytes(lin, data);
    expect(sim.vmm.linPageLock(lin >>> 12, 2, 0)).toBe(1);
    const f0 = frameOf(sim, lin >>> 12);
    const f1 = frameOf(sim, (lin >>> 12) + 1);
    expect(f0).not.toBeNull();
    expect(f1).not.toBeNull();
    let work = 0;
    for (let i = 0; i < 3000; i++) {
      sim.cpu.write8(others + (i % 8) * 4096, i & 0xff);
      sim.cpu.read8(others + ((i + 4) % 8) * 4096);
      work += sim.pager.pass();
      if (i % 300 === 0) {
        expect(frameOf(sim, lin >>> 12)).toBe(f0);
        expect(frameOf(sim, (lin >>> 12) + 1)).toBe(f1);
        expect(sim.cpu.readBytes(lin + (i % 8192), 64)).toEqual(data.subarray(i % 8192, (i % 8192) + 64));
      }
    }
    expect(work).toBeGreaterThanOrEqual(3000);
    expect(frameOf(sim, lin >>> 12)).toBe(f0);
    expect(frameOf(sim, (lin >>> 12) + 1)).toBe(f1);
    expect(sim.cpu.readBytes(lin, 8192)).toEqual(data);
  });

  it('after the unlock the frame changes and the data is intact through the CPU', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 102 });
    const lin = allocSwappable(sim, 4);
    const data = fill(4 * 4096, 2);
    sim.cpu.writeBytes(lin, data);
    expect(sim.vmm.linPageLock(lin >>> 12, 4, 0)).toBe(1);
    const before = [0, 1, 2, 3].map((i) => frameOf(sim, (lin >>> 12) + i));
    expect(sim.vmm.linPageUnLock(lin >>> 12, 4, 0)).toBe(1);
    const after = [0, 1, 2, 3].map((i) => frameOf(sim, (lin >>> 12) + i));
    after.forEach((f, i) => expect(f, `page ${i}`).not.toBe(before[i]));
    expect(sim.cpu.readBytes(lin, 4 * 4096)).toEqual(data);
  });

  it('with the pager off, an unlocked page moves only when a pass runs', async () => {
    const sim = await sims.make({ pager: 'off', seed: 103, quarantine: 16 });
    const lin = allocSwappable(sim, 1);
    sim.cpu.write32(lin, 0x11223344);
    expect(sim.vmm.linPageLock(lin >>> 12, 1, 0)).toBe(1);
    const f = frameOf(sim, lin >>> 12);
    expect(sim.vmm.linPageUnLock(lin >>> 12, 1, 0)).toBe(1);
    expect(frameOf(sim, lin >>> 12)).toBe(f);
    expect(sim.pager.pass()).toBe(1);
    expect(frameOf(sim, lin >>> 12)).not.toBe(f);
    expect(sim.cpu.read32(lin)).toBe(0x11223344);
  });
});

describe('page-out and page-in', () => {
  it('a paged-out page comes back on a CPU touch, to another frame, with its data', async () => {
    const sim = await sims.make({ pager: 'off', seed: 104, quarantine: 16 });
    const lin = allocSwappable(sim, 1);
    const page = lin >>> 12;
    const data = fill(4096, 3);
    sim.cpu.writeBytes(lin, data);
    const seen = new Set<number>();
    for (let cycle = 0; cycle < 20; cycle++) {
      const f = frameOf(sim, page)!;
      expect(f).not.toBeNull();
      seen.add(f);
      passUntilOut(sim, page);
      const ins = sim.pager.stats.pageIns;
      if (cycle % 2 === 0) expect(sim.cpu.readBytes(lin, 4096)).toEqual(data);
      else sim.cpu.write8(lin + 100, data[100]!); // a write touch brings it in as well
      expect(sim.pager.stats.pageIns).toBe(ins + 1);
      const g = frameOf(sim, page);
      expect(g).not.toBeNull();
      // The frame it left sits in quarantine, so the page cannot come back to it.
      expect(g).not.toBe(f);
    }
    expect(seen.size).toBeGreaterThan(1);
    expect(sim.cpu.readBytes(lin, 4096)).toEqual(data);
  });

  it('a paged-out page comes back on a lock and stays at that frame while locked', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 105 });
    const lin = allocSwappable(sim, 3);
    const page = lin >>> 12;
    const data = fill(3 * 4096, 4);
    sim.cpu.writeBytes(lin, data);
    sim.pager.policy = 'off';
    for (let i = 0; i < 3; i++) passUntilOut(sim, page + i);
    const was = [0, 1, 2].map((i) => frameOf(sim, page + i));
    expect(was).toEqual([null, null, null]);
    sim.pager.policy = 'aggressive';
    expect(sim.vmm.linPageLock(page, 3, 0)).toBe(1);
    const now = [0, 1, 2].map((i) => frameOf(sim, page + i));
    now.forEach((f) => expect(f).not.toBeNull());
    for (let i = 0; i < 200; i++) sim.pager.pass();
    expect([0, 1, 2].map((i) => frameOf(sim, page + i))).toEqual(now);
    expect(sim.cpu.readBytes(lin, 3 * 4096)).toEqual(data);
    expect(sim.vmm.linPageUnLock(page, 3, 0)).toBe(1);
  });

  it('a dirty page is written out; once read back in (clean) it is discarded, not written again', async () => {
    const sim = await sims.make({ pager: 'off', seed: 106 });
    const lin = allocSwappable(sim, 1);
    const page = lin >>> 12;
    const data = fill(4096, 5);
    sim.cpu.writeBytes(lin, data);
    expect(pte(sim, page) & P_DIRTY).toBe(P_DIRTY);
    const s0 = { ...sim.pager.stats };
    passUntilOut(sim, page);
    expect(sim.pager.stats.pageOuts).toBe(s0.pageOuts + 1);
    expect(sim.pager.stats.discards).toBe(s0.discards);

    expect(sim.cpu.readBytes(lin, 4096)).toEqual(data); // page-in from the backing copy: clean
    expect(pte(sim, page) & P_DIRTY).toBe(0);
    const s1 = { ...sim.pager.stats };
    passUntilOut(sim, page);
    expect(sim.pager.stats.discards).toBe(s1.discards + 1);
    expect(sim.pager.stats.pageOuts).toBe(s1.pageOuts);
    expect(sim.cpu.readBytes(lin, 4096)).toEqual(data);

    // Dirty again: written again.
    sim.cpu.write8(lin + 5, 0xee);
    const s2 = { ...sim.pager.stats };
    passUntilOut(sim, page);
    expect(sim.pager.stats.pageOuts).toBe(s2.pageOuts + 1);
    expect(sim.pager.stats.discards).toBe(s2.discards);
    const expected = data.slice();
    expected[5] = 0xee;
    expect(sim.cpu.readBytes(lin, 4096)).toEqual(expected);
  });

  it('a move keeps the dirty bit, so a moved dirty page is still written when it goes out', async () => {
    const sim = await sims.make({ pager: 'off', seed: 107 });
    const lin = allocSwappable(sim, 1);
    const page = lin >>> 12;
    sim.cpu.write32(lin, 0xfeedface);
    // Count the moves before the page-out: whatever their number, the page-out must write.
    const s0 = { ...sim.pager.stats };
    passUntilOut(sim, page);
    expect(sim.pager.stats.pageOuts).toBe(s0.pageOuts + 1);
    expect(sim.pager.stats.discards).toBe(s0.discards);
    expect(sim.cpu.read32(lin)).toBe(0xfeedface);
  });

  it('a virgin zero-init page read but never written is discarded and reads back as zeros', async () => {
    const sim = await sims.make({ pager: 'off', seed: 108 });
    const lin = allocSwappable(sim, 1);
    const page = lin >>> 12;
    const z0 = sim.pager.stats.zeroFills;
    expect(sim.cpu.readBytes(lin, 4096)).toEqual(new Uint8Array(4096));
    expect(sim.pager.stats.zeroFills).toBe(z0 + 1);
    const s = { ...sim.pager.stats };
    passUntilOut(sim, page);
    expect(sim.pager.stats.discards).toBe(s.discards + 1);
    expect(sim.pager.stats.pageOuts).toBe(s.pageOuts);
    expect(sim.cpu.readBytes(lin, 4096)).toEqual(new Uint8Array(4096));
  });

  it('pager.pass() touches each resident unlocked page exactly once and nothing else', async () => {
    const sim = await sims.make({ pager: 'off', seed: 109 });
    const lin = allocSwappable(sim, 10);
    for (let i = 0; i < 10; i++) sim.cpu.write8(lin + i * 4096, i);
    expect(sim.vmm.linPageLock((lin >>> 12) + 2, 3, 0)).toBe(1); // 3 locked
    const s = { ...sim.pager.stats };
    expect(sim.pager.pass()).toBe(7);
    const acted = sim.pager.stats.moves + sim.pager.stats.pageOuts + sim.pager.stats.discards - (s.moves + s.pageOuts + s.discards);
    expect(acted).toBe(7);
    for (let i = 0; i < 10; i++) expect(sim.cpu.read8(lin + i * 4096)).toBe(i);
  });

  it('a multi-page CPU write under memory pressure (one obtainable frame) still lands completely', async () => {
    const sim = await sims.make({ memory: 1 << 20, pager: 'off', seed: 110 });
    const lin = allocSwappable(sim, 4);
    const free = sim.vmm.getFreePageCount(0);
    // Lock up every free frame but one.
    const hog = sim.vmm.pageAllocate(free - 1, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED);
    expect(sim.vmm.lastError).toBeNull();
    expect(sim.vmm.getFreePageCount(0)).toBe(1);
    const data = fill(4 * 4096 - 10, 6);
    sim.cpu.writeBytes(lin + 5, data);
    expect(sim.cpu.readBytes(lin + 5, data.length)).toEqual(data);
    expect(sim.vmm.pageFree(hog, 0)).toBe(1);
  });
});

describe('determinism', () => {
  /** A scripted workload; returns the frame of every page after every step. */
  function script(s: Simulator, policy: PagerPolicy): string[] {
    s.pager.policy = policy;
    const hist: string[] = [];
    const a = allocSwappable(s, 6);
    const b = allocSwappable(s, 3);
    const snap = () => {
      const entries = [...ptes(s, a >>> 12, 6), ...ptes(s, b >>> 12, 3)];
      hist.push(entries.map((e) => (e & P_PRES ? (e >>> 12).toString(16) : '-')).join(','));
    };
    for (let round = 0; round < 40; round++) {
      s.cpu.write32(a + (round % 6) * 4096 + round * 4, round * 0x01010101);
      s.cpu.read8(b + (round % 3) * 4096);
      snap();
      if (round % 5 === 0) expect(s.vmm.linPageLock((a >>> 12) + (round % 4), 2, 0)).toBe(1);
      if (round % 5 === 3) expect(s.vmm.linPageUnLock((a >>> 12) + ((round - 3) % 4), 2, 0)).toBe(1);
      s.pager.step();
      snap();
      if (round % 4 === 0) s.pager.pass();
      snap();
    }
    return hist;
  }

  for (const policy of ['aggressive', 'random'] as const) {
    it(`same seed, same calls: identical fingerprints and frame histories (${policy})`, async () => {
      const s1 = await sims.make({ pager: policy, seed: 4242 });
      const s2 = await sims.make({ pager: policy, seed: 4242 });
      expect(s1.fingerprint()).toBe(s2.fingerprint());
      const h1 = script(s1, policy);
      const h2 = script(s2, policy);
      expect(h1).toEqual(h2);
      expect(s1.fingerprint()).toBe(s2.fingerprint());
      expect(s1.pager.stats).toEqual(s2.pager.stats);
    });

    it(`a different seed gives a different frame history (${policy})`, async () => {
      const s1 = await sims.make({ pager: policy, seed: 4242 });
      const s3 = await sims.make({ pager: policy, seed: 4243 });
      const h1 = script(s1, policy);
      const h3 = script(s3, policy);
      expect(h3).not.toEqual(h1);
      expect(s3.fingerprint()).not.toBe(s1.fingerprint());
    });
  }
});
