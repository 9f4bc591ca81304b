/**
 * ISA DMA as a DOS-style driver programs it: the classic channel sequence through the 8237 ports
 * (mask, clear flip-flop, mode, address, page, count, unmask), then the peripheral (isa-audio)
 * started; its DREQ is served by the controller wherever the channel says, through the device's
 * checked DMA port in its worker. Verified byte for byte at the physical place.
 */

import { describe, expect, it } from 'vitest';
import { DMA_MODE, isaAudio as IA } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { contiguous } from './dma-helpers.js';
import { SINGLE_READ, SINGLE_WRITE, audioDone, programChannel, readCounter, recorded, startAudio } from './isa-helpers.js';

const pool = simulatorsClosedAfterEach();

describe('an 8-bit channel (1)', () => {
  it('records 8 KiB into memory: stream byte n lands at address + n', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = contiguous(sim, 2, 0x20, 0x22); // 0x20000–0x21FFF, inside one 64 KiB page
    programChannel(sim.cpu, 1, SINGLE_WRITE, buf.phys[0]!, 8192);
    const dev = await sim.attachDevice('isa-audio');
    startAudio(dev, { channel: 1, block: 4096, total: 8192, seed: 7, record: true });
    expect(await audioDone(dev)).toMatchObject({ status: IA.STATUS.DONE, error: 0, bytes: 8192, blocks: 2 });
    expect(sim.cpu.readBytes(buf.lin, 8192)).toEqual(recorded(7, 8192));
    // Terminal count: the count rolled past 0, the channel masked itself, the address moved on.
    expect(readCounter(sim.cpu, 1, true)).toBe(0xffff);
    expect(readCounter(sim.cpu, 1, false)).toBe((buf.phys[0]! + 8192) & 0xffff);
    expect(sim.violations()).toEqual([]);
  });

  it('plays 8 KiB from memory: CHECKSUM is the FNV-1a of the bytes at the address, in order', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = contiguous(sim, 2, 0x30, 0x32);
    const pattern = Uint8Array.from({ length: 8192 }, (_, i) => (i * 13 + 5) & 0xff);
    sim.cpu.writeBytes(buf.lin, pattern);
    programChannel(sim.cpu, 1, SINGLE_READ, buf.phys[0]!, 8192);
    const dev = await sim.attachDevice('isa-audio');
    startAudio(dev, { channel: 1, block: 1000, total: 8192 });
    expect(await audioDone(dev)).toMatchObject({ error: 0, bytes: 8192, blocks: 9, checksum: IA.fnv1a(pattern) });
    expect(sim.violations()).toEqual([]);
  });

  it('address decrement: stream byte n lands at address − n', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = contiguous(sim, 1, 0x40, 0x41);
    const top = buf.phys[0]! + 4095;
    programChannel(sim.cpu, 1, SINGLE_WRITE | DMA_MODE.DECREMENT, top, 4096);
    const dev = await sim.attachDevice('isa-audio');
    startAudio(dev, { channel: 1, block: 512, total: 4096, seed: 1, record: true });
    expect(await audioDone(dev)).toMatchObject({ error: 0, bytes: 4096 });
    expect(sim.cpu.readBytes(buf.lin, 4096)).toEqual(recorded(1, 4096).reverse());
    expect(sim.violations()).toEqual([]);
  });
});

describe('a 16-bit channel (5)', () => {
  it('records and plays words: the address register holds the word address, the stream is in memory order, low byte first', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = contiguous(sim, 4, 0x60, 0x64); // 0x60000: page 0x06 (bit 0 ignored), word address 0x0000
    programChannel(sim.cpu, 5, SINGLE_WRITE, buf.phys[0]!, 16384);
    // The counter holds words: address 0x60000 >> 1 & 0xFFFF, count 8192 − 1.
    expect(readCounter(sim.cpu, 5, false)).toBe((0x60000 >>> 1) & 0xffff);
    expect(readCounter(sim.cpu, 5, true)).toBe(8191);
    const dev = await sim.attachDevice('isa-audio');
    startAudio(dev, { channel: 5, block: 4096, total: 16384, seed: 3, record: true });
    expect(await audioDone(dev)).toMatchObject({ error: 0, bytes: 16384, blocks: 4 });
    expect(sim.cpu.readBytes(buf.lin, 16384)).toEqual(recorded(3, 16384));

    // Play it back on the same channel.
    programChannel(sim.cpu, 5, SINGLE_READ, buf.phys[0]!, 16384);
    startAudio(dev, { channel: 5, block: 4096, total: 16384 });
    expect(await audioDone(dev)).toMatchObject({ error: 0, bytes: 16384, checksum: IA.fnv1a(recorded(3, 16384)) });
    expect(sim.violations()).toEqual([]);
  });
});
