/**
 * An access that will be refused must not announce itself in the frame table: the port classifies
 * every frame from plain reads first and, when the access is refused ('block' / 'throw'), reports and
 * returns without raising any in-flight count. Otherwise a device poking at another driver's frames
 * makes that innocent driver's legitimate unlocks look like 'unlock-during-dma', blamed on it.
 */

import { describe, expect, it } from 'vitest';
import { PAGEMARKDIRTY, copyEngine as CE } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { lockedPages, ofCode } from './dma-helpers.js';
import { inflightOf, until } from './internals.js';

const pool = simulatorsClosedAfterEach();

describe('a refused access leaves the frame table alone', () => {
  it("driver A's unlocks while B's device is refused, again and again, on A's frames are not reported", async () => {
    const sim = await pool.make({ pager: 'off', memory: 64 << 20, ringCapacity: 1 << 16 });
    const a = sim.createDriver('A');
    const b = sim.createDriver('B');
    const N = 1024;
    const bufA = lockedPages(a, N);
    const bufB = lockedPages(b, N);
    for (let i = 1; i < N; i++) expect(bufA.phys[i]).toBe(bufA.phys[0]! + i * 4096);
    const dev = await b.attachDevice('copy-engine');
    const frameA = bufA.phys[0]! >>> 12;
    // B's engine copies from A's frames, which B never obtained: refused, every time.
    dev.writeReg(CE.REG.SRC, bufA.phys[0]!);
    dev.writeReg(CE.REG.DST, bufB.phys[0]!);
    dev.writeReg(CE.REG.LENGTH, N * 4096);
    // Queued doorbells: one refused command each, back to back, for the whole second below.
    for (let i = 0; i < 2000; i++) dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START);
    await until(() => sim.violations().length > 0, 10_000, 'the first refusal');

    // A unlocks and relocks its own buffer, as it may, while B's device keeps being refused; the
    // first frames of A's buffer are watched for any announcement.
    // A fixed number of cycles, not a time budget: the check is that nothing is ever announced.
    let announced = 0;
    for (let cycle = 0; cycle < 20; cycle++) {
      for (let k = 0; k < 64; k++) if (inflightOf(sim, frameA + k * 16) !== 0) announced++;
      expect(a.vmm.linPageUnLock(bufA.page, N, 0)).toBe(1);
      expect(a.vmm.linPageLock(bufA.page, N, PAGEMARKDIRTY)).not.toBe(0);
    }
    expect(announced).toBe(0);

    const vs = sim.violations();
    expect(ofCode(vs, 'unlock-during-dma')).toEqual([]);
    // The refusals can outnumber the records kept in full (maxRecords): the counts cover them all,
    // so a record made by an unlock after the first 1000 is not missed.
    const counts = sim.violationCounts();
    expect(counts.total).toBe(counts.byCode['dma-not-handed-out']);
    expect(counts.ringDropped).toBe(0);
    const refused = ofCode(vs, 'dma-not-handed-out');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((v) => v.driver === 'B' && v.outcome === 'blocked')).toBe(true);
    expect(vs.every((v) => v.code === 'dma-not-handed-out')).toBe(true);
    const st = await dev.stats();
    expect(st.commands).toBeGreaterThan(1);
    expect([st.bytesRead, st.bytesWritten]).toEqual([0, 0]);
    expect(a.vmm.linPageUnLock(bufA.page, N, 0)).toBe(1);
    expect(ofCode(sim.violations(), 'unlock-during-dma')).toEqual([]);
    expect(sim.violationCounts().byCode['unlock-during-dma'] ?? 0).toBe(0);
  });
});
