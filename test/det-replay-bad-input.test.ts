// `dmasim replay` refuses what it cannot replay with one clear line on stderr and exit 2: a
// free-running simulator's report, a file that is not JSON, a file that is not there, a JSON value
// that is not a report; and replay() rejects a free-running report with a SimulatorError.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { createSimulator, replay, SimulatorError } from '../src/index.js';
import { dmasim, scratchDir } from './stress-helpers.js';

test('a free-running report: replay() rejects, dmasim replay exits 2', async () => {
  const sim = await createSimulator({ seed: 3 });
  await sim.close();
  const report = sim.report();
  await expect(replay(report)).rejects.toThrow(SimulatorError);
  await expect(replay(report)).rejects.toThrow(/^not a deterministic run's report: it has no "deterministic" record/);
  const file = join(scratchDir(), 'free.json');
  writeFileSync(file, JSON.stringify(report));
  const r = await dmasim(['replay', file]);
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^dmasim replay: not a deterministic run's report: it has no "deterministic" record/);
});

test('a malformed file, a missing file, a JSON value that is no report, no file at all: exit 2', async () => {
  const dir = scratchDir();
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"schemaVersion": 1, "deterministic": ');
  const notReport = join(dir, 'array.json');
  writeFileSync(notReport, '[1, 2]');
  const cases: [string[], RegExp][] = [
    [['replay', bad], /^dmasim replay: .*bad\.json is not JSON/],
    [['replay', join(dir, 'nope.json')], /^dmasim replay: .*nope\.json: no such file/],
    [['replay', notReport], /^dmasim replay: not a deterministic run's report: not an object/],
    [['replay'], /^dmasim replay: give the report to replay/],
    [['replay', bad, bad], /^dmasim replay: one report at a time/],
    [['replay', bad, '--bogus'], /^dmasim replay: unknown flag --bogus/],
  ];
  for (const [args, message] of cases) {
    const r = await dmasim(args);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
    expect(r.stderr).toMatch(message);
  }
});
