// Regression (core: scheduler.ts run): sim.run() may be called again after a run that ended early.
// The second run used to rethrow the first run's error at its end, and the first run's tasks that
// had not returned stayed in the scheduler: the second run could resume one (its wait now true) or
// wait for it. Each run now stands alone: a task its run left behind stays suspended, never resumes,
// and its later errors are nobody's.
import { expect, test } from 'vitest';
import { createSimulator } from '../src/index.js';

test('a run after a failed run has its own outcome, and never resumes the tasks the failed run left', async () => {
  const sim = await createSimulator({ seed: 4, pager: 'off', deterministic: true });
  try {
    let flag = false;
    let resumed = 0;
    const failed = sim.run(
      async function waiter() {
        await sim.waitUntil(() => flag, { what: 'the flag' });
        resumed++;
        throw new Error('a task of the first run ran in the second');
      },
      async function giver() {
        await sim.yield();
        throw new Error('the first run fails');
      },
    );
    await expect(failed).rejects.toThrow('the first run fails');

    const outcome = await sim.run(async function second() {
      flag = true; // would make the first run's waiter runnable, if it were still scheduled
      for (let i = 0; i < 20; i++) await sim.yield();
    });
    expect(outcome).toBe('done');
    expect(resumed).toBe(0);
    expect(sim.report().deterministic).toMatchObject({ outcome: 'done' });
    expect(sim.report().deterministic?.message).toBeUndefined();
  } finally {
    await sim.close();
  }
});
