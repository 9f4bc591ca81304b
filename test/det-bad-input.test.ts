/**
 * Deterministic mode refuses what it cannot honour, with a clear error and nothing changed: bad
 * options, a scheduler wait outside sim.run, two runs at once, two waits of one task at once.
 */

import { describe, expect, it } from 'vitest';
import { DeterministicError, SimulatorError, createSimulator, type SimulatorOptions } from '../src/index.js';

describe('deterministic mode: bad input', () => {
  it.each([
    ['a string', { deterministic: 'yes' }, /deterministic must be a boolean or options/],
    ['an unknown strategy', { deterministic: { strategy: { kind: 'dfs' } } }, /unknown deterministic strategy "dfs"/],
    ['a PCT depth of 0', { deterministic: { strategy: { kind: 'pct', depth: 0, steps: 10 } } }, /pct depth must be an integer in 1…64/],
    ['malformed replay decisions', { deterministic: { strategy: { kind: 'replay', decisions: [[0, 0]] } } }, /replay decisions must be/],
    ['maxSteps 0', { deterministic: { maxSteps: 0 } }, /maxSteps must be a positive number/],
  ])('refuses %s', async (_what, opts, message) => {
    await expect(createSimulator({ memory: 1 << 20, ...(opts as SimulatorOptions) })).rejects.toThrow(message);
    await expect(createSimulator({ memory: 1 << 20, ...(opts as SimulatorOptions) })).rejects.toBeInstanceOf(SimulatorError);
  });

  it('a scheduler wait from inside a task only: outside sim.run the free-running path serves it', async () => {
    const sim = await createSimulator({ memory: 1 << 20, deterministic: true });
    try {
      // Outside any task: sleep and yield behave as free running (the scheduler is not involved).
      await sim.sleep(1);
      await sim.yield();
      expect(sim.schedule()!.steps).toBe(0);
    } finally {
      await sim.close();
    }
  });

  it('refuses a second sim.run while one runs, and a task waiting twice at once', async () => {
    const sim = await createSimulator({ memory: 1 << 20, deterministic: true });
    try {
      let nested: unknown;
      await expect(
        sim.run(async function t() {
          nested = await sim.run(async () => undefined).catch((e: unknown) => e);
          await Promise.all([sim.yield(), sim.yield()]);
        }),
      ).rejects.toThrow(/task "t" waits twice at once/);
      expect(nested).toBeInstanceOf(DeterministicError);
      expect((nested as Error).message).toMatch(/already running/);
    } finally {
      await sim.close();
    }
  });
});
