/**
 * The ISA DMA mistakes of the Windows 95 era, caught at the access: a buffer that crosses its
 * channel's 64 KiB (128 KiB) page — the address counter wraps inside the page and the tail lands at
 * its start ('dma-boundary'; blocked, or done as the hardware would under onViolation 'allow') — a
 * buffer above 16 MiB, of which the channel can only produce the low 24 bits ('dma-address-width',
 * naming both addresses), and a channel programmed with an address its driver never obtained, or
 * after unlocking it (the usual codes).
 */

import { describe, expect, it } from 'vitest';
import { isaAudio as IA } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { contiguous, lockedPages } from './dma-helpers.js';
import { SINGLE_WRITE, audioDone, programChannel, recorded, startAudio } from './isa-helpers.js';

const pool = simulatorsClosedAfterEach();

describe('a buffer that crosses its channel page', () => {
  it('channel 1 across 64 KiB: dma-boundary, blocked — nothing written, the device reports DMA refused', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = contiguous(sim, 17, 0x10, 0x21); // 0x10000–0x20FFF: both sides of the 0x20000 line
    programChannel(sim.cpu, 1, SINGLE_WRITE, 0x1f800, 0x1000);
    const dev = await sim.attachDevice('isa-audio');
    startAudio(dev, { channel: 1, block: 0x1000, total: 0x1000, record: true, seed: 2 });
    expect(await audioDone(dev)).toMatchObject({ status: IA.STATUS.DONE | IA.STATUS.ERROR, error: IA.ERROR.DMA_REFUSED, bytes: 0 });
    const [v, ...rest] = sim.violations();
    expect(rest).toEqual([]);
    expect(v).toMatchObject({ code: 'dma-boundary', physAddr: 0x20000, outcome: 'blocked', detail: { boundary: 0x10000 }, device: { kind: 'isa-audio' } });
    expect(sim.cpu.readBytes(buf.lin + 0xf800, 0x800)).toEqual(new Uint8Array(0x800));
  });

  it("channel 1 across 64 KiB under 'allow': reported, and the tail lands at the start of the same 64 KiB page", async () => {
    const sim = await pool.make({ pager: 'off', onViolation: 'allow' });
    const buf = contiguous(sim, 17, 0x10, 0x21);
    programChannel(sim.cpu, 1, SINGLE_WRITE, 0x1f800, 0x1000);
    const dev = await sim.attachDevice('isa-audio');
    startAudio(dev, { channel: 1, block: 0x1000, total: 0x1000, record: true, seed: 2 });
    expect(await audioDone(dev)).toMatchObject({ error: 0, bytes: 0x1000 });
    expect(sim.violations().map((v) => [v.code, v.outcome, v.physAddr])).toEqual([['dma-boundary', 'allowed', 0x20000]]);
    const stream = recorded(2, 0x1000);
    expect(sim.cpu.readBytes(buf.lin + 0xf800, 0x800)).toEqual(stream.subarray(0, 0x800));
    expect(sim.cpu.readBytes(buf.lin, 0x800)).toEqual(stream.subarray(0x800)); // 0x10000: the page's start
    expect(sim.cpu.readBytes(buf.lin + 0x10000, 0x800)).toEqual(new Uint8Array(0x800)); // not 0x20000
  });

  it("channel 5 across 128 KiB under 'allow': the word counter wraps at 128 KiB", async () => {
    const sim = await pool.make({ pager: 'off', onViolation: 'allow' });
    const buf = contiguous(sim, 33, 0x20, 0x41); // 0x20000–0x40FFF: both sides of 0x40000
    programChannel(sim.cpu, 5, SINGLE_WRITE, 0x3f000, 0x2000);
    const dev = await sim.attachDevice('isa-audio');
    startAudio(dev, { channel: 5, block: 0x2000, total: 0x2000, record: true, seed: 5 });
    expect(await audioDone(dev)).toMatchObject({ error: 0, bytes: 0x2000 });
    expect(sim.violations().map((v) => [v.code, v.physAddr, v.detail])).toEqual([['dma-boundary', 0x40000, { boundary: 0x20000 }]]);
    const stream = recorded(5, 0x2000);
    expect(sim.cpu.readBytes(buf.lin + 0x1f000, 0x1000)).toEqual(stream.subarray(0, 0x1000));
    expect(sim.cpu.readBytes(buf.lin, 0x1000)).toEqual(stream.subarray(0x1000)); // 0x20000: the 128 KiB page's start
  });
});

describe('a buffer above 16 MiB', () => {
  it('the channel produces only the low 24 bits: dma-address-width, naming the address the driver meant', async () => {
    const sim = await pool.make({ pager: 'off', memory: 32 << 20 });
    const high = contiguous(sim, 1, 0x1010, 0x1011); // 0x1010000
    programChannel(sim.cpu, 1, SINGLE_WRITE, high.phys[0]!, 4096); // page register takes bits 16–23: 0x01
    const dev = await sim.attachDevice('isa-audio');
    startAudio(dev, { channel: 1, block: 4096, total: 4096, record: true });
    expect(await audioDone(dev)).toMatchObject({ error: IA.ERROR.DMA_REFUSED });
    const [v] = sim.violations();
    expect(v).toMatchObject({ code: 'dma-address-width', physAddr: 0x10000, detail: { addressBits: 24, intended: 0x1010000 }, linearPage: high.page });
    // The report shows where the driver got the address it meant.
    expect(v!.stacks.handout?.some((l) => l.includes('dma-helpers.ts'))).toBe(true);
    expect(sim.cpu.readBytes(high.lin, 16)).toEqual(new Uint8Array(16));
  });
});

describe('the usual codes', () => {
  it('an address the driver never obtained: dma-not-handed-out', async () => {
    const sim = await pool.make({ pager: 'off' });
    programChannel(sim.cpu, 2, SINGLE_WRITE, 0x80000, 4096);
    const dev = await sim.attachDevice('isa-audio');
    startAudio(dev, { channel: 2, block: 4096, total: 4096, record: true });
    expect(await audioDone(dev)).toMatchObject({ error: IA.ERROR.DMA_REFUSED });
    expect(sim.violations().map((v) => v.code)).toEqual(['dma-not-handed-out']);
  });

  it('a buffer unlocked before the transfer: dma-unlocked, with the unlock stack', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = lockedPages(sim, 1);
    programChannel(sim.cpu, 3, SINGLE_WRITE, buf.phys[0]!, 4096);
    expect(sim.vmm.linPageUnLock(buf.page, 1, 0)).toBe(1);
    const dev = await sim.attachDevice('isa-audio');
    startAudio(dev, { channel: 3, block: 4096, total: 4096, record: true });
    expect(await audioDone(dev)).toMatchObject({ error: IA.ERROR.DMA_REFUSED });
    const [v] = sim.violations();
    expect(v).toMatchObject({ code: 'dma-unlocked', linearPage: buf.page });
    expect(v!.stacks.unlock?.some((l) => l.includes('isa-dma-violations.test.ts'))).toBe(true);
  });
});
