// `npx dmasim …` is the documented way to run a campaign: the bin resolves locally (the package
// depends on itself for its bin link), with no registry lookup (--no-install).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

test('npx --no-install dmasim stress --help prints the usage', async () => {
  const r = await promisify(execFile)('npx', ['--no-install', 'dmasim', 'stress', '--help'], { cwd: new URL('..', import.meta.url).pathname });
  expect(r.stdout).toMatch(/^usage: dmasim stress \[flags\]/);
}, 60_000);
