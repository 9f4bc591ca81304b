// The short CI stress: every kind, the aggressive pager, fixed seeds, every bug injected now and
// then. With --expect-injected the detected bugs do not fail it: exit 0 means no violation outside
// the injected bugs, no byte lost, every injected bug detected, no fault, hang or stray leak.
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { INJECTIONS } from '../src/stress/inject.js';
import { KIND_NAMES } from '../src/stress/kinds/index.js';
import { dmasim, readReport, schemaErrors, scratchDir } from './stress-helpers.js';

test('CI stress: all kinds, aggressive pager, seeds 1..3, every injection detected, nothing else', async () => {
  const json = join(scratchDir(), 'ci.json');
  const html = join(scratchDir(), 'ci.html');
  const inject = INJECTIONS.flatMap((k) => ['--inject', `${k}:0.1`]);
  const r = await dmasim(['stress', '--seeds', '1..3', '--transfers', '40', '--pager', 'aggressive', ...inject, '--expect-injected', '--jobs', '2', '--json', json, '--html', html]);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  const report = readReport(json);
  expect(schemaErrors(report)).toBe('');
  expect(report.config).toMatchObject({ kinds: KIND_NAMES, devices: 2 * KIND_NAMES.length });
  const res = report.result;
  expect(res).toMatchObject({ verdict: 'pass', bytesLost: 0, faultCount: 0, hangs: 0, violationCounts: { unexpected: 0 }, leaks: { unexpected: 0 } });
  expect(res.transfers).toBe(120);
  for (const k of INJECTIONS) {
    const n = res.injected[k]!;
    expect(n.injected, k).toBeGreaterThan(0);
    expect(n.detected, k).toBe(n.injected);
  }
  expect(res.violationCounts.expected).toBe(res.violationCounts.total);
  expect(res.leaks.expected).toBe(res.injected['leak-lock']!.injected);
  expect(r.stdout).toMatch(/html: /);
}, 120_000);
