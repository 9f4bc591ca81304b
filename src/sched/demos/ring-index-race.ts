/**
 * `ring-index-race` / `ring-index-race-fixed`: an e1000 driver and its NIC racing on the status of a
 * transmit descriptor, in simulated memory.
 *
 * The driver is written as e1000 drivers are: a transmit path that queues frames (each frame's
 * buffer page locked and handed out, a legacy descriptor with RS written by the CPU, TDT moved),
 * and an interrupt handler that reclaims: from its clean index up to the tail, while the device has
 * written DD back into a descriptor's status byte, it unlocks that frame's buffer. The status byte
 * lives in the ring, written by the device's DMA and read by the driver's CPU.
 *
 * The bug: the transmit path writes a reused descriptor's address, length and command but not its
 * status, so on the ring's second lap a queued descriptor still shows the DD of its first lap. The
 * handler believes it and unlocks a buffer the device has not read yet — the device's gather is
 * then refused ('dma-unlocked'). It bites only when the handler runs (woken by the interrupt that
 * ended one transmit pass) after the path queued a frame on a stale slot and before the device's
 * next pass has read that frame: in most schedules the device gets there first. The fixed twin
 * clears the status when it writes a descriptor.
 */

import { defineScenario, type Scenario } from '../scenario.js';
import type { Simulator } from '../../simulator.js';
import { DemoError, allocate, lock, lockedPages, unlock, type Pages } from './driver.js';
import * as NIC from '../../../devices/nic/regs.js';

/** Descriptors in the transmit ring (the smallest ring: 128 bytes). */
const SLOTS = 8;
/** Frames sent: the ring's first lap and half of its second. */
const FRAMES = 12;
const FRAME_BYTES = 256;
/** Steps the transmit path spends building each frame before it queues it. */
const BUILD_STEPS = 10;

export function ringIndexRace(fixed: boolean): Scenario {
  return defineScenario({
    name: fixed ? 'ring-index-race-fixed' : 'ring-index-race',
    about: fixed
      ? 'an e1000 driver that clears a transmit descriptor\'s status when it reuses it, so its interrupt handler reclaims only what the NIC has sent (twin of ring-index-race)'
      : "an e1000 driver that reuses transmit descriptors without clearing their status: its interrupt handler trusts a stale DD and unlocks a frame's buffer before the NIC has read it",
    options: { memory: 4 << 20 },
    async run(sim: Simulator) {
      const dev = await sim.attachDevice('nic', { name: 'eth0' });
      const ring = lockedPages(sim, 1);
      // One buffer page per slot, locked while its frame is queued.
      const bufs: Pages[] = Array.from({ length: SLOTS }, () => allocate(sim, 1));
      const { REG } = NIC;
      dev.writeReg(REG.TDBAL, ring.phys[0]!);
      dev.writeReg(REG.TDBAH, 0);
      dev.writeReg(REG.TDLEN, SLOTS * NIC.TX_DESC.SIZE);
      dev.writeReg(REG.TDH, 0);
      dev.writeReg(REG.TDT, 0);
      dev.writeReg(REG.IMS, NIC.ICR.TXDW);
      dev.writeReg(REG.TCTL, NIC.TCTL.EN);

      let tail = 0;
      let clean = 0;
      let reclaimed = 0;
      const queued = () => (tail - clean + SLOTS) % SLOTS;
      const slotLin = (i: number) => ring.lin + i * NIC.TX_DESC.SIZE;

      function queue(f: number): void {
        const i = tail;
        const buf = lock(sim, bufs[i]!);
        sim.cpu.writeBytes(buf.lin, new Uint8Array(FRAME_BYTES).fill(f & 0xff));
        const d = new Uint8Array(fixed ? NIC.TX_DESC.SIZE : NIC.TX_DESC.STA);
        const dv = new DataView(d.buffer);
        dv.setUint32(NIC.TX_DESC.ADDR, buf.phys[0]!, true);
        dv.setUint16(NIC.TX_DESC.LENGTH, FRAME_BYTES, true);
        d[NIC.TX_DESC.CMD] = NIC.TXD_CMD.EOP | NIC.TXD_CMD.IFCS | NIC.TXD_CMD.RS;
        // Fixed: all 16 bytes, status 0. Buggy: bytes 0…11 only — STA keeps what the device wrote last lap.
        sim.cpu.writeBytes(slotLin(i), d);
        tail = (i + 1) % SLOTS;
        // The descriptor (CPU stores) is in memory before this register store; the device reads TDT first.
        dev.writeReg(REG.TDT, tail);
      }

      /** From the clean index up to the tail, while DD is set: the device is done with that buffer. */
      function reclaim(): void {
        while (clean !== tail && (sim.cpu.read8(slotLin(clean) + NIC.TX_DESC.STA) & NIC.TXD_STA.DD) !== 0) {
          unlock(sim, bufs[clean]!);
          clean = (clean + 1) % SLOTS;
          reclaimed++;
        }
      }

      async function transmit(): Promise<void> {
        for (let f = 0; f < FRAMES; f++) {
          // One slot always stays empty (head == tail means the device owns none).
          if (queued() === SLOTS - 1) await sim.waitUntil(() => queued() < SLOTS - 1, { timeoutMs: 1000, what: 'a free transmit descriptor' });
          // The frame is built a piece per step (the stack's work), then queued.
          for (let k = 0; k < BUILD_STEPS; k++) await sim.yield();
          queue(f);
        }
      }

      async function interrupt(): Promise<void> {
        while (reclaimed < FRAMES) {
          await dev.waitForInterrupt({ timeoutMs: 1000 });
          // Level-triggered: acknowledge the line, then read ICR (read-to-clear), then look.
          dev.ackInterrupt();
          dev.readReg(REG.ICR);
          reclaim();
        }
      }

      if ((await sim.run(transmit, interrupt)) !== 'done') return;
      if (dev.readReg(REG.GPTC) !== FRAMES) throw new DemoError(`eth0 sent ${dev.readReg(REG.GPTC)} of ${FRAMES} frames`);
      unlock(sim, ring);
    },
  });
}
