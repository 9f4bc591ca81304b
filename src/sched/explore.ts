/**
 * Exploration (`dmasim explore`, `explore()`): runs a driver scenario under many schedules — a
 * random walk, or PCT with a bug depth — until one produces a violation or the budget is spent,
 * then shrinks that schedule to a short reproducer and hands it back as a report that replays.
 *
 * Seeds. Schedule i runs a fresh deterministic simulator whose seed is the i-th draw of a Prng
 * seeded with the explore seed. The scheduler's strategy draws from the simulator's seed, so the
 * simulator seed varies with the schedule — pager choices vary too (more ground covered; the
 * demos run with the pager off). Nothing is lost for replay: the reproducer carries its seed.
 *
 * PCT needs k, the steps of a run: unless `stepsHint` gives it, schedule 0 is a plain random run,
 * taken to its end (not stopped at a violation) so its step count measures a whole run; it counts
 * as a schedule like the others.
 *
 * Shrinking. The failing run's decisions (run-length encoded [entity, steps] pairs) are cut down,
 * each candidate replayed (strategy replay, stopped at its first violation) and kept only if its
 * first violation has the same code: a binary search on how many runs of the prefix to keep, then
 * dropping single runs (latest first; where that fails, merging the run into the one before it),
 * then shortening runs (a binary search on each count),
 * repeated until nothing changes or `maxReplays` is spent. Past the end of a list, replay falls
 * back to "the entity that ran last if it still can, else the lowest-numbered", so any shorter list
 * is a valid schedule; one that no longer shows the bug is simply rejected.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Prng } from '../prng.js';
import { SimulatorError } from '../errors.js';
import type { Violation, ViolationCode } from '../report.js';
import type { SimReport } from '../report/types.js';
import { runScenario, type Scenario, type ScenarioRef, type ScenarioRun } from './scenario.js';
import type { StrategySpec } from './strategy.js';

export type Decisions = [number, number][];

export interface ExploreOptions {
  /** How schedules are drawn (default 'random'). */
  strategy?: 'random' | 'pct';
  /** PCT bug depth: ordering constraints the bug needs (default 2). */
  depth?: number;
  /** Schedules at most (default 100). */
  budget?: number;
  /** The explore seed: schedule i's simulator seed is derived from it (default 1). */
  seed?: number;
  /** Stored in every report (SimReport.deterministic.scenario), so the reproducer names its scenario for replay. */
  ref?: ScenarioRef;
  /** Steps per run at most (the scheduler's maxSteps). */
  maxSteps?: number;
  /** PCT's k (steps of a run); without it, schedule 0 measures it. */
  stepsHint?: number;
  /** Only these violation codes count as a find (default: any). */
  codes?: readonly ViolationCode[];
  /** Replays the shrink may spend (default 100); 0 keeps the schedule as found (replayed once). */
  maxReplays?: number;
  /** Writes the reproducer (JSON) here once found. */
  out?: string;
  /** Called after every schedule and every shrink replay. */
  onProgress?: (p: ExploreProgress) => void;
}

export type ExploreProgress =
  | { readonly phase: 'explore'; readonly schedule: number; readonly budget: number; readonly steps: number; readonly found: boolean }
  | { readonly phase: 'shrink'; readonly replays: number; readonly runs: number };

/** The first violating schedule. */
export interface FoundViolation {
  /** Its index (0-based) among the schedules run. */
  readonly schedule: number;
  /** Its simulator seed. */
  readonly seed: number;
  readonly strategy: StrategySpec;
  readonly code: ViolationCode;
  /** The device that made the record ("kind#slot name"), or null (an unlock seen by the main thread). */
  readonly device: string | null;
  readonly step: number | null;
  /** The record itself. */
  readonly violation: Violation;
}

