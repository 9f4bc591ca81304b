// Regression (core: scheduler.ts): a deterministic run whose driver returns while its device still
// waits for it — an isa-audio recording parked on a masked 8237 channel, polling it every 50 ms of
// virtual time — used to go on for ever: the device's timed wait always gave the scheduler a next
// deadline, virtual time jumped to it, and the run ended only at maxSteps (a DeterministicError).
// Now, once every task has returned, busy devices get close()'s quiesce bound (min(hangTimeoutMs,
// 5 s), here in virtual time) and the run ends 'done'; close() then judges what the device still
// owes, as free running: dma-in-flight (and device-leak: it was never detached).
import { expect, test } from 'vitest';
import { isaAudio as IA } from '../src/index.js';
import { lockForDma, pollReg } from './corpus-lib.js';
import { createSimulator } from '../src/index.js';
import { SINGLE_WRITE, programChannel, startAudio } from './isa-helpers.js';

test('a device left waiting on its driver ends the run at the quiesce bound, not at maxSteps', async () => {
  const sim = await createSimulator({ seed: 8, pager: 'aggressive', hangTimeoutMs: 2000, deterministic: { maxSteps: 10_000 } });
  let outcome: string | undefined;
  try {
    outcome = await sim.run(async () => {
      const dev = await sim.attachDevice('isa-audio');
      const buf = lockForDma(sim, 1);
      programChannel(sim.cpu, 1, SINGLE_WRITE, buf.phys[0]!, 1024, { unmask: false });
      startAudio(dev, { channel: 1, block: 1024, total: 1024, record: true });
      await pollReg(sim, dev, IA.REG.STATUS, IA.STATUS.WAITING, IA.STATUS.WAITING);
      buf.unlock();
    });
  } finally {
    await sim.close();
  }
  expect(outcome).toBe('done');
  const record = sim.schedule()!;
  expect(record.outcome).toBe('done');
  // The device polled on up to the bound, 2000 ms of virtual time after the driver returned (the
  // 50 ms poll that would pass it is not made). (hangTimeoutMs 2000, not less: the watchdog also
  // guards a device that holds its turn, on the host's clock; a loaded machine may starve a worker.)
  expect(record.virtualMicros).toBeGreaterThanOrEqual(1_950_000);
  expect(record.virtualMicros).toBeLessThanOrEqual(2_050_000);
  expect(record.steps).toBeLessThan(10_000);
  expect(sim.leaks().map((l) => l.code).sort()).toEqual(['device-leak', 'dma-in-flight']);
});
