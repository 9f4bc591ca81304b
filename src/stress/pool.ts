/**
 * `--jobs N`: seeds in parallel on this machine, one per piscina worker at a time, each in its own
 * simulator (whose device workers are nested inside the piscina worker). `atomics: 'disabled'`:
 * piscina's default parks an idle worker in a synchronous Atomics.wait between tasks, which would
 * freeze the event loop a simulator needs (its device hosts, timers and waitAsync interrupts). The
 * only piscina user on the main side of dmasim.
 */

import { Piscina } from 'piscina';
import type { SeedResult, SeedTask } from './seed.js';

/** Runs `tasks` on `jobs` workers, at most one task per worker at a time; `onResult` as each ends. */
export async function runInPool(jobs: number, tasks: Iterator<Omit<SeedTask, 'slot'>>, onStart: (slot: number, task: Omit<SeedTask, 'slot'>) => void, onResult: (slot: number, r: SeedResult) => void): Promise<void> {
  const pool = new Piscina<SeedTask, SeedResult>({
    filename: new URL('../../workers/stress-seed.js', import.meta.url).href,
    minThreads: jobs,
    maxThreads: jobs,
    atomics: 'disabled',
    idleTimeout: 1000,
  });
  try {
    await Promise.all(
      Array.from({ length: jobs }, async (_, slot) => {
        for (let next = tasks.next(); !next.done; next = tasks.next()) {
          const task = next.value;
          onStart(slot, task);
          let r: SeedResult;
          try {
            r = await pool.run({ ...task, slot });
          } catch (e) {
            r = crashed(task.seed, e);
          }
          onResult(slot, r);
        }
      }),
    );
  } finally {
    await pool.destroy();
  }
}

/** A seed whose worker died under it. */
export function crashed(seed: number, e: unknown): SeedResult {
  return {
    seed,
    transfers: 0,
    injectedTransfers: 0,
    bytesVerified: 0,
    bytesLost: 0,
    violationCounts: { total: 0, expected: 0, unexpected: 0, byCode: {} },
    violations: [],
    injected: {},
    faults: [],
    hangs: 0,
    leaks: { expected: 0, unexpected: [] },
    lost: [],
    timings: { setupMs: 0, runMs: 0, teardownMs: 0 },
    reasons: [`crashed in its worker: ${e instanceof Error ? e.message : String(e)}`],
  };
}
