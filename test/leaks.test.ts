// sim.leaks(): each kind of leak as a record, at any time and at close, blamed on the right driver
// with the stack where it was taken; nothing reported once everything is given back.
import { describe, expect, test } from 'vitest';
import { PAGEMAPGLOBAL, PG_SYS, testProbe as TP } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';

const pool = simulatorsClosedAfterEach();

const page = (vmm: { pageAllocate(...a: never[]): number }) => (vmm.pageAllocate as (...a: unknown[]) => number)(1, PG_SYS, 0, 0, 0, 0, null, 0) >>> 12;

describe('lock-leak', () => {
  test('names the driver whose lock is still held, with its count and stack; nothing once unlocked', async () => {
    const sim = await pool.make();
    const b = sim.createDriver('B');
    const p = page(sim.vmm);
    sim.vmm.linPageLock(p, 1, 0);
    b.vmm.linPageLock(p, 1, 0);
    b.vmm.linPageLock(p, 1, 0);
    const leaks = sim.leaks();
    expect(leaks.map((l) => [l.code, l.driver, l.count, l.linearPage])).toEqual([
      ['lock-leak', 'default', 1, p],
      ['lock-leak', 'B', 2, p],
    ]);
    expect(leaks[1]!.stacks.taken?.[0]).toMatch(/leaks\.test\.ts/);
    // A unlocks twice: its own lock first, then one it never took (the DDK allows it) — B's.
    sim.vmm.linPageUnLock(p, 1, 0);
    sim.vmm.linPageUnLock(p, 1, 0);
    expect(sim.leaks().map((l) => [l.driver, l.count])).toEqual([['B', 1]]);
    sim.vmm.linPageUnLock(p, 1, 0);
    expect(sim.leaks()).toEqual([]);
  });

  test('a page freed while locked leaves no lock behind', async () => {
    const sim = await pool.make();
    const lin = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, 0);
    sim.vmm.linPageLock(lin >>> 12, 2, 0);
    expect(sim.leaks()).toHaveLength(2);
    expect(sim.vmm.pageFree(lin, 0)).not.toBe(0);
    expect(sim.leaks()).toEqual([]);
  });
});

describe('alias-leak', () => {
  test('a live alias is one alias-leak (its lock is not also a lock-leak); tearing it down clears it', async () => {
    const sim = await pool.make();
    const p = page(sim.vmm);
    const alias = sim.vmm.linPageLock(p, 1, PAGEMAPGLOBAL);
    expect(sim.leaks().map((l) => [l.code, l.detail.alive])).toEqual([['alias-leak', 1]]);
    sim.vmm.linPageUnLock(alias >>> 12, 1, PAGEMAPGLOBAL);
    expect(sim.leaks()).toEqual([]);
  });
});

describe('device-leak and dma-in-flight', () => {
  test('a device still attached is a device-leak; one still running a command is dma-in-flight too', async () => {
    const sim = await pool.make();
    const dev = await sim.attachDevice('test-probe');
    expect(sim.leaks().map((l) => l.code)).toEqual(['device-leak']);
    // HANG: the probe never finishes the command, by construction.
    dev.writeReg(TP.REG.CMD, TP.OP.HANG);
    const leaks = sim.leaks();
    expect(leaks.map((l) => l.code).sort()).toEqual(['device-leak', 'dma-in-flight']);
    expect(leaks.find((l) => l.code === 'dma-in-flight')!.device?.kind).toBe('test-probe');
    await dev.detach({ graceMs: 0 });
    expect(sim.leaks()).toEqual([]);
  });

  test('at close, leaks are those found as close began, before the devices were detached', async () => {
    const sim = await pool.make();
    await sim.attachDevice('test-probe');
    sim.vmm.linPageLock(page(sim.vmm), 1, 0);
    await sim.close();
    expect(sim.leaks().map((l) => l.code).sort()).toEqual(['device-leak', 'lock-leak']);
  });
});
