/**
 * The stress campaign report (`--json`, schema/stress.schema.json): the configuration a run was
 * made with, the seeds it covered (a shard's, or several shards' after `dmasim merge`), exact
 * totals, bounded lists of the records behind them, and one entry per failing seed with the
 * command that reproduces it. Totals are sums over seeds, so shards merge by adding them; the
 * verdict is recomputed from the merged totals.
 */

import { arch, cpus, platform, release, totalmem } from 'node:os';
import { VIOLATION_CODES, type DeviceFault, type Leak, type ViolationCode } from '../index.js';
import { dmasimVersion } from '../version.js';
import { INJECTIONS, type Injection } from './inject.js';
import { reproduceCommand, shardSize, type StressConfig } from './config.js';
import type { InjectedCount, JudgedViolation } from './loop.js';
import type { SeedResult } from './seed.js';

export const STRESS_SCHEMA_VERSION = 1;
export const REPORT_KIND = 'dmasim-stress';

/** Bounds on the lists a report carries in full (totals stay exact). */
export const KEEP = { violations: 100, faults: 50, leaks: 50, failures: 1000, seedRuns: 1000 } as const;

export interface StressResult {
  readonly verdict: 'pass' | 'fail';
  readonly exitCode: 0 | 1;
  readonly seedsRun: number;
  readonly seedsFailed: number;
  readonly transfers: number;
  readonly injectedTransfers: number;
  readonly bytesVerified: number;
  readonly bytesLost: number;
  readonly violationCounts: { readonly total: number; readonly expected: number; readonly unexpected: number; readonly byCode: Readonly<Record<ViolationCode, number>> };
  readonly violations: readonly (JudgedViolation & { readonly seed: number })[];
  readonly violationsOmitted: number;
  readonly injected: Readonly<Partial<Record<Injection, InjectedCount>>>;
  readonly faults: readonly { readonly seed: number; readonly fault: DeviceFault }[];
  readonly faultCount: number;
  readonly hangs: number;
  readonly leaks: { readonly expected: number; readonly unexpected: number; readonly records: readonly { readonly seed: number; readonly leak: Leak }[] };
  readonly timings: { readonly wallMs: number; readonly seedMs: number; readonly setupMs: number; readonly teardownMs: number };
  /** Verified pages (4 KiB of payload) per second of seed run time: one simulator's rate. */
  readonly pagesPerSecond: number;
  /** Verified pages per second of wall time: with --jobs, the machine's rate. */
  readonly wallPagesPerSecond: number;
}

export interface SeedFailure {
  readonly seed: number;
  /** The reasons in one line. */
  readonly reason: string;
  readonly reasons: readonly string[];
  readonly reproduce: string;
  readonly html?: string;
  /** Deterministic mode: `npx dmasim replay <report>`, which reruns this very schedule. */
  readonly replay?: string;
  /** Deterministic mode: the seed's simulator report (with its decisions). */
  readonly report?: string;
  readonly traceHash?: string;
}

/** Deterministic mode: one seed's run, by its trace hash. */
export interface SeedRun {
  readonly seed: number;
  readonly traceHash: string;
  readonly steps: number;
  readonly report?: string;
}

export interface StressReport {
  readonly schemaVersion: typeof STRESS_SCHEMA_VERSION;
  readonly kind: typeof REPORT_KIND;
  readonly tool: { readonly name: 'dmasim'; readonly version: string };
  readonly node: string;
  readonly createdAt: string;
  readonly machine: { readonly os: string; readonly arch: string; readonly cpus: number; readonly cpuModel: string; readonly memoryBytes: number };
  /** The command line(s) that made it (a merge lists its inputs' commands). */
  readonly commands: readonly string[];
  readonly config: StressConfig;
  /** The shards of the seed range this report covers (N = count; indices 1-based). */
  readonly shards: { readonly count: number; readonly indices: readonly number[] };
  readonly jobs: number;
  readonly seeds: { readonly count: number; readonly failed: number };
  readonly result: StressResult;
  readonly failures: readonly SeedFailure[];
  readonly failuresOmitted: number;
  /** Deterministic mode: every seed's trace hash (the first KEEP.seedRuns by seed). */
  readonly seedRuns?: readonly SeedRun[];
  readonly seedRunsOmitted?: number;
}

