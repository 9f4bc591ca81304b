/**
 * Deterministic mode's scheduling strategies: given the entities that can run at a step (sorted by
 * entity number), pick one. Every choice comes from the strategy's own seeded generator, so a seed
 * is an interleaving.
 *
 *  - random: uniform among the runnable (a random walk over schedules).
 *  - pct: Probabilistic Concurrency Testing (Burckhardt et al., ASPLOS 2010). Each entity gets a
 *    random priority as it first appears (above `depth`); the highest-priority runnable entity
 *    runs; at `depth - 1` change points drawn uniformly from [1, steps] the entity running then drops
 *    to priority depth - i (below every initial one). A bug of depth d (d ordering constraints) is
 *    found by one run with probability ≥ 1 / (n · k^(d-1)) for n entities and k steps.
 *  - replay: the recorded decisions, step by step; past their end (or where a recorded entity cannot
 *    run: a divergence, counted), the fallback — the entity that ran last if it still can, else the
 *    lowest-numbered. Shrinking (src/sched/explore.ts) works by cutting decisions from this list.
 */

import { Prng } from '../prng.js';

export type StrategySpec = { readonly kind: 'random' } | { readonly kind: 'pct'; readonly depth: number; readonly steps: number } | { readonly kind: 'replay'; readonly decisions: readonly (readonly [number, number])[] };

export interface Strategy {
  /** Picks one of `runnable` (non-empty, ascending) for step `step` (1-based). */
  choose(runnable: readonly number[], step: number, last: number): number;
  /** Replay only: steps whose recorded entity could not run. */
  readonly divergences: number;
}

class RandomWalk implements Strategy {
  readonly divergences = 0;
  private readonly rng: Prng;
  constructor(seed: number) {
    this.rng = new Prng(seed ^ 0x5ced);
  }
  choose(runnable: readonly number[]): number {
    return runnable.length === 1 ? runnable[0]! : runnable[this.rng.below(runnable.length)]!;
  }
}

class Pct implements Strategy {
  readonly divergences = 0;
  private readonly rng: Prng;
  private readonly priority = new Map<number, number>();
  private readonly changeAt: Map<number, number>;
  constructor(
    seed: number,
    private readonly depth: number,
    steps: number,
  ) {
    this.rng = new Prng(seed ^ 0x9c7);
    this.changeAt = new Map();
    for (let i = 1; i < depth; i++) {
      let s: number;
      do s = 1 + this.rng.below(Math.max(1, steps));
      while (this.changeAt.has(s) && this.changeAt.size < steps);
      this.changeAt.set(s, depth - i);
    }
  }
  private prio(e: number): number {
    let p = this.priority.get(e);
    if (p === undefined) {
      // Above every change-point priority (< depth); distinct by the entity number's tie-break.
      p = this.depth + (this.rng.u32() / 0x100000000) * 1e6 + e * 1e-9;
      this.priority.set(e, p);
    }
    return p;
  }
  choose(runnable: readonly number[], step: number): number {
    let best = runnable[0]!;
    let bp = this.prio(best);
    for (let i = 1; i < runnable.length; i++) {
      const p = this.prio(runnable[i]!);
      if (p > bp) {
        bp = p;
        best = runnable[i]!;
      }
    }
    const drop = this.changeAt.get(step);
    if (drop !== undefined) this.priority.set(best, drop);
    return best;
  }
}

class Replay implements Strategy {
  divergences = 0;
  private run = 0;
  private left = 0;
  constructor(private readonly decisions: readonly (readonly [number, number])[]) {
    this.left = decisions[0]?.[1] ?? 0;
  }
  choose(runnable: readonly number[], _step: number, last: number): number {
    while (this.left === 0 && this.run < this.decisions.length) {
      this.run++;
      this.left = this.decisions[this.run]?.[1] ?? 0;
    }
    if (this.run < this.decisions.length) {
      this.left--;
      const want = this.decisions[this.run]![0];
      if (runnable.includes(want)) return want;
      this.divergences++;
    }
    return runnable.includes(last) ? last : runnable[0]!;
  }
}

export function makeStrategy(spec: StrategySpec, seed: number): Strategy {
  switch (spec.kind) {
    case 'random':
      return new RandomWalk(seed);
    case 'pct':
      return new Pct(seed, spec.depth, spec.steps);
    case 'replay':
      return new Replay(spec.decisions);
  }
}

/** Run-length encoding of a decision list: [entity, times] pairs. */
export class DecisionLog {
  private readonly runs: [number, number][] = [];
  private total = 0;
  push(entity: number): void {
    this.total++;
    const last = this.runs[this.runs.length - 1];
    if (last && last[0] === entity) last[1]++;
    else this.runs.push([entity, 1]);
  }
  get length(): number {
    return this.total;
  }
  /** Context switches + 1. */
  get switches(): number {
    return this.runs.length;
  }
  encoded(): [number, number][] {
    return this.runs.map(([e, n]) => [e, n]);
  }
}
