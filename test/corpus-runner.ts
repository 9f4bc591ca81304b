/**
 * Runs the bug corpus (test/corpus/*.ts, shapes in corpus-lib.ts): every entry in a fresh simulator
 * (pager 'aggressive', a seed fixed per entry — FNV-1a of its id, as the fixture derives one from a
 * test's name), its codes gathered the way the fixture's teardown finds problems — violations,
 * leaks after close, plus every DDK call that failed — and judged against the entry's verdict.
 * Renders the results table the README shows, and keeps README blocks equal to what it renders.
 */

import { closeSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createSimulator, type DriverContext, type SimReport, type Simulator, type VmmServices } from '../src/index.js';
import { SABOTAGE, type SabotageName, type SabotagedOptions } from '../src/sabotage.js';
import { seedFor } from '../src/vitest.js';
import type { CorpusCode, CorpusEntryModule, CorpusMode, Expected } from './corpus-lib.js';

const DIR = new URL('./corpus/', import.meta.url);
const README = new URL('../README.md', import.meta.url);

export interface CorpusEntry extends CorpusEntryModule {
  /** The file's name without `.ts`. */
  readonly id: string;
}

/** Every entry in test/corpus, by file name (adding an entry is adding a file). */
export async function loadCorpus(): Promise<CorpusEntry[]> {
  const files = readdirSync(DIR)
    .filter((f) => f.endsWith('.ts'))
    .sort();
  const out: CorpusEntry[] = [];
  for (const f of files) {
    const m = (await import(new URL(f, DIR).href)) as Partial<CorpusEntryModule>;
    const id = f.slice(0, -3);
    if (typeof m.driver !== 'function' || typeof m.about !== 'object' || typeof m.expected !== 'object') throw new Error(`corpus entry ${id}: exports about, expected and driver`);
    if (m.expected.verdict === 'clean' && m.blindedBy !== undefined) throw new Error(`corpus entry ${id}: a clean entry is blinded by nothing`);
    out.push({ id, about: m.about, expected: m.expected, driver: m.driver, ...(m.blindedBy ? { blindedBy: m.blindedBy } : {}) });
  }
  return out;
}

/**
 * pass: 'caught' (a bug found with its code, nothing else), 'clean' (a clean entry, nothing found);
 * neither: 'known-gap' (a knownGap bug not found); fail: everything else — 'missed', a
 * 'false-positive', 'noisy' (the code plus codes the verdict does not name), 'gap-closed' (a
 * knownGap entry now caught: drop its knownGap), 'error' (the driver threw).
 */
export type Status = 'caught' | 'clean' | 'known-gap' | 'missed' | 'false-positive' | 'noisy' | 'gap-closed' | 'error';

export interface Outcome {
  readonly entry: CorpusEntry;
  readonly mode: CorpusMode;
  readonly found: readonly CorpusCode[];
  readonly status: Status;
  /** For 'error': what the driver threw. */
  readonly error?: string;
  /**
   * Deterministic mode: the run's schedule record with its trace hash (SimReport.deterministic),
   * and the `step` of each violation record (undefined where a record has none).
   */
  readonly deterministic?: DeterministicRun;
}

export type DeterministicRun = NonNullable<SimReport['deterministic']> & { readonly violationSteps: readonly (number | undefined)[] };

export const PASSING: ReadonlySet<Status> = new Set(['caught', 'clean']);

export function judge(expected: Expected, found: readonly CorpusCode[]): Status {
  if (expected.verdict === 'clean') return found.length === 0 ? 'clean' : 'false-positive';
  const allowed = new Set<CorpusCode>([expected.code, ...(expected.also ?? [])]);
  const extra = found.filter((c) => !allowed.has(c));
  if (!found.includes(expected.code)) return expected.knownGap && found.length === 0 ? 'known-gap' : 'missed';
  if (extra.length > 0) return 'noisy';
  return expected.knownGap ? 'gap-closed' : 'caught';
}

