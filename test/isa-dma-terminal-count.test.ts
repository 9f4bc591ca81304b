/**
 * The 8237's terminal count, as the datasheet has it: the count holds transfers − 1 and TC is when
 * it rolls past 0; auto-init reloads the base address and count and the channel keeps going,
 * otherwise the channel masks itself. The status register shows TC per channel, cleared by the read,
 * and DREQ pending; a request on a masked channel waits (isa-audio STATUS.WAITING) until the driver
 * unmasks it.
 */

import { describe, expect, it } from 'vitest';
import { DMA_MODE, I8237_REG, isaAudio as IA } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { contiguous, pollReg } from './dma-helpers.js';
import { SINGLE_READ, SINGLE_WRITE, audioDone, dmaPort, programChannel, recorded, startAudio } from './isa-helpers.js';

const pool = simulatorsClosedAfterEach();

describe('terminal count', () => {
  it('auto-init playback loops over the same buffer: several passes, checksums of all of them', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = contiguous(sim, 1, 0x50, 0x51);
    const pattern = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff);
    sim.cpu.writeBytes(buf.lin, pattern);
    programChannel(sim.cpu, 1, SINGLE_READ | DMA_MODE.AUTOINIT, buf.phys[0]!, 4096);
    const dev = await sim.attachDevice('isa-audio');
    startAudio(dev, { channel: 1, block: 1024, auto: true, irq: true });
    // An interrupt after each block; after three passes (12 blocks) the driver stops the stream.
    for (let seen = 0; seen < 12; ) {
      await dev.waitForInterrupt({ timeoutMs: 10_000 });
      seen = dev.readReg(IA.REG.BLOCKS);
      dev.ackInterrupt();
    }
    dev.writeReg(IA.REG.CONTROL, IA.CONTROL.STOP);
    const r = await audioDone(dev);
    expect(r.error).toBe(0);
    expect(r.blocks).toBeGreaterThanOrEqual(12);
    expect(r.bytes).toBe(r.blocks * 1024);
    // The stream is the buffer, over and over: the channel reloaded at each TC and never masked.
    const stream = new Uint8Array(r.bytes);
    for (let off = 0; off < r.bytes; off += 4096) stream.set(pattern.subarray(0, Math.min(4096, r.bytes - off)), off);
    expect(r.checksum).toBe(IA.fnv1a(stream));
    expect(sim.cpu.inb(dmaPort(1, I8237_REG.WRITE_MASKS)) & 0x2).toBe(0);
    expect(sim.violations()).toEqual([]);
  });

  it('without auto-init the channel masks itself at TC; the request waits; status TC is cleared by its read; reprogram and unmask resumes', async () => {
    const sim = await pool.make({ pager: 'off' });
    const a = contiguous(sim, 1, 0x70, 0x71);
    const b = contiguous(sim, 1, 0x72, 0x73);
    programChannel(sim.cpu, 1, SINGLE_WRITE, a.phys[0]!, 1024);
    const dev = await sim.attachDevice('isa-audio');
    // 2048 bytes wanted, 1024 programmed: TC half-way.
    startAudio(dev, { channel: 1, block: 2048, total: 2048, seed: 9, record: true });
    await pollReg(dev, IA.REG.STATUS, IA.STATUS.WAITING, IA.STATUS.WAITING);
    expect(dev.readReg(IA.REG.BYTES_DONE)).toBe(1024);
    const status = sim.cpu.inb(dmaPort(1, I8237_REG.STATUS_COMMAND));
    expect(status & 0x0f).toBe(0x2); // TC on channel 1
    expect(sim.cpu.inb(dmaPort(1, I8237_REG.STATUS_COMMAND)) & 0x0f).toBe(0); // cleared by the read
    expect(sim.cpu.inb(dmaPort(1, I8237_REG.WRITE_MASKS)) & 0x2).toBe(0x2); // masked itself
    // The driver gives it the second buffer.
    programChannel(sim.cpu, 1, SINGLE_WRITE, b.phys[0]!, 1024);
    expect(await audioDone(dev)).toMatchObject({ status: IA.STATUS.DONE, error: 0, bytes: 2048, blocks: 1 });
    expect(sim.cpu.readBytes(a.lin, 1024)).toEqual(recorded(9, 1024));
    expect(sim.cpu.readBytes(b.lin, 1024)).toEqual(recorded(9, 1024, 1024));
    expect(sim.violations()).toEqual([]);
  });

  it('a request on a channel masked from the start waits until unmasked, or ends on STOP', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = contiguous(sim, 1, 0x74, 0x75);
    programChannel(sim.cpu, 3, SINGLE_WRITE, buf.phys[0]!, 4096, { unmask: false });
    const dev = await sim.attachDevice('isa-audio');
    startAudio(dev, { channel: 3, block: 4096, total: 4096, record: true });
    await pollReg(dev, IA.REG.STATUS, IA.STATUS.WAITING, IA.STATUS.WAITING);
    // DREQ is held: the status register shows channel 3's request pending (bit 4 + 3); nothing moved.
    expect(sim.cpu.inb(dmaPort(3, I8237_REG.STATUS_COMMAND)) & 0xf0).toBe(0x80);
    expect(dev.readReg(IA.REG.BYTES_DONE)).toBe(0);
    dev.writeReg(IA.REG.CONTROL, IA.CONTROL.STOP);
    expect(await audioDone(dev)).toMatchObject({ status: IA.STATUS.DONE, error: 0, bytes: 0 });
    // STOP withdrew the request.
    expect(sim.cpu.inb(dmaPort(3, I8237_REG.STATUS_COMMAND)) & 0xf0).toBe(0);
    expect(sim.violations()).toEqual([]);
  });

  it('the controllers start as the AT BIOS leaves them: channel 4 cascade and unmasked, the others masked', async () => {
    const sim = await pool.make({ pager: 'off' });
    expect(sim.cpu.inb(dmaPort(0, I8237_REG.WRITE_MASKS)) & 0xf).toBe(0xf);
    expect(sim.cpu.inb(dmaPort(4, I8237_REG.WRITE_MASKS)) & 0xf).toBe(0xe);
    // Masking the cascade channel cuts controller 1 off the bus: its channels wait.
    const buf = contiguous(sim, 1, 0x76, 0x77);
    programChannel(sim.cpu, 2, SINGLE_WRITE, buf.phys[0]!, 4096);
    sim.cpu.outb(dmaPort(4, I8237_REG.SINGLE_MASK), 0x04 | 0);
    const dev = await sim.attachDevice('isa-audio');
    startAudio(dev, { channel: 2, block: 4096, total: 4096, record: true, seed: 4 });
    await pollReg(dev, IA.REG.STATUS, IA.STATUS.WAITING, IA.STATUS.WAITING);
    sim.cpu.outb(dmaPort(4, I8237_REG.SINGLE_MASK), 0);
    expect(await audioDone(dev)).toMatchObject({ error: 0, bytes: 4096 });
    expect(sim.cpu.readBytes(buf.lin, 4096)).toEqual(recorded(4, 4096));
  });
});