/** Sums seed results as they come (any order); `finish` makes the result. */
export class Totals {
  seeds = 0;
  failed = 0;
  transfers = 0;
  injectedTransfers = 0;
  bytesVerified = 0;
  bytesLost = 0;
  violations = { total: 0, expected: 0, unexpected: 0 };
  readonly byCode = Object.fromEntries(VIOLATION_CODES.map((c) => [c, 0])) as Record<ViolationCode, number>;
  readonly kept: (JudgedViolation & { seed: number })[] = [];
  violationsOmitted = 0;
  readonly injected: Partial<Record<Injection, InjectedCount>> = {};
  readonly faults: { seed: number; fault: DeviceFault }[] = [];
  faultCount = 0;
  hangs = 0;
  leaks = { expected: 0, unexpected: 0 };
  readonly leakRecords: { seed: number; leak: Leak }[] = [];
  seedMs = 0;
  setupMs = 0;
  teardownMs = 0;
  readonly failures: SeedFailure[] = [];
  failuresOmitted = 0;
  readonly seedRuns: SeedRun[] = [];
  seedRunsOmitted = 0;

  constructor(private readonly config: StressConfig) {
    for (const i of config.inject) this.injected[i.kind] = { injected: 0, detected: 0, skipped: 0 };
  }

  add(r: SeedResult): void {
    this.seeds++;
    this.transfers += r.transfers;
    this.injectedTransfers += r.injectedTransfers;
    this.bytesVerified += r.bytesVerified;
    this.bytesLost += r.bytesLost;
    this.violations.total += r.violationCounts.total;
    this.violations.expected += r.violationCounts.expected;
    this.violations.unexpected += r.violationCounts.unexpected;
    for (const [c, n] of Object.entries(r.violationCounts.byCode)) this.byCode[c as ViolationCode] += n;
    this.keep(this.kept, r.violations, KEEP.violations, (n) => (this.violationsOmitted += n));
    for (const [k, n] of Object.entries(r.injected) as [Injection, InjectedCount][]) {
      const t = (this.injected[k] ??= { injected: 0, detected: 0, skipped: 0 });
      t.injected += n.injected;
      t.detected += n.detected;
      t.skipped += n.skipped;
    }
    this.faultCount += r.faults.length;
    this.keep(
      this.faults,
      r.faults.map((fault) => ({ seed: r.seed, fault })),
      KEEP.faults,
      () => undefined,
    );
    this.hangs += r.hangs;
    this.leaks.expected += r.leaks.expected;
    this.leaks.unexpected += r.leaks.unexpected.length;
    this.keep(
      this.leakRecords,
      r.leaks.unexpected.map((leak) => ({ seed: r.seed, leak })),
      KEEP.leaks,
      () => undefined,
    );
    this.seedMs += r.timings.runMs;
    this.setupMs += r.timings.setupMs;
    this.teardownMs += r.timings.teardownMs;
    if (r.traceHash !== undefined) {
      const run: SeedRun = { seed: r.seed, traceHash: r.traceHash, steps: r.steps ?? 0, ...(r.report ? { report: r.report } : {}) };
      this.keep(this.seedRuns, [run], KEEP.seedRuns, (n) => (this.seedRunsOmitted += n));
    }
    if (r.reasons.length > 0) {
      this.failed++;
      const f: SeedFailure = {
        seed: r.seed,
        reason: r.reasons.join('; '),
        reasons: r.reasons,
        reproduce: reproduceCommand(this.config, r.seed, r.transfers),
        ...(r.html ? { html: r.html } : {}),
        ...(r.report ? { replay: replayCommand(r.report), report: r.report } : {}),
        ...(r.traceHash !== undefined ? { traceHash: r.traceHash } : {}),
      };
      this.keep(this.failures, [f], KEEP.failures, (n) => (this.failuresOmitted += n));
    }
  }

