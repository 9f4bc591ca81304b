/**
 * Violation records beyond the shared ring's capacity are dropped, counted, and reported — never
 * silently lost. With ringCapacity 4 and nothing draining the ring (no VMM call, no report read:
 * the main thread drains only on demand), a device whose refused accesses outnumber the slots fills
 * the ring and every further record is counted in sim.droppedViolations() and
 * violationCounts().ringDropped. The ground truth is the device's own port statistics: every refused
 * access is either a record (total) or dropped, so total + dropped = the device's `violations`
 * (= `blocked`: one finding per access here). Draining frees the slots again.
 *
 * (Covered elsewhere: records beyond maxRecords are counted, not kept,
 * test/records-bounded-counts-exact.test.ts; a record lost with a writer killed mid-append is a
 * tombstone counted as dropped, test/ring-writer-killed-mid-append.test.ts.)
 */

import { describe, expect, it } from 'vitest';
import { testProbe as TP, type DeviceHandle, type Simulator } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { lockedPages, probe, probeRefused } from './dma-helpers.js';

const pool = simulatorsClosedAfterEach();
const CAPACITY = 4;

/** A page the driver locked, handed out and unlocked: every device read of it is refused (dma-unlocked). */
function unlockedPage(sim: Simulator): number {
  const buf = lockedPages(sim, 1);
  expect(sim.vmm.linPageUnLock(buf.page, 1, 0)).toBe(1);
  return buf.phys[0]!;
}

/** `n` refused reads, one after the other; nothing on the main thread drains the ring meanwhile. */
async function refusedReads(dev: DeviceHandle, phys: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) expect(await probe(dev, TP.OP.READ, phys, { len: 8 })).toEqual(probeRefused('dma-unlocked'));
}

describe(`a violation ring of ${CAPACITY} slots`, () => {
  it('keeps the first records, counts the rest as dropped, and total + dropped is every refused access', async () => {
    const sim = await pool.make({ pager: 'off', ringCapacity: CAPACITY });
    const phys = unlockedPage(sim);
    const dev = await sim.attachDevice('test-probe');
    await refusedReads(dev, phys, 10);
    const st = await dev.stats();
    expect(st).toMatchObject({ accesses: 10, violations: 10, blocked: 10, bytesRead: 0 });

    const counts = sim.violationCounts();
    expect(counts).toMatchObject({ total: CAPACITY, kept: CAPACITY, ringDropped: 10 - CAPACITY });
    expect(counts.byCode['dma-unlocked']).toBe(CAPACITY);
    expect(sim.droppedViolations()).toBe(10 - CAPACITY);
    expect(counts.total + counts.ringDropped).toBe(st.violations);
    // What was kept is the first commands' records; the later ones found the ring full.
    expect(sim.violations().map((v) => [v.code, v.access?.command])).toEqual([1, 2, 3, 4].map((c) => ['dma-unlocked', c]));
    // Reported, not silent: the text summary, the JSON report and its counters all say so.
    expect(sim.renderText()).toContain(`${10 - CAPACITY} records dropped`);
    expect(sim.report()).toMatchObject({ violationCounts: { ringDropped: 10 - CAPACITY }, counters: { violationsDropped: 10 - CAPACITY } });

    // The drain above freed the slots: the next records are kept again, up to the capacity.
    await refusedReads(dev, phys, CAPACITY + 2);
    const after = sim.violationCounts();
    const st2 = await dev.stats();
    expect(after).toMatchObject({ total: 2 * CAPACITY, ringDropped: 10 - CAPACITY + 2 });
    expect(after.total + after.ringDropped).toBe(st2.violations);
    expect(st2.blocked).toBe(st2.violations);
    expect(sim.deviceFaults()).toEqual([]);
  });

  it('two devices overflowing it at once: total + dropped is the sum of what both ports refused', async () => {
    const sim = await pool.make({ pager: 'off', ringCapacity: CAPACITY });
    const phys = unlockedPage(sim);
    const [a, b] = await Promise.all([sim.attachDevice('test-probe', { name: 'a' }), sim.attachDevice('test-probe', { name: 'b' })]);
    // Interleaved however the threads run: which device's records are kept is not decided, the sum is.
    await Promise.all([refusedReads(a, phys, 7), refusedReads(b, phys, 9)]);
    const [sa, sb] = await Promise.all([a.stats(), b.stats()]);
    expect([sa.violations, sb.violations]).toEqual([7, 9]);
    const counts = sim.violationCounts();
    expect(counts.total).toBe(CAPACITY);
    expect(counts.total + counts.ringDropped).toBe(sa.violations! + sb.violations!);
    expect(sim.violations().every((v) => v.code === 'dma-unlocked' && (v.device?.name === 'a' || v.device?.name === 'b'))).toBe(true);
  });
});
