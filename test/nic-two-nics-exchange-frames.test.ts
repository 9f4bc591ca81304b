/**
 * Two NICs on one link exchange 200 frames each way at once, of every size up to MAX_FRAME, through
 * 8-descriptor rings that wrap many times: transmit frames split across up to three descriptors
 * (EOP on the last), receive frames spread over 256-byte (B) and 1024-byte (A) buffers. Every
 * payload arrives byte for byte and in order. Paced like a driver: never more frames in flight
 * than the receiver has descriptors for, and the next round only after the interrupt handler has
 * seen the last one — so no frame is ever dropped, whatever the threads' timing.
 */

import { describe, expect, it } from 'vitest';
import { nic as NIC } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { rng } from './dma-helpers.js';
import { frameOf, linkedPair, type NicDriver } from './nic-helpers.js';

const pool = simulatorsClosedAfterEach();

const FRAMES = 200;
/** Sizes that sit on every boundary, then seeded random ones. */
function sizes(seed: number): number[] {
  const edges = [1, 14, 60, 64, 255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 1500, 1514, 1517, NIC.MAX_FRAME];
  const r = rng(seed);
  const out = [...edges];
  while (out.length < FRAMES) out.push(1 + Math.floor(r() * NIC.MAX_FRAME));
  return out;
}

interface Direction {
  from: NicDriver;
  to: NicDriver;
  frames: Uint8Array[];
  next: number;
  /** Frames in flight this round. */
  sent: number;
}

/** Queues as many of the remaining frames as the receiver's descriptors and the sender's TX ring allow. */
function queueRound(d: Direction): void {
  let rx = d.to.rxPosted;
  d.sent = 0;
  while (d.next < d.frames.length) {
    const f = d.frames[d.next]!;
    const pieces = 1 + (d.next % 3);
    if (d.to.rxNeed(f.length) > rx || Math.min(pieces, f.length) > d.from.txFree) break;
    rx -= d.to.rxNeed(f.length);
    d.from.queue(f, pieces);
    d.next++;
    d.sent++;
  }
  expect(d.sent, 'every round makes progress').toBeGreaterThan(0);
}

describe('nic: two NICs exchange frames', () => {
  it('200 frames each way, varied sizes, multi-descriptor TX and RX, rings wrapping: every byte arrives', async () => {
    const sim = await pool.make({ pager: 'off', seed: 7 });
    const { a, b } = await linkedPair(sim, { rxBufSize: 1024 }, { rxBufSize: 256 });
    const ab: Direction = { from: a, to: b, frames: sizes(1).map((n, i) => frameOf(1000 + i, n)), next: 0, sent: 0 };
    const ba: Direction = { from: b, to: a, frames: sizes(2).map((n, i) => frameOf(5000 + i, n)), next: 0, sent: 0 };
    let rounds = 0;
    while (ab.next < FRAMES || ba.next < FRAMES) {
      rounds++;
      // Descriptors first: every receive descriptor the driver may hand over is handed over before
      // either side transmits, so a frame always finds room.
      a.postRx();
      b.postRx();
      const wantB = b.received.length + (ab.next < FRAMES ? (queueRound(ab), ab.sent) : 0);
      const wantA = a.received.length + (ba.next < FRAMES ? (queueRound(ba), ba.sent) : 0);
      a.kick();
      b.kick();
      await Promise.all([a.until(() => a.txDone && a.received.length === wantA), b.until(() => b.txDone && b.received.length === wantB)]);
    }
    expect(rounds).toBeGreaterThan(40);
    for (const [d, got] of [
      [ab, b.received],
      [ba, a.received],
    ] as const) {
      expect(got.length).toBe(FRAMES);
      for (let i = 0; i < FRAMES; i++) expect(got[i], `frame ${i}`).toEqual(d.frames[i]);
    }
    // Both rings went round many times.
    const txDescA = ab.frames.reduce((s, f, i) => s + Math.min(1 + (i % 3), f.length), 0);
    expect(txDescA).toBeGreaterThan(8 * 20);
    const sa = await a.dev.stats();
    const sb = await b.dev.stats();
    const bytesAB = ab.frames.reduce((s, f) => s + f.length, 0);
    const bytesBA = ba.frames.reduce((s, f) => s + f.length, 0);
    expect(sa).toMatchObject({ txFrames: FRAMES, rxFrames: FRAMES, rxDropped: 0, ringErrors: 0, txDescriptors: txDescA, bytes: bytesAB + bytesBA, txNowhere: 0, txLinkDropped: 0 });
    expect(sb).toMatchObject({ txFrames: FRAMES, rxFrames: FRAMES, rxDropped: 0, ringErrors: 0, rxDescriptors: ab.frames.reduce((s, f) => s + b.rxNeed(f.length), 0) });
    expect(a.missed + b.missed).toBe(0);
    expect(a.dev.readReg(NIC.REG.DIAG)).toBe(NIC.DIAG_CODE.NONE);
    expect(b.dev.readReg(NIC.REG.DIAG)).toBe(NIC.DIAG_CODE.NONE);
    // GPTC / GPRC count the same frames (read-to-clear: a second read is 0).
    expect(a.dev.readReg(NIC.REG.GPTC)).toBe(FRAMES);
    expect(a.dev.readReg(NIC.REG.GPTC)).toBe(0);
    expect(b.dev.readReg(NIC.REG.GPRC)).toBe(FRAMES);
    expect(sim.violations()).toEqual([]);
  });
});
