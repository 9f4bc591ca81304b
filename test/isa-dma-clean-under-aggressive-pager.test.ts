/**
 * Correct ISA drivers run clean under the aggressive pager: lock a page, obtain its address, program
 * the channel, record, verify, unlock — again and again while the pager moves everything unlocked.
 * Zero violations, zero bytes lost.
 */

import { describe, expect, it } from 'vitest';
import { simulatorsClosedAfterEach } from './helpers.js';
import { lockedPages } from './dma-helpers.js';
import { SINGLE_READ, SINGLE_WRITE, audioDone, programChannel, recorded, startAudio } from './isa-helpers.js';
import { isaAudio as IA } from '../src/index.js';

const pool = simulatorsClosedAfterEach();

describe('ISA DMA under the aggressive pager', () => {
  it('40 record-and-play rounds on channels 1 and 6: no violation, every byte where it should be', async () => {
    const sim = await pool.make({ pager: 'aggressive', seed: 11 });
    const drv = sim.createDriver('sb16');
    const dev = await drv.attachDevice('isa-audio');
    const buf = lockedPages(drv, 1, { lockFlags: null });
    for (let round = 0; round < 40; round++) {
      const channel = round % 2 === 0 ? 1 : 6;
      expect(drv.vmm.linPageLock(buf.page, 1, 0x80000000)).toBe(1); // PAGEMARKDIRTY: the device writes
      const pte = new Uint32Array(1);
      expect(drv.vmm.copyPageTable(buf.page, 1, pte, 0)).toBe(1);
      const phys = (pte[0]! & ~0xfff) >>> 0;
      programChannel(drv.cpu, channel, SINGLE_WRITE, phys, 4096);
      startAudio(dev, { channel, block: 1024, total: 4096, record: true, seed: round });
      expect(await audioDone(dev)).toMatchObject({ error: 0, bytes: 4096 });
      programChannel(drv.cpu, channel, SINGLE_READ, phys, 4096);
      startAudio(dev, { channel, block: 4096, total: 4096 });
      expect((await audioDone(dev)).checksum).toBe(IA.fnv1a(recorded(round, 4096)));
      expect(drv.vmm.linPageUnLock(buf.page, 1, 0)).toBe(1);
      // Unlocked, the page moves or is paged out; its contents survive (it was marked dirty).
      expect(drv.cpu.readBytes(buf.lin, 4096)).toEqual(recorded(round, 4096));
    }
    expect(sim.pager.stats.moves + sim.pager.stats.pageOuts).toBeGreaterThan(0);
    expect(sim.violations()).toEqual([]);
  });
});
