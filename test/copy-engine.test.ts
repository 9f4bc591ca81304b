/**
 * The copy engine through a real worker: its fixed register map, direct copy and fill,
 * scatter-gather chains that live in simulated memory (written by the CPU into a locked, handed-out
 * page, read by the device with DMA), chains as hostile input (loops, misalignment, refused
 * descriptor reads), and the interrupt only when asked for.
 */

import { describe, expect, it } from 'vitest';
import { DeviceError, copyEngine as CE, type DeviceHandle, type Simulator } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { bytes, ceChain, ceCopy, ceFill, ceResult, ceStartCopy, lockedPages, pollReg, writeDescriptors, type Buffer } from './dma-helpers.js';

const pool = simulatorsClosedAfterEach();

const DONE = CE.STATUS.DONE;
const DONE_ERR = CE.STATUS.DONE | CE.STATUS.ERROR;

interface Rig {
  sim: Simulator;
  dev: DeviceHandle;
  src: Buffer;
  dst: Buffer;
  desc: Buffer;
}

/** A simulator with a copy engine, a 2-page source (patterned), a 2-page destination and a descriptor page. */
async function rig(): Promise<Rig> {
  const sim = await pool.make({ pager: 'off' });
  const src = lockedPages(sim, 2);
  const dst = lockedPages(sim, 2);
  const desc = lockedPages(sim, 1);
  sim.cpu.writeBytes(src.lin, bytes(1, 8192));
  const dev = await sim.attachDevice('copy-engine');
  return { sim, dev, src, dst, desc };
}

describe('register map', () => {
  it('has the documented indices, bits, codes and limits', () => {
    expect(CE.REG).toEqual({ CONTROL: 0, STATUS: 1, SRC: 2, DST: 3, LENGTH: 4, FILL_VALUE: 5, DESC: 6, ERROR: 7, BYTES_DONE: 8 });
    expect(CE.REGISTER_COUNT).toBe(9);
    expect(CE.CONTROL).toEqual({ START: 1, FILL: 2, IRQ_ENABLE: 4, SG: 8 });
    expect(CE.STATUS).toEqual({ BUSY: 1, DONE: 2, ERROR: 4 });
    expect(CE.ERROR).toEqual({ NONE: 0, DMA_REFUSED: 1, CHAIN_TOO_LONG: 2, DESC_MISALIGNED: 3, LENGTH_TOO_LARGE: 4 });
    expect(CE.DESCRIPTOR).toEqual({ SIZE: 16, SRC: 0, DST: 4, LENGTH: 8, NEXT: 12 });
    expect(CE.MAX_DESCRIPTORS).toBe(4096);
    expect(CE.MAX_TRANSFER).toBe(16 << 20);
  });

  it('only a CONTROL write with START rings the doorbell', () => {
    expect(CE.rings(CE.REG.CONTROL, CE.CONTROL.START)).toBe(true);
    expect(CE.rings(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.SG | CE.CONTROL.FILL | CE.CONTROL.IRQ_ENABLE)).toBe(true);
    expect(CE.rings(CE.REG.CONTROL, CE.CONTROL.IRQ_ENABLE)).toBe(false);
    for (let r = 1; r < CE.REGISTER_COUNT; r++) expect(CE.rings(r, CE.CONTROL.START)).toBe(false);
  });

  it('registers read back what the driver wrote; no register past the map exists', async () => {
    const sim = await pool.make();
    const dev = await sim.attachDevice('copy-engine');
    dev.writeReg(CE.REG.SRC, 0xdeadb000);
    dev.writeReg(CE.REG.LENGTH, 0xffffffff);
    expect(dev.readReg(CE.REG.SRC)).toBe(0xdeadb000);
    expect(dev.readReg(CE.REG.LENGTH)).toBe(0xffffffff);
    expect(() => dev.readReg(CE.REGISTER_COUNT)).toThrow(DeviceError);
    expect(() => dev.writeReg(-1, 0)).toThrow(expect.objectContaining({ code: 'bad-register' }));
  });
});

