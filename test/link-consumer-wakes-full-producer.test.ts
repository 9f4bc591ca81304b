/**
 * A link's consumer hands a slot back to a producer that found the queue full by bumping the
 * producer's wake word (a NIC waits on it with a bounded timeout while its peer's queue is full).
 * Regression: receive() woke the holder of its own side instead of the producer's, so a waiting
 * producer slept out its whole timeout.
 */

import { describe, expect, it } from 'vitest';
import { DCB, attachLinkShared, dcbIndex } from '../src/layout.js';
import { SharedLinkPort, claimLinkSide, releaseLinkSide } from '../src/link.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { sharedOf } from './internals.js';

const pool = simulatorsClosedAfterEach();

describe('link: the consumer wakes a producer waiting on a full queue', () => {
  it("receiving from a full queue bumps the wake word of the producer's holder", async () => {
    const sim = await pool.make();
    const v = sharedOf(sim);
    const link = sim.createLink({ slots: 2 });
    // Device slot 0 stands in for a device holding side a (nothing runs in the slot).
    const l = attachLinkShared(link.a.buffer, v);
    expect(claimLinkSide(v, l, 'a', 1)).toBe(true);
    const a = SharedLinkPort.open(v, link.a);
    const b = sim.openLink(link.b);
    const wake = () => Atomics.load(v.control, dcbIndex(v, 0, DCB.WAKE));
    expect(a.send(new Uint8Array([1]))).toBe(true);
    expect(a.send(new Uint8Array([2]))).toBe(true);
    expect(a.send(new Uint8Array([3]))).toBe(false);
    const before = wake();
    expect(b.receive()).toEqual(new Uint8Array([1]));
    expect(wake()).not.toBe(before);
    // A queue that was not full wakes nobody: the producer is not waiting.
    const after = wake();
    expect(b.receive()).toEqual(new Uint8Array([2]));
    expect(wake()).toBe(after);
    b.close();
    releaseLinkSide(v, l, 'a', 1);
  });
});
