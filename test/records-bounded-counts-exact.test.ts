/**
 * Memory stays bounded in long runs: the first `maxRecords` violations are kept in full, and every
 * violation is counted exactly by code.
 */

import { describe, expect, it } from 'vitest';
import { testProbe as TP } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { lockedPages, probe, probeRefused } from './dma-helpers.js';

const pool = simulatorsClosedAfterEach();

describe('violation records', () => {
  it('keeps the first maxRecords in full and counts all of them by code', async () => {
    const sim = await pool.make({ pager: 'off', maxRecords: 5 });
    const dev = await sim.attachDevice('test-probe');
    const buf = lockedPages(sim, 1);
    expect(sim.vmm.linPageUnLock(buf.page, 1, 0)).toBe(1);
    for (let i = 0; i < 12; i++) expect(await probe(dev, TP.OP.READ, buf.phys[0]!, { len: 8 })).toEqual(probeRefused('dma-unlocked'));
    for (let i = 0; i < 8; i++) expect(await probe(dev, TP.OP.READ, 40 * 4096, { len: 8 })).toEqual(probeRefused('dma-not-handed-out'));
    const kept = sim.violations();
    expect(kept.map((v) => v.code)).toEqual(Array(5).fill('dma-unlocked'));
    const counts = sim.violationCounts();
    expect(counts).toMatchObject({ total: 20, kept: 5, ringDropped: 0 });
    expect(counts.byCode['dma-unlocked']).toBe(12);
    expect(counts.byCode['dma-not-handed-out']).toBe(8);
    expect(Object.values(counts.byCode).reduce((a, b) => a + b, 0)).toBe(20);
  });
});
