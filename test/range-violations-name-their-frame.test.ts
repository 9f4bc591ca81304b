/**
 * Regression: range violations at addresses inside RAM ('dma-address-width' beyond a 24-bit device's
 * reach, 'dma-boundary' across its 64 KiB boundary) had `frame: -1` and an empty frame map. They name
 * the frame of the first offending byte and show the frames around it, like every other record.
 */

import { describe, expect, it } from 'vitest';
import { testProbe as TP } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { contiguous, probe, probeRefused } from './dma-helpers.js';

const pool = simulatorsClosedAfterEach();

describe('range violations inside RAM', () => {
  it('dma-address-width above 16 MiB names its frame and maps it', async () => {
    const sim = await pool.make({ pager: 'off', memory: 32 << 20 });
    const high = contiguous(sim, 2, 0x1800, 0x1900);
    const dev = await sim.attachDevice('test-probe', { addressBits: 24 });
    expect(await probe(dev, TP.OP.READ, high.phys[0]!, { len: 64 })).toEqual(probeRefused('dma-address-width'));
    const [v] = sim.violations();
    expect(v).toMatchObject({ code: 'dma-address-width', physAddr: high.phys[0]!, frame: high.phys[0]! >>> 12, detail: { addressBits: 24 } });
    expect(v!.frames.map((f) => f.frame)).toContain(high.phys[0]! >>> 12);
    expect(v!.frames.find((f) => f.frame === high.phys[0]! >>> 12)).toMatchObject({ state: 'fixed' });
  });

  it('dma-boundary names the frame at the boundary it crosses', async () => {
    const sim = await pool.make({ pager: 'off' });
    // Two fixed frames on either side of the 64 KiB line at frame 0x20.
    const run = contiguous(sim, 2, 0x1f, 0x21);
    expect(run.phys[0]).toBe(0x1f000);
    const dev = await sim.attachDevice('test-probe', { boundary: 0x10000 });
    expect(await probe(dev, TP.OP.READ, run.phys[0]! + 0xf00, { len: 0x200 })).toEqual(probeRefused('dma-boundary'));
    const [v] = sim.violations();
    expect(v).toMatchObject({ code: 'dma-boundary', physAddr: 0x20000, frame: 0x20, detail: { boundary: 0x10000 } });
    expect(v!.frames.map((f) => f.frame)).toEqual([0x1e, 0x1f, 0x20, 0x21, 0x22]);
  });
});
