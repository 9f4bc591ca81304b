/**
 * The NIC driver bug: the driver unlocks receive buffers that are still handed to the ring
 * (RDH … RDT − 1), the aggressive pager moves them at once, and then a frame arrives. The device's
 * write into the buffer is caught at the access — 'dma-unlocked', blocked, naming the NIC, its
 * driver, and the lock, hand-out, unlock and programming stacks — the frame lands nowhere, and
 * DIAG says the receive DMA was refused.
 */

import { describe, expect, it } from 'vitest';
import { nic as NIC } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { stackNames } from './dma-helpers.js';
import { frameOf, NicDriver, readRxDescriptor } from './nic-helpers.js';

const FILE = 'nic-rx-buffer-unlocked-while-on-ring.test.ts';
const pool = simulatorsClosedAfterEach();

describe('nic: an RX buffer unlocked while still on the ring', () => {
  it('a frame arriving into it is caught as dma-unlocked naming the NIC; nothing is written', async () => {
    const sim = await pool.make({ pager: 'aggressive', seed: 9 });
    const link = sim.createLink();
    const host = sim.openLink(link.b);
    const drv = sim.createDriver('e1000');
    const dev = await drv.attachDevice('nic', { name: 'eth0', link: link.a });
    const nic = new NicDriver(drv, dev, { unlockedBuffers: true, rxBufSize: 2048, ims: 0 });
    nic.lockBuffers();
    const oldRx = [...nic.rxBufs.phys];
    nic.postRx(3);
    const contents = drv.cpu.readBytes(nic.rxBufs.lin, nic.rxBufs.npages * 4096);

    // ← the bug: the device still owns descriptors 0 … 2 and their buffers.
    expect(drv.vmm.linPageUnLock(nic.rxBufs.page, nic.rxBufs.npages, 0)).toBe(1);
    expect(sim.pager.stats.moves + sim.pager.stats.pageOuts + sim.pager.stats.discards).toBeGreaterThan(0);

    expect(host.send(frameOf(1, 1000))).toBe(true);
    await nic.fence(sim);

    const vs = sim.violations();
    expect(vs.length).toBeGreaterThanOrEqual(1);
    for (const v of vs) {
      expect(v.code).toBe('dma-unlocked');
      expect(v.outcome).toBe('blocked');
      expect(v.device).toEqual({ id: dev.id, attachment: dev.attachment, kind: 'nic', name: 'eth0' });
      expect(v.driver).toBe('e1000');
      expect(v.access?.direction).toBe('write');
      expect(v.frame).toBe(oldRx[0]! >>> 12);
      expect(stackNames(v.stacks.unlock, FILE)).toBe(true);
      expect(stackNames(v.stacks.lock, 'nic-helpers.ts')).toBe(true);
      expect(stackNames(v.stacks.handout, 'nic-helpers.ts')).toBe(true);
      expect(stackNames(v.stacks.programmed, 'nic-helpers.ts')).toBe(true);
      const text = sim.render(v);
      expect(text).toContain('BUG: dmasim: dma-unlocked in nic#');
      expect(text).toContain('(eth0), driver "e1000"');
    }
    // Refused whole: no byte of the frame and no descriptor status anywhere.
    expect(dev.readReg(NIC.REG.DIAG)).toBe(NIC.DIAG_CODE.DMA_REFUSED | NIC.DIAG_RX);
    expect(dev.readReg(NIC.REG.RDH)).toBe(0);
    expect(readRxDescriptor(drv, nic.rxSlotLin(0)).status).toBe(0);
    expect(drv.cpu.readBytes(nic.rxBufs.lin, nic.rxBufs.npages * 4096)).toEqual(contents);
    expect(await dev.stats()).toMatchObject({ rxFrames: 0, ringErrors: 1, blocked: 1 });
    host.close();
  });
});
