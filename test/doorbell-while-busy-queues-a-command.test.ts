/**
 * A doorbell rung while the device is busy only queues (DESIGN §4, runtime.ts): each doorbell is one
 * command, run from the registers as they are when its turn comes. The copy engine runs it although
 * it cleared CONTROL.START as the previous command started (START self-clears, for readback only);
 * the test probe keeps the last op latched in CMD instead of clearing it.
 */

import { describe, expect, it } from 'vitest';
import { copyEngine as CE, testProbe as TP, type DeviceHandle } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { lockedPages, pollReg } from './dma-helpers.js';
import { until } from './internals.js';

const pool = simulatorsClosedAfterEach();

/** Polls the device's stats until `done` holds (or 10 s pass); returns the last stats. */
async function statsWhen(dev: DeviceHandle, done: (s: Record<string, number>) => boolean): Promise<Record<string, number>> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const s = await dev.stats();
    if (done(s) || performance.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('back-to-back doorbells', () => {
  it('test-probe: two ADD32 doorbells rung back to back are two commands; CMD reads back the op', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = lockedPages(sim, 1);
    const dev = await sim.attachDevice('test-probe');
    dev.writeReg(TP.REG.ADDR, buf.phys[0]!);
    dev.writeReg(TP.REG.VALUE, 5);
    dev.writeReg(TP.REG.CMD, TP.OP.ADD32);
    dev.writeReg(TP.REG.CMD, TP.OP.ADD32);
    await until(() => sim.cpu.read32(buf.lin) === 10, 10_000, 'both additions');
    const st = await statsWhen(dev, (s) => s.interrupts === 2);
    expect([st.doorbells, st.commands, st.interrupts]).toEqual([2, 2, 2]);
    expect(dev.readReg(TP.REG.CMD)).toBe(TP.OP.ADD32);
    expect(dev.readReg(TP.REG.STATUS)).toBe(TP.STATUS.DONE);
    expect(sim.deviceFaults()).toEqual([]);
    expect(sim.violations()).toEqual([]);
  });

  it('test-probe: a burst of 200 doorbells runs 200 commands', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = lockedPages(sim, 1);
    const dev = await sim.attachDevice('test-probe');
    dev.writeReg(TP.REG.ADDR, buf.phys[0]!);
    dev.writeReg(TP.REG.VALUE, 1);
    for (let i = 0; i < 200; i++) dev.writeReg(TP.REG.CMD, TP.OP.ADD32);
    await until(() => sim.cpu.read32(buf.lin) === 200, 10_000, '200 additions');
    expect((await dev.stats()).commands).toBe(200);
    expect(sim.deviceFaults()).toEqual([]);
  });

  it('copy-engine: two START writes back to back run two commands, two interrupts; START reads back clear', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = lockedPages(sim, 2);
    const dev = await sim.attachDevice('copy-engine');
    dev.writeReg(CE.REG.DST, buf.phys[0]!);
    dev.writeReg(CE.REG.LENGTH, 8192);
    dev.writeReg(CE.REG.FILL_VALUE, 0x5a);
    dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.FILL | CE.CONTROL.IRQ_ENABLE);
    dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.FILL | CE.CONTROL.IRQ_ENABLE);
    const st = await statsWhen(dev, (s) => s.interrupts === 2);
    expect(sim.cpu.readBytes(buf.lin, 8192).every((b) => b === 0x5a)).toBe(true);
    expect([st.doorbells, st.commands, st.interrupts, st.bytes]).toEqual([2, 2, 2, 2 * 8192]);
    expect(dev.readReg(CE.REG.CONTROL)).toBe(CE.CONTROL.FILL | CE.CONTROL.IRQ_ENABLE);
    expect(sim.deviceFaults()).toEqual([]);
    expect(sim.violations()).toEqual([]);
  });

  it('copy-engine: each queued doorbell runs from the registers current when its turn comes', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = lockedPages(sim, 4);
    const dev = await sim.attachDevice('copy-engine');
    // 100 fills of one page, each moving on to the next byte value; the last one wins, and every
    // doorbell is counted as a command.
    dev.writeReg(CE.REG.DST, buf.phys[0]!);
    dev.writeReg(CE.REG.LENGTH, 4096);
    for (let i = 1; i <= 100; i++) {
      dev.writeReg(CE.REG.FILL_VALUE, i);
      dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.FILL);
    }
    expect((await statsWhen(dev, (s) => s.commands === 100)).commands).toBe(100);
    // The 100th command has started; once it is done, nothing else runs.
    await pollReg(dev, CE.REG.STATUS, CE.STATUS.BUSY | CE.STATUS.DONE, CE.STATUS.DONE);
    expect(sim.cpu.readBytes(buf.lin, 4096).every((b) => b === 100)).toBe(true);
  });
});
