// Self-tests of the checker: with one check broken on purpose (src/sabotage.ts: the ports of a
// simulator created with the internal SABOTAGE option), the bug corpus must FAIL — the entries that
// check exists for go undetected. For each sabotage this asserts that the set of bug entries no
// longer caught is non-empty and is exactly the set of entries declaring that sabotage in their
// `blindedBy`; and that with no sabotage every one of them is caught (corpus.test.ts). A corpus that
// passed with a broken checker would prove nothing. Known-gap entries are left out (never caught),
// and so are entries whose verdict is a leak or a DDK error: those are judged on the main thread from
// the VMM's and the host's own state, which no port check (and so no sabotage) takes part in.
import { describe, expect, test } from 'vitest';
import { VIOLATION_CODES } from '../src/index.js';
import { SABOTAGE_NAMES, type SabotageName } from '../src/sabotage.js';
import { UPDATE_DOCS, detected, loadCorpus, readmeBlock, renderSabotageTable, runEntry, writeReadmeBlock, type Outcome } from './corpus-runner.js';

const corpus = await loadCorpus();
const PORT_CODES: ReadonlySet<string> = new Set(VIOLATION_CODES);
const bugs = corpus.filter((e) => e.expected.verdict === 'bug' && !e.expected.knownGap && PORT_CODES.has(e.expected.code));

const WHAT: Readonly<Record<SabotageName, string>> = {
  'no-epoch-bump': 'epochs not bumped on unlock (a frame is seen at the epoch its driver was handed it)',
  'ignore-handouts': 'the hand-out table ignored (every frame counts as handed out to every driver)',
  'dirty-rule-off': 'the dirty rule off (device writes need no PAGEMARKDIRTY)',
};

const blinded = new Map<SabotageName, Outcome[]>();

describe('with a check broken, the corpus fails', () => {
  for (const sabotage of SABOTAGE_NAMES) {
    test(`${sabotage}: the entries it should blind go undetected, and only those`, async () => {
      const outcomes: Outcome[] = [];
      for (const entry of bugs) outcomes.push(await runEntry(entry, { sabotage }));
      const errors = outcomes.filter((o) => o.status === 'error').map((o) => `${o.entry.id}: ${o.error}`);
      expect(errors, 'entries must still run to the end with a broken checker').toEqual([]);
      const missedOutcomes = outcomes.filter((o) => !detected(o));
      blinded.set(sabotage, missedOutcomes);
      const missed = missedOutcomes.map((o) => o.entry.id);
      const should = bugs.filter((e) => e.blindedBy?.includes(sabotage)).map((e) => e.id);
      expect(should.length, `some entry must declare blindedBy: ['${sabotage}']`).toBeGreaterThan(0);
      expect(missed.length, `the corpus still passes with ${sabotage}: it proves nothing about that check`).toBeGreaterThan(0);
      expect(missed).toEqual(should);
    });
  }
});

test('the README sabotage table is what these results render', async () => {
  expect([...blinded.keys()].sort(), 'every sabotage ran').toEqual([...SABOTAGE_NAMES].sort());
  const table = renderSabotageTable(SABOTAGE_NAMES.map((s) => ({ sabotage: s, what: WHAT[s], blinded: blinded.get(s)!, bugs: bugs.length })));
  if (UPDATE_DOCS) writeReadmeBlock('sabotage-table', table);
  else expect(readmeBlock('sabotage-table'), 'README sabotage table (DMASIM_UPDATE_DOCS=1 npm test regenerates it)').toBe(table);
});

test('the sabotage switch is internal: not exported from the package root, and off unless asked for', async () => {
  const api = await import('../src/index.js');
  expect(Object.keys(api).filter((k) => /sabotage/i.test(k))).toEqual([]);
  const { createSimulator } = api;
  const { sharedOf } = await import('./internals.js');
  const { H } = await import('../src/layout.js');
  const sim = await createSimulator({});
  try {
    expect(Atomics.load(sharedOf(sim).control, H.SABOTAGE)).toBe(0);
  } finally {
    await sim.close();
  }
});
