// Regression (core: host.ts servable): in deterministic mode a device parked inside a command (here:
// at the grant point after its irq.raise(), before the command's end) answers no control request
// until the scheduler lets it finish. stats() or reset() there used to post the request and wait
// for a reply that could not come: from a task, until taskStepTimeoutMs abandoned the run; outside a
// run, forever. Now, from a task, the call is a scheduler wait (the device finishes its command,
// then answers); outside a run it is refused at once with a DeterministicError saying what to do.
//
// Where the device stands when the task resumes after the interrupt is the schedule's choice; each
// seed below is one whose schedule resumes the task first (a seed is an interleaving, the same on
// any machine), and the test asserts that it did.
import { expect, test } from 'vitest';
import { DeterministicError, copyEngine as CE, createSimulator, type DeviceHandle, type Simulator } from '../src/index.js';
import { ceStartCopy, lockedPages } from './dma-helpers.js';

const SEEDS = [2, 6, 13];

async function copyUntilInterrupt(sim: Simulator, dev: DeviceHandle): Promise<void> {
  const buf = lockedPages(sim, 2);
  sim.cpu.writeBytes(buf.lin, new Uint8Array(4096).fill(0x5a));
  ceStartCopy(dev, buf.phys[0]!, buf.phys[1]!, 4096);
  await dev.waitForInterrupt({ timeoutMs: 1000 });
  expect(dev.readReg(CE.REG.STATUS)).toBe(CE.STATUS.DONE);
}

test.each(SEEDS)('seed %i: from a task, stats() and reset() wait for the command to finish, then answer', async (seed) => {
  // A short step timeout: the old hang would end the run with a step-timeout error, not pass.
  const sim = await createSimulator({ seed, pager: 'off', deterministic: { taskStepTimeoutMs: 10_000 } });
  try {
    await sim.run(async () => {
      const dev = await sim.attachDevice('copy-engine');
      await copyUntilInterrupt(sim, dev);
      expect(dev.idle(), 'parked inside its command').toBe(false);
      const s = await dev.stats();
      expect(s).toMatchObject({ doorbells: 1, interrupts: 1 });
      expect(dev.idle()).toBe(true);
      dev.ackInterrupt();
      await copyUntilInterrupt(sim, dev);
      expect(dev.idle()).toBe(false);
      await dev.reset();
      expect(dev.readReg(CE.REG.STATUS)).toBe(0);
    });
  } finally {
    await sim.close();
  }
  expect(sim.violations()).toEqual([]);
  expect(sim.deviceFaults()).toEqual([]);
});

test.each(SEEDS)('seed %i: outside a run, stats() on a device parked inside a command is refused at once', async (seed) => {
  const sim = await createSimulator({ seed, pager: 'off', deterministic: true });
  try {
    let dev: DeviceHandle | undefined;
    // A task that ends in an error ends the run where it stands: the device stays inside its command.
    await expect(
      sim.run(async () => {
        dev = await sim.attachDevice('copy-engine');
        await copyUntilInterrupt(sim, dev);
        throw new Error('driver gives up');
      }),
    ).rejects.toThrow('driver gives up');
    expect(dev!.idle()).toBe(false);
    const err = await dev!.stats().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeterministicError);
    expect((err as Error).message).toMatch(/^copy-engine#\d+ is parked inside a command: .*inside sim\.run\(\)/);
    await expect(dev!.reset()).rejects.toBeInstanceOf(DeterministicError);
    // Nothing was posted to the device: a run afterwards finds it as it was, and it finishes.
    await sim.run(async () => {
      const s = await dev!.stats();
      expect(s).toMatchObject({ doorbells: 1, interrupts: 1 });
    });
  } finally {
    await sim.close();
  }
  expect(sim.deviceFaults()).toEqual([]);
});
