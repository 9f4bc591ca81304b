// Bad input to `dmasim stress` and `dmasim merge` exits 2 with one clear line on stderr, and runs
// nothing; merge refuses a report that is corrupt, invalid, of another campaign, or incomplete.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { dmasim, readReport, scratchDir } from './stress-helpers.js';

const USAGE: [string[], RegExp][] = [
  [['--bogus'], /unknown flag --bogus/],
  [['--seconds', '-1'], /--seconds takes a positive number .* got "-1"/],
  [['--seconds', '0'], /--seconds takes a positive number/],
  [['--kinds', 'floppy'], /unknown kind "floppy" in --kinds/],
  [['--shard', '3/2'], /--shard takes I\/N/],
  [['--shard', 'one'], /--shard takes I\/N/],
  [['--inject', 'unlock-early:1.5'], /the rate is a share of transfers from 0 to 1/],
  [['--inject', 'sloppy:0.1'], /unknown injection "sloppy"/],
  [['--inject', 'unlock-early'], /--inject takes KIND:RATE/],
  [['--devices', '0'], /--devices takes an integer from 1 to 64/],
  [['--transfers', '5', '--seconds', '1'], /not both/],
  [['--seeds', '9..2'], /the first seed is after the last/],
  [['--memory', '12345'], /--memory takes 1M … 1G bytes/],
  [['stray'], /unexpected argument "stray"/],
];

describe.concurrent('dmasim stress: usage errors exit 2 with one line', () => {
  for (const [args, message] of USAGE) {
    test(args.join(' '), async () => {
      const r = await dmasim(['stress', ...args]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^dmasim stress: /);
      expect(r.stderr).toMatch(message);
    });
  }
});

test('an unknown command exits 2', async () => {
  const r = await dmasim(['stres']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/unknown command "stres"/);
});

describe('dmasim merge refuses what it cannot judge', () => {
  const dir = scratchDir();
  const f = (n: string) => join(dir, n);
  // Two kinds, one device each: the cheapest valid reports (what is merged does not matter here).
  const base = ['stress', '--seeds', '1..2', '--transfers', '4', '--kinds', 'copy-engine,isa-audio', '--devices', '2'];
  let ready: Promise<void> | undefined;
  const shards = () =>
    (ready ??= (async () => {
      const rs = await Promise.all([dmasim([...base, '--shard', '1/2', '--json', f('s1.json')]), dmasim([...base, '--shard', '2/2', '--json', f('s2.json')]), dmasim([...base, '--pager', 'random', '--shard', '2/2', '--json', f('other.json')])]);
      for (const r of rs) expect(r.code, r.stderr).toBe(0);
    })());

  const refused = async (files: string[], message: RegExp, extra: string[] = []) => {
    await shards();
    const r = await dmasim(['merge', ...files, ...extra]);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^dmasim merge: /);
    expect(r.stderr).toMatch(message);
  };

  test('a file that is not JSON', async () => {
    writeFileSync(f('corrupt.json'), '{"schemaVersion": 1, "kind": "dmasim-str');
    await refused([f('s1.json'), f('corrupt.json')], /corrupt\.json is not JSON/);
  });

  test('JSON that is not a stress report, or whose totals do not add up', async () => {
    await shards();
    writeFileSync(f('other-kind.json'), JSON.stringify({ schemaVersion: 1, seed: 1 }));
    await refused([f('other-kind.json')], /other-kind\.json is not a valid dmasim stress report: kind/);
    const tampered = readReport(f('s1.json')) as unknown as { result: { violationCounts: { total: number } } };
    tampered.result.violationCounts.total = 5;
    writeFileSync(f('tampered.json'), JSON.stringify(tampered));
    await refused([f('tampered.json'), f('s2.json')], /byCode adds up to 0, not its total 5/);
  });

  test('reports of different configurations', async () => {
    await refused([f('s1.json'), f('other.json')], /different configuration .*pager "aggressive" vs "random"/);
  });

  test('a shard given twice, and a shard missing', async () => {
    await refused([f('s1.json'), f('s1.json')], /both hold shard 1\/2/);
    await refused([f('s1.json')], /shard 2\/2 missing .* --partial merges what is there/);
  });

  test('no input', async () => {
    await refused([], /give the shard reports to merge/);
  });

  test('the complete set merges, and --partial merges a part', async () => {
    await shards();
    const all = await dmasim(['merge', f('s1.json'), f('s2.json'), '--json', f('all.json')]);
    expect(all.code, all.stderr).toBe(0);
    expect(readReport(f('all.json')).seeds.count).toBe(2);
    const part = await dmasim(['merge', f('s1.json'), '--partial']);
    expect(part.code, part.stderr).toBe(0);
    expect(part.stdout).toMatch(/shard 1\/2: 1 seeds/);
  });
});