  /** Adds another report's totals (a shard being merged). */
  addReport(x: StressReport): void {
    const r = x.result;
    this.seeds += x.seeds.count;
    this.failed += x.seeds.failed;
    this.transfers += r.transfers;
    this.injectedTransfers += r.injectedTransfers;
    this.bytesVerified += r.bytesVerified;
    this.bytesLost += r.bytesLost;
    this.violations.total += r.violationCounts.total;
    this.violations.expected += r.violationCounts.expected;
    this.violations.unexpected += r.violationCounts.unexpected;
    for (const c of VIOLATION_CODES) this.byCode[c] += r.violationCounts.byCode[c] ?? 0;
    this.violationsOmitted += r.violationsOmitted;
    this.keep(this.kept, r.violations, KEEP.violations, (n) => (this.violationsOmitted += n));
    for (const [k, n] of Object.entries(r.injected) as [Injection, InjectedCount][]) {
      const t = (this.injected[k] ??= { injected: 0, detected: 0, skipped: 0 });
      t.injected += n.injected;
      t.detected += n.detected;
      t.skipped += n.skipped;
    }
    this.faultCount += r.faultCount;
    this.keep(this.faults, r.faults, KEEP.faults, () => undefined);
    this.hangs += r.hangs;
    this.leaks.expected += r.leaks.expected;
    this.leaks.unexpected += r.leaks.unexpected;
    this.keep(this.leakRecords, r.leaks.records, KEEP.leaks, () => undefined);
    this.seedMs += r.timings.seedMs;
    this.setupMs += r.timings.setupMs;
    this.teardownMs += r.timings.teardownMs;
    this.failuresOmitted += x.failuresOmitted;
    this.keep(this.failures, x.failures, KEEP.failures, (n) => (this.failuresOmitted += n));
    this.seedRunsOmitted += x.seedRunsOmitted ?? 0;
    this.keep(this.seedRuns, x.seedRuns ?? [], KEEP.seedRuns, (n) => (this.seedRunsOmitted += n));
  }

  private keep<T>(into: T[], items: readonly T[], max: number, omitted: (n: number) => void): void {
    const room = Math.max(0, max - into.length);
    into.push(...items.slice(0, room));
    if (items.length > room) omitted(items.length - room);
  }

  finish(wallMs: number): StressResult {
    const pages = this.bytesVerified / 4096;
    const failed = this.failed > 0;
    const bySeed = <T extends { seed: number }>(a: T, b: T) => a.seed - b.seed;
    this.failures.sort(bySeed);
    this.seedRuns.sort(bySeed);
    return {
      verdict: failed ? 'fail' : 'pass',
      exitCode: failed ? 1 : 0,
      seedsRun: this.seeds,
      seedsFailed: this.failed,
      transfers: this.transfers,
      injectedTransfers: this.injectedTransfers,
      bytesVerified: this.bytesVerified,
      bytesLost: this.bytesLost,
      violationCounts: { ...this.violations, byCode: { ...this.byCode } },
      violations: [...this.kept].sort(bySeed),
      violationsOmitted: this.violationsOmitted,
      injected: this.injected,
      faults: [...this.faults].sort(bySeed),
      faultCount: this.faultCount,
      hangs: this.hangs,
      leaks: { ...this.leaks, records: [...this.leakRecords].sort(bySeed) },
      timings: { wallMs: r1(wallMs), seedMs: r1(this.seedMs), setupMs: r1(this.setupMs), teardownMs: r1(this.teardownMs) },
      pagesPerSecond: this.seedMs > 0 ? Math.round(pages / (this.seedMs / 1000)) : 0,
      wallPagesPerSecond: wallMs > 0 ? Math.round(pages / (wallMs / 1000)) : 0,
    };
  }
}

const r1 = (x: number) => Math.round(x * 10) / 10;

export function machine(): StressReport['machine'] {
  const c = cpus();
  return { os: `${platform()} ${release()}`, arch: arch(), cpus: c.length, cpuModel: c[0]?.model ?? 'unknown', memoryBytes: totalmem() };
}

export function makeReport(o: { config: StressConfig; shards: { count: number; indices: readonly number[] }; jobs: number; commands: readonly string[]; totals: Totals; wallMs: number }): StressReport {
  const result = o.totals.finish(o.wallMs);
  return {
    schemaVersion: STRESS_SCHEMA_VERSION,
    kind: REPORT_KIND,
    tool: { name: 'dmasim', version: dmasimVersion() },
    node: process.version,
    createdAt: new Date().toISOString(),
    machine: machine(),
    commands: o.commands,
    config: o.config,
    shards: { count: o.shards.count, indices: [...o.shards.indices].sort((a, b) => a - b) },
    jobs: o.jobs,
    seeds: { count: o.totals.seeds, failed: o.totals.failed },
    result,
    failures: o.totals.failures,
    failuresOmitted: o.totals.failuresOmitted,
    ...(o.config.deterministic ? { seedRuns: o.totals.seedRuns, seedRunsOmitted: o.totals.seedRunsOmitted } : {}),
  };
}

