/**
 * A receiver without descriptors drops frames and counts them (MPC, ICR.RXO), and writes them
 * nowhere. B hands over N descriptors and never replenishes; A sends M > N frames. Deterministic:
 * the first N frames find a descriptor each, and for every later one RDH == RDT.
 */

import { describe, expect, it } from 'vitest';
import { nic as NIC } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { lockedPages } from './dma-helpers.js';
import { frameOf, linkedPair } from './nic-helpers.js';

const pool = simulatorsClosedAfterEach();

describe('nic: RX starvation', () => {
  it('N descriptors, M frames: N received byte for byte, M − N missed (MPC), nothing else written', async () => {
    const sim = await pool.make({ pager: 'off' });
    const { a, b } = await linkedPair(sim, {}, { rxBufSize: 1024 });
    const N = 3;
    const M = 7;
    const frames = Array.from({ length: M }, (_, i) => frameOf(i, 100 + i * 130));
    const bufBytes = b.rxBufs.npages * 4096;
    sim.cpu.writeBytes(b.rxBufs.lin, new Uint8Array(bufBytes).fill(0xee));
    const guard = lockedPages(sim, 1);
    sim.cpu.writeBytes(guard.lin, new Uint8Array(4096).fill(0x5a));
    b.postRx(N);
    const ringBefore = sim.cpu.readBytes(b.rxRing.lin, 4096);

    for (const f of frames) a.queue(f);
    a.kick();
    await a.until(() => a.txDone);
    // Every frame has reached B once B has either received it or missed it.
    await b.until(() => b.received.length + b.missed === M);

    expect(b.received).toEqual(frames.slice(0, N));
    expect(b.missed).toBe(M - N);
    expect(b.dev.readReg(NIC.REG.MPC)).toBe(0); // read-to-clear: the handler took the counts
    expect(b.dev.readReg(NIC.REG.RDH)).toBe(N);
    expect(b.dev.readReg(NIC.REG.GPRC)).toBe(N);
    const st = await b.dev.stats();
    expect(st).toMatchObject({ rxFrames: N, rxDropped: M - N, rxDescriptors: N, ringErrors: 0 });

    // The buffers hold exactly the N frames, each at its descriptor's buffer; every other byte kept its guard value.
    const want = new Uint8Array(bufBytes).fill(0xee);
    frames.slice(0, N).forEach((f, k) => want.set(f, k * b.rxBufSize));
    expect(sim.cpu.readBytes(b.rxBufs.lin, bufBytes)).toEqual(want);
    expect(sim.cpu.readBytes(guard.lin, 4096)).toEqual(new Uint8Array(4096).fill(0x5a));
    // Descriptors past the N handed over were never touched.
    const ringAfter = sim.cpu.readBytes(b.rxRing.lin, 4096);
    expect(ringAfter.subarray(N * NIC.RX_DESC.SIZE)).toEqual(ringBefore.subarray(N * NIC.RX_DESC.SIZE));
    expect(await a.dev.stats()).toMatchObject({ txFrames: M, txLinkDropped: 0, txNowhere: 0 });
    expect(sim.violations()).toEqual([]);

    // Replenished, B receives again.
    b.postRx();
    const late = frameOf(99, 1500);
    a.queue(late, 2);
    a.kick();
    await b.until(() => b.received.length === N + 1);
    expect(b.received[N]).toEqual(late);
  });
});
