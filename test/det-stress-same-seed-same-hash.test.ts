// `dmasim stress --deterministic`: the seed decides the interleaving of every driver and device
// step, so seed 5 gives the same trace hash on every run; seeds 5, 6 and 7 give three different
// hashes of the same campaign. Through the campaign API (all four kinds, aggressive pager, a few
// transfers) and once through the built binary.
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { runCampaign } from '../src/stress/campaign.js';
import { parseStressArgs } from '../src/stress/config.js';
import { KIND_NAMES } from '../src/stress/kinds/index.js';
import { dmasim, readReport, schemaErrors, scratchDir } from './stress-helpers.js';

const FLAGS = ['--deterministic', '--transfers', '16', '--devices', '4', '--pager', 'aggressive'];

async function hashes(seeds: string): Promise<[number, string][]> {
  const run = parseStressArgs([...FLAGS, '--seeds', seeds]);
  const report = await runCampaign({ run, command: 'test', progress: null });
  expect(schemaErrors(report)).toBe('');
  expect(report.result.verdict, JSON.stringify(report.failures)).toBe('pass');
  expect(report.config.kinds).toEqual(KIND_NAMES);
  return (report.seedRuns ?? []).map((r) => [r.seed, r.traceHash]);
}

test('seed 5 three times: one trace hash; seeds 5, 6, 7: three', async () => {
  const runs = [await hashes('5..5'), await hashes('5..5'), await hashes('5..5')];
  for (const r of runs) expect(r).toHaveLength(1);
  const five = runs[0]![0]![1];
  expect(five).toMatch(/^[0-9a-f]{8}$/);
  expect(runs.map((r) => r[0]![1])).toEqual([five, five, five]);

  const three = await hashes('5..7');
  expect(three.map(([s]) => s)).toEqual([5, 6, 7]);
  expect(three[0]![1]).toBe(five);
  expect(new Set(three.map(([, h]) => h)).size).toBe(3);
}, 120_000);

test('the binary: stress --deterministic --seed 5 prints and reports the same hash', async () => {
  const dir = scratchDir();
  const once = async (name: string) => {
    const json = join(dir, name);
    const r = await dmasim(['stress', ...FLAGS, '--seed', '5', '--json', json]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const report = readReport(json);
    expect(schemaErrors(report)).toBe('');
    expect(report.config.deterministic).toBe(true);
    const hash = report.seedRuns![0]!.traceHash;
    expect(r.stdout).toContain(`trace hashes    seed 5 ${hash}`);
    return hash;
  };
  const a = await once('a.json');
  expect(await once('b.json')).toBe(a);
  // The library and the binary run the same seed the same way.
  expect((await hashes('5..5'))[0]![1]).toBe(a);
}, 120_000);