export interface ShrinkSummary {
  /** Decision runs (context switches + 1) of the failing schedule, and of the reproducer. */
  readonly from: number;
  readonly to: number;
  /** Steps of the failing schedule up to its violation, and of the reproducer. */
  readonly stepsFrom: number;
  readonly stepsTo: number;
  readonly replays: number;
  /**
   * False if replaying the failing schedule's own decisions did not give the violation again (a
   * scenario that is not deterministic: it awaits something the scheduler does not own). The
   * reproducer is then the failing run's report, unshrunk.
   */
  readonly reproduced: boolean;
}

export interface ExploreResult {
  readonly found: boolean;
  readonly schedulesRun: number;
  readonly strategy: 'random' | 'pct';
  /** PCT: its depth and k. */
  readonly depth?: number;
  readonly steps?: number;
  readonly firstViolation: FoundViolation | null;
  /**
   * The report of the shrunk schedule's replay: deterministic.strategy is { kind: 'replay',
   * decisions } and deterministic.seed its seed, so runScenario (or `dmasim replay`) with those
   * and stopAtFirstViolation gives the same first violation at the same step.
   */
  readonly reproducer: SimReport | null;
  readonly shrink: ShrinkSummary | null;
  /** Schedules whose drivers threw (deadlock, step limit, a failed expectation): the first few, and how many. */
  readonly errors: readonly { readonly schedule: number; readonly seed: number; readonly message: string }[];
  readonly errorCount: number;
  /** Writes the reproducer as JSON (throws if nothing was found). */
  save(path: string): Promise<void>;
}

const ERRORS_KEPT = 10;

/** The simulator seeds of an exploration's schedules, in order. */
export function scheduleSeeds(exploreSeed: number, count: number): number[] {
  const rng = new Prng(exploreSeed);
  return Array.from({ length: count }, () => rng.u32());
}

