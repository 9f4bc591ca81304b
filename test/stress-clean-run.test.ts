// `dmasim stress` over every kind, aggressive pager, no injected bug: exit 0, every byte verified,
// nothing lost, no violation, no fault or leak — by a fixed number of transfers, and once by time.
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { KIND_NAMES } from '../src/stress/kinds/index.js';
import { dmasim, readReport, schemaErrors, scratchDir } from './stress-helpers.js';

test('a fixed number of transfers per seed: exit 0, nothing lost, no violation, schema-valid', async () => {
  const json = join(scratchDir(), 'clean.json');
  const r = await dmasim(['stress', '--seed', '1', '--transfers', '60', '--pager', 'aggressive', '--json', json]);
  expect(r.stderr).toBe('');
  expect(r.code, r.stdout).toBe(0);
  expect(r.stdout).toMatch(/result\s+PASS/);
  const report = readReport(json);
  expect(schemaErrors(report)).toBe('');
  expect(report.config).toMatchObject({ kinds: KIND_NAMES, devices: 2 * KIND_NAMES.length, transfers: 60, seconds: null, pager: 'aggressive', seeds: { first: 1, last: 1 } });
  expect(report.result).toMatchObject({ verdict: 'pass', exitCode: 0, transfers: 60, bytesLost: 0, violationCounts: { total: 0, unexpected: 0 }, faultCount: 0, hangs: 0, leaks: { unexpected: 0 } });
  expect(report.result.bytesVerified).toBeGreaterThan(0);
  expect(report.failures).toEqual([]);
});

test('--seconds 2: runs by time, still clean', async () => {
  const json = join(scratchDir(), 'timed.json');
  const r = await dmasim(['stress', '--seed', '7', '--seconds', '2', '--json', json]);
  expect(r.code, r.stdout).toBe(0);
  const report = readReport(json);
  expect(schemaErrors(report)).toBe('');
  expect(report.config).toMatchObject({ seconds: 2, transfers: null });
  expect(report.result.transfers).toBeGreaterThan(0);
  expect(report.result).toMatchObject({ bytesLost: 0, violationCounts: { total: 0 } });
});
