/**
 * Descriptor tables are hostile input (STYLE: bound every walk, check every range before a byte
 * moves). The copy-engine cases test/copy-engine.test.ts does not already prove: a chain that is too
 * long without looping, a huge length inside a chain, tables and buffers outside RAM or wrapping past
 * 4 GiB, a DESC the driver never set (0). Each ends the command with a clear ERROR (and, for a
 * refused access, a violation naming why), moves nothing it should not, and the same engine then runs
 * a good chain: the simulator carries on.
 *
 * (Covered there: loops of two and of one descriptor, a misaligned DESC or next, an unlocked or
 * never handed-out table page, a descriptor pointing at an unlocked buffer, LENGTH over
 * MAX_TRANSFER in direct mode.)
 */

import { describe, expect, it } from 'vitest';
import { copyEngine as CE, type DeviceHandle, type Simulator } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { bytes, ceChain, lockedPages, writeDescriptors, type Buffer } from './dma-helpers.js';

const pool = simulatorsClosedAfterEach();
const DONE = CE.STATUS.DONE;
const DONE_ERR = CE.STATUS.DONE | CE.STATUS.ERROR;
const MEMORY = 16 << 20;

interface Rig {
  sim: Simulator;
  dev: DeviceHandle;
  src: Buffer;
  dst: Buffer;
  /** Descriptor table pages (17: room for 4097 descriptors and a spare page). */
  desc: Buffer;
}

async function rig(): Promise<Rig> {
  const sim = await pool.make({ pager: 'off', memory: MEMORY });
  const src = lockedPages(sim, 1);
  const dst = lockedPages(sim, 1);
  const desc = lockedPages(sim, 17);
  sim.cpu.writeBytes(src.lin, bytes(1, 4096));
  const dev = await sim.attachDevice('copy-engine');
  return { sim, dev, src, dst, desc };
}

/** The engine still serves: a one-descriptor chain copies 64 bytes, and nothing new is reported. */
async function stillServes(r: Rig): Promise<void> {
  const before = r.sim.violations().length;
  const at = 16 * 4096; // the spare page
  writeDescriptors(r.sim, r.desc.lin, [{ at, src: r.src.phys[0]! + 64, dst: r.dst.phys[0]! + 2048, length: 64, next: 0 }]);
  expect(await ceChain(r.dev, r.desc.phys[16]!)).toEqual({ status: DONE, error: 0, bytes: 64 });
  expect(r.sim.cpu.readBytes(r.dst.lin + 2048, 64)).toEqual(bytes(1, 4096).subarray(64, 128));
  expect(r.sim.violations()).toHaveLength(before);
  expect(r.sim.deviceFaults()).toEqual([]);
}

/** The table's physical address of descriptor i (16 bytes each, across the table's pages). */
const descAt = (desc: Buffer, i: number) => desc.phys[Math.floor((i * 16) / 4096)]! + ((i * 16) % 4096);

