// The package as a plain project gets it: `npm pack`, install the tarball in an empty project, then
// type-check (strict, skipLibCheck off) and run a program that imports only documented exports, and
// a vitest suite on the dmasim/vitest fixture that also attaches the README's example device by path.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, expect, test } from 'vitest';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'dmasim-consumer-'));
const own = (p: string) => join(root, p);
const versions = JSON.parse((await import('node:fs')).readFileSync(own('package.json'), 'utf8')) as { devDependencies: Record<string, string> };

beforeAll(async () => {
  // The tarball of what `npm publish` would publish (npm test has just built dist).
  await run('npm', ['pack', '--pack-destination', dir, '--ignore-scripts'], { cwd: root });
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true }));
  for (const f of ['main.ts', 'tsconfig.json']) copyFileSync(own(`test/consumer/${f}`), join(dir, f));
  copyFileSync(own('test/consumer/driver.test.template.ts'), join(dir, 'driver.test.ts'));
  copyFileSync(own('examples/crc-device/crc-device.ts'), join(dir, 'crc-device.ts'));
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', `./${tgz}`, `vitest@${versions.devDependencies.vitest}`, `tsx@${versions.devDependencies.tsx}`, `@types/node@${versions.devDependencies['@types/node']}`], { cwd: dir });
}, 240_000);

test('the installed types check strictly: the program, the fixture test and the example device', async () => {
  const r = await run(process.execPath, [own('node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: dir }).catch((e: { stdout: string }) => e);
  expect(r.stdout).toBe('');
}, 120_000);

test('a program importing only documented exports runs a DMA, reports, finds the schema', async () => {
  const r = await run(process.execPath, ['--import', 'tsx', 'main.ts'], { cwd: dir });
  expect(JSON.parse(r.stdout)).toEqual({ copied: 'from outside', violations: 0, leaks: 0, schema: 'dmasim simulator report (sim.report())' });
}, 120_000);

test('a vitest suite on dmasim/vitest passes, the example device attached by path', async () => {
  const r = await run(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--reporter=json'], { cwd: dir }).catch((e: { stdout: string }) => e);
  const json = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { numPassedTests: number; numFailedTests: number };
  expect([json.numPassedTests, json.numFailedTests]).toEqual([2, 0]);
}, 120_000);

test('the installed bin explores a built-in race and replays the reproducer it saved', async () => {
  const bin = join(dir, 'node_modules', 'dmasim', 'dist', 'src', 'cli', 'main.js');
  const explored = await run(process.execPath, [bin, 'explore', '--scenario', 'timer-unlock', '--budget', '20', '--max-replays', '10', '--out', 'repro.json'], { cwd: dir }).catch((e: { code: number; stdout: string }) => e);
  expect((explored as { code?: number }).code).toBe(1);
  expect(explored.stdout).toContain('replay: npx dmasim replay repro.json');
  const replayed = await run(process.execPath, [bin, 'replay', 'repro.json'], { cwd: dir });
  expect(replayed.stdout).toMatch(/REPRODUCED/);
}, 180_000);

// `npx dmasim …` is the documented way to run a campaign. It is checked here, from a plain project,
// and not inside this repository: there npm 11's exec sees the project's own bin and installs the
// project into its npx cache, running `prepare` (tsc) over dist/ while other test files use it.
test('npx --no-install dmasim resolves the installed bin, with no registry lookup', async () => {
  const r = await run('npx', ['--no-install', 'dmasim', 'stress', '--help'], { cwd: dir });
  expect(r.stdout).toMatch(/^usage: dmasim stress \[flags\]/);
}, 120_000);