/** Is the entry's bug seen at all (its code among those found)? What a sabotage takes away. */
export function detected(o: Outcome): boolean {
  return o.entry.expected.verdict === 'bug' && o.found.includes(o.entry.expected.code);
}

export interface RunOptions {
  mode?: CorpusMode;
  /** CHECKER SELF-TESTS ONLY: break one check of every DMA port (src/sabotage.ts). */
  sabotage?: SabotageName;
}

/**
 * Runs one entry in a fresh simulator and judges it. Deterministic mode: the same options and seed,
 * the seeded scheduler on (random strategy, from that seed), and the driver run as one task of
 * sim.run — so every device step and driver step is the scheduler's choice, and the outcome carries
 * the run's trace hash and every violation's step.
 */
export async function runEntry(entry: CorpusEntry, run: RunOptions = {}): Promise<Outcome> {
  const mode = run.mode ?? 'free-running';
  const options: SabotagedOptions = { pager: 'aggressive', seed: seedFor(`corpus/${entry.id}`), ...entry.about.options };
  if (mode === 'deterministic') options.deterministic = true;
  if (run.sabotage) options[SABOTAGE] = run.sabotage;
  const sim = await createSimulator(options);
  const ddk = watchDdk(sim);
  let error: string | undefined;
  try {
    if (mode === 'deterministic') await sim.run(() => entry.driver({ sim, mode }));
    else await entry.driver({ sim, mode });
  } catch (e) {
    error = e instanceof Error ? (e.stack ?? e.message) : String(e);
  } finally {
    await sim.close();
  }
  const violations = sim.violations();
  const found = [...new Set<CorpusCode>([...violations.map((v) => v.code), ...sim.leaks().map((l) => l.code), ...ddk])].sort();
  // No entry provokes a device fault: one is a broken entry (or device), never a verdict.
  const faults = sim.deviceFaults().map((f) => `device fault (${f.kind}) in ${f.device.kind}: ${f.message}`);
  if (error === undefined && faults.length > 0) error = faults.join('\n');
  const det = mode === 'deterministic' ? { deterministic: { ...sim.report().deterministic!, violationSteps: violations.map((v) => v.step) } } : {};
  if (error !== undefined) return { entry, mode, found, status: 'error', error, ...det };
  return { entry, mode, found, status: judge(entry.expected, found), ...det };
}

/** The VMM services (README "The VMM services"): each call's failure is noted as `ddk:<code>`. */
const SERVICES = [
  'pageAllocate', 'pageFree', 'pageReAllocate', 'pageReserve', 'pageCommit', 'pageCommitPhys', 'pageCommitContig',
  'pageDecommit', 'pageLock', 'pageUnLock', 'linPageLock', 'linPageUnLock', 'copyPageTable', 'pageQuery',
  'pageModifyPermissions', 'getNulPageHandle', 'getSysVMHandle', 'getFreePageCount', 'pageGetAllocInfo',
  'pageGetSizeAddr', 'pageCheckLinRange', 'mapPhysToLinear', 'pageDiscardPages',
] as const;

/**
 * Notes every failed DDK call of every driver context of `sim` (the default one and each made by
 * createDriver): lastError right after the call. The services are wrapped on the context's facade
 * object itself, so the driver code runs unchanged; what it does with the failure is its business.
 */
function watchDdk(sim: Simulator): Set<CorpusCode> {
  const seen = new Set<CorpusCode>();
  const wrap = (vmm: VmmServices) => {
    const target = vmm as unknown as Record<string, (...a: unknown[]) => number>;
    for (const name of SERVICES) {
      const service = target[name]!.bind(vmm);
      target[name] = (...args: unknown[]) => {
        const r = service(...args);
        if (vmm.lastError) seen.add(`ddk:${vmm.lastError.code}`);
        return r;
      };
    }
  };
  wrap(sim.vmm);
  const createDriver = sim.createDriver.bind(sim);
  (sim as { createDriver(name: string): DriverContext }).createDriver = (name: string) => {
    const d = createDriver(name);
    wrap(d.vmm);
    return d;
  };
  return seen;
}

