/**
 * One NIC against the main thread playing the far end of the wire (sim.openLink): frames the test
 * sends arrive in the NIC's receive ring, frames the NIC transmits come out of nextFrame(). STATUS.LU
 * follows whoever holds the other end, with ICR.LSC on each change; with nobody there (or no link
 * at all) transmitted frames complete and go nowhere.
 */

import { describe, expect, it } from 'vitest';
import { nic as NIC } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { frameOf, NicDriver } from './nic-helpers.js';

const pool = simulatorsClosedAfterEach();

describe('nic: against a host link end', () => {
  it('frames sent by the test arrive in RX; frames transmitted come out of nextFrame()', async () => {
    const sim = await pool.make();
    const link = sim.createLink();
    const host = sim.openLink(link.b);
    const nic = new NicDriver(sim, await sim.attachDevice('nic', { link: link.a }), { rxBufSize: 512 });
    expect(nic.dev.readReg(NIC.REG.STATUS)).toBe(NIC.STATUS.LU);
    expect(host.connected).toBe(true);

    nic.postRx();
    const inbound = [frameOf(1, 60), frameOf(2, 512), frameOf(3, 513), frameOf(4, NIC.MAX_FRAME)];
    for (const f of inbound.slice(0, 2)) expect(host.send(f)).toBe(true);
    await nic.until(() => nic.received.length === 2);
    nic.postRx();
    for (const f of inbound.slice(2)) expect(host.send(f)).toBe(true);
    await nic.until(() => nic.received.length === 4);
    expect(nic.received).toEqual(inbound);

    const outbound = [frameOf(10, 1), frameOf(11, 700), frameOf(12, NIC.MAX_FRAME)];
    outbound.forEach((f, i) => nic.queue(f, i + 1));
    nic.kick();
    for (const f of outbound) expect(await host.nextFrame({ timeoutMs: 10_000 })).toEqual(f);
    await nic.until(() => nic.txDone);
    expect(host.pending()).toBe(0);
    expect(await nic.dev.stats()).toMatchObject({ txFrames: 3, rxFrames: 4, txNowhere: 0 });
    expect(sim.violations()).toEqual([]);
    host.close();
  });

  it('STATUS.LU follows the far end (ICR.LSC on each change); with no one there, frames go nowhere', async () => {
    const sim = await pool.make();
    const link = sim.createLink();
    const dev = await sim.attachDevice('nic', { link: link.a });
    const nic = new NicDriver(sim, dev, { ims: NIC.ICR.LSC | NIC.ICR.TXDW });
    expect(dev.readReg(NIC.REG.STATUS)).toBe(0);

    // The claim of side b wakes the NIC: link up, LSC.
    dev.ackInterrupt();
    const host = sim.openLink(link.b);
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(dev.readReg(NIC.REG.ICR) & NIC.ICR.LSC).toBe(NIC.ICR.LSC);
    expect(dev.readReg(NIC.REG.STATUS)).toBe(NIC.STATUS.LU);
    // STATUS is read-only to the driver.
    dev.writeReg(NIC.REG.STATUS, 0);
    expect(dev.readReg(NIC.REG.STATUS)).toBe(NIC.STATUS.LU);

    dev.ackInterrupt();
    host.close();
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(dev.readReg(NIC.REG.ICR) & NIC.ICR.LSC).toBe(NIC.ICR.LSC);
    expect(dev.readReg(NIC.REG.STATUS)).toBe(0);

    // Nobody holds the far end: the frame is transmitted (DD, TDH) and the wire drops it.
    nic.queue(frameOf(1, 100));
    nic.kick();
    await nic.until(() => nic.txDone);
    expect(await dev.stats()).toMatchObject({ txFrames: 1, txNowhere: 1 });
    const again = sim.openLink(link.b);
    expect(again.pending()).toBe(0);
    again.close();
  });

  it('a NIC attached without a link transmits into nowhere and reports no link', async () => {
    const sim = await pool.make();
    const nic = new NicDriver(sim, await sim.attachDevice('nic'));
    expect(nic.dev.readReg(NIC.REG.STATUS)).toBe(0);
    nic.queue(frameOf(1, 1000), 3);
    nic.kick();
    await nic.until(() => nic.txDone);
    expect(await nic.dev.stats()).toMatchObject({ txFrames: 1, txNowhere: 1, txDescriptors: 3 });
    expect(sim.violations()).toEqual([]);
  });
});
