/**
 * Two NICs sending to each other through a one-slot link cannot wait for each other forever: a NIC
 * that finds its peer's queue full takes in what the peer sent it while it waits (and the peer's
 * receive wakes it). The link timeout is set far beyond the test's, so a frame could be dropped
 * only by a deadlock — which would fail the test, not pass it by luck.
 */

import { describe, expect, it } from 'vitest';
import { simulatorsClosedAfterEach } from './helpers.js';
import { frameOf, NicDriver } from './nic-helpers.js';

const pool = simulatorsClosedAfterEach();

describe('nic: a full link', () => {
  it('7 frames each way at once through a 1-slot link: all arrive, none dropped', async () => {
    const sim = await pool.make();
    const link = sim.createLink({ slots: 1 });
    const opts = { linkTimeoutMs: 3_600_000 };
    const a = new NicDriver(sim, await sim.attachDevice('nic', { link: link.a, ...opts }));
    const b = new NicDriver(sim, await sim.attachDevice('nic', { link: link.b, ...opts }));
    const ab = Array.from({ length: 7 }, (_, i) => frameOf(i, 200 + i * 150));
    const ba = Array.from({ length: 7 }, (_, i) => frameOf(100 + i, 1400 - i * 150));
    a.postRx();
    b.postRx();
    for (const f of ab) a.queue(f);
    for (const f of ba) b.queue(f);
    a.kick();
    b.kick();
    await Promise.all([a.until(() => a.txDone && a.received.length === 7), b.until(() => b.txDone && b.received.length === 7)]);
    expect(b.received).toEqual(ab);
    expect(a.received).toEqual(ba);
    expect(link.dropped('a') + link.dropped('b')).toBe(0);
    for (const d of [a, b]) expect(await d.dev.stats()).toMatchObject({ txFrames: 7, rxFrames: 7, txLinkDropped: 0 });
    expect(sim.violations()).toEqual([]);
  });
});
