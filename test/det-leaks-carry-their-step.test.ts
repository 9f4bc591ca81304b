/**
 * Every record of a deterministic run carries its step — leaks too: a lock left held when the run
 * ends is a lock-leak stamped with the step it was found at (the run's last, for leaks at close).
 */

import { describe, expect, it } from 'vitest';
import { createSimulator } from '../src/index.js';
import { lockBuffer } from './det-scenarios.js';

describe('deterministic mode: leaks carry their step', () => {
  it('a lock leaked by a task: lock-leak at the run\'s last step, after close too', async () => {
    const sim = await createSimulator({ memory: 1 << 20, deterministic: true });
    await sim.run(async function leaker() {
      await sim.yield();
      lockBuffer(sim, 1); // never unlocked
      await sim.yield();
    });
    const steps = sim.schedule()!.steps;
    expect(steps).toBeGreaterThanOrEqual(3);
    expect(sim.leaks()).toEqual([expect.objectContaining({ code: 'lock-leak', driver: 'default', step: steps })]);
    await sim.close();
    expect(sim.leaks()).toEqual([expect.objectContaining({ code: 'lock-leak', step: steps })]);
    expect(sim.report().leaks.every((l) => l.step === steps)).toBe(true);
  });

  it('free running, records have no step', async () => {
    const sim = await createSimulator({ memory: 1 << 20 });
    lockBuffer(sim, 1);
    expect(sim.leaks()[0]).not.toHaveProperty('step');
    await sim.close();
  });
});
