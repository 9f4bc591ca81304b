/**
 * Supervision of device workers: a device that throws, exits, hangs, or trips a violation under
 * onViolation 'throw' becomes a DeviceFault record; whoever waits on it is told at once (DeviceError
 * 'device-fault'), pending control calls are rejected, and the simulator and the other devices go
 * on. Plus the edges of the device lifecycle: unknown kinds, close with devices attached, detach twice.
 */

import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { DeviceError, SimulatorError, copyEngine as CE, testProbe as TP, type DeviceHandle, type Simulator, type SimulatorOptions } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { bytes, ceCopy, lockedPages, probe, probeDone } from './dma-helpers.js';

const pool = simulatorsClosedAfterEach();

/** Rings a test-probe command without waiting. */
function ring(dev: DeviceHandle, op: number): void {
  dev.ackInterrupt();
  dev.writeReg(TP.REG.CMD, op);
}

/** Starts waiting for the device's interrupt, then rings a test-probe command; returns the wait. */
function ringAndWait(dev: DeviceHandle, op: number): Promise<{ count: number }> {
  const waiting = dev.waitForInterrupt({ timeoutMs: 10_000 });
  ring(dev, op);
  return waiting;
}

/** A simulator with a test-probe named `name` (the device that will misbehave) and a copy engine beside it. */
async function probeBesideEngine(name: string, options: SimulatorOptions = {}): Promise<{ sim: Simulator; bad: DeviceHandle; ce: DeviceHandle }> {
  const sim = await pool.make(options);
  const [bad, ce] = await Promise.all([sim.attachDevice('test-probe', { name }), sim.attachDevice('copy-engine')]);
  return { sim, bad, ce };
}

/** A copy engine still serving: a 4 KiB copy with its data checked. */
async function stillWorks(sim: Simulator, ce: DeviceHandle): Promise<void> {
  const buf = lockedPages(sim, 2);
  const data = bytes(ce.id + 100, 4096);
  sim.cpu.writeBytes(buf.lin, data);
  expect(await ceCopy(ce, buf.phys[0]!, buf.phys[1]!, 4096)).toEqual({ status: CE.STATUS.DONE, error: 0, bytes: 4096 });
  expect(sim.cpu.readBytes(buf.lin + 4096, 4096)).toEqual(data);
  expect(sim.vmm.linPageUnLock(buf.page, 2, 0)).toBe(1);
}

/** The device's worker (host internals: the public handle does not expose it). */
function workerOf(dev: DeviceHandle): Worker {
  const w = (dev as unknown as { worker?: Worker }).worker;
  expect(w, 'the device handle carries its worker').toBeDefined();
  return w!;
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('a device that throws (OP.THROW)', () => {
  it("becomes a 'threw' fault naming the device; the pending waitForInterrupt rejects with 'device-fault'; another device keeps working", async () => {
    const { sim, bad, ce } = await probeBesideEngine('flaky');
    const err = await ringAndWait(bad, TP.OP.THROW).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeviceError);
    expect(err).toMatchObject({ name: 'DeviceError', code: 'device-fault', device: { id: bad.id, attachment: bad.attachment, kind: 'test-probe', name: 'flaky' } });
    expect((err as Error).message).toContain('threw');
    expect((err as Error).message).toContain('OP.THROW');

    const faults = sim.deviceFaults();
    expect(faults).toHaveLength(1);
    expect(faults[0]).toEqual({
      seq: expect.any(Number),
      device: { id: bad.id, attachment: bad.attachment, kind: 'test-probe', name: 'flaky' },
      driver: 'default',
      kind: 'threw',
      message: 'test-probe: fault injected by OP.THROW',
      stack: expect.stringContaining('test-probe'),
      command: 1,
    });
    // The dead device refuses at once from now on.
    await expect(bad.waitForInterrupt({ timeoutMs: 5000 })).rejects.toMatchObject({ code: 'device-fault' });
    await expect(bad.stats()).rejects.toMatchObject({ code: 'device-fault' });
    await expect(bad.reset()).rejects.toMatchObject({ code: 'device-fault' });

    await stillWorks(sim, ce);
    // A new device can be attached next to the dead one.
    const fresh = await sim.attachDevice('test-probe');
    expect(fresh.id).not.toBe(bad.id);
    const buf = lockedPages(sim, 1);
    expect(await probe(fresh, TP.OP.STORE32, buf.phys[0]!, { value: 5 })).toEqual(probeDone(4));
    expect(sim.deviceFaults()).toHaveLength(1);
    expect(sim.violations()).toEqual([]);
  });

  it('an unknown op is a fault too', async () => {
    const sim = await pool.make();
    const dev = await sim.attachDevice('test-probe');
    await expect(ringAndWait(dev, 0x7f)).rejects.toMatchObject({ code: 'device-fault' });
    expect(sim.deviceFaults().map((f) => [f.kind, f.message])).toEqual([['threw', 'test-probe: unknown op 127']]);
  });
});

