/**
 * Replay: a deterministic run's report (sim.report(), `dmasim stress --deterministic`'s seed-N.json)
 * run again from its own record — the same scenario (SimReport.deterministic.scenario, loaded by
 * loadScenario), the same seed, the recorded decisions as a 'replay' strategy — stopping at the
 * first violation. Nothing else is needed: the scenario rebuilds the simulator and the drivers, the
 * decisions say which entity ran at every step, so every step happens again in the same order.
 *
 * "The same first violation" compares the fields of the record that the run itself decides
 * (REPLAY_FIELDS): what, where, which device and driver, in which step, its sequence number (the
 * global event counter is deterministic too). Not compared: the call stacks (file paths and line
 * numbers of the build that ran — a replay from another checkout is still the same run), the
 * message text (made from the compared fields) and the frame snapshot (it follows from them).
 */

import { SimulatorError } from '../errors.js';
import type { Violation } from '../report.js';
import type { SimReport } from '../report/types.js';
import { loadScenario, runScenario, type Scenario, type ScenarioRef } from './scenario.js';

export interface ReplayOptions {
  /** The scenario to run, instead of the one the report names (a scenario that is not a module or built-in). */
  readonly scenario?: Scenario;
}

export interface ReplayResult {
  /** The replayed run's report: same schema, its own decisions (replayable again). */
  readonly report: SimReport & { readonly deterministic: NonNullable<SimReport['deterministic']> };
  /** The original report's first violation (lowest step, then seq), or null if it had none. */
  readonly original: Violation | null;
  /** The replayed run's first violation, or null. */
  readonly replayed: Violation | null;
  /**
   * True when the replay reproduced the original: both first violations exist and agree on every
   * field of REPLAY_FIELDS — or, for a run without any violation, the replay has none either and
   * the same trace hash.
   */
  readonly same: boolean;
  /** Why not `same`, one line per field: "step: 41 ≠ 40". Empty when same. */
  readonly differences: readonly string[];
  /** Steps whose recorded entity could not run in the replay (0 for a faithful replay). */
  readonly divergences: number;
  /** What the scenario's drivers threw in the replay, if they did. */
  readonly error?: string;
}

/** The fields of a violation record a replay must reproduce, with how each is read. */
export const REPLAY_FIELDS: readonly (readonly [string, (v: Violation) => unknown])[] = [
  ['code', (v) => v.code],
  ['physAddr', (v) => v.physAddr],
  ['frame', (v) => v.frame],
  ['device', (v) => (v.device ? `${v.device.kind}#${v.device.id}@${v.device.attachment}` : null)],
  ['driver', (v) => v.driver],
  ['step', (v) => v.step ?? null],
  ['seq', (v) => v.seq],
  ['command', (v) => v.access?.command ?? null],
  ['outcome', (v) => v.outcome],
  ['linearPage', (v) => v.linearPage],
  ['epochSeen', (v) => v.epochSeen],
  ['epochExpected', (v) => v.epochExpected],
];

/**
 * Replays a deterministic run's report. Rejects with SimulatorError when the report is not one
 * ("not a deterministic run's report: …") or its scenario cannot be loaded; a replay that runs
 * but differs resolves with `same: false` and the differences.
 */
export async function replay(report: SimReport, options: ReplayOptions = {}): Promise<ReplayResult> {
  const det = checkDeterministic(report, options.scenario === undefined);
  const ref = det.scenario as ScenarioRef | undefined;
  const scenario = options.scenario ?? (await loadScenario(ref!));
  const maxSteps = (report.options as { deterministic?: { maxSteps?: unknown } }).deterministic?.maxSteps;
  const run = await runScenario(scenario, {
    seed: det.seed,
    strategy: { kind: 'replay', decisions: det.decisions },
    stopAtFirstViolation: true,
    ...(typeof maxSteps === 'number' && Number.isSafeInteger(maxSteps) && maxSteps > 0 ? { maxSteps } : {}),
    ...(ref !== undefined ? { ref } : {}),
  });
  const original = firstViolation(report.violations);
  const replayed = firstViolation(run.report.violations);
  const differences = compare(original, replayed, report, run.report);
  return {
    report: run.report,
    original,
    replayed,
    same: differences.length === 0,
    differences,
    divergences: run.report.deterministic.divergences,
    ...(run.error !== undefined ? { error: run.error } : {}),
  };
}

/** The record that happened first: lowest step, then lowest seq (null for none). */
export function firstViolation(list: readonly Violation[]): Violation | null {
  let first: Violation | null = null;
  for (const v of list) {
    if (!first || (v.step ?? 0) < (first.step ?? 0) || ((v.step ?? 0) === (first.step ?? 0) && v.seq < first.seq)) first = v;
  }
  return first;
}

function compare(a: Violation | null, b: Violation | null, ra: SimReport, rb: SimReport): string[] {
  if (!a && !b) {
    const ha = ra.deterministic!.traceHash;
    const hb = rb.deterministic!.traceHash;
    return ha === hb ? [] : [`traceHash: ${ha} ≠ ${hb} (no violation in either run)`];
  }
  if (!a) return ['first violation: none in the original, one in the replay'];
  if (!b) return ['first violation: none in the replay'];
  const out: string[] = [];
  for (const [name, get] of REPLAY_FIELDS) {
    const x = JSON.stringify(get(a));
    const y = JSON.stringify(get(b));
    if (x !== y) out.push(`${name}: ${x} ≠ ${y}`);
  }
  return out;
}

type Det = NonNullable<SimReport['deterministic']>;

/** Checks what replay reads; throws SimulatorError "not a deterministic run's report: …". */
function checkDeterministic(report: unknown, needScenario: boolean): Det {
  const bad = (why: string): never => {
    throw new SimulatorError(`not a deterministic run's report: ${why}`);
  };
  if (typeof report !== 'object' || report === null || Array.isArray(report)) bad('not an object');
  const r = report as Record<string, unknown>;
  if (r.tool === undefined || typeof r.schemaVersion !== 'number' || !Array.isArray(r.violations)) bad('not a dmasim simulator report (no schemaVersion, tool or violations)');
  const raw = r.deterministic ?? bad('it has no "deterministic" record (a free-running simulator made it; run with deterministic: true, or dmasim stress --deterministic)');
  const d = (typeof raw === 'object' && raw !== null ? raw : bad('"deterministic" is not an object')) as Record<string, unknown>;
  if (typeof d.seed !== 'number' || !Number.isSafeInteger(d.seed) || d.seed < 0) bad('deterministic.seed is not a non-negative integer');
  if (!Array.isArray(d.decisions) || d.decisions.some((x: unknown) => !Array.isArray(x) || x.length !== 2 || !Number.isInteger(x[0]) || !Number.isInteger(x[1]) || x[0] < 0 || x[1] < 1)) bad('deterministic.decisions is not a list of [entity, steps] pairs');
  if (needScenario && (typeof d.scenario !== 'object' || d.scenario === null)) bad('deterministic.scenario is missing: the run named no scenario to replay (pass options.scenario, or run it through runScenario with a ref)');
  return d as unknown as Det;
}
