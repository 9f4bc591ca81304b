/**
 * A handle outlives its device. Once detached, its slot — registers, interrupt line — may belong to
 * a newer device: every method of the old handle throws (or rejects with) DeviceError 'detached' and
 * touches nothing; waitForInterrupt looks at `dead` before the interrupt word, so it never takes the
 * new device's interrupt.
 */

import { describe, expect, it } from 'vitest';
import { DeviceError, testProbe as TP, type DeviceHandle } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { lockedPages, probe, probeDone } from './dma-helpers.js';

const pool = simulatorsClosedAfterEach();

const detached = expect.objectContaining({ name: 'DeviceError', code: 'detached' }) as unknown as Error;

/** Every handle method, with its arguments: the synchronous ones and the promise-returning ones. */
function expectInert(old: DeviceHandle): Promise<unknown> {
  expect(() => old.readReg(TP.REG.STATUS)).toThrow(detached);
  expect(() => old.writeReg(TP.REG.ADDR, 0x1234)).toThrow(detached);
  expect(() => old.writeReg(TP.REG.CMD, TP.OP.READ)).toThrow(detached);
  expect(() => old.ackInterrupt()).toThrow(detached);
  return Promise.all([
    expect(old.waitForInterrupt({ timeoutMs: 200 })).rejects.toMatchObject({ code: 'detached' }),
    expect(old.stats()).rejects.toMatchObject({ code: 'detached' }),
    expect(old.reset()).rejects.toMatchObject({ code: 'detached' }),
  ]);
}

describe('a detached handle whose slot was reused', () => {
  it("does not take, acknowledge, read or write the new device's interrupt and registers", async () => {
    const sim = await pool.make({ pager: 'off' });
    const old = await sim.attachDevice('test-probe', { name: 'old' });
    await old.detach();
    const dev = await sim.attachDevice('test-probe', { name: 'new' });
    expect(dev.id).toBe(old.id);
    const buf = lockedPages(sim, 1);

    // The new device raises its line (and leaves it raised).
    dev.writeReg(TP.REG.ADDR, buf.phys[0]!);
    dev.writeReg(TP.REG.VALUE, 7);
    dev.writeReg(TP.REG.CMD, TP.OP.STORE32);
    await dev.waitForInterrupt({ timeoutMs: 10_000 });

    await expectInert(old);
    // The new device's line is still raised, its registers untouched by the old handle.
    expect(await dev.waitForInterrupt({ timeoutMs: 200 })).toEqual({ count: 1 });
    expect(dev.readReg(TP.REG.ADDR)).toBe(buf.phys[0]!);
    expect(dev.readReg(TP.REG.STATUS)).toBe(TP.STATUS.DONE);
    expect(sim.cpu.read32(buf.lin)).toBe(7);
    expect(await probe(dev, TP.OP.LOAD32, buf.phys[0]!)).toEqual(probeDone(7));
    expect((await dev.stats()).doorbells).toBe(2);
    // detach stays idempotent on the old handle, and does not touch the new device.
    await old.detach();
    expect(await probe(dev, TP.OP.ADD32, buf.phys[0]!, { value: 1 })).toEqual(probeDone(7));
    expect(sim.violations()).toEqual([]);
  });

  it('a handle detached by close() is inert too, and its errors name the device', async () => {
    const sim = await pool.make({ pager: 'off' });
    const dev = await sim.attachDevice('test-probe', { name: 'closed' });
    await sim.close();
    await expectInert(dev);
    try {
      dev.readReg(0);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DeviceError);
      expect(e).toMatchObject({ device: { id: dev.id, attachment: dev.attachment, kind: 'test-probe', name: 'closed' } });
    }
  });

  it('a pending waitForInterrupt of the old handle rejects at the detach, even when the line is raised right after by a new device', async () => {
    const sim = await pool.make({ pager: 'off' });
    const old = await sim.attachDevice('test-probe');
    const waiting = old.waitForInterrupt({ timeoutMs: 10_000 }).then(
      () => 'resolved',
      (e: unknown) => (e as DeviceError).code,
    );
    await old.detach();
    const dev = await sim.attachDevice('test-probe');
    expect(dev.id).toBe(old.id);
    expect(await probe(dev, TP.OP.READ, 0, { len: 0 })).toEqual(probeDone(0));
    expect(await waiting).toBe('detached');
  });
});
