/**
 * Regression (issue: in-flight recovery was not exact). A worker can be terminated between any two
 * Atomics calls, so a per-frame count plus a cursor could be left out of step ("−1" or "1" left on a
 * frame about one detach in eight). In-flight state is now one bit per device slot in the frame
 * entry, and recovery clears the dead device's bit on every frame of its recorded spans: exact
 * wherever the worker stopped. Forty detaches in the middle of an endless chain of 4 MiB copies, in
 * one process, must leave no bit behind and no false report.
 */

import { describe, expect, it } from 'vitest';
import { copyEngine as CE } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { lockedPages, writeDescriptors } from './dma-helpers.js';
import { accessRecord, framesInFlight, inflightOf, until } from './internals.js';

const pool = simulatorsClosedAfterEach();
const PAGES = 1024; // 4 MiB per descriptor: an access's 2 × 1024 frames stay announced for ~0.2 ms

describe('in-flight recovery after a worker is terminated mid-access', () => {
  it('40 copy engines terminated at arbitrary points of an endless 4 MiB copy chain leave no in-flight bit and no report', async () => {
    const sim = await pool.make({ pager: 'off', memory: 64 << 20 });
    const buf = lockedPages(sim, 2 * PAGES);
    const desc = lockedPages(sim, 1);
    const src = buf.phys[0]!;
    const dst = buf.phys[PAGES]!;
    for (let i = 1; i < 2 * PAGES; i++) expect(buf.phys[i]).toBe(src + i * 4096);
    // One descriptor pointing at itself: 4 MiB copies back to back until MAX_DESCRIPTORS.
    writeDescriptors(sim, desc.lin, [{ at: 0, src, dst, length: PAGES * 4096, next: desc.phys[0]! }]);
    for (let round = 0; round < 40; round++) {
      const dev = await sim.attachDevice('copy-engine');
      dev.writeReg(CE.REG.DESC, desc.phys[0]!);
      dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.SG);
      await until(() => inflightOf(sim, src >>> 12) > 0, 10_000, 'the engine to be copying');
      // No grace: the worker is terminated wherever it is, most of the time inside an access.
      await dev.detach({ graceMs: 0 });
      expect(framesInFlight(sim), `round ${round}`).toEqual([]);
      expect(accessRecord(sim, dev.id), `round ${round}`).toEqual({ spans: 0, ringClaim: 0 });
    }
    expect(sim.vmm.linPageUnLock(buf.page, 2 * PAGES, 0)).toBe(1);
    expect(sim.vmm.pageFree(buf.lin, 0)).toBe(1);
    expect(sim.violations()).toEqual([]);
  }, 120_000);
});