/** The command that replays a deterministic seed from its report file. */
export function replayCommand(file: string): string {
  return `npx dmasim replay ${/^[\w./@:+-]+$/.test(file) ? file : JSON.stringify(file)}`;
}

/** A report `merge` refuses, with the one line that says why. */
export class ReportError extends Error {
  override readonly name = 'ReportError';
}

/**
 * Checks what merge relies on — the shape, the schema version, and that the totals are numbers
 * that add up — without a schema engine (ajv is a test-time dependency; the tests check every
 * report against schema/stress.schema.json). Throws ReportError naming the first problem.
 */
export function checkReport(x: unknown, name: string): StressReport {
  const bad = (what: string): never => {
    throw new ReportError(`${name} is not a valid dmasim stress report: ${what}`);
  };
  const obj = (v: unknown, what: string): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : bad(`${what} is not an object`));
  const count = (v: unknown, what: string): number => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : bad(`${what} is not a non-negative integer`));
  const list = (v: unknown, what: string): unknown[] => (Array.isArray(v) ? v : bad(`${what} is not an array`));
  const r = obj(x, 'the report');
  if (r.kind !== REPORT_KIND) bad(`kind is ${JSON.stringify(r.kind)}, not "${REPORT_KIND}"`);
  if (r.schemaVersion !== STRESS_SCHEMA_VERSION) bad(`schemaVersion ${JSON.stringify(r.schemaVersion)}; this dmasim reads ${STRESS_SCHEMA_VERSION}`);
  const c = obj(r.config, 'config');
  count(c.devices, 'config.devices');
  for (const k of list(c.kinds, 'config.kinds')) if (typeof k !== 'string') bad('config.kinds holds a non-string');
  if (c.transfers !== null) count(c.transfers, 'config.transfers');
  if (c.seconds !== null && typeof c.seconds !== 'number') bad('config.seconds is not a number or null');
  const seeds = obj(c.seeds, 'config.seeds');
  count(seeds.first, 'config.seeds.first');
  count(seeds.last, 'config.seeds.last');
  if (typeof c.pager !== 'string' || typeof c.memory !== 'number' || typeof c.expectInjected !== 'boolean' || typeof c.deterministic !== 'boolean') bad('config.pager, memory, expectInjected or deterministic is missing');
  for (const i of list(c.inject, 'config.inject')) {
    const o = obj(i, 'config.inject[]');
    if (typeof o.kind !== 'string' || !(INJECTIONS as readonly string[]).includes(o.kind) || typeof o.rate !== 'number') bad('config.inject holds a bad entry');
  }
  const sh = obj(r.shards, 'shards');
  const n = count(sh.count, 'shards.count');
  const idx = list(sh.indices, 'shards.indices').map((i) => count(i, 'shards.indices[]'));
  if (n < 1 || idx.length === 0 || idx.some((i) => i < 1 || i > n) || new Set(idx).size !== idx.length) bad(`shards ${JSON.stringify(r.shards)} are not distinct indices in 1…count`);
  const s = obj(r.seeds, 'seeds');
  const seedCount = count(s.count, 'seeds.count');
  count(s.failed, 'seeds.failed');
  const expectedSeeds = idx.reduce((a, i) => a + shardSize(c as unknown as StressConfig, { index: i, count: n }), 0);
  if (seedCount !== expectedSeeds) bad(`it covers ${seedCount} seeds, but shards ${idx.join(',')}/${n} of seeds ${String(seeds.first)}..${String(seeds.last)} hold ${expectedSeeds}`);
  const res = obj(r.result, 'result');
  for (const k of ['transfers', 'injectedTransfers', 'bytesVerified', 'bytesLost', 'violationsOmitted', 'faultCount', 'hangs'] as const) count(res[k], `result.${k}`);
  const vc = obj(res.violationCounts, 'result.violationCounts');
  const total = count(vc.total, 'result.violationCounts.total');
  count(vc.expected, 'result.violationCounts.expected');
  count(vc.unexpected, 'result.violationCounts.unexpected');
  const byCode = obj(vc.byCode, 'result.violationCounts.byCode');
  let sum = 0;
  for (const code of VIOLATION_CODES) sum += count(byCode[code], `result.violationCounts.byCode.${code}`);
  if (sum !== total) bad(`result.violationCounts.byCode adds up to ${sum}, not its total ${total}`);
  for (const [k, v] of Object.entries(obj(res.injected, 'result.injected'))) {
    if (!(INJECTIONS as readonly string[]).includes(k)) bad(`result.injected has an unknown injection ${k}`);
    const o = obj(v, `result.injected.${k}`);
    const inj = count(o.injected, `result.injected.${k}.injected`);
    if (count(o.detected, `result.injected.${k}.detected`) > inj) bad(`result.injected.${k} detected more than it injected`);
    count(o.skipped, `result.injected.${k}.skipped`);
  }
  list(res.violations, 'result.violations');
  list(res.faults, 'result.faults');
  const leaks = obj(res.leaks, 'result.leaks');
  count(leaks.expected, 'result.leaks.expected');
  count(leaks.unexpected, 'result.leaks.unexpected');
  list(leaks.records, 'result.leaks.records');
  const t = obj(res.timings, 'result.timings');
  for (const k of ['wallMs', 'seedMs', 'setupMs', 'teardownMs']) if (typeof t[k] !== 'number') bad(`result.timings.${k} is not a number`);
  for (const f of list(r.failures, 'failures')) {
    const o = obj(f, 'failures[]');
    if (typeof o.seed !== 'number' || typeof o.reason !== 'string' || typeof o.reproduce !== 'string') bad('failures holds an entry without seed, reason and reproduce');
  }
  count(r.failuresOmitted, 'failuresOmitted');
  for (const k of list(r.commands, 'commands')) if (typeof k !== 'string') bad('commands holds a non-string');
  return x as StressReport;
}

