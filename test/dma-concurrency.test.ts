/**
 * Concurrency: three copy engines running scatter-gather chains and a test-probe doing 32-bit
 * atomics DMA at the same time, each bound to its own driver, while the main thread allocates,
 * locks, unlocks and frees other memory and the aggressive pager moves or pages out every page the
 * moment it is unlocked (plus full pager passes between rounds). Correct drivers: zero violations,
 * zero faults, and every byte verified through the CPU after the pager has had its way.
 */

import { describe, expect, it } from 'vitest';
import { PAGEMARKDIRTY, type DeviceHandle, type DriverContext, type Simulator, testProbe as TP, copyEngine as CE } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { bytes, ceChain, firstDiff, handOut, lockedPages, probe, probeDone, rng, writeDescriptors, type Descriptor } from './dma-helpers.js';

const pool = simulatorsClosedAfterEach();

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
const ENGINE_ROUNDS = 24;
const PROBE_CHUNKS = 16;
const PROBE_OPS_PER_CHUNK = 15;

const tick = () => new Promise<void>((r) => setImmediate(r));

/**
 * One copy engine's driver: per round, an n-page source (patterned), an n-page destination and a
 * descriptor page, all locked (PAGEMARKDIRTY) and handed out; a chain that copies page perm[p] of the
 * source to page p of the destination in two pieces per page; then unlock, a pager pass, and
 * verification of every destination byte through the CPU; then free.
 */
async function engineDriver(sim: Simulator, drv: DriverContext, dev: DeviceHandle, seed: number, next: () => number): Promise<number> {
  let moved = 0;
  for (let round = 0; round < ENGINE_ROUNDS; round++) {
    const n = 1 + Math.floor(next() * 4);
    const src = lockedPages(drv, n);
    const dst = lockedPages(drv, n);
    const desc = lockedPages(drv, 1);
    const data = bytes(seed * 7919 + dev.id * 131 + round, n * 4096);
    drv.cpu.writeBytes(src.lin, data);
    const perm = Array.from({ length: n }, (_, i) => i).sort(() => next() - 0.5);
    const chain: (Descriptor & { at: number })[] = [];
    for (let p = 0; p < n; p++) {
      const cut = 1 + Math.floor(next() * 4094);
      chain.push({ at: 0, src: src.phys[perm[p]!]!, dst: dst.phys[p]!, length: cut, next: 0 });
      chain.push({ at: 0, src: src.phys[perm[p]!]! + cut, dst: dst.phys[p]! + cut, length: 4096 - cut, next: 0 });
    }
    // Lay the descriptors out in the table and link them.
    for (let k = 0; k < chain.length; k++) {
      chain[k]!.at = k * 16;
      chain[k]!.next = k + 1 < chain.length ? desc.phys[0]! + (k + 1) * 16 : 0;
    }
    writeDescriptors(sim, desc.lin, chain);

    expect(await ceChain(dev, desc.phys[0]!)).toEqual({ status: CE.STATUS.DONE, error: 0, bytes: n * 4096 });
    moved += n * 4096;

    for (const b of [src, dst, desc]) expect(drv.vmm.linPageUnLock(b.page, b.npages, 0)).toBe(1);
    sim.pager.pass();
    const want = new Uint8Array(n * 4096);
    for (let p = 0; p < n; p++) want.set(data.subarray(perm[p]! * 4096, perm[p]! * 4096 + 4096), p * 4096);
    expect(firstDiff(drv.cpu.readBytes(dst.lin, n * 4096), want)).toBe(-1);
    expect(firstDiff(drv.cpu.readBytes(src.lin, n * 4096), data)).toBe(-1);
    for (const b of [src, dst, desc]) expect(drv.vmm.pageFree(b.lin, 0)).toBe(1);
    await tick();
  }
  return moved;
}

/**
 * The probe's driver: eight counters in one page, added to and compare-exchanged by the device. The
 * page is unlocked between chunks (so the pager moves it) and locked and handed out again before the
 * next; the values must survive every move.
 */
