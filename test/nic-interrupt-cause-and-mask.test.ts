/**
 * The e1000 interrupt registers: ICR is read-to-clear (and write-1-to-clear), ICS sets causes,
 * IMS sets and reads the mask, IMC clears it, and the line is raised only while ICR & IMS is
 * non-zero. The line is looked at once every doorbell rung so far has been served (a fence), so
 * a missing interrupt is seen, not timed out.
 */

import { describe, expect, it } from 'vitest';
import { nic as NIC } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { frameOf, lineUp, NicDriver } from './nic-helpers.js';

const pool = simulatorsClosedAfterEach();
const { REG, ICR } = NIC;

describe('nic: interrupt cause and mask', () => {
  it('ICR read-to-clear and write-1-to-clear; ICS sets; IMS/IMC mask; the line only when ICR & IMS', async () => {
    const sim = await pool.make();
    const nic = new NicDriver(sim, await sim.attachDevice('nic'), { ims: 0 });
    const { dev } = nic;
    /** Every doorbell so far served: is the line up? */
    const settle = async () => {
      await nic.fence(sim);
      return lineUp(dev);
    };
    dev.ackInterrupt();

    // A masked cause: no interrupt; ICR holds it until read, and the read clears it.
    dev.writeReg(REG.ICS, ICR.TXDW);
    expect(await settle()).toBe(false);
    expect(dev.readReg(REG.ICR)).toBe(ICR.TXDW);
    expect(dev.readReg(REG.ICR)).toBe(0);

    // Unmasking with nothing pending raises nothing; a cause set while unmasked does.
    dev.writeReg(REG.IMS, ICR.TXDW);
    expect(dev.readReg(REG.IMS)).toBe(ICR.TXDW);
    expect(await settle()).toBe(false);
    dev.writeReg(REG.ICS, ICR.TXDW);
    expect(await settle()).toBe(true);
    // Level-triggered: the line stays up until the driver acknowledges it; with ICR read (empty),
    // later doorbells leave it down.
    expect(dev.readReg(REG.ICR)).toBe(ICR.TXDW);
    expect(await settle()).toBe(true);
    dev.ackInterrupt();
    expect(await settle()).toBe(false);

    // A cause pending while masked raises the line when IMS unmasks it (the IMS write rings).
    dev.writeReg(REG.IMC, ICR.TXDW);
    expect(dev.readReg(REG.IMS)).toBe(0);
    dev.writeReg(REG.ICS, ICR.RXT0 | ICR.TXDW);
    expect(await settle()).toBe(false);
    dev.writeReg(REG.IMS, ICR.RXT0);
    expect(await settle()).toBe(true);
    expect(dev.readReg(REG.ICR)).toBe(ICR.RXT0 | ICR.TXDW);
    dev.ackInterrupt();

    // Write-1-to-clear: only the bits written as 1 go.
    dev.writeReg(REG.IMC, 0xffffffff);
    dev.writeReg(REG.ICS, ICR.TXDW | ICR.TXQE | ICR.LSC);
    dev.writeReg(REG.ICR, ICR.TXDW | ICR.LSC);
    expect(dev.readReg(REG.ICR)).toBe(ICR.TXQE);
    expect(dev.readReg(REG.ICR)).toBe(0);
    expect(await settle()).toBe(false);
    // IMC and ICS read nothing back (their writes land in IMS and ICR).
    expect(dev.readReg(REG.IMC)).toBe(0);
    expect(dev.readReg(REG.ICS)).toBe(0);

    // A real cause: transmitting with TXDW unmasked interrupts, and ICR says TXDW | TXQE.
    dev.writeReg(REG.IMS, ICR.TXDW);
    nic.queue(frameOf(1, 64));
    nic.kick();
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(dev.readReg(REG.ICR)).toBe(ICR.TXDW | ICR.TXQE);
  });

  it('a descriptor without RS is sent but not written back, and TXDW is not set for it', async () => {
    const sim = await pool.make();
    const link = sim.createLink();
    const host = sim.openLink(link.b);
    const nic = new NicDriver(sim, await sim.attachDevice('nic', { link: link.a }), { ims: 0 });
    nic.queue(frameOf(2, 100));
    // Clear RS in the descriptor just queued.
    const cmdAt = nic.txSlotLin(0) + NIC.TX_DESC.CMD;
    sim.cpu.write8(cmdAt, sim.cpu.read8(cmdAt) & ~NIC.TXD_CMD.RS);
    nic.kick();
    expect(await host.nextFrame({ timeoutMs: 10_000 })).toEqual(frameOf(2, 100));
    await nic.fence(sim);
    expect(nic.dev.readReg(REG.TDH)).toBe(1);
    expect(sim.cpu.read8(nic.txSlotLin(0) + NIC.TX_DESC.STA)).toBe(0);
    expect(nic.dev.readReg(REG.ICR)).toBe(ICR.TXQE);
  });

  it('CTRL.RST returns every register to its power-on value and self-clears', async () => {
    const sim = await pool.make();
    const nic = new NicDriver(sim, await sim.attachDevice('nic'), { ims: ICR.TXDW });
    nic.dev.writeReg(REG.ICS, ICR.TXQE);
    nic.dev.writeReg(REG.CTRL, NIC.CTRL.RST);
    await nic.fence(sim);
    for (const r of [REG.CTRL, REG.ICR, REG.IMS, REG.TDLEN, REG.RDLEN, REG.TDBAL, REG.RDBAL, REG.RCTL, REG.TCTL, REG.DIAG]) expect(nic.dev.readReg(r), `register ${r}`).toBe(0);
  });
});
