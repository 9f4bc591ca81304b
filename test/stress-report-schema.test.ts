// The stress report schema agrees with the code's tables, and a failing run's report — violation
// records, leaks, failures with their reproduce commands — is valid against it.
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { VIOLATION_CODES } from '../src/index.js';
import { INJECTIONS } from '../src/stress/inject.js';
import { KIND_NAMES } from '../src/stress/kinds/index.js';
import { dmasim, readReport, schemaErrors, scratchDir, stressSchema } from './stress-helpers.js';

test('the schema lists exactly the violation codes and injections the code has', () => {
  const props = (stressSchema as { properties: { result: { properties: Record<string, { properties?: Record<string, { required?: string[]; properties?: unknown }> }> } } }).properties.result.properties;
  expect(props.violationCounts!.properties!.byCode!.required).toEqual([...VIOLATION_CODES]);
  expect(Object.keys(props.injected!.properties!)).toEqual([...INJECTIONS]);
});

test('a failing run: every failing seed has its reason and the command that reproduces it', async () => {
  const dir = scratchDir();
  const json = join(dir, 'fail.json');
  const html = join(dir, 'fail.html');
  const r = await dmasim(['stress', '--seeds', '5..6', '--devices', String(KIND_NAMES.length), '--transfers', '10', '--inject', 'cross-driver:0.3', '--inject', 'leak-lock:0.3', '--json', json, '--html', html]);
  expect(r.code).toBe(1);
  const report = readReport(json);
  expect(schemaErrors(report)).toBe('');
  expect(report).toMatchObject({ schemaVersion: 1, kind: 'dmasim-stress', tool: { name: 'dmasim' }, node: process.version, shards: { count: 1, indices: [1] } });
  expect(report.machine.cpus).toBeGreaterThan(0);
  expect(report.result.violations.length).toBeGreaterThan(0);
  expect(report.failures.map((f) => f.seed)).toEqual([5, 6]);
  for (const f of report.failures) {
    expect(f.reproduce).toBe(`npx dmasim stress --seed ${f.seed} --transfers 10 --devices ${KIND_NAMES.length} --kinds ${KIND_NAMES.join(',')} --pager aggressive --memory 16777216 --inject cross-driver:0.3 --inject leak-lock:0.3`);
    expect(r.stdout).toContain(f.reproduce);
  }
  // The lowest failing seed's simulator report is the HTML page.
  expect(report.failures[0]!.html).toBe(html);
});