describe('copy engine: hostile descriptor tables', () => {
  it('4097 distinct descriptors (no loop) stop with CHAIN_TOO_LONG after exactly MAX_DESCRIPTORS, bytes counted', async () => {
    const r = await rig();
    const n = CE.MAX_DESCRIPTORS + 1;
    writeDescriptors(
      r.sim,
      r.desc.lin,
      Array.from({ length: n }, (_, i) => ({ at: i * 16, src: r.src.phys[0]!, dst: r.dst.phys[0]!, length: 1, next: i + 1 < n ? descAt(r.desc, i + 1) : 0 })),
    );
    expect(await ceChain(r.dev, r.desc.phys[0]!)).toEqual({ status: DONE_ERR, error: CE.ERROR.CHAIN_TOO_LONG, bytes: CE.MAX_DESCRIPTORS });
    expect((await r.dev.stats()).descriptors).toBe(CE.MAX_DESCRIPTORS);
    expect(r.sim.violations()).toEqual([]);
    await stillServes(r);
  });

  it('a length of 0xFFFFFFFF in the third descriptor: LENGTH_TOO_LARGE before that transfer, the first two done', async () => {
    const r = await rig();
    const d = r.desc.phys[0]!;
    writeDescriptors(r.sim, r.desc.lin, [
      { at: 0, src: r.src.phys[0]!, dst: r.dst.phys[0]!, length: 16, next: d + 16 },
      { at: 16, src: r.src.phys[0]! + 16, dst: r.dst.phys[0]! + 16, length: 16, next: d + 32 },
      { at: 32, src: r.src.phys[0]!, dst: r.dst.phys[0]!, length: 0xffffffff, next: 0 },
    ]);
    expect(await ceChain(r.dev, d)).toEqual({ status: DONE_ERR, error: CE.ERROR.LENGTH_TOO_LARGE, bytes: 32 });
    expect(r.sim.cpu.readBytes(r.dst.lin, 64)).toEqual(Uint8Array.from([...bytes(1, 32), ...new Uint8Array(32)]));
    expect(r.sim.violations()).toEqual([]);
    await stillServes(r);
  });

  it('a table outside RAM: DMA_REFUSED on the first read, reported as dma-outside-memory', async () => {
    const r = await rig();
    const beyond = MEMORY + 0x1000;
    expect(await ceChain(r.dev, beyond)).toEqual({ status: DONE_ERR, error: CE.ERROR.DMA_REFUSED, bytes: 0 });
    expect(r.sim.violations().map((v) => [v.code, v.physAddr, v.frame, v.access?.direction])).toEqual([['dma-outside-memory', beyond, -1, 'read']]);
    await stillServes(r);
  });

  it('a next pointer leaving RAM stops the walk there, after the good descriptors', async () => {
    const r = await rig();
    const d = r.desc.phys[0]!;
    writeDescriptors(r.sim, r.desc.lin, [{ at: 0, src: r.src.phys[0]!, dst: r.dst.phys[0]!, length: 100, next: 0xfffffff0 }]);
    expect(await ceChain(r.dev, d)).toEqual({ status: DONE_ERR, error: CE.ERROR.DMA_REFUSED, bytes: 100 });
    expect(r.sim.cpu.readBytes(r.dst.lin, 100)).toEqual(bytes(1, 100));
    expect(r.sim.violations().map((v) => [v.code, v.physAddr])).toEqual([['dma-outside-memory', 0xfffffff0]]);
    await stillServes(r);
  });

  it('buffers outside RAM, or wrapping past 4 GiB: refused before a byte moves, each named', async () => {
    const r = await rig();
    const d = r.desc.phys[0]!;
    const cases: [string, number, number, number, string][] = [
      ['destination past the end of RAM', r.src.phys[0]!, MEMORY - 8, 16, 'dma-outside-memory'],
      ['source far outside RAM', 0x80000000, r.dst.phys[0]!, 16, 'dma-outside-memory'],
      ['source wrapping past 4 GiB', 0xfffff000, r.dst.phys[0]!, 0x2000, 'dma-address-width'],
    ];
    for (const [what, src, dst, length, code] of cases) {
      const before = r.sim.violations().length;
      writeDescriptors(r.sim, r.desc.lin, [{ at: 0, src, dst, length, next: 0 }]);
      expect(await ceChain(r.dev, d), what).toEqual({ status: DONE_ERR, error: CE.ERROR.DMA_REFUSED, bytes: 0 });
      expect(r.sim.violations().slice(before).map((v) => v.code), what).toEqual([code]);
    }
    // Not a byte landed in the destination buffer (the refused copies from outside RAM aimed there).
    expect(r.sim.cpu.readBytes(r.dst.lin, 4096)).toEqual(new Uint8Array(4096));
    await stillServes(r);
  });

  it('DESC never set (0): the nul frame is no table the driver obtained, refused as dma-not-handed-out', async () => {
    const r = await rig();
    expect(await ceChain(r.dev, 0)).toEqual({ status: DONE_ERR, error: CE.ERROR.DMA_REFUSED, bytes: 0 });
    expect(r.sim.violations().map((v) => [v.code, v.physAddr])).toEqual([['dma-not-handed-out', 0]]);
    await stillServes(r);
  });
});
