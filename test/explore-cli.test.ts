// `dmasim explore` (the built bin; npm test builds first): exit 1 with a saved reproducer that
// replays when it finds the race, 0 when the budget passes clean, 2 on usage errors; --list names
// every built-in scenario with what it does.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { SimReport } from '../src/index.js';
import { dmasim, scratchDir } from './stress-helpers.js';
import { replayReport, validateReport } from './explore-helpers.js';

test('explore --scenario timer-unlock finds it, exits 1, and the reproducer it saved replays', async () => {
  const out = join(scratchDir(), 'timer-unlock.json');
  const r = await dmasim(['explore', '--scenario', 'timer-unlock', '--budget', '20', '--max-replays', '20', '--out', out]);
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toMatch(/violation dma-unlocked in schedule \d+ of \d+ \(seed \d+, random\), by copy-engine#0 copier at step \d+/);
  expect(r.stdout).toMatch(/shrunk: \d+ → \d+ decision runs/);
  expect(r.stdout).toContain(`reproducer: ${out}`);
  expect(r.stdout).toContain(`replay: npx dmasim replay ${out}`);
  expect(existsSync(out)).toBe(true);
  const saved = JSON.parse(readFileSync(out, 'utf8')) as SimReport;
  expect(validateReport(saved)).toBe(true);
  expect(saved.deterministic!.scenario).toEqual({ builtin: 'timer-unlock' });
  const again = await replayReport(saved);
  expect(again.violations[0]).toMatchObject({ code: 'dma-unlocked', step: saved.violations[0]!.step });
  // The command explore printed: `dmasim replay` reproduces the same first violation (exit 0).
  const replayed = await dmasim(['replay', out]);
  expect(replayed.code, replayed.stderr).toBe(0);
  expect(replayed.stdout).toMatch(/REPRODUCED/);
}, 120_000);

test('explore exits 0 when the budget passes without a violation', async () => {
  const r = await dmasim(['explore', '--scenario', 'lock-order-fixed', '--budget', '3', '--strategy', 'pct', '--depth', '3']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/no violation in 3 schedules \(k = \d+ steps\)/);
}, 120_000);

test('explore --module: a scenario whose drivers throw in every schedule is reported, exit 2 (not a clean 0)', async () => {
  const mod = join(scratchDir(), 'broken.mjs');
  writeFileSync(mod, "export const broken = { name: 'broken', async run(sim) { await sim.run(async function driver() { throw new Error('driver bug'); }); } };\n");
  const r = await dmasim(['explore', '--module', mod, '--export', 'broken', '--budget', '2']);
  expect(r.code).toBe(2);
  expect(r.stdout).toMatch(/2 schedules ended with a driver error; the first: driver bug/);
  expect(r.stderr).toMatch(/every schedule ended with a driver error/);
}, 180_000);

test('explore --list names the three demos and their twins, with what they do', async () => {
  const r = await dmasim(['explore', '--list']);
  expect(r.code).toBe(0);
  for (const name of ['timer-unlock', 'ring-index-race', 'lock-order']) {
    expect(r.stdout).toMatch(new RegExp(`^${name} +\\S`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^${name}-fixed +\\S.*twin of ${name}`, 'm'));
  }
});

test.each([
  [['explore'], /name a scenario/],
  [['explore', '--scenario', 'timer-unlock', '--strategy', 'bfs'], /--strategy takes random or pct/],
  [['explore', '--scenario', 'timer-unlock', '--budget', '0'], /--budget takes an integer from 1/],
  [['explore', '--scenario', 'timer-unlock', '--depth', '2'], /--depth is for --strategy pct/],
  [['explore', '--scenario', 'timer-unlock', '--code', 'dma-bogus'], /--code takes a violation code/],
  [['explore', '--scenario', 'no-such-demo'], /no built-in scenario "no-such-demo"/],
  [['explore', '--scenario', 'a', '--module', 'b.js'], /--scenario or --module, not both/],
  [['explore', '--frobnicate'], /Unknown option '--frobnicate'/],
])('usage error %j exits 2', async (args, message) => {
  const r = await dmasim(args);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stdout).toBe('');
});