// ——— the tables ———

const cell = (s: string) => s.replace(/\|/g, '\\|');
const codes = (cs: readonly string[]) => (cs.length === 0 ? '—' : cs.map((c) => `\`${c}\``).join(', '));
const expectedText = (e: Expected) => (e.verdict === 'clean' ? 'clean' : `\`${e.code}\`${e.also?.length ? ` (+ ${codes(e.also)})` : ''}`);
const RESULT: Readonly<Record<Status, string>> = {
  caught: 'caught',
  clean: 'clean (no false positive)',
  'known-gap': 'known gap (fix under way)',
  missed: '**MISSED**',
  'false-positive': '**FALSE POSITIVE**',
  noisy: '**NOISY**',
  'gap-closed': '**caught: drop knownGap**',
  error: '**ERROR**',
};

/** Each mode's outcomes, as far as the caller ran them (a test file runs one mode). */
export type CorpusResults = { readonly [M in CorpusMode]?: readonly Outcome[] };

const MODE_LINE: Readonly<Record<CorpusMode, string>> = { 'free-running': 'Free running', deterministic: 'Deterministic (the seeded scheduler owning every step, the driver as one task)' };

/**
 * The corpus table: bug class → expected code → what the free-running run found → the verdict in
 * each mode, one row per entry, and a summary line per mode. Each mode's test file runs only its
 * own mode: the other mode's cells (the deterministic column; the found and result columns) and
 * summary line are carried over from `committed` (the README block as it stands), so each file
 * renders — and checks — exactly its own part of the one table.
 */
export function renderCorpusTable(corpus: readonly CorpusEntry[], results: CorpusResults, committed: string | null): string {
  const old = parseCorpusTable(committed);
  const by = (m: CorpusMode) => new Map((results[m] ?? []).map((o) => [o.entry.id, o]));
  const free = by('free-running');
  const det = by('deterministic');
  const rows = [...corpus].sort((a, b) => a.about.device.localeCompare(b.about.device) || a.id.localeCompare(b.id));
  const bugs = corpus.filter((e) => e.expected.verdict === 'bug' && !e.expected.knownGap).length;
  const clean = corpus.filter((e) => e.expected.verdict === 'clean').length;
  const summary = (m: CorpusMode): string => {
    const outcomes = results[m];
    if (!outcomes) return old.summaries.get(m) ?? `${MODE_LINE[m]}: not run.`;
    const caught = outcomes.filter((o) => o.entry.expected.verdict === 'bug' && !o.entry.expected.knownGap && o.status === 'caught').length;
    const fp = outcomes.filter((o) => o.entry.expected.verdict === 'clean' && o.status !== 'clean').length;
    const gaps = outcomes.filter((o) => o.status === 'known-gap').length;
    return `${MODE_LINE[m]}: ${caught} of ${bugs} bugs caught (${bugs === 0 ? 100 : Math.round((100 * caught) / bugs)} %), ${fp} false positives in ${clean} correct drivers, ${gaps} known gap${gaps === 1 ? '' : 's'}.`;
  };
  const row = (e: CorpusEntry) => {
    const key = `\`${e.id}\``;
    const f = free.get(e.id);
    const d = det.get(e.id);
    const was = old.rows.get(key);
    const found = f ? codes(f.found) : (was?.[4] ?? '—');
    const result = f ? RESULT[f.status] : (was?.[5] ?? 'not run');
    const deterministic = d ? (PASSING.has(d.status) ? RESULT[d.status] : `${RESULT[d.status]} (found ${codes(d.found)})`) : (was?.[6] ?? 'not run');
    return `| ${key} | ${e.about.device} | ${cell(e.about.bugClass)} | ${expectedText(e.expected)} | ${found} | ${result} | ${deterministic} |`;
  };
  return [
    '| entry | device | bug class | expected | found (free running) | free running | deterministic |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(row),
    '',
    `${corpus.length} entries, ${bugs} bugs and ${clean} correct drivers:`,
    '',
    `- ${summary('free-running')}`,
    `- ${summary('deterministic')}`,
  ].join('\n');
}

