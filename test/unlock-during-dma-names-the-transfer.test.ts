/**
 * Regression: an 'unlock-during-dma' reported by the unlocker had `device: null` and `access: null`
 * although a transfer was provably in flight. The unlocker now reads which device slots have their
 * in-flight bit on the frame, and the transfer from that device's access record.
 */

import { describe, expect, it } from 'vitest';
import { testProbe as TP } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { lockedPages, stackNames } from './dma-helpers.js';
import { inflightSlots, until } from './internals.js';

const pool = simulatorsClosedAfterEach();
const FILE = 'unlock-during-dma-names-the-transfer.test.ts';

describe("the unlocker's unlock-during-dma record", () => {
  it('names the device in flight, its transfer, the programming stack and the unlocker', async () => {
    const sim = await pool.make({ pager: 'off' });
    const drv = sim.createDriver('storage');
    const buf = lockedPages(drv, 4);
    const dev = await drv.attachDevice('test-probe', { name: 'stuck-reader' });
    // A read of all four pages that never finishes: every frame carries the probe's bit.
    dev.writeReg(TP.REG.ADDR, buf.phys[0]!);
    dev.writeReg(TP.REG.LEN, 4 * 4096);
    dev.writeReg(TP.REG.CMD, TP.OP.HANG_MID_ACCESS);
    await until(() => inflightSlots(sim, buf.phys[3]! >>> 12).includes(dev.id), 10_000, 'the probe to be inside its access');
    expect(drv.vmm.linPageUnLock(buf.page + 2, 1, 0)).toBe(1);
    const [v, ...rest] = sim.violations();
    expect(rest).toEqual([]);
    expect(v).toMatchObject({
      code: 'unlock-during-dma',
      driver: 'storage',
      frame: buf.phys[2]! >>> 12,
      linearPage: buf.page + 2,
      device: { id: dev.id, attachment: dev.attachment, kind: 'test-probe', name: 'stuck-reader' },
      access: { start: buf.phys[0]!, length: 4 * 4096, direction: 'read', command: 1 },
      outcome: 'reported',
      detail: { inflight: 1 },
    });
    expect(v!.device!.attachment).toBeGreaterThan(0);
    for (const k of ['lock', 'unlock', 'programmed'] as const) expect(stackNames(v!.stacks[k], FILE), k).toBe(true);
    await dev.detach({ graceMs: 0 });
    expect(drv.vmm.linPageUnLock(buf.page, 2, 0)).toBe(1);
    expect(sim.violations()).toHaveLength(1);
  });
});