describe('direct mode', () => {
  it('copies across pages and reports STATUS, ERROR and BYTES_DONE', async () => {
    const { sim, dev, src, dst } = await rig();
    // Page-by-page (the pages need not be physically contiguous).
    expect(await ceCopy(dev, src.phys[0]! + 100, dst.phys[1]! + 50, 3000)).toEqual({ status: DONE, error: 0, bytes: 3000 });
    expect(sim.cpu.readBytes(dst.lin + 4096 + 50, 3000)).toEqual(bytes(1, 8192).subarray(100, 3100));
    expect(sim.cpu.readBytes(dst.lin + 4096, 50)).toEqual(new Uint8Array(50));
    expect(await ceCopy(dev, src.phys[1]!, dst.phys[0]!, 4096)).toEqual({ status: DONE, error: 0, bytes: 4096 });
    expect(sim.cpu.readBytes(dst.lin, 4096)).toEqual(bytes(1, 8192).subarray(4096));
    expect(sim.violations()).toEqual([]);
  });

  it('fills with the low byte of FILL_VALUE', async () => {
    const { sim, dev, dst } = await rig();
    expect(await ceFill(dev, dst.phys[0]! + 10, 4000, 0x1a5)).toEqual({ status: DONE, error: 0, bytes: 4000 });
    const got = sim.cpu.readBytes(dst.lin, 4096);
    expect(got.subarray(10, 4010)).toEqual(new Uint8Array(4000).fill(0xa5));
    expect(got.subarray(0, 10)).toEqual(new Uint8Array(10));
    expect(got.subarray(4010)).toEqual(new Uint8Array(86));
  });

  it('a zero-length command completes with nothing moved', async () => {
    const { dev, src, dst } = await rig();
    expect(await ceCopy(dev, src.phys[0]!, dst.phys[0]!, 0)).toEqual({ status: DONE, error: 0, bytes: 0 });
  });

  it('a transfer over MAX_TRANSFER is LENGTH_TOO_LARGE before any DMA', async () => {
    const { sim, dev, src, dst } = await rig();
    expect(await ceCopy(dev, src.phys[0]!, dst.phys[0]!, CE.MAX_TRANSFER + 1)).toEqual({ status: DONE_ERR, error: CE.ERROR.LENGTH_TOO_LARGE, bytes: 0 });
    expect(sim.violations()).toEqual([]);
  });

  it('a refused copy is DMA_REFUSED, moves nothing, and is reported', async () => {
    const { sim, dev, src, dst } = await rig();
    expect(sim.vmm.linPageUnLock(dst.page, 2, 0)).toBe(1);
    expect(await ceCopy(dev, src.phys[0]!, dst.phys[0]!, 4096)).toEqual({ status: DONE_ERR, error: CE.ERROR.DMA_REFUSED, bytes: 0 });
    expect(sim.violations().map((v) => [v.code, v.access?.direction])).toEqual([['dma-unlocked', 'write']]);
    expect(sim.cpu.readBytes(dst.lin, 4096)).toEqual(new Uint8Array(4096));
  });

  it('a copy whose source and destination overlap moves like memmove', async () => {
    const { sim, dev, src } = await rig();
    expect(await ceCopy(dev, src.phys[0]!, src.phys[0]! + 16, 1000)).toEqual({ status: DONE, error: 0, bytes: 1000 });
    expect(sim.cpu.readBytes(src.lin + 16, 1000)).toEqual(bytes(1, 8192).subarray(0, 1000));
  });
});

