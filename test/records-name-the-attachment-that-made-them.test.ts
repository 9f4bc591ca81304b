/**
 * Regression (issue: a detached device's records could be credited to its successor). Records a
 * device left in the ring behind a slot another writer had not published yet survived its release;
 * when a new device was attached in the same slot, the next drain named the new device. Every record
 * now carries the attachment that made it.
 */

import { describe, expect, it } from 'vitest';
import { H, VR, VR_TOMBSTONE, ringIndex } from '../src/layout.js';
import { testProbe as TP } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { lockedPages, probe, probeRefused } from './dma-helpers.js';
import { sharedOf } from './internals.js';

const pool = simulatorsClosedAfterEach();

describe('records and the device slot they came from', () => {
  it('a record queued behind an unpublished slot names its own device, not the next one in the slot', async () => {
    const sim = await pool.make({ pager: 'off' });
    const v = sharedOf(sim);
    // A writer that has claimed slot w and not published it yet: the drain stops there.
    const w = Atomics.add(v.control, H.RING_WRITE, 1);
    const a = await sim.attachDevice('test-probe', { name: 'first' });
    expect(await probe(a, TP.OP.READ, 0, { len: 4 })).toMatchObject({ status: TP.STATUS.DONE | TP.STATUS.REFUSED });
    await a.detach();
    const b = await sim.attachDevice('test-probe', { name: 'second' });
    expect(b.id).toBe(a.id);
    expect(await probe(b, TP.OP.READ, 4096, { len: 4 })).toMatchObject({ status: TP.STATUS.DONE | TP.STATUS.REFUSED });
    expect(sim.violations()).toEqual([]); // still behind the hole
    // The stalled writer's slot is passed (as the host does for a writer that died holding it).
    v.control[ringIndex(v, w % v.config.ringCapacity, VR.CODE)] = VR_TOMBSTONE;
    Atomics.store(v.control, ringIndex(v, w % v.config.ringCapacity, VR.COMMIT), w + 1);
    const vs = sim.violations();
    expect(vs.map((x) => [x.device?.name, x.physAddr])).toEqual([
      ['first', 0],
      ['second', 4096],
    ]);
    expect(vs[0]!.device!.attachment).not.toBe(vs[1]!.device!.attachment);
  });

  it('device churn in one slot beside a busy device: every record names the attachment that was there', async () => {
    const sim = await pool.make({ pager: 'off', maxRecords: 100_000 });
    const held = lockedPages(sim, 1);
    // A second device keeps appending to the ring: a read of a frame its driver never obtained.
    const noisy = await sim.attachDevice('test-probe', { name: 'noisy' });
    noisy.writeReg(TP.REG.ADDR, 8 * 4096);
    noisy.writeReg(TP.REG.LEN, 4);
    noisy.writeReg(TP.REG.VALUE, 1); // a refused read every millisecond: busy, never overflowing
    noisy.writeReg(TP.REG.CMD, TP.OP.SPIN_REFUSED);
    for (let i = 0; i < 12; i++) {
      const dev = await sim.attachDevice('test-probe', { name: `churn-${i}` });
      // Each attachment violates at its own address (a distinct offset in a page it does not hold).
      expect(await probe(dev, TP.OP.READ, 16 * 4096 + i * 64, { len: 4 })).toEqual(probeRefused('dma-not-handed-out'));
      await dev.detach();
    }
    await noisy.detach({ graceMs: 0 });
    const churned = sim.violations().filter((x) => x.device?.name !== 'noisy');
    expect(churned).toHaveLength(12);
    for (const x of churned) expect(x.device?.name).toBe(`churn-${(x.physAddr - 16 * 4096) / 64}`);
    expect(held.phys).toHaveLength(1);
    expect(sim.droppedViolations()).toBe(0);
  });
});
