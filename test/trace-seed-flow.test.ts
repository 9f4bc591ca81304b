/**
 * The event trace: a seed-flow run — lock, hand-out, doorbell, the device's DMA, its interrupt and
 * the driver's acknowledgement, unlock, the aggressive pager's move or page-out, then a stale DMA
 * caught as a violation — lists those events in global sequence order with their fields, across the
 * main thread's and the device's rings.
 */

import { describe, expect, it } from 'vitest';
import { TRACE_FIELDS, VIOLATION_CODES, copyEngine as CE, type TraceEvent } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { ceChain, ceCopy, lockedPages, writeDescriptors } from './dma-helpers.js';

const pool = simulatorsClosedAfterEach();

/** The events of the given kinds, in order. */
function pick(events: readonly TraceEvent[], kinds: readonly string[]): TraceEvent[] {
  return events.filter((e) => kinds.includes(e.kind));
}

describe('the event trace of a seed-flow run', () => {
  it('lists lock, hand-out, doorbell, dma, interrupt, ack, unlock, pager, violation in order, with their fields', async () => {
    const sim = await pool.make({ pager: 'aggressive', seed: 3 });
    const drv = sim.createDriver('seed');
    const buf = lockedPages(drv, 2);
    const f0 = buf.phys[0]! >>> 12;
    const f1 = buf.phys[1]! >>> 12;
    const dev = await drv.attachDevice('copy-engine');
    expect(await ceCopy(dev, buf.phys[0]!, buf.phys[1]!, 4096)).toMatchObject({ error: 0, bytes: 4096 });
    dev.ackInterrupt();
    expect(drv.vmm.linPageUnLock(buf.page, 2, 0)).toBe(1);
    // The driver reprograms the old addresses after the unlock: refused, reported.
    expect(await ceCopy(dev, buf.phys[0]!, buf.phys[1]!, 4096)).toMatchObject({ error: 1 });
    const events = sim.trace.events();
    for (let i = 1; i < events.length; i++) expect(events[i]!.seq).toBeGreaterThan(events[i - 1]!.seq);
    for (const e of events) for (const f of TRACE_FIELDS[e.kind]) expect(typeof (e as unknown as Record<string, unknown>)[f], `${e.kind}.${f}`).toBe('number');

    const flow = pick(events, ['lock', 'handout', 'doorbell', 'dma', 'irq-raise', 'irq-ack', 'unlock', 'page-move', 'page-out', 'page-discard', 'violation']);
    const kinds = flow.map((e) => e.kind);
    const firstUnlock = kinds.indexOf('unlock');
    expect(kinds.slice(0, 4)).toEqual(['lock', 'lock', 'handout', 'handout']);
    expect(kinds.slice(4, firstUnlock)).toEqual(['irq-ack', 'doorbell', 'dma', 'irq-raise', 'irq-ack']);
    expect(flow.slice(0, 2)).toEqual([
      expect.objectContaining({ kind: 'lock', frame: f0, driver: 1, page: buf.page, slot: null }),
      expect.objectContaining({ kind: 'lock', frame: f1, driver: 1, page: buf.page + 1, slot: null }),
    ]);
    const dma = flow.find((e) => e.kind === 'dma')!;
    expect(dma).toMatchObject({ kind: 'dma', slot: dev.id, device: expect.any(Number), driver: 1, command: 1, bytesRead: 4096, bytesWritten: 4096, frames: 2, phys: buf.phys[0], length: 4096, phys2: buf.phys[1], length2: 4096, spans: 2, write: false, write2: true, outcome: 'ok' });
    expect(flow.find((e) => e.kind === 'irq-raise')).toMatchObject({ slot: dev.id, count: 1 });
    // Under the aggressive pager every unlock to zero moves or pages out its page at once (and
    // every call steps the pager once more).
    const pager = ['page-move', 'page-out', 'page-discard'];
    expect(kinds[firstUnlock + 1]).toSatisfy((k: string) => pager.includes(k));
    const tail = kinds.slice(firstUnlock).filter((k) => !pager.includes(k));
    // Two unlocks, then the stale copy: both of its pages refused (two records), one dma event.
    expect(tail).toEqual(['unlock', 'unlock', 'irq-ack', 'doorbell', 'violation', 'violation', 'dma', 'irq-raise']);
    const violation = flow.find((e) => e.kind === 'violation')!;
    const [record] = sim.violations();
    expect(violation).toMatchObject({ code: VIOLATION_CODES.indexOf(record!.code), device: dma.device, record: record!.seq });
    expect(flow.filter((e) => e.kind === 'dma').at(-1)).toMatchObject({ outcome: 'refused', bytesRead: 0, bytesWritten: 0 });
    expect(sim.trace.stats()).toMatchObject({ dropped: 0, evicted: 0 });
    expect(sim.trace.hash()).toMatch(/^[0-9a-f]{8}$/);
  });

  it('trace: false records nothing', async () => {
    const sim = await pool.make({ pager: 'aggressive', trace: false });
    const buf = lockedPages(sim, 2);
    const dev = await sim.attachDevice('copy-engine');
    expect(await ceCopy(dev, buf.phys[0]!, buf.phys[1]!, 4096)).toMatchObject({ error: 0 });
    expect(sim.vmm.linPageUnLock(buf.page, 2, 0)).toBe(1);
    expect(sim.trace.enabled).toBe(false);
    expect(sim.trace.events()).toEqual([]);
    expect(sim.trace.stats()).toEqual({ recorded: 0, dropped: 0, evicted: 0 });
  });

  it("a full device ring counts every event it could not take; the log keeps the newest 'keep' and counts the rest", async () => {
    const sim = await pool.make({ pager: 'off', trace: { capacity: 8, keep: 16 } });
    const buf = lockedPages(sim, 2); // 2 page-ins, 2 locks, 2 hand-outs
    const desc = lockedPages(sim, 1); // 1 page-in, 1 lock, 1 hand-out
    // One descriptor pointing at itself: the walk reads it and copies MAX_DESCRIPTORS times in one
    // command — 8192 accesses while the main thread only awaits the interrupt.
    writeDescriptors(sim, desc.lin, [{ at: 0, src: buf.phys[0]!, dst: buf.phys[1]!, length: 64, next: desc.phys[0]! }]);
    const dev = await sim.attachDevice('copy-engine');
    expect(await ceChain(dev, desc.phys[0]!)).toMatchObject({ error: CE.ERROR.CHAIN_TOO_LONG }); // + irq-ack, doorbell
    const emitted = 9 + 2 + 2 * CE.MAX_DESCRIPTORS + 1; // main: 11; device: 8192 dma + 1 irq-raise
    const stats = sim.trace.stats();
    expect(stats.dropped).toBeGreaterThan(0);
    expect(stats.recorded + stats.dropped).toBe(emitted);
    expect(stats.evicted).toBe(stats.recorded - 16);
    expect(sim.trace.events()).toHaveLength(16);
  });
});
