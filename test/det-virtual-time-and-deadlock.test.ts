/**
 * Deterministic mode runs on virtual time: a sleep of an hour takes no host time (time jumps when
 * nothing else can run), an interrupt that never comes times out in virtual time, and a run where
 * every task waits for something nothing can bring ends with a DeterministicError naming each wait
 * (instead of hanging).
 */

import { describe, expect, it } from 'vitest';
import { DeterministicError, DeviceError, createSimulator } from '../src/index.js';

describe('deterministic mode: virtual time', () => {
  it('sim.sleep advances the virtual clock; the run ends with the time slept', async () => {
    const sim = await createSimulator({ memory: 1 << 20, deterministic: true });
    try {
      const seen: number[] = [];
      await sim.run(async function sleeper() {
        seen.push(sim.schedule()!.virtualMicros);
        await sim.sleep(3_600_000);
        seen.push(sim.schedule()!.virtualMicros);
      });
      expect(seen[1]! - seen[0]!).toBeGreaterThanOrEqual(3_600_000_000);
      expect(sim.schedule()!.outcome).toBe('done');
    } finally {
      await sim.close();
    }
  });

  it('waitForInterrupt times out in virtual time with DeviceError timeout', async () => {
    const sim = await createSimulator({ memory: 1 << 20, deterministic: true });
    try {
      const dev = await sim.attachDevice('test-probe');
      await sim.run(async function waiter() {
        const err = await dev.waitForInterrupt({ timeoutMs: 60_000 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(DeviceError);
        expect((err as DeviceError).code).toBe('timeout');
        expect((err as DeviceError).message).toContain('virtual time');
      });
    } finally {
      await sim.close();
    }
  });

  it('a deadlock is a DeterministicError naming what each task waits for', async () => {
    const sim = await createSimulator({ memory: 1 << 20, deterministic: true });
    try {
      let flag = false;
      const err = await sim
        .run(
          async function a() {
            await sim.waitUntil(() => flag, { timeoutMs: Infinity, what: 'b to set the flag' });
          },
          async function b() {
            await sim.waitUntil(() => false, { timeoutMs: Infinity, what: 'nothing at all' });
            flag = true;
          },
        )
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeterministicError);
      expect((err as Error).message).toMatch(/deadlocked at step \d+: task "a" waits for b to set the flag; task "b" waits for nothing at all/);
      expect(sim.schedule()!.outcome).toBe('deadlock');
    } finally {
      await sim.close();
    }
  });
});
