/**
 * In deterministic mode an access moves its bytes frame by frame (a grant point between frames). A
 * memory-to-memory copy whose destination overlaps its source from above must still be a memmove:
 * the pieces then go backwards. Checked against the same copy free running and a reference.
 */

import { describe, expect, it } from 'vitest';
import { copyEngine as CE, createSimulator } from '../src/index.js';
import { lockBuffer } from './det-scenarios.js';

const PAGES = 4;
const SHIFT = 2048 + 4;
const LENGTH = 3 * 4096;

async function overlappingCopy(deterministic: boolean): Promise<Uint8Array> {
  const sim = await createSimulator({ memory: 1 << 20, seed: 9, deterministic });
  try {
    const dev = await sim.attachDevice('copy-engine');
    const buf = lockBuffer(sim, PAGES);
    expect(buf.phys.every((p, i) => p === buf.phys[0]! + i * 4096)).toBe(true);
    const pattern = Uint8Array.from({ length: PAGES * 4096 }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
    sim.cpu.writeBytes(buf.page * 4096, pattern);
    await sim.run(async function driver() {
      dev.writeReg(CE.REG.SRC, buf.phys[0]!);
      dev.writeReg(CE.REG.DST, buf.phys[0]! + SHIFT);
      dev.writeReg(CE.REG.LENGTH, LENGTH);
      dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.IRQ_ENABLE);
      await dev.waitForInterrupt();
      dev.ackInterrupt();
    });
    expect(sim.violations()).toEqual([]);
    const out = sim.cpu.readBytes(buf.page * 4096, PAGES * 4096);
    buf.unlock();
    return out;
  } finally {
    await sim.close();
  }
}

describe('deterministic mode: a copy in pieces', () => {
  it('an overlapping copy upwards is a memmove, as free running', async () => {
    const pattern = Uint8Array.from({ length: PAGES * 4096 }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
    const want = pattern.slice();
    want.copyWithin(SHIFT, 0, LENGTH);
    const det = await overlappingCopy(true);
    const free = await overlappingCopy(false);
    expect(Buffer.from(det).equals(Buffer.from(want))).toBe(true);
    expect(Buffer.from(free).equals(Buffer.from(want))).toBe(true);
  });
});