/** The configuration as compared between shards: everything that decides a seed's run. */
export function configKey(c: StressConfig): string {
  return JSON.stringify({ devices: c.devices, kinds: c.kinds, transfers: c.transfers, seconds: c.seconds, seeds: c.seeds, pager: c.pager, memory: c.memory, inject: c.inject, expectInjected: c.expectInjected, deterministic: c.deterministic });
}

/** The first field two configurations differ in, as "pager aggressive vs random". */
export function configDifference(a: StressConfig, b: StressConfig): string {
  for (const k of ['devices', 'kinds', 'transfers', 'seconds', 'seeds', 'pager', 'memory', 'inject', 'expectInjected', 'deterministic'] as const) {
    const x = JSON.stringify(a[k]);
    const y = JSON.stringify(b[k]);
    if (x !== y) return `${k} ${x} vs ${y}`;
  }
  return 'nothing';
}

/**
 * Merges shard reports of one campaign: same configuration, same shard count, disjoint shards.
 * Unless `partial`, every shard must be there. Throws ReportError.
 */
export function mergeReports(inputs: readonly { name: string; report: StressReport }[], opts: { partial: boolean }): StressReport {
  const first = inputs[0];
  if (!first) throw new ReportError('nothing to merge');
  const config = first.report.config;
  const count = first.report.shards.count;
  const owner = new Map<number, string>();
  for (const { name, report } of inputs) {
    if (configKey(report.config) !== configKey(config)) throw new ReportError(`${name} was run with a different configuration than ${first.name}: ${configDifference(config, report.config)}`);
    if (report.shards.count !== count) throw new ReportError(`${name} is a shard of ${report.shards.count}, ${first.name} of ${count}: they are not parts of one campaign`);
    for (const i of report.shards.indices) {
      const other = owner.get(i);
      if (other !== undefined) throw new ReportError(`${name} and ${other} both hold shard ${i}/${count}: its seeds would be counted twice`);
      owner.set(i, name);
    }
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !owner.has(i));
  if (missing.length > 0 && !opts.partial) throw new ReportError(`shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} missing (of seeds ${config.seeds.first}..${config.seeds.last}); --partial merges what is there`);
  const totals = new Totals(config);
  let wallMs = 0;
  for (const { report } of inputs) {
    totals.addReport(report);
    // Shards run side by side (a CI matrix): the campaign took as long as its slowest shard.
    wallMs = Math.max(wallMs, report.result.timings.wallMs);
  }
  return makeReport({
    config,
    shards: { count, indices: [...owner.keys()] },
    jobs: Math.max(...inputs.map((i) => i.report.jobs)),
    commands: inputs.flatMap((i) => i.report.commands),
    totals,
    wallMs,
  });
}