async function probeDriver(sim: Simulator, drv: DriverContext, dev: DeviceHandle, next: () => number): Promise<number[]> {
  const buf = lockedPages(drv, 1);
  const expected = new Array<number>(8).fill(0);
  drv.cpu.writeBytes(buf.lin, new Uint8Array(32));
  let phys = buf.phys[0]!;
  for (let chunk = 0; chunk < PROBE_CHUNKS; chunk++) {
    for (let k = 0; k < PROBE_OPS_PER_CHUNK; k++) {
      const w = Math.floor(next() * 8);
      if (next() < 0.2) {
        const replacement = Math.floor(next() * 0x7fffffff);
        const r = await probe(dev, TP.OP.CMPXCHG32, phys + w * 4, { value: expected[w]!, value2: replacement });
        expect(r).toEqual(probeDone(expected[w]!));
        expected[w] = replacement;
      } else {
        const delta = 1 + Math.floor(next() * 100_000);
        const r = await probe(dev, TP.OP.ADD32, phys + w * 4, { value: delta });
        expect(r).toEqual(probeDone(expected[w]!));
        expected[w] = (expected[w]! + delta) >>> 0;
      }
    }
    expect(drv.vmm.linPageUnLock(buf.page, 1, 0)).toBe(1);
    sim.pager.pass();
    for (let w = 0; w < 8; w++) expect(drv.cpu.read32(buf.lin + w * 4)).toBe(expected[w]);
    expect(drv.vmm.linPageLock(buf.page, 1, PAGEMARKDIRTY)).toBe(1);
    phys = handOut(drv, buf.page, 1)[0]!;
    await tick();
  }
  const got = Array.from({ length: 8 }, (_, w) => drv.cpu.read32(buf.lin + w * 4));
  expect(drv.vmm.linPageUnLock(buf.page, 1, 0)).toBe(1);
  expect(drv.vmm.pageFree(buf.lin, 0)).toBe(1);
  expect(got).toEqual(expected);
  return got;
}

/**
 * Main-thread churn by a driver with no device: allocate, write, lock, hand out, unlock, free, and
 * pager steps, until told to stop. Keeps a few pages alive and checks their contents at the end.
 */
async function churn(sim: Simulator, stop: () => boolean, next: () => number): Promise<number> {
  const live: { lin: number; npages: number; data: Uint8Array }[] = [];
  let ops = 0;
  while (!stop()) {
    const n = 1 + Math.floor(next() * 3);
    const b = lockedPages(sim, n);
    const data = bytes(ops + 17, n * 4096);
    sim.cpu.writeBytes(b.lin, data);
    expect(sim.vmm.linPageUnLock(b.page, n, 0)).toBe(1);
    live.push({ lin: b.lin, npages: n, data });
    if (live.length > 6) {
      const old = live.splice(Math.floor(next() * live.length), 1)[0]!;
      expect(firstDiff(sim.cpu.readBytes(old.lin, old.npages * 4096), old.data)).toBe(-1);
      expect(sim.vmm.pageFree(old.lin, 0)).toBe(1);
    }
    sim.pager.step();
    ops++;
    await tick();
  }
  for (const l of live) {
    expect(firstDiff(sim.cpu.readBytes(l.lin, l.npages * 4096), l.data)).toBe(-1);
    expect(sim.vmm.pageFree(l.lin, 0)).toBe(1);
  }
  return ops;
}

describe('several devices DMA at once while the main thread locks, unlocks and the aggressive pager moves pages', () => {
  it.each(SEEDS)('seed %i: zero violations, zero faults, every byte verified', async (seed) => {
    const sim = await pool.make({ pager: 'aggressive', seed, memory: 2 << 20 });
    const engDrivers = [0, 1, 2].map((i) => sim.createDriver(`engine-${i}`));
    const probeDrv = sim.createDriver('counters');
    const [e0, e1, e2, pr] = await Promise.all([
      ...engDrivers.map((d, i) => d.attachDevice('copy-engine', { name: `ce${i}` })),
      probeDrv.attachDevice('test-probe', { name: 'atomics' }),
    ]);
    const engines = [e0!, e1!, e2!];
    const r = rng(seed);

    let done = false;
    const churnJob = churn(sim, () => done, r);
    const work = Promise.all([...engines.map((dev, i) => engineDriver(sim, engDrivers[i]!, dev, seed, rng(seed * 10 + i))), probeDriver(sim, probeDrv, pr!, rng(seed * 10 + 9))]);
    const results = await work.finally(() => {
      done = true;
    });
    const churnOps = await churnJob;
    sim.pager.pass();

    expect(sim.violations()).toEqual([]);
    expect(sim.deviceFaults()).toEqual([]);
    for (const dev of [...engines, pr!]) expect(await dev.stats()).toMatchObject({ violations: 0, blocked: 0 });
    const moved = results.slice(0, 3) as number[];
    for (const [i, dev] of engines.entries()) expect((await dev.stats()).bytes).toBe(moved[i]);
    // The pager really ran underneath: pages were moved and paged out.
    expect(sim.pager.stats.moves).toBeGreaterThan(0);
    expect(sim.pager.stats.pageOuts + sim.pager.stats.discards).toBeGreaterThan(0);
    expect(churnOps).toBeGreaterThan(0);
  });
});
