/**
 * Bad port I/O and bad isa-audio programming: a clear error, nothing corrupted, no hang; and an
 * unclaimed port behaves as a floating ISA bus (reads all ones, ignores writes).
 */

import { describe, expect, it } from 'vitest';
import { isaAudio as IA } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { audioDone, readCounter, startAudio } from './isa-helpers.js';

const pool = simulatorsClosedAfterEach();

describe('port I/O', () => {
  it('an unclaimed port reads all ones at every width and ignores writes', async () => {
    const sim = await pool.make({ pager: 'off' });
    expect(sim.cpu.inb(0x300)).toBe(0xff);
    expect(sim.cpu.inw(0x300)).toBe(0xffff);
    expect(sim.cpu.ind(0x300)).toBe(0xffffffff);
    const before = sim.fingerprint();
    sim.cpu.outb(0x300, 0x12);
    sim.cpu.outd(0x300, 0xdeadbeef);
    expect(sim.fingerprint()).toBe(before);
  });

  it('a port outside 0…0xFFFF or a value out of range is a RangeError and changes nothing', async () => {
    const sim = await pool.make({ pager: 'off' });
    const before = sim.fingerprint();
    for (const bad of [
      () => sim.cpu.inb(-1),
      () => sim.cpu.inb(0x10000),
      () => sim.cpu.inw(0xffff), // the second byte would be port 0x10000
      () => sim.cpu.ind(0xfffd),
      () => sim.cpu.inb(1.5),
      () => sim.cpu.outb(0x02, 0x100),
      () => sim.cpu.outb(0x02, -1),
      () => sim.cpu.outw(0x02, 0x10000),
      () => sim.cpu.outd(0x02, 2 ** 32),
      () => sim.cpu.outb(0x02, 1.5),
      () => sim.cpu.outb(0x10000, 0),
    ]) {
      expect(bad).toThrow(RangeError);
    }
    expect(sim.fingerprint()).toBe(before);
    // The channel-1 address register (port 0x02) was never written.
    expect(readCounter(sim.cpu, 1, false)).toBe(0);
  });

  it('a 16-bit access to the 8-bit controller is two byte accesses: address then count of channel 0', async () => {
    const sim = await pool.make({ pager: 'off' });
    sim.cpu.outb(0x0c, 0); // clear the flip-flop
    sim.cpu.outw(0x00, 0x3412); // 0x12 → address low (flip-flop → high), 0x34 → count high
    sim.cpu.outb(0x0c, 0);
    expect(sim.cpu.inb(0x00)).toBe(0x12);
    expect(sim.cpu.inb(0x01)).toBe(0x34);
  });
});

describe('isa-audio programming', () => {
  for (const [what, channel, block, error] of [
    ['channel 4 (the cascade)', 4, 512, IA.ERROR.BAD_CHANNEL],
    ['channel 9', 9, 512, IA.ERROR.BAD_CHANNEL],
    ['an odd BLOCK on a 16-bit channel', 5, 511, IA.ERROR.BAD_BLOCK],
    ['BLOCK 0', 1, 0, IA.ERROR.BAD_BLOCK],
  ] as const) {
    it(`${what}: the command ends with ERROR ${error}, an interrupt, nothing moved`, async () => {
      const sim = await pool.make({ pager: 'off' });
      const dev = await sim.attachDevice('isa-audio');
      startAudio(dev, { channel, block, total: 4096, record: true, irq: true });
      await dev.waitForInterrupt({ timeoutMs: 10_000 });
      expect(await audioDone(dev)).toMatchObject({ status: IA.STATUS.DONE | IA.STATUS.ERROR, error, bytes: 0 });
      // Refused before any DREQ: no DMA access was even attempted.
      expect(sim.trace.events().filter((e) => e.kind === 'dma')).toEqual([]);
      expect(sim.violations()).toEqual([]);
      expect(sim.deviceFaults()).toEqual([]);
    });
  }
});
