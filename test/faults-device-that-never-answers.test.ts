/**
 * A device that never answers: test-probe OP.HANG_MID_ACCESS stops inside a DMA read, its frames
 * announced, and never finishes the command. While it hangs, sim.leaks() shows its access in flight
 * on every frame (the leak report tells the truth); the hang watchdog reports it 'hung' after
 * hangTimeoutMs, whoever waits gets DeviceError 'device-fault', its worker is terminated, and once it
 * has exited nothing is left in flight. The simulator carries on: a new device attaches and reads the
 * very frames the hung one was stuck on, and the driver's unlock reports nothing.
 *
 * (Covered elsewhere: OP.HANG between accesses — fault record, pending calls rejected, another device
 * serving meanwhile — test/device-faults.test.ts; the in-flight bits read from shared memory after a
 * watchdog or detach termination, test/dma-worker-killed-mid-access.test.ts.)
 */

import { describe, expect, it } from 'vitest';
import { DeviceError, testProbe as TP } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { lockedPages, probe, probeDone } from './dma-helpers.js';
import { until } from './internals.js';

const pool = simulatorsClosedAfterEach();
const PAGES = 4;

describe('a device that never answers', () => {
  it("stuck inside an access: in flight while it hangs, 'hung' after hangTimeoutMs (2 s: far longer than reaching the access takes), nothing in flight once its worker exited, and a new device reads the same frames", async () => {
    const sim = await pool.make({ pager: 'aggressive', hangTimeoutMs: 2000 });
    const buf = lockedPages(sim, PAGES);
    for (let i = 1; i < PAGES; i++) expect(buf.phys[i]).toBe(buf.phys[0]! + i * 4096);
    const dev = await sim.attachDevice('test-probe', { name: 'mute' });
    const waiting = dev.waitForInterrupt({ timeoutMs: 20_000 }).then(
      () => 'answered',
      (e: unknown) => e,
    );
    dev.writeReg(TP.REG.ADDR, buf.phys[0]!);
    dev.writeReg(TP.REG.LEN, PAGES * 4096);
    dev.writeReg(TP.REG.CMD, TP.OP.HANG_MID_ACCESS);
    // Until the watchdog acts, the leak report shows the truth: the access is in flight on each frame.
    const frames = buf.phys.map((p) => p >>> 12);
    const inFlightFrames = () =>
      sim
        .leaks()
        .filter((l) => l.code === 'dma-in-flight' && l.frame >= 0)
        .map((l) => l.frame);
    await until(() => inFlightFrames().length === PAGES, 10_000, 'the probe to be stuck inside its access');
    expect(inFlightFrames()).toEqual(frames);
    expect(sim.leaks().find((l) => l.code === 'dma-in-flight' && l.frame < 0)).toMatchObject({ device: { id: dev.id, name: 'mute' }, detail: { rung: 1, served: 0 } });

    const err = await waiting;
    expect(err).toBeInstanceOf(DeviceError);
    expect(err).toMatchObject({ code: 'device-fault', device: { id: dev.id, kind: 'test-probe', name: 'mute' } });
    expect((err as Error).message).toMatch(/^test-probe#\d+: hung: doorbell 1 unserved, no progress for \d+ ms$/);
    expect(sim.deviceFaults()).toEqual([
      { seq: expect.any(Number), device: { id: dev.id, attachment: dev.attachment, kind: 'test-probe', name: 'mute' }, driver: 'default', kind: 'hung', message: expect.stringMatching(/^doorbell 1 unserved/), command: 1 },
    ]);
    await expect(dev.stats()).rejects.toMatchObject({ code: 'device-fault' });
    // detach resolves once the terminated worker has exited, and the host has cleaned up after it.
    await dev.detach();
    expect(sim.leaks().filter((l) => l.code === 'dma-in-flight')).toEqual([]);

    const next = await sim.attachDevice('test-probe', { name: 'successor' });
    expect(await probe(next, TP.OP.READ, buf.phys[0]!, { len: PAGES * 4096 })).toEqual(probeDone(PAGES * 4096));
    expect(sim.vmm.linPageUnLock(buf.page, PAGES, 0)).toBe(1);
    expect(sim.vmm.pageFree(buf.lin, 0)).toBe(1);
    expect(sim.violations()).toEqual([]);
    expect(sim.deviceFaults()).toHaveLength(1);
    // Not leaks() right here: the probe raises its interrupt inside the command, so until the command
    // returns it is (truly) still running. detach waits for that, between commands.
    await next.detach();
    expect(sim.leaks()).toEqual([]);
  });
});
