/**
 * Correct NIC drivers run clean under the aggressive pager. Two drivers, one NIC each, on one link:
 * the rings stay locked; every round each driver locks its buffers, takes their (new) physical
 * addresses, hands over exactly the receive descriptors the round's frames need, transmits, waits
 * for its interrupts until everything is in, and unlocks — and the pager moves or pages out every
 * unlocked page at once. Zero violations, zero bytes lost, no frame dropped.
 */

import { describe, expect, it } from 'vitest';
import { simulatorsClosedAfterEach } from './helpers.js';
import { rng } from './dma-helpers.js';
import { frameOf, NicDriver } from './nic-helpers.js';
import { nic as NIC } from '../src/index.js';

const pool = simulatorsClosedAfterEach();

describe('nic under the aggressive pager', () => {
  it('30 rounds both ways with buffers locked per round: no violation, every byte where it should be', async () => {
    const sim = await pool.make({ pager: 'aggressive', seed: 21 });
    const link = sim.createLink();
    const da = sim.createDriver('e1000-a');
    const db = sim.createDriver('e1000-b');
    const a = new NicDriver(da, await da.attachDevice('nic', { name: 'nic-a', link: link.a }), { unlockedBuffers: true, rxBufSize: 512 });
    const b = new NicDriver(db, await db.attachDevice('nic', { name: 'nic-b', link: link.b }), { unlockedBuffers: true, rxBufSize: 2048 });
    const r = rng(3);
    let seed = 0;
    const sent: [Uint8Array[], Uint8Array[]] = [[], []];
    for (let round = 0; round < 30; round++) {
      a.lockBuffers();
      b.lockBuffers();
      // The round's frames, within the sender's TX ring and the receiver's descriptors.
      const plan = (from: NicDriver, to: NicDriver): Uint8Array[] => {
        const out: Uint8Array[] = [];
        let tx = from.txFree;
        let rx = to.rxFree;
        for (;;) {
          const f = frameOf(seed++, 1 + Math.floor(r() * NIC.MAX_FRAME));
          const pieces = 1 + (out.length % 2);
          if (pieces > tx || to.rxNeed(f.length) > rx) return out;
          tx -= pieces;
          rx -= to.rxNeed(f.length);
          out.push(f);
        }
      };
      const ab = plan(a, b);
      const ba = plan(b, a);
      // Only the descriptors these frames fill: at the end of the round the devices own none, so
      // unlocking the buffers then is correct.
      b.postRx(ab.reduce((s, f) => s + b.rxNeed(f.length), 0));
      a.postRx(ba.reduce((s, f) => s + a.rxNeed(f.length), 0));
      ab.forEach((f, i) => a.queue(f, 1 + (i % 2)));
      ba.forEach((f, i) => b.queue(f, 1 + (i % 2)));
      sent[0].push(...ab);
      sent[1].push(...ba);
      a.kick();
      b.kick();
      await Promise.all([a.until(() => a.txDone && a.received.length === sent[1].length), b.until(() => b.txDone && b.received.length === sent[0].length)]);
      // The driver saw every frame by DD in its descriptors, which the device writes before it moves
      // RDH (data, then status, then the head): a fence — a doorbell served after the delivery in
      // progress — before the head is read, or the read races the device's RDH store.
      await Promise.all([a.fence(sim), b.fence(sim)]);
      expect(a.dev.readReg(NIC.REG.RDH)).toBe(a.rxTail);
      expect(b.dev.readReg(NIC.REG.RDH)).toBe(b.rxTail);
      const rxA = da.cpu.readBytes(a.rxBufs.lin, a.rxBufs.npages * 4096);
      a.unlockBuffers();
      b.unlockBuffers();
      // Unlocked, the pages move or are paged out; what the device wrote survives (PAGEMARKDIRTY).
      expect(da.cpu.readBytes(a.rxBufs.lin, a.rxBufs.npages * 4096)).toEqual(rxA);
    }
    expect(b.received).toEqual(sent[0]);
    expect(a.received).toEqual(sent[1]);
    expect(sent[0].length + sent[1].length).toBeGreaterThan(60);
    expect(sim.pager.stats.moves + sim.pager.stats.pageOuts).toBeGreaterThan(60);
    expect(sim.violations()).toEqual([]);
    for (const d of [a, b]) expect(await d.dev.stats()).toMatchObject({ rxDropped: 0, ringErrors: 0, txLinkDropped: 0, violations: 0 });
  });
});
