/**
 * What the explore tests share: running a built-in race demo under explore(), replaying its
 * reproducer the way `dmasim replay` does (same seed, same scenario, strategy replay, stopped at the
 * first violation), and the report schema's validator.
 */

import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { expect } from 'vitest';
import { explore, loadScenario, runScenario, type ExploreOptions, type ExploreResult, type SimReport } from '../src/index.js';

const schema = JSON.parse(readFileSync(new URL('../schema/report.schema.json', import.meta.url), 'utf8')) as object;
export const validateReport = new Ajv({ allErrors: true, strict: true }).compile(schema);

export async function exploreDemo(name: string, options: ExploreOptions): Promise<ExploreResult> {
  return explore(await loadScenario({ builtin: name }), { ref: { builtin: name }, ...options });
}

/** Replays a reproducer from its report alone: the scenario it names, its seed, its decisions. */
export async function replayReport(report: SimReport): Promise<SimReport> {
  const det = report.deterministic!;
  expect(det.strategy.kind).toBe('replay');
  const ref = det.scenario as { builtin: string };
  const run = await runScenario(await loadScenario(ref), { seed: det.seed, strategy: det.strategy, stopAtFirstViolation: true, ref });
  return run.report;
}

/** A find, its reproducer schema-valid and replaying to the same first violation at the same step. */
export async function expectReproduces(r: ExploreResult, code: string): Promise<void> {
  expect(r.found).toBe(true);
  expect(r.firstViolation?.code).toBe(code);
  const repro = r.reproducer!;
  expect(validateReport(JSON.parse(JSON.stringify(repro))), JSON.stringify(validateReport.errors)).toBe(true);
  const first = repro.violations[0]!;
  expect(first.code).toBe(code);
  const again = await replayReport(repro);
  expect(again.violations[0]?.code).toBe(code);
  expect(again.violations[0]?.step).toBe(first.step);
  expect(again.deterministic!.decisions).toEqual(repro.deterministic!.decisions);
  expect(again.deterministic!.traceHash).toBe(repro.deterministic!.traceHash);
}