describe('scatter-gather', () => {
  it('walks a chain of descriptors in simulated memory and sums BYTES_DONE', async () => {
    const { sim, dev, src, dst, desc } = await rig();
    const d = desc.phys[0]!;
    // Three descriptors, placed out of order in the table (slots 0, 5, 2), each within a page.
    writeDescriptors(sim, desc.lin, [
      { at: 0, src: src.phys[0]! + 0, dst: dst.phys[1]! + 100, length: 500, next: d + 80 },
      { at: 80, src: src.phys[1]! + 7, dst: dst.phys[0]!, length: 4089, next: d + 32 },
      { at: 32, src: src.phys[0]! + 1000, dst: dst.phys[1]! + 2000, length: 96, next: 0 },
    ]);
    expect(await ceChain(dev, d)).toEqual({ status: DONE, error: 0, bytes: 500 + 4089 + 96 });
    const s = bytes(1, 8192);
    const want = new Uint8Array(8192);
    want.set(s.subarray(0, 500), 4096 + 100);
    want.set(s.subarray(4096 + 7, 8192), 0);
    want.set(s.subarray(1000, 1096), 4096 + 2000);
    expect(sim.cpu.readBytes(dst.lin, 8192)).toEqual(want);
    expect(sim.violations()).toEqual([]);
    const st = await dev.stats();
    expect(st).toMatchObject({ commands: 1, descriptors: 3, bytes: 4685, errors: 0, violations: 0, doorbells: 1, interrupts: 1 });
  });

  it('SG with FILL fills each descriptor destination (sources ignored)', async () => {
    const { sim, dev, dst, desc } = await rig();
    const d = desc.phys[0]!;
    writeDescriptors(sim, desc.lin, [
      { at: 16, src: 0xffffffff, dst: dst.phys[0]! + 1, length: 10, next: d + 48 },
      { at: 48, src: 0, dst: dst.phys[1]! + 4000, length: 96, next: 0 },
    ]);
    expect(await ceChain(dev, d + 16, { fill: 0x3c })).toEqual({ status: DONE, error: 0, bytes: 106 });
    const got = sim.cpu.readBytes(dst.lin, 8192);
    const want = new Uint8Array(8192);
    want.fill(0x3c, 1, 11);
    want.fill(0x3c, 4096 + 4000, 8192);
    expect(got).toEqual(want);
    expect(sim.violations()).toEqual([]);
  });

  it('a chain that loops stops with CHAIN_TOO_LONG after MAX_DESCRIPTORS', async () => {
    const { sim, dev, src, dst, desc } = await rig();
    const d = desc.phys[0]!;
    writeDescriptors(sim, desc.lin, [
      { at: 0, src: src.phys[0]!, dst: dst.phys[0]!, length: 8, next: d + 16 },
      { at: 16, src: src.phys[0]! + 8, dst: dst.phys[0]! + 8, length: 8, next: d }, // back to the first
    ]);
    expect(await ceChain(dev, d)).toEqual({ status: DONE_ERR, error: CE.ERROR.CHAIN_TOO_LONG, bytes: CE.MAX_DESCRIPTORS * 8 });
    expect(sim.cpu.readBytes(dst.lin, 16)).toEqual(bytes(1, 16));
    expect((await dev.stats()).descriptors).toBe(CE.MAX_DESCRIPTORS);
    expect(sim.violations()).toEqual([]);
  });

  it('a self-looping descriptor is CHAIN_TOO_LONG too', async () => {
    const { sim, dev, desc } = await rig();
    writeDescriptors(sim, desc.lin, [{ at: 0, src: 0, dst: 0, length: 0, next: desc.phys[0]! }]);
    expect(await ceChain(dev, desc.phys[0]!)).toEqual({ status: DONE_ERR, error: CE.ERROR.CHAIN_TOO_LONG, bytes: 0 });
  });

  it('a misaligned DESC is DESC_MISALIGNED before any descriptor is read', async () => {
    const { sim, dev, desc } = await rig();
    expect(await ceChain(dev, desc.phys[0]! + 8)).toEqual({ status: DONE_ERR, error: CE.ERROR.DESC_MISALIGNED, bytes: 0 });
    expect((await dev.stats()).descriptors).toBe(0);
    expect(sim.violations()).toEqual([]);
  });

  it("a misaligned next stops the walk after the descriptors before it", async () => {
    const { sim, dev, src, dst, desc } = await rig();
    const d = desc.phys[0]!;
    writeDescriptors(sim, desc.lin, [{ at: 0, src: src.phys[0]!, dst: dst.phys[0]!, length: 64, next: d + 20 }]);
    expect(await ceChain(dev, d)).toEqual({ status: DONE_ERR, error: CE.ERROR.DESC_MISALIGNED, bytes: 64 });
    expect(sim.cpu.readBytes(dst.lin, 64)).toEqual(bytes(1, 64));
  });

  it('an unlocked descriptor page is DMA_REFUSED plus a dma-unlocked violation on the descriptor read', async () => {
    const { sim, dev, src, dst, desc } = await rig();
    const d = desc.phys[0]!;
    writeDescriptors(sim, desc.lin, [{ at: 0, src: src.phys[0]!, dst: dst.phys[0]!, length: 256, next: 0 }]);
    expect(sim.vmm.linPageUnLock(desc.page, 1, 0)).toBe(1);
    expect(await ceChain(dev, d)).toEqual({ status: DONE_ERR, error: CE.ERROR.DMA_REFUSED, bytes: 0 });
    const vs = sim.violations();
    expect(vs).toHaveLength(1);
    expect(vs[0]).toMatchObject({
      code: 'dma-unlocked',
      device: { id: dev.id, attachment: dev.attachment, kind: 'copy-engine', name: 'copy-engine' },
      driver: 'default',
      physAddr: d,
      frame: d >>> 12,
      linearPage: desc.page,
      access: { start: d, length: CE.DESCRIPTOR.SIZE, direction: 'read', command: 1 },
      epochSeen: 2,
      epochExpected: 1,
      outcome: 'blocked',
    });
    expect(sim.cpu.readBytes(dst.lin, 256)).toEqual(new Uint8Array(256));
  });

  it('a descriptor that points at an unlocked buffer is DMA_REFUSED after the good ones', async () => {
    const { sim, dev, src, dst, desc } = await rig();
    const d = desc.phys[0]!;
    writeDescriptors(sim, desc.lin, [
      { at: 0, src: src.phys[0]!, dst: dst.phys[0]!, length: 32, next: d + 16 },
      { at: 16, src: src.phys[0]!, dst: dst.phys[1]!, length: 32, next: 0 },
    ]);
    expect(sim.vmm.linPageUnLock(dst.page + 1, 1, 0)).toBe(1);
    expect(await ceChain(dev, d)).toEqual({ status: DONE_ERR, error: CE.ERROR.DMA_REFUSED, bytes: 32 });
    expect(sim.violations().map((v) => [v.code, v.physAddr])).toEqual([['dma-unlocked', dst.phys[1]!]]);
    expect(sim.cpu.readBytes(dst.lin, 32)).toEqual(bytes(1, 32));
  });

  it("under onViolation 'allow' an SG walk goes on like a direct copy: an allowed descriptor read is used, not treated as refused", async () => {
    // Direct mode treats an allowed access (ok false, bytes moved) as done (transfer(): refused only
    // when no byte moved). The descriptor read must follow the same rule: the report says
    // 'allowed', so the device must not say DMA_REFUSED.
    const sim = await pool.make({ pager: 'off', onViolation: 'allow' });
    const src = lockedPages(sim, 1);
    const dst = lockedPages(sim, 1);
    const desc = lockedPages(sim, 1);
    sim.cpu.writeBytes(src.lin, bytes(7, 64));
    writeDescriptors(sim, desc.lin, [{ at: 0, src: src.phys[0]!, dst: dst.phys[0]!, length: 64, next: 0 }]);
    expect(sim.vmm.linPageUnLock(desc.page, 1, 0)).toBe(1);
    const dev = await sim.attachDevice('copy-engine');
    const r = await ceChain(dev, desc.phys[0]!);
    expect(sim.violations().map((v) => [v.code, v.outcome])).toEqual([['dma-unlocked', 'allowed']]);
    expect(r).toEqual({ status: DONE, error: 0, bytes: 64 });
    expect(sim.cpu.readBytes(dst.lin, 64)).toEqual(bytes(7, 64));
  });

  it('descriptor tables need a hand-out like any buffer: a page the engine driver never obtained is refused', async () => {
    const { sim, dev, src, dst } = await rig();
    const other = sim.createDriver('other');
    const table = lockedPages(other, 1);
    writeDescriptors(sim, table.lin, [{ at: 0, src: src.phys[0]!, dst: dst.phys[0]!, length: 16, next: 0 }]);
    expect(await ceChain(dev, table.phys[0]!)).toEqual({ status: DONE_ERR, error: CE.ERROR.DMA_REFUSED, bytes: 0 });
    expect(sim.violations().map((v) => v.code)).toEqual(['dma-not-handed-out']);
  });
});