/** The cells of a committed corpus table, by entry cell, and its summary line per mode. */
export function parseCorpusTable(block: string | null): { rows: Map<string, string[]>; summaries: Map<CorpusMode, string> } {
  const rows = new Map<string, string[]>();
  const summaries = new Map<CorpusMode, string>();
  for (const line of (block ?? '').split('\n')) {
    if (line.startsWith('| `')) {
      const cells = line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim());
      rows.set(cells[0]!, cells);
    }
    for (const m of Object.keys(MODE_LINE) as CorpusMode[]) if (line.startsWith(`- ${MODE_LINE[m]}: `)) summaries.set(m, line.slice(2));
  }
  return { rows, summaries };
}

/** The sabotage table: each broken check → the entries that then go undetected, and what was found instead. */
export function renderSabotageTable(rows: readonly { sabotage: SabotageName; what: string; blinded: readonly Outcome[]; bugs: number }[]): string {
  const instead = (o: Outcome) => `\`${o.entry.id}\` (${o.found.length === 0 ? 'nothing found' : `found ${codes(o.found)}`})`;
  return [
    '| sabotage (check broken) | entries that go undetected (what the broken checker found instead) |',
    '|---|---|',
    ...rows.map((r) => `| \`${r.sabotage}\`: ${cell(r.what)} | ${r.blinded.length} of ${r.bugs}: ${r.blinded.map(instead).join(', ')} |`),
  ].join('\n');
}

// ——— generated README blocks ———

const markers = (name: string) => [`<!-- generated: ${name} (DMASIM_UPDATE_DOCS=1 npm test rewrites it) -->\n`, `\n<!-- end: ${name} -->`] as const;

/** The README's block `name` as committed (null if the markers are missing). */
export function readmeBlock(name: string): string | null {
  const text = readFileSync(README, 'utf8');
  const [begin, end] = markers(name);
  const i = text.indexOf(begin);
  const j = text.indexOf(end, i + begin.length);
  return i < 0 || j < 0 ? null : text.slice(i + begin.length, j);
}

/**
 * Rewrites the README's block `name` (only under DMASIM_UPDATE_DOCS=1; the markers must exist).
 * Two test files write blocks of the one README from their own worker processes: the
 * read-modify-write holds an exclusive lock file so neither loses the other's block.
 */
export function writeReadmeBlock(name: string, body: string): void {
  updateReadmeBlock(name, () => body);
}

/**
 * Rewrites the README's block `name` with what `render` makes of the block as committed — read
 * and written under the lock, so two files that each own part of one block (the corpus table's
 * two modes) never lose each other's part.
 */
export function updateReadmeBlock(name: string, render: (committed: string | null) => string): void {
  const lock = new URL('../README.md.lock', import.meta.url);
  const deadline = performance.now() + 10_000;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || performance.now() > deadline) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
  try {
    replaceBlock(name, render(readmeBlock(name)));
  } finally {
    rmSync(lock, { force: true });
  }
}

function replaceBlock(name: string, body: string): void {
  const text = readFileSync(README, 'utf8');
  const [begin, end] = markers(name);
  const i = text.indexOf(begin);
  const j = text.indexOf(end, i + begin.length);
  if (i < 0 || j < 0) throw new Error(`README.md has no block "${name}": add the markers ${JSON.stringify(begin)} … ${JSON.stringify(end)}`);
  writeFileSync(README, text.slice(0, i + begin.length) + body + text.slice(j));
}

export const UPDATE_DOCS = process.env.DMASIM_UPDATE_DOCS === '1';
