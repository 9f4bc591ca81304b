/**
 * Claiming or giving back one side of a link wakes the holder of the other side: its `connected`
 * changed, and a NIC reflects that in STATUS.LU (and ICR.LSC) only if something makes it look.
 */

import { describe, expect, it } from 'vitest';
import { DCB, attachLinkShared, dcbIndex } from '../src/layout.js';
import { SharedLinkPort, claimLinkSide, releaseLinkSide } from '../src/link.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { sharedOf } from './internals.js';

const pool = simulatorsClosedAfterEach();

describe('link: a side claimed or released wakes the peer', () => {
  it('sim.openLink and close bump the wake word of the device holding the other side', async () => {
    const sim = await pool.make();
    const v = sharedOf(sim);
    const link = sim.createLink();
    const l = attachLinkShared(link.a.buffer, v);
    expect(claimLinkSide(v, l, 'a', 1)).toBe(true);
    const a = SharedLinkPort.open(v, link.a);
    const wake = () => Atomics.load(v.control, dcbIndex(v, 0, DCB.WAKE));
    expect(a.connected).toBe(false);
    const w0 = wake();
    const b = sim.openLink(link.b);
    expect(wake()).not.toBe(w0);
    expect(a.connected).toBe(true);
    const w1 = wake();
    b.close();
    expect(wake()).not.toBe(w1);
    expect(a.connected).toBe(false);
    // A failed claim (side held) and a release by a non-holder change nothing and wake nobody.
    const w2 = wake();
    expect(claimLinkSide(v, l, 'a', 2)).toBe(false);
    releaseLinkSide(v, l, 'b', 7);
    expect(wake()).toBe(w2);
    releaseLinkSide(v, l, 'a', 1);
  });
});
