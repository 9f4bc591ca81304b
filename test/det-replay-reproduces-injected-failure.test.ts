// A deterministic stress seed with an injected DMA bug (unlock-early) fails; its JSON report,
// replayed — through replay() and through `dmasim replay report.json --json out.json` — stops at
// the same first violation: same code, address, frame, device, driver, command and scheduler step.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { expect, test } from 'vitest';
import { replay, REPLAY_FIELDS, type SimReport, type Violation } from '../src/index.js';
import { firstViolation } from '../src/sched/replay.js';
import { runCampaign } from '../src/stress/campaign.js';
import { parseStressArgs } from '../src/stress/config.js';
import { dmasim, scratchDir } from './stress-helpers.js';

const ajv = new Ajv({ allErrors: true, strict: true });
const validateReport = ajv.compile(JSON.parse(readFileSync(new URL('../schema/report.schema.json', import.meta.url), 'utf8')) as object);

/** The fields a replay must reproduce, as one comparable object. */
const fieldsOf = (v: Violation) => Object.fromEntries(REPLAY_FIELDS.map(([k, get]) => [k, get(v)]));

async function failingSeedReport(): Promise<{ file: string; report: SimReport; replayLine: string }> {
  const dir = scratchDir();
  const run = parseStressArgs(['--deterministic', '--seed', '5', '--kinds', 'copy-engine,nic', '--transfers', '20', '--inject', 'unlock-early:0.2', '--reports', dir]);
  const campaign = await runCampaign({ run, command: 'test', progress: null });
  expect(campaign.result.verdict).toBe('fail');
  const f = campaign.failures[0]!;
  expect(f.seed).toBe(5);
  expect(f.report).toBe(join(dir, 'seed-5.json'));
  return { file: f.report!, report: JSON.parse(readFileSync(f.report!, 'utf8')) as SimReport, replayLine: f.replay! };
}

test('replay() and dmasim replay reproduce the first violation of an injected bug', async () => {
  const { file, report, replayLine } = await failingSeedReport();
  expect(replayLine).toBe(`npx dmasim replay ${file}`);
  const first = firstViolation(report.violations)!;
  expect(first.code).toBe('dma-unlocked');
  expect(first.step).toBeGreaterThan(0);

  const r = await replay(report);
  expect(r.differences).toEqual([]);
  expect(r.same).toBe(true);
  expect(r.divergences).toBe(0);
  expect(r.report.deterministic.outcome).toBe('violation');
  expect(fieldsOf(r.replayed!)).toEqual(fieldsOf(first));
  expect(r.replayed!.device).toEqual(first.device);

  const out = join(scratchDir(), 'out.json');
  const cli = await dmasim(['replay', file, '--json', out]);
  expect(cli.stderr).toBe('');
  expect(cli.code, cli.stdout).toBe(0);
  expect(cli.stdout).toContain(`replay: REPRODUCED the first violation: dma-unlocked`);
  expect(cli.stdout).toMatch(/trace around the first violation/);
  expect(cli.stdout).toMatch(/^> #\s*\d+ violation/m);
  const again = JSON.parse(readFileSync(out, 'utf8')) as SimReport;
  expect(validateReport(again), JSON.stringify(validateReport.errors?.slice(0, 5))).toBe(true);
  const replayed = firstViolation(again.violations)!;
  expect(fieldsOf(replayed)).toEqual(fieldsOf(first));
  expect(replayed.step).toBe(first.step);
  // The replay's own report names the same scenario: it replays again.
  expect(again.deterministic!.scenario).toEqual(report.deterministic!.scenario);
}, 120_000);

test('--keep-reports: a seed whose injected bug was expected (it passes) still replays', async () => {
  const dir = scratchDir();
  const run = parseStressArgs(['--deterministic', '--seed', '6', '--kinds', 'copy-engine', '--devices', '2', '--transfers', '12', '--inject', 'no-lock:0.25', '--expect-injected', '--keep-reports', '--reports', dir]);
  const campaign = await runCampaign({ run, command: 'test', progress: null });
  expect(campaign.result.verdict, JSON.stringify(campaign.failures)).toBe('pass');
  expect(campaign.result.violationCounts.expected).toBeGreaterThan(0);
  const kept = campaign.seedRuns![0]!;
  expect(kept.report).toBe(join(dir, 'seed-6.json'));
  const report = JSON.parse(readFileSync(kept.report!, 'utf8')) as SimReport;
  expect(report.deterministic!.traceHash).toBe(kept.traceHash);
  const r = await replay(report);
  expect(r.same, r.differences.join('; ')).toBe(true);
  expect(r.replayed!.step).toBe(firstViolation(report.violations)!.step);
}, 120_000);
