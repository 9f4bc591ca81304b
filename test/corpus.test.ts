// The bug corpus (test/corpus, corpus-lib.ts): every entry run in a fresh simulator under the
// aggressive pager with its own fixed seed, its verdict compared with what the checker found.
// Detection must be 100 % and false positives 0; a known gap is reported as skipped (neither a pass
// nor a failure) until it is caught, and then fails until its knownGap flag goes. The README's
// corpus table is generated from these results: DMASIM_UPDATE_DOCS=1 rewrites it, otherwise this
// test asserts that the committed table is exactly what the results render. (Its deterministic
// column and summary line are corpus-deterministic.test.ts's: carried over here, checked there.)
import { describe, expect, test } from 'vitest';
import { test as simTest } from '../src/vitest.js';
import { PASSING, UPDATE_DOCS, loadCorpus, readmeBlock, renderCorpusTable, runEntry, updateReadmeBlock, type Outcome } from './corpus-runner.js';

const corpus = await loadCorpus();
const outcomes = new Map<string, Outcome>();

function explain(o: Outcome): string {
  const e = o.entry.expected;
  const want = e.verdict === 'clean' ? 'nothing' : [e.code, ...(e.also ?? [])].join(', ');
  return `${o.entry.id} (${o.entry.about.summary}): expected ${want}, found ${o.found.length ? o.found.join(', ') : 'nothing'} → ${o.status}${o.error ? `\n${o.error}` : ''}`;
}

describe('the bug corpus, free-running', () => {
  for (const entry of corpus) {
    test(`${entry.id}: ${entry.about.bugClass}`, async ({ skip }) => {
      const o = await runEntry(entry);
      outcomes.set(entry.id, o);
      if (o.status === 'known-gap') skip(`known gap, not yet caught (fix under way): ${entry.about.summary}`);
      expect(PASSING.has(o.status), explain(o)).toBe(true);
    });
  }

  test('detection is 100 %, false positives 0, and the README table is what these results render', () => {
    expect(outcomes.size, 'every entry ran').toBe(corpus.length);
    const all = [...outcomes.values()];
    const bugs = all.filter((o) => o.entry.expected.verdict === 'bug' && !o.entry.expected.knownGap);
    const clean = all.filter((o) => o.entry.expected.verdict === 'clean');
    expect(bugs.filter((o) => o.status !== 'caught').map(explain), 'bugs not caught').toEqual([]);
    expect(clean.filter((o) => o.status !== 'clean').map(explain), 'false positives').toEqual([]);
    const render = (committed: string | null) => renderCorpusTable(corpus, { 'free-running': all }, committed);
    if (UPDATE_DOCS) updateReadmeBlock('corpus-table', render);
    else {
      const committed = readmeBlock('corpus-table');
      expect(committed, 'README corpus table (DMASIM_UPDATE_DOCS=1 npm test regenerates it)').toBe(render(committed));
    }
  });
});

test('the corpus covers every violation code, every leak code and every device kind', async () => {
  const { VIOLATION_CODES } = await import('../src/index.js');
  const leakCodes = ['lock-leak', 'alias-leak', 'dma-in-flight', 'device-leak'];
  const codes = new Set(corpus.flatMap((e) => (e.expected.verdict === 'bug' ? [e.expected.code] : [])));
  expect([...VIOLATION_CODES, ...leakCodes].filter((c) => !codes.has(c as never))).toEqual([]);
  const kinds = new Set(corpus.map((e) => e.about.device));
  expect([...kinds].sort()).toEqual(['copy-engine', 'ide-busmaster', 'isa-audio', 'nic', 'test-probe', 'vmm']);
  expect(corpus.length).toBeGreaterThanOrEqual(30);
});

// An entry is a driver over the fixture's context shape: it runs inside a dmasim/vitest test too,
// whose teardown then judges it as it judges any driver test.
const byId = (id: string) => corpus.find((e) => e.id === id)!;
simTest('a clean entry inside the dmasim/vitest fixture: its teardown finds nothing', async ({ sim }) => {
  await byId('ce-clean-copy').driver({ sim, mode: 'free-running' });
});
simTest('a bug entry inside the fixture: the matcher claims its violation', async ({ sim }) => {
  await byId('ce-unlock-before-doorbell').driver({ sim, mode: 'free-running' });
  expect(sim).toHaveDmaViolation('dma-unlocked', { device: { kind: 'copy-engine' } });
});