describe('interrupts', () => {
  it('without IRQ_ENABLE the command completes but raises no interrupt; with it, it does', async () => {
    const { sim, dev, src, dst } = await rig();
    ceStartCopy(dev, src.phys[0]!, dst.phys[0]!, 128, false);
    await pollReg(dev, CE.REG.STATUS, DONE, DONE);
    expect(ceResult(dev)).toEqual({ status: DONE, error: 0, bytes: 128 });
    await expect(dev.waitForInterrupt({ timeoutMs: 100 })).rejects.toMatchObject({ name: 'DeviceError', code: 'timeout' });
    expect((await dev.stats()).interrupts).toBe(0);
    expect(sim.cpu.readBytes(dst.lin, 128)).toEqual(bytes(1, 128));

    dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.IRQ_ENABLE);
    expect(await dev.waitForInterrupt({ timeoutMs: 10_000 })).toEqual({ count: 1 });
    expect((await dev.stats()).interrupts).toBe(1);
    // The line is level-triggered: it stays raised until acknowledged.
    expect(await dev.waitForInterrupt({ timeoutMs: 100 })).toEqual({ count: 1 });
    dev.ackInterrupt();
    await expect(dev.waitForInterrupt({ timeoutMs: 50 })).rejects.toBeInstanceOf(DeviceError);
  });

  it('the START bit is cleared as the command starts; reset() zeroes the registers', async () => {
    const { dev, src, dst } = await rig();
    expect(await ceCopy(dev, src.phys[0]!, dst.phys[0]!, 64)).toEqual({ status: DONE, error: 0, bytes: 64 });
    expect(dev.readReg(CE.REG.CONTROL)).toBe(CE.CONTROL.IRQ_ENABLE);
    await dev.reset();
    for (let r = 0; r < CE.REGISTER_COUNT; r++) expect(dev.readReg(r)).toBe(0);
    await expect(dev.waitForInterrupt({ timeoutMs: 50 })).rejects.toMatchObject({ code: 'timeout' });
    // Still works after reset.
    expect(await ceCopy(dev, src.phys[0]!, dst.phys[0]!, 64)).toEqual({ status: DONE, error: 0, bytes: 64 });
  });

  it('commands rung back to back each complete, in order, with one interrupt each', async () => {
    const { sim, dev, src, dst } = await rig();
    for (let i = 0; i < 20; i++) {
      expect(await ceFill(dev, dst.phys[0]! + i * 8, 8, i + 1)).toEqual({ status: DONE, error: 0, bytes: 8 });
    }
    const got = sim.cpu.readBytes(dst.lin, 160);
    for (let i = 0; i < 20; i++) expect(got.subarray(i * 8, i * 8 + 8)).toEqual(new Uint8Array(8).fill(i + 1));
    expect(await dev.stats()).toMatchObject({ commands: 20, doorbells: 20, interrupts: 20, bytes: 160 });
    expect(src.npages).toBe(2);
  });
});
