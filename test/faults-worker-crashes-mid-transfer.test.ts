/**
 * A device worker that crashes in the middle of a DMA transfer — its worker exits, or its code throws,
 * inside the access, after the port has checked it and marked its frames in flight and before a byte
 * has landed (test/devices/crash-mid-access.ts, by construction: the crash is the destination
 * buffer's set(), which the port calls only there). Each is a fault record and a DeviceError for
 * whoever waits; once the worker has exited nothing is left marked in flight (sim.leaks() shows no
 * dma-in-flight, the driver's unlock reports nothing); and the simulator carries on: a new device
 * attaches and reads the very frames the dead one was reading.
 *
 * (Covered elsewhere: OP.THROW / OP.EXIT between accesses and an unknown op, test/device-faults.test.ts;
 * a worker terminated inside an access by detach or the watchdog, with the in-flight bits read from
 * shared memory, test/dma-worker-killed-mid-access.test.ts and test/inflight-recovery-is-exact.test.ts.)
 */

import { describe, expect, it } from 'vitest';
import { DeviceError, type DeviceHandle, type Simulator } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { bytes, lockedPages, type Buffer } from './dma-helpers.js';
import { CMD, EXIT_CODE, REG, STATUS } from './devices/crash-mid-access.js';

const pool = simulatorsClosedAfterEach();
const DEVICE = './test/devices/crash-mid-access.ts';
const PAGES = 8;

/** A simulator, an 8-page buffer locked and handed out with a pattern in it, and the device that will crash. */
async function rig(): Promise<{ sim: Simulator; buf: Buffer; data: Uint8Array; dev: DeviceHandle; inside: Int32Array }> {
  const sim = await pool.make({ pager: 'aggressive' });
  const buf = lockedPages(sim, PAGES);
  const data = bytes(3, PAGES * 4096);
  sim.cpu.writeBytes(buf.lin, data);
  const inside = new SharedArrayBuffer(4);
  const dev = await sim.attachDevice(DEVICE, { name: 'crasher', inside });
  return { sim, buf, data, dev, inside: new Int32Array(inside) };
}

/** Programs a read of the whole buffer with `cmd`; returns the wait for its interrupt, started first. */
function start(dev: DeviceHandle, buf: Buffer, cmd: number): Promise<unknown> {
  const waiting = dev.waitForInterrupt({ timeoutMs: 10_000 });
  dev.writeReg(REG.ADDR, buf.phys[0]!);
  dev.writeReg(REG.LEN, PAGES * 4096);
  dev.writeReg(REG.CMD, cmd);
  return waiting.then(
    () => 'answered',
    (e: unknown) => e,
  );
}

/** What a successor device makes of the same frames: the read completes, every byte. */
async function successorReads(sim: Simulator, buf: Buffer): Promise<void> {
  const next = await sim.attachDevice(DEVICE, { name: 'successor' });
  expect(await start(next, { ...buf, phys: [buf.phys[0]!] }, CMD.READ)).toBe('answered');
  expect(next.readReg(REG.STATUS)).toBe(STATUS.DONE);
  expect(next.readReg(REG.RESULT)).toBe(PAGES * 4096);
  expect(await next.stats()).toMatchObject({ reads: 1, bytesRead: PAGES * 4096, violations: 0 });
}

const inFlight = (sim: Simulator) => sim.leaks().filter((l) => l.code === 'dma-in-flight');

describe('a device worker that crashes inside a DMA transfer', () => {
  it("exits there: an 'exited' fault, the waiter gets DeviceError 'device-fault', no frame left in flight, and a new device reads the same frames", async () => {
    const { sim, buf, dev, inside } = await rig();
    // lockedPages gave consecutive frames: one access of one span covers the buffer.
    for (let i = 1; i < PAGES; i++) expect(buf.phys[i]).toBe(buf.phys[0]! + i * 4096);
    const err = await start(dev, buf, CMD.EXIT);
    // It died inside the copy: past the checks and the in-flight announcement of all 8 frames.
    expect(Atomics.load(inside, 0)).toBe(1);
    expect(err).toBeInstanceOf(DeviceError);
    expect(err).toMatchObject({ code: 'device-fault', device: { id: dev.id, attachment: dev.attachment, kind: 'crash-mid-access', name: 'crasher' } });
    expect((err as Error).message).toContain(`exited with code ${EXIT_CODE}`);
    expect(sim.deviceFaults()).toEqual([
      { seq: expect.any(Number), device: { id: dev.id, attachment: dev.attachment, kind: 'crash-mid-access', name: 'crasher' }, driver: 'default', kind: 'exited', message: `worker exited with code ${EXIT_CODE}` },
    ]);
    // The fault is recorded from the worker's exit, after the host has cleared what the worker left.
    expect(inFlight(sim)).toEqual([]);
    await expect(dev.stats()).rejects.toMatchObject({ code: 'device-fault' });

    await successorReads(sim, buf);
    // The frames the dead worker had announced unlock without an unlock-during-dma.
    expect(sim.vmm.linPageUnLock(buf.page, PAGES, 0)).toBe(1);
    expect(sim.violations()).toEqual([]);
    await dev.detach();
    expect(inFlight(sim)).toEqual([]);
    expect(sim.deviceFaults()).toHaveLength(1);
  });

  it("throws there: a 'threw' fault naming the command and the error, the port withdraws the access at once, and a new device reads the same frames", async () => {
    const { sim, buf, data, dev, inside } = await rig();
    const err = await start(dev, buf, CMD.THROW);
    expect(Atomics.load(inside, 0)).toBe(1);
    expect(err).toBeInstanceOf(DeviceError);
    expect(err).toMatchObject({ code: 'device-fault' });
    const faults = sim.deviceFaults();
    expect(faults).toHaveLength(1);
    expect(faults[0]).toMatchObject({ kind: 'threw', command: 1, message: 'crash-mid-access: device code threw in the middle of a DMA read', device: { id: dev.id, kind: 'crash-mid-access' } });
    expect(faults[0]!.stack).toContain('crash-mid-access');
    // The worker may still be on its way out, but the port's own catch has lowered the bits already.
    expect(inFlight(sim)).toEqual([]);
    await dev.detach();
    expect(inFlight(sim)).toEqual([]);

    await successorReads(sim, buf);
    // Nothing landed from the crashed read (it was a read: memory is as the CPU wrote it).
    expect(sim.cpu.readBytes(buf.lin, PAGES * 4096)).toEqual(data);
    expect(sim.vmm.linPageUnLock(buf.page, PAGES, 0)).toBe(1);
    expect(sim.vmm.pageFree(buf.lin, 0)).toBe(1);
    expect(sim.violations()).toEqual([]);
  });
});