/** Runs `scenario` under up to `budget` schedules; on the first violation, shrinks it (module comment). */
export async function explore(scenario: Scenario, options: ExploreOptions = {}): Promise<ExploreResult> {
  const o = checkOptions(options);
  const seeds = scheduleSeeds(o.seed, o.budget);
  // With codes, a run may not stop at a violation of another code: the one that counts may follow.
  const stop = o.codes === null;
  const common = { ...(o.maxSteps !== undefined ? { maxSteps: o.maxSteps } : {}), ...(options.ref ? { ref: options.ref } : {}) };
  const errors: { schedule: number; seed: number; message: string }[] = [];
  let errorCount = 0;
  let k = o.stepsHint;
  let found: { run: ScenarioRun; v: Violation; schedule: number; seed: number; spec: StrategySpec } | null = null;
  let schedulesRun = 0;

  for (let i = 0; i < o.budget && !found; i++) {
    const seed = seeds[i]!;
    const calibrate = o.strategy === 'pct' && k === undefined;
    const spec: StrategySpec = o.strategy === 'random' || calibrate ? { kind: 'random' } : { kind: 'pct', depth: o.depth, steps: k! };
    const run = await runScenario(scenario, { seed, strategy: spec, stopAtFirstViolation: stop && !calibrate, ...common });
    schedulesRun++;
    if (calibrate) k = Math.max(1, run.report.deterministic.steps);
    const v = firstMatching(run.report, o.codes);
    if (v) found = { run, v, schedule: i, seed, spec };
    else if (run.error !== undefined) {
      errorCount++;
      if (errors.length < ERRORS_KEPT) errors.push({ schedule: i, seed, message: run.error });
    }
    options.onProgress?.({ phase: 'explore', schedule: i, budget: o.budget, steps: run.report.deterministic.steps, found: v !== null });
  }

  const pct = o.strategy === 'pct' ? { depth: o.depth, ...(k !== undefined ? { steps: k } : {}) } : {};
  if (!found) {
    return result({ found: false, schedulesRun, strategy: o.strategy, ...pct, firstViolation: null, reproducer: null, shrink: null, errors, errorCount });
  }

  const v = found.v;
  const firstViolation: FoundViolation = {
    schedule: found.schedule,
    seed: found.seed,
    strategy: found.spec,
    code: v.code,
    device: v.device ? `${v.device.kind}#${v.device.id} ${v.device.name}` : null,
    step: v.step ?? null,
    violation: v,
  };
  const decisions = upTo(found.run.report.deterministic.decisions, v.step ?? found.run.report.deterministic.steps);
  const shrunk = await shrink(scenario, {
    seed: found.seed,
    decisions,
    code: v.code,
    codes: o.codes,
    stop,
    maxReplays: o.maxReplays,
    common,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  const reproducer = shrunk.run?.report ?? found.run.report;
  const res = result({
    found: true,
    schedulesRun,
    strategy: o.strategy,
    ...pct,
    firstViolation,
    reproducer,
    shrink: {
      from: decisions.length,
      to: shrunk.run ? shrunk.decisions.length : decisions.length,
      stepsFrom: total(decisions),
      stepsTo: shrunk.run ? (firstMatching(shrunk.run.report, o.codes)?.step ?? shrunk.run.report.deterministic.steps) : total(decisions),
      replays: shrunk.replays,
      reproduced: shrunk.run !== null,
    },
    errors,
    errorCount,
  });
  if (options.out !== undefined) await res.save(options.out);
  return res;
}

interface ShrinkInput {
  seed: number;
  decisions: Decisions;
  code: ViolationCode;
  codes: readonly ViolationCode[] | null;
  stop: boolean;
  maxReplays: number;
  common: { maxSteps?: number; ref?: ScenarioRef };
  onProgress?: (p: ExploreProgress) => void;
}

/**
 * Shrinks a failing schedule (module comment). `run` is the replay of the shortest list that still
 * shows `code` first, or null if even the whole list did not (then nothing was shrunk).
 */
export async function shrink(scenario: Scenario, s: ShrinkInput): Promise<{ decisions: Decisions; run: ScenarioRun | null; replays: number }> {
  let replays = 0;
  const attempt = async (cand: Decisions): Promise<ScenarioRun | null> => {
    replays++;
    const run = await runScenario(scenario, { seed: s.seed, strategy: { kind: 'replay', decisions: cand }, stopAtFirstViolation: s.stop, ...s.common });
    s.onProgress?.({ phase: 'shrink', replays, runs: cand.length });
    return firstMatching(run.report, s.codes)?.code === s.code ? run : null;
  };
  let best = normalize(s.decisions);
  let bestRun = await attempt(best);
  if (!bestRun) return { decisions: best, run: null, replays };
  const left = () => replays < s.maxReplays + 1;

  // 1. The shortest prefix (in runs) that still shows it: a binary search.
  let lo = 0;
  let hi = best.length;
  while (lo < hi && left()) {
    const mid = Math.floor((lo + hi) / 2);
    const r = await attempt(best.slice(0, mid));
    if (r) {
      hi = mid;
      bestRun = r;
    } else lo = mid + 1;
  }
  best = best.slice(0, hi);

  for (let changed = true; changed && left(); ) {
    changed = false;
    // 2. Drop single runs, latest first (a late run is the likeliest to be after the bug's window).
    //    Where dropping fails, give the run's steps to the run before it instead: the same number of
    //    steps, one context switch fewer. Virtual time moves with the steps, so a schedule whose bug
    //    needs a timer to expire keeps its length and loses only the interleaving.
    for (let i = best.length - 1; i >= 0 && left(); i--) {
      const dropped = normalize([...best.slice(0, i), ...best.slice(i + 1)]);
      let r = await attempt(dropped);
      let cand = dropped;
      if (!r && i > 0 && left()) {
        cand = normalize(best.map((d, j): [number, number] => (j === i ? [best[i - 1]![0], d[1]] : [d[0], d[1]])));
        r = await attempt(cand);
      }
      if (r) {
        best = cand;
        bestRun = r;
        changed = true;
        i = Math.min(i, best.length);
      }
    }
    // 3. Shorten runs: the least steps each run can keep (a binary search on its count).
    for (let i = 0; i < best.length && left(); i++) {
      let lo2 = 1;
      let hi2 = best[i]![1];
      while (lo2 < hi2 && left()) {
        const mid = Math.floor((lo2 + hi2) / 2);
        const cand = best.map((d, j): [number, number] => (j === i ? [d[0], mid] : [d[0], d[1]]));
        const r = await attempt(cand);
        if (r) {
          hi2 = mid;
          bestRun = r;
        } else lo2 = mid + 1;
      }
      if (hi2 < best[i]![1]) {
        best = best.map((d, j): [number, number] => (j === i ? [d[0], hi2] : [d[0], d[1]]));
        changed = true;
      }
    }
  }
  return { decisions: best, run: bestRun, replays };
}

/** The first violation whose code counts (any, when `codes` is null). */
function firstMatching(report: SimReport, codes: readonly ViolationCode[] | null): Violation | null {
  return report.violations.find((v) => codes === null || codes.includes(v.code)) ?? null;
}

/** Merges neighbouring runs of one entity and drops empty ones: the canonical RLE form. */
export function normalize(d: readonly (readonly [number, number])[]): Decisions {
  const out: Decisions = [];
  for (const [e, n] of d) {
    if (n <= 0) continue;
    const last = out[out.length - 1];
    if (last && last[0] === e) last[1] += n;
    else out.push([e, n]);
  }
  return out;
}

/** The decisions of steps 1 … `steps`. */
function upTo(d: readonly (readonly [number, number])[], steps: number): Decisions {
  const out: Decisions = [];
  let left = steps;
  for (const [e, n] of d) {
    if (left <= 0) break;
    out.push([e, Math.min(n, left)]);
    left -= n;
  }
  return out;
}

const total = (d: readonly (readonly [number, number])[]): number => d.reduce((s, [, n]) => s + n, 0);

function result(r: Omit<ExploreResult, 'save'>): ExploreResult {
  return {
    ...r,
    async save(path: string): Promise<void> {
      if (!r.reproducer) throw new SimulatorError('explore found no violation: there is no reproducer to save');
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, `${JSON.stringify(r.reproducer, null, 1)}\n`);
    },
  };
}

interface Checked {
  strategy: 'random' | 'pct';
  depth: number;
  budget: number;
  seed: number;
  maxSteps: number | undefined;
  stepsHint: number | undefined;
  codes: readonly ViolationCode[] | null;
  maxReplays: number;
}

function checkOptions(o: ExploreOptions): Checked {
  const strategy = o.strategy ?? 'random';
  if (strategy !== 'random' && strategy !== 'pct') throw new SimulatorError(`explore strategy must be 'random' or 'pct', got ${String(strategy)}`);
  const int = (v: number | undefined, d: number, min: number, max: number, what: string): number => {
    const n = v ?? d;
    if (!Number.isInteger(n) || n < min || n > max) throw new SimulatorError(`explore ${what} must be an integer in ${min}…${max}, got ${String(v)}`);
    return n;
  };
  if (o.codes !== undefined && (!Array.isArray(o.codes) || o.codes.length === 0)) throw new SimulatorError('explore codes must be a non-empty list of violation codes');
  return {
    strategy,
    depth: int(o.depth, 2, 1, 64, 'depth'),
    budget: int(o.budget, 100, 1, 1_000_000, 'budget'),
    seed: int(o.seed, 1, 0, 0xffffffff, 'seed'),
    maxSteps: o.maxSteps === undefined ? undefined : int(o.maxSteps, 0, 1, Number.MAX_SAFE_INTEGER, 'maxSteps'),
    stepsHint: o.stepsHint === undefined ? undefined : int(o.stepsHint, 0, 1, Number.MAX_SAFE_INTEGER, 'stepsHint'),
    codes: o.codes ?? null,
    maxReplays: int(o.maxReplays, 100, 0, 1_000_000, 'maxReplays'),
  };
}
