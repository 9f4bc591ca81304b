/**
 * A scenario: what deterministic mode runs, replays and explores — simulator options plus the
 * drivers, as one function of a fresh simulator. A run's report names its scenario (`ref`), so
 * `dmasim replay REPORT.json` can build the same simulator and run the same drivers again.
 *
 * References (ScenarioRef, JSON in SimReport.deterministic.scenario):
 *  - { module, export? }: a module file (absolute path or file: URL) exporting the scenario (the
 *    named export, else `default`, else `scenario`); a .ts module needs tsx installed;
 *  - { builtin }: one of dmasim's own (src/sched/demos/, registered in BUILTIN_SCENARIOS);
 *  - { stress }: a stress campaign's seed (src/stress/), its config inline.
 */

import { pathToFileURL } from 'node:url';
import { isAbsolute, resolve } from 'node:path';
import { createSimulator, type Simulator, type SimulatorOptions } from '../simulator.js';
import { SimulatorError } from '../errors.js';
import type { SimReport } from '../report/types.js';
import type { DeterministicOptions } from './scheduler.js';
import type { StrategySpec } from './strategy.js';

export interface Scenario {
  readonly name: string;
  /** One line: what the drivers do (and the bug, if any). */
  readonly about?: string;
  /** Simulator options; `seed` and `deterministic` are the runner's. */
  readonly options?: Omit<SimulatorOptions, 'seed' | 'deterministic'>;
  /** The drivers: set up, then `await sim.run(taskA, taskB, …)`. */
  run(sim: Simulator): Promise<void>;
}

export type ScenarioRef = { readonly builtin: string } | { readonly module: string; readonly export?: string } | { readonly stress: unknown };

/** Scenarios shipped with dmasim, by name (filled by src/sched/demos/index.ts when it is loaded). */
export const BUILTIN_SCENARIOS = new Map<string, () => Promise<Scenario>>();

export function defineScenario(s: Scenario): Scenario {
  if (typeof s !== 'object' || s === null || typeof s.name !== 'string' || typeof s.run !== 'function') throw new SimulatorError('a scenario is { name, run(sim), options? }');
  return s;
}

/** Loads the scenario a reference names. */
export async function loadScenario(ref: ScenarioRef): Promise<Scenario> {
  if ('builtin' in ref) {
    await import('./demos/index.js');
    const make = BUILTIN_SCENARIOS.get(ref.builtin);
    if (!make) throw new SimulatorError(`no built-in scenario "${ref.builtin}" (known: ${[...BUILTIN_SCENARIOS.keys()].join(', ')})`);
    return make();
  }
  if ('module' in ref) {
    const url = ref.module.startsWith('file:') ? ref.module : pathToFileURL(isAbsolute(ref.module) ? ref.module : resolve(ref.module)).href;
    if (/\.[cm]?ts$/.test(new URL(url).pathname)) {
      try {
        ((await import('tsx/esm/api')) as { register(): unknown }).register();
      } catch {
        throw new SimulatorError(`${ref.module} is TypeScript: install tsx beside dmasim to load it, or name its compiled .js`);
      }
    }
    const m = (await import(url)) as Record<string, unknown>;
    const s = (ref.export !== undefined ? m[ref.export] : (m.default ?? m.scenario)) as Scenario | undefined;
    if (!s || typeof s.run !== 'function') throw new SimulatorError(`${ref.module} exports no scenario${ref.export ? ` "${ref.export}"` : ''} ({ name, run(sim) })`);
    return s;
  }
  if ('stress' in ref) {
    const { stressScenario } = await import('../stress/deterministic.js');
    return stressScenario(ref.stress);
  }
  throw new SimulatorError(`not a scenario reference: ${JSON.stringify(ref)}`);
}

export interface ScenarioRunOptions {
  seed: number;
  strategy?: StrategySpec;
  stopAtFirstViolation?: boolean;
  maxSteps?: number;
  /** Written into the report, so it can be replayed (omit for an unnamed scenario). */
  ref?: ScenarioRef;
}

export interface ScenarioRun {
  readonly report: SimReport & { readonly deterministic: NonNullable<SimReport['deterministic']> };
  /** What the drivers threw, if they did (a deadlock, a step limit, a failed expectation). */
  readonly error?: string;
}

/** Runs a scenario once in deterministic mode, in a fresh simulator, closed before this resolves. */
export async function runScenario(s: Scenario, o: ScenarioRunOptions): Promise<ScenarioRun> {
  const det: DeterministicOptions = {
    ...(o.strategy ? { strategy: o.strategy } : {}),
    ...(o.stopAtFirstViolation ? { stopAtFirstViolation: true } : {}),
    ...(o.maxSteps !== undefined ? { maxSteps: o.maxSteps } : {}),
    ...(o.ref ? { scenario: o.ref } : {}),
  };
  const sim = await createSimulator({ ...s.options, seed: o.seed, deterministic: det });
  let error: string | undefined;
  try {
    await s.run(sim);
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  await sim.close();
  const report = sim.report() as ScenarioRun['report'];
  return { report, ...(error !== undefined ? { error } : {}) };
}
