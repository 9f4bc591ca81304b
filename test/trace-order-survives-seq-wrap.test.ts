/**
 * The global sequence number is an Int32 word: after 2^31 events (about half an hour at a million
 * events a second) it wraps. The trace's merge compares sequence numbers by difference, so events
 * from the main thread's and a device's rings stay in order across the wrap.
 */

import { describe, expect, it } from 'vitest';
import { H } from '../src/layout.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { ceCopy, lockedPages } from './dma-helpers.js';
import { sharedOf } from './internals.js';

const pool = simulatorsClosedAfterEach();

describe('the trace across a sequence-number wrap', () => {
  it('keeps main-thread and device events in order', async () => {
    const sim = await pool.make({ pager: 'off' });
    const dev = await sim.attachDevice('copy-engine');
    sim.trace.events(); // drain what came before
    Atomics.store(sharedOf(sim).control, H.SEQ, 0x7fffffff - 20);
    const buf = lockedPages(sim, 2);
    for (let i = 0; i < 8; i++) expect(await ceCopy(dev, buf.phys[0]!, buf.phys[1]!, 64)).toMatchObject({ error: 0 });
    const after = sim.trace.events().filter((e) => e.seq < 0 || e.seq > 0x7fffffff - 30);
    expect(after.some((e) => e.seq < 0)).toBe(true); // the wrap happened in the middle
    for (let i = 1; i < after.length; i++) expect((after[i]!.seq - after[i - 1]!.seq) | 0, `${after[i - 1]!.kind} → ${after[i]!.kind}`).toBeGreaterThan(0);
    expect(after.filter((e) => e.kind === 'dma')).toHaveLength(8);
  });
});
