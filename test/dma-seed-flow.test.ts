import { describe, expect, it } from 'vitest';
import { simulatorsClosedAfterEach } from './helpers.js';
import { ceCopy, lockedPages } from './dma-helpers.js';

const sims = simulatorsClosedAfterEach();

describe('seed flow through a real copy-engine worker', () => {
  it('lock → copyPageTable → program → interrupt → unlock moves the data with no violation', async () => {
    const sim = await sims.make({ pager: 'aggressive', seed: 3 });
    const buf = lockedPages(sim, 2);
    const pattern = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff);
    sim.cpu.writeBytes(buf.lin, pattern);
    const dev = await sim.attachDevice('copy-engine');
    const r = await ceCopy(dev, buf.phys[0]!, buf.phys[1]!, 4096);
    expect(r).toEqual({ status: 2, error: 0, bytes: 4096 });
    expect(sim.vmm.linPageUnLock(buf.page, 2, 0)).toBe(1);
    expect(sim.cpu.readBytes(buf.lin + 4096, 4096)).toEqual(pattern);
    expect(sim.violations()).toEqual([]);
  });
});