describe('a device whose worker exits (OP.EXIT)', () => {
  it("becomes an 'exited' fault; the waiter is rejected; the others go on", async () => {
    const { sim, bad, ce } = await probeBesideEngine('quitter');
    await expect(ringAndWait(bad, TP.OP.EXIT)).rejects.toMatchObject({ name: 'DeviceError', code: 'device-fault' });
    const faults = sim.deviceFaults();
    expect(faults).toEqual([
      { seq: expect.any(Number), device: { id: bad.id, attachment: bad.attachment, kind: 'test-probe', name: 'quitter' }, driver: 'default', kind: 'exited', message: 'worker exited with code 3' },
    ]);
    expect(workerOf(bad).threadId).toBe(-1);
    await stillWorks(sim, ce);
  });

  it('a worker that dies mid-call rejects the pending stats() call', async () => {
    const sim = await pool.make();
    const dev = await sim.attachDevice('test-probe');
    // The doorbell is served before the RPC (the loop looks at doorbells first), so the worker is
    // gone while stats() is pending.
    ring(dev, TP.OP.EXIT);
    const started = performance.now();
    const err = await dev.stats().then(
      (s) => s,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeviceError);
    expect(err).toMatchObject({ code: 'device-fault' });
    expect((err as Error).message).toContain('exited');
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe('a device that hangs (OP.HANG)', () => {
  it("is reported 'hung' after hangTimeoutMs and its worker is terminated; pending calls reject; another device keeps working", async () => {
    // 1.5 s: the timeout applies to the copy engine too, which must finish its copy within it while
    // the spinner takes a whole core of this 2-core machine.
    const HANG = 1500;
    const { sim, bad, ce } = await probeBesideEngine('spinner', { hangTimeoutMs: HANG });
    const t0 = performance.now();
    let rejectedAt = 0;
    // Handlers attached now: both reject while the test is busy elsewhere.
    const waiting = expect(
      bad.waitForInterrupt({ timeoutMs: 10_000 }).finally(() => {
        rejectedAt = performance.now();
      }),
    ).rejects.toMatchObject({ code: 'device-fault' });
    ring(bad, TP.OP.HANG);
    const statsCall = expect(bad.stats()).rejects.toMatchObject({ code: 'device-fault' });
    // While it spins, the other device serves (the machine has 2 cores; nothing else is blocked).
    await stillWorks(sim, ce);
    await waiting;
    await statsCall;
    const elapsed = rejectedAt - t0;
    // The watchdog measures from the last time it saw the device idle (checked every
    // hangTimeoutMs / 4), which can precede the doorbell by up to one period.
    expect(elapsed).toBeGreaterThanOrEqual(HANG * 0.75 - 5);
    expect(elapsed).toBeLessThan(10_000);
    const faults = sim.deviceFaults();
    expect(faults).toHaveLength(1);
    expect(faults[0]).toMatchObject({ device: { id: bad.id, attachment: bad.attachment, kind: 'test-probe', name: 'spinner' }, driver: 'default', kind: 'hung', command: 1 });
    expect(faults[0]!.message).toMatch(/^doorbell 1 unserved, no progress for \d+ ms$/);
    // Terminated, not left spinning on a core.
    const w = workerOf(bad);
    await until(() => w.threadId === -1, 5000, 'the hung worker to end');
    await stillWorks(sim, ce);
  });

  it('a long but progressing device is not reported hung', async () => {
    // 1.5 s, and 3 s of work: the run outlasts the timeout, while no single command on a loaded
    // machine comes near it.
    const sim = await pool.make({ hangTimeoutMs: 1500 });
    const dev = await sim.attachDevice('test-probe');
    const buf = lockedPages(sim, 1);
    // ~3 s of steady work, each command well under the timeout.
    const end = performance.now() + 3000;
    let n = 0;
    while (performance.now() < end) {
      expect((await probe(dev, TP.OP.ADD32, buf.phys[0]!, { value: 1 })).result).toBe(n);
      n++;
    }
    expect(sim.cpu.read32(buf.lin)).toBe(n);
    expect(sim.deviceFaults()).toEqual([]);
  });
});

describe("onViolation 'throw'", () => {
  it("makes a violating access a 'violation' fault, and the record says 'thrown'", async () => {
    const { sim, bad: dev, ce } = await probeBesideEngine('strict', { onViolation: 'throw' });
    const buf = lockedPages(sim, 1);
    expect(sim.vmm.linPageUnLock(buf.page, 1, 0)).toBe(1);
    dev.writeReg(TP.REG.ADDR, buf.phys[0]!);
    dev.writeReg(TP.REG.LEN, 8);
    await expect(ringAndWait(dev, TP.OP.READ)).rejects.toMatchObject({ code: 'device-fault' });
    const hex = buf.phys[0]!.toString(16).toUpperCase().padStart(8, '0');
    expect(sim.deviceFaults()).toEqual([
      {
        seq: expect.any(Number),
        device: { id: dev.id, attachment: dev.attachment, kind: 'test-probe', name: 'strict' },
        driver: 'default',
        kind: 'violation',
        message: `dma-unlocked at physical address 0x${hex}`,
        stack: expect.stringContaining('DmaViolationError'),
        command: 1,
      },
    ]);
    const vs = sim.violations();
    expect(vs.map((v) => [v.code, v.outcome, v.physAddr])).toEqual([['dma-unlocked', 'thrown', buf.phys[0]!]]);
    // The violation is reported before the fault that it caused.
    expect(vs[0]!.seq).toBeLessThan(sim.deviceFaults()[0]!.seq);
    await stillWorks(sim, ce);
  });
});

describe('lifecycle edges', () => {
  it('an unknown device kind, a bad address width or boundary, too many devices: SimulatorError', async () => {
    const sim = await pool.make({ maxDevices: 1 });
    await expect(sim.attachDevice('no-such-device')).rejects.toBeInstanceOf(SimulatorError);
    await expect(sim.attachDevice('no-such-device')).rejects.toThrow(/unknown device kind "no-such-device" \(known: .*copy-engine.*test-probe/);
    await expect(sim.attachDevice('test-probe', { addressBits: 0 })).rejects.toBeInstanceOf(SimulatorError);
    await expect(sim.attachDevice('test-probe', { addressBits: 33 })).rejects.toBeInstanceOf(SimulatorError);
    await expect(sim.attachDevice('test-probe', { boundary: 3000 })).rejects.toBeInstanceOf(SimulatorError);
    const one = await sim.attachDevice('test-probe');
    await expect(sim.attachDevice('test-probe')).rejects.toThrow(SimulatorError);
    await one.detach();
    // The slot is free again.
    const again = await sim.attachDevice('test-probe');
    expect(again.id).toBe(one.id);
  });

  it('close() resolves promptly with devices attached, idle or busy; afterwards every handle says detached', async () => {
    const sim = await pool.make();
    const devs = await Promise.all([sim.attachDevice('copy-engine'), sim.attachDevice('test-probe'), sim.attachDevice('test-probe')]);
    const [ce, idle, spinning] = devs as [DeviceHandle, DeviceHandle, DeviceHandle];
    const waiting = expect(idle.waitForInterrupt({ timeoutMs: 20_000 })).rejects.toMatchObject({ code: 'detached' });
    ring(spinning, TP.OP.HANG); // default hangTimeoutMs is 10 s: close must not wait for it
    const t0 = performance.now();
    await sim.close();
    const took = performance.now() - t0;
    expect(took).toBeLessThan(5000); // the busy device gets ~1 s to stop before it is terminated
    await waiting;
    for (const d of devs) {
      expect(() => d.writeReg(0, 0)).toThrow(expect.objectContaining({ code: 'detached' }) as unknown as Error);
      await expect(d.stats()).rejects.toMatchObject({ code: 'detached' });
      await expect(d.waitForInterrupt({ timeoutMs: 10 })).rejects.toMatchObject({ code: 'detached' });
      expect(workerOf(d).threadId).toBe(-1);
    }
    expect(ce.kind).toBe('copy-engine');
    await sim.close(); // twice is fine
    expect(() => sim.createDriver('late')).toThrow(SimulatorError);
    expect(() => sim.attachDevice('test-probe')).toThrow(SimulatorError);
    expect(sim.deviceFaults()).toEqual([]);
  });

  it('a driver context cannot attach a device once the simulator is closed', async () => {
    const sim = await pool.make();
    const drv = sim.createDriver('late');
    await sim.close();
    let leaked: DeviceHandle | undefined;
    try {
      const attempt = (async () => drv.attachDevice('test-probe'))().then((d) => {
        leaked = d;
        return `attached device #${d.id} after close()`;
      });
      await expect(attempt).rejects.toBeInstanceOf(SimulatorError);
    } finally {
      // If it did attach, nothing else would ever end that worker: sim.close() has already run.
      await leaked?.detach();
    }
  });

  it('detach twice (in turn or at once) is fine; the handle stays detached', async () => {
    const sim = await pool.make();
    const [a, b] = await Promise.all([sim.attachDevice('test-probe'), sim.attachDevice('test-probe')]);
    await a.detach();
    await a.detach();
    await Promise.all([b.detach(), b.detach()]);
    for (const d of [a, b]) {
      await expect(d.stats()).rejects.toMatchObject({ code: 'detached' });
      expect(workerOf(d).threadId).toBe(-1);
    }
    expect(sim.deviceFaults()).toEqual([]);
  });

  it('detaching a faulted device is fine and keeps its fault record', async () => {
    const sim = await pool.make();
    const dev = await sim.attachDevice('test-probe');
    await expect(ringAndWait(dev, TP.OP.THROW)).rejects.toMatchObject({ code: 'device-fault' });
    await dev.detach();
    await dev.detach();
    await expect(dev.stats()).rejects.toMatchObject({ code: 'detached' });
    expect(sim.deviceFaults().map((f) => f.kind)).toEqual(['threw']);
  });

  it('fault records are copies in sequence order', async () => {
    const sim = await pool.make();
    const [x, y] = await Promise.all([sim.attachDevice('test-probe', { name: 'x' }), sim.attachDevice('test-probe', { name: 'y' })]);
    await expect(ringAndWait(x, TP.OP.THROW)).rejects.toBeInstanceOf(DeviceError);
    await expect(ringAndWait(y, TP.OP.EXIT)).rejects.toBeInstanceOf(DeviceError);
    const f = sim.deviceFaults();
    expect(f.map((r) => [r.device.name, r.kind])).toEqual([
      ['x', 'threw'],
      ['y', 'exited'],
    ]);
    expect(f[0]!.seq).toBeLessThan(f[1]!.seq);
    f.length = 0;
    expect(sim.deviceFaults()).toHaveLength(2);
  });
});
