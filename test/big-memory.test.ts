/**
 * The largest supported memory (DESIGN.md §2: 1 MiB … 1 GiB, 262,144 frames): a 1 GiB simulator
 * starts and serves a 64 MiB fixed allocation that the CPU can write and read back.
 */

import { describe, expect, it } from 'vitest';
import { P_PRES, PAGECONTIG, PAGEFIXED, PAGEUSEALIGN, PG_SYS } from '../src/index.js';
import { ptes, simulatorsClosedAfterEach } from './helpers.js';

const sims = simulatorsClosedAfterEach();

const GiB = 1 << 30;
const N = 16384; // 64 MiB

describe('1 GiB of physical memory', () => {
  it('starts with 262,144 frames and serves a 64 MiB fixed allocation readable and writable by the CPU', async () => {
    const sim = await sims.make({ memory: GiB, pager: 'aggressive', seed: 5 });
    expect(sim.memory).toEqual({ bytes: GiB, frames: 262144 });
    const free0 = sim.vmm.getFreePageCount(0);
    expect(free0).toBe(262143);

    const lin = sim.vmm.pageAllocate(N, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED);
    expect(sim.vmm.lastError).toBeNull();
    expect(lin).not.toBe(0);
    expect(sim.vmm.getFreePageCount(0)).toBe(free0 - N);

    const frames = new Set<number>();
    for (const e of ptes(sim, lin >>> 12, N)) {
      expect(e & P_PRES).toBe(P_PRES);
      frames.add(e >>> 12);
    }
    expect(frames.size).toBe(N);
    for (const f of frames) expect(f).toBeLessThan(262144);

    // Every byte, in one access: page number in the first word, a pattern elsewhere.
    const data = new Uint8Array(N * 4096);
    const words = new Uint32Array(data.buffer);
    for (let i = 0; i < words.length; i++) words[i] = (i * 0x9e3779b1) >>> 0;
    for (let p = 0; p < N; p++) words[p * 1024] = p;
    sim.cpu.writeBytes(lin, data);
    for (let i = 0; i < 200; i++) sim.pager.pass(); // nothing to move, and nothing must
    const back = sim.cpu.readBytes(lin, N * 4096);
    expect(Buffer.compare(back, data)).toBe(0);
    for (const p of [0, 1, 4095, 4096, 8191, N - 1]) expect(sim.cpu.read32(lin + p * 4096)).toBe(p);
    expect(sim.cpu.read32(lin + N * 4096 - 4)).toBe(words[words.length - 1]);

    expect(sim.vmm.pageFree(lin, 0)).toBe(1);
    expect(sim.vmm.getFreePageCount(0)).toBe(free0);
  });

  it('serves a 64 MiB contiguous buffer in the top quarter of physical memory', async () => {
    const sim = await sims.make({ memory: GiB, pager: 'off' });
    const phys = new Uint32Array(1);
    const lin = sim.vmm.pageAllocate(N, PG_SYS, 0, 0x1f, 0x30000, 0x40000, phys, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED);
    expect(sim.vmm.lastError).toBeNull();
    expect(phys[0]).toBe(0x30000 * 4096);
    ptes(sim, lin >>> 12, N).forEach((e, i) => {
      if (e >>> 12 !== 0x30000 + i) expect(e >>> 12).toBe(0x30000 + i);
    });
    sim.cpu.write32(lin + N * 4096 - 4, 0xfeedbeef);
    expect(sim.cpu.read32(lin + N * 4096 - 4)).toBe(0xfeedbeef);
    expect(sim.vmm.pageFree(lin, 0)).toBe(1);
  });
});
