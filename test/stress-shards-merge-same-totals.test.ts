// A campaign's totals do not depend on how it is run: one process, --jobs 2, or --shard 1/2 and
// 2/2 merged give the same transfers, bytes, violation counts by code, and injected / detected by
// kind (the seeds' main-thread steps happen in an order fixed by the seed: src/stress/turns.ts).
// Every kind runs, every bug is injected now and then.
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { INJECTIONS } from '../src/stress/inject.js';
import { KIND_NAMES } from '../src/stress/kinds/index.js';
import { dmasim, readReport, schemaErrors, scratchDir, totalsOf } from './stress-helpers.js';

// One device per kind: every kind, at half the workers to start per seed.
const CAMPAIGN = ['stress', '--seeds', '1..4', '--transfers', '16', '--devices', String(KIND_NAMES.length), ...INJECTIONS.flatMap((k) => ['--inject', `${k}:0.08`])];

test('one run, --jobs 2, and two shards merged agree on every total', async () => {
  const dir = scratchDir();
  const f = (n: string) => join(dir, n);
  const runs = await Promise.all([
    dmasim([...CAMPAIGN, '--json', f('one.json')]),
    dmasim([...CAMPAIGN, '--jobs', '2', '--json', f('jobs.json')]),
    dmasim([...CAMPAIGN, '--shard', '1/2', '--json', f('s1.json')]),
    dmasim([...CAMPAIGN, '--shard', '2/2', '--json', f('s2.json')]),
  ]);
  for (const r of runs) expect(r.code, r.stderr).toBe(1); // injected bugs were found
  const merge = await dmasim(['merge', f('s1.json'), f('s2.json'), '--json', f('merged.json')]);
  expect(merge.code, merge.stderr).toBe(1);
  const [one, jobs, s1, s2, merged] = ['one', 'jobs', 's1', 's2', 'merged'].map((n) => readReport(f(`${n}.json`)));
  for (const r of [one, jobs, s1, s2, merged]) expect(schemaErrors(r)).toBe('');
  expect(one!.config.kinds).toEqual(KIND_NAMES);
  expect(s1!.seeds.count + s2!.seeds.count).toBe(4);
  expect(one!.result.injectedTransfers).toBeGreaterThan(0);
  expect(one!.result.violationCounts.unexpected).toBe(0);
  expect(totalsOf(jobs!)).toEqual(totalsOf(one!));
  expect(totalsOf(merged!)).toEqual(totalsOf(one!));
  expect(merged!.shards).toEqual({ count: 2, indices: [1, 2] });
  expect(merged!.failures.map((x) => x.seed)).toEqual(one!.failures.map((x) => x.seed));
  expect(merged!.failures.map((x) => x.reproduce)).toEqual(one!.failures.map((x) => x.reproduce));
}, 180_000);
