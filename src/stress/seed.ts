/**
 * One seed of a campaign: its own simulator, the stress loop over it, the verdict. Runs on the main
 * thread of `dmasim stress` (--jobs 1) or of a piscina worker (workers/stress-seed.ts); takes and
 * returns plain data only. Never throws: whatever goes wrong becomes a reason the seed failed.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSimulator, type DeviceFault, type Leak, type Simulator, type SimulatorOptions, type ViolationCode } from '../index.js';
import type { DeterministicOptions } from '../sched/scheduler.js';
import type { Injection } from './inject.js';
import { StressLoop, type InjectedCount, type JudgedViolation, type LoopConfig, type LostTransfer } from './loop.js';
import type { StressConfig } from './config.js';

export interface SeedTask {
  readonly config: StressConfig;
  readonly seed: number;
  /** Live counters for progress: [transfers, violations] at `slot * 2`. */
  readonly progress?: Int32Array | undefined;
  readonly slot?: number;
  /** Where a failing seed writes its HTML report (`seed-N.html`), or null. */
  readonly htmlDir?: string | null;
  /** The lowest failing seed known so far (index 0), shared between jobs: higher seeds skip their HTML. */
  readonly lowestFailing?: Float64Array | undefined;
  /** Deterministic mode: where a failing seed (every seed, with `keepReports`) writes `seed-N.json`. */
  readonly reportDir?: string | null;
  readonly keepReports?: boolean;
}

export interface SeedResult {
  readonly seed: number;
  readonly transfers: number;
  readonly injectedTransfers: number;
  readonly bytesVerified: number;
  readonly bytesLost: number;
  readonly violationCounts: { readonly total: number; readonly expected: number; readonly unexpected: number; readonly byCode: Readonly<Partial<Record<ViolationCode, number>>> };
  readonly violations: readonly (JudgedViolation & { readonly seed: number })[];
  readonly injected: Readonly<Partial<Record<Injection, InjectedCount>>>;
  readonly faults: readonly DeviceFault[];
  readonly hangs: number;
  readonly leaks: { readonly expected: number; readonly unexpected: readonly Leak[] };
  readonly lost: readonly LostTransfer[];
  readonly timings: { readonly setupMs: number; readonly runMs: number; readonly teardownMs: number };
  /** Why the seed failed; empty when it passed. */
  readonly reasons: readonly string[];
  /** The HTML report written for it, if any. */
  readonly html?: string;
  /** Deterministic mode: the trace hash of the run (same seed and config → same hash). */
  readonly traceHash?: string;
  /** Deterministic mode: scheduler steps taken. */
  readonly steps?: number;
  /** Deterministic mode: the simulator's JSON report written for it (`dmasim replay` takes it). */
  readonly report?: string;
}

/** A stress seed as a deterministic scenario reference (SimReport.deterministic.scenario.stress). */
export type StressScenarioConfig = StressConfig & { readonly seed: number };

/** The simulator keeps this many records in full (the loop stops injecting DMA bugs before). */
const MAX_RECORDS = 4096;
/**
 * Deterministic mode: scheduler steps a seed may take, per transfer. A transfer takes tens to a few
 * hundred steps (an access per descriptor, a step per frame, the waits); far more is a livelock.
 */
const STEPS_PER_TRANSFER = 20_000;

/** The simulator options of a seed (a replay of it builds the same simulator). */
export function seedSimOptions(c: StressConfig): Omit<SimulatorOptions, 'seed' | 'deterministic'> {
  return { memory: c.memory, pager: c.pager, maxRecords: MAX_RECORDS, maxDevices: Math.max(16, c.devices), maxDrivers: c.devices + 2 };
}

/** The deterministic options of a seed: the scenario reference its report carries, its step bound. */
export function seedDeterministic(c: StressConfig, seed: number): DeterministicOptions {
  const ref: StressScenarioConfig = { ...c, seed };
  return { scenario: { stress: ref }, maxSteps: Math.max(2_000_000, (c.transfers ?? 0) * STEPS_PER_TRANSFER) };
}

/** The stress loop's configuration of a seed. */
export function seedLoopConfig(c: StressConfig, seed: number): LoopConfig {
  return { devices: c.devices, kinds: c.kinds, inject: c.inject, seed, maxRecords: MAX_RECORDS };
}

export async function runSeed(task: SeedTask): Promise<SeedResult> {
  const { config: c, seed } = task;
  const t0 = performance.now();
  let sim: Simulator | undefined;
  let loop: StressLoop | undefined;
  const errors: string[] = [];
  let setupMs = 0;
  let runMs = 0;
  let tFinish = t0;
  let html: string | undefined;
  let outcome: Awaited<ReturnType<StressLoop['finish']>> | undefined;
  let faults: DeviceFault[] = [];
  let byCode: Partial<Record<ViolationCode, number>> = {};
  let total = 0;
  try {
    sim = await createSimulator({ ...seedSimOptions(c), seed, ...(c.deterministic ? { deterministic: seedDeterministic(c, seed) } : {}) });
    const slot = task.slot ?? 0;
    const progress = task.progress;
    loop = await StressLoop.create(sim, {
      ...seedLoopConfig(c, seed),
      ...(progress
        ? {
            onTransfer: (l: StressLoop) => {
              Atomics.store(progress, slot * 2, l.transfers);
              Atomics.store(progress, slot * 2 + 1, l.expectedViolations + l.unexpectedViolations);
            },
          }
        : {}),
    });
    const t1 = performance.now();
    setupMs = t1 - t0;
    await loop.run(c.transfers !== null ? { transfers: c.transfers } : { until: performance.now() + c.seconds! * 1000 });
    tFinish = performance.now();
    runMs = tFinish - t1;
    outcome = await loop.finish();
    faults = sim.deviceFaults();
    const counts = sim.violationCounts();
    total = counts.total;
    byCode = Object.fromEntries(Object.entries(counts.byCode).filter(([, n]) => n > 0));
  } catch (e) {
    errors.push(`crashed: ${e instanceof Error ? (e.stack ?? e.message).split('\n').slice(0, 3).join(' | ') : String(e)}`);
  }
  const o = outcome;
  const reasons = verdict(c, o, faults, errors);
  if (reasons.length > 0 && sim && task.htmlDir && !(task.lowestFailing && task.lowestFailing[0]! < seed)) {
    try {
      html = join(task.htmlDir, `seed-${seed}.html`);
      await sim.writeHtml(html);
      if (task.lowestFailing && !(task.lowestFailing[0]! < seed)) task.lowestFailing[0] = seed;
    } catch (e) {
      reasons.push(`could not write its HTML report: ${e instanceof Error ? e.message : String(e)}`);
      html = undefined;
    }
  }
  try {
    await sim?.close();
  } catch {
    // Closing ends the workers; a failure here changes nothing the report says.
  }
  let det: { traceHash: string; steps: number; report?: string } | undefined;
  if (sim && c.deterministic) {
    const r = sim.report();
    det = { traceHash: r.deterministic!.traceHash, steps: r.deterministic!.steps };
    if (task.reportDir && (reasons.length > 0 || task.keepReports)) {
      const file = join(task.reportDir, `seed-${seed}.json`);
      try {
        await mkdir(task.reportDir, { recursive: true });
        await writeFile(file, `${JSON.stringify(r)}\n`);
        det.report = file;
      } catch (e) {
        reasons.push(`could not write its JSON report: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
  return {
    seed,
    transfers: o?.transfers ?? loop?.transfers ?? 0,
    injectedTransfers: o?.injectedTransfers ?? 0,
    bytesVerified: o?.bytesVerified ?? 0,
    bytesLost: o?.bytesLost ?? 0,
    violationCounts: { total, expected: o?.violations.expected ?? 0, unexpected: o?.violations.unexpected ?? 0, byCode },
    violations: (o?.violations.kept ?? []).map((v) => ({ seed, ...v })),
    injected: o?.injected ?? {},
    faults,
    hangs: o?.hangs ?? 0,
    leaks: { expected: o?.leaks.expected ?? 0, unexpected: o?.leaks.unexpected ?? [] },
    lost: o?.lost ?? [],
    timings: { setupMs: round(setupMs), runMs: round(runMs), teardownMs: round(performance.now() - tFinish) },
    reasons,
    ...(html ? { html } : {}),
    ...(det ?? {}),
  };
}

const round = (ms: number) => Math.round(ms * 10) / 10;
const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;

/** Why a seed failed, one line per reason (empty: it passed). */
function verdict(c: StressConfig, o: Awaited<ReturnType<StressLoop['finish']>> | undefined, faults: readonly DeviceFault[], errors: readonly string[]): string[] {
  const reasons = [...errors];
  if (!o) return reasons;
  reasons.push(...o.errors);
  if (o.violations.unexpected > 0) {
    const codes = tally(o.violations.kept.filter((v) => !v.expected).map((v) => v.record.code));
    reasons.push(`${plural(o.violations.unexpected, 'violation')} not caused by an injected bug (${codes || 'records not kept in full'})`);
  }
  if (o.bytesLost > 0) reasons.push(`${o.bytesLost} bytes lost in ${plural(o.lost.length, 'transfer')}${o.lost[0] ? ` (first: transfer ${o.lost[0].transfer} on ${o.lost[0].device}: ${o.lost[0].detail})` : ''}`);
  for (const [k, n] of Object.entries(o.injected) as [Injection, InjectedCount][]) {
    if (n.detected < n.injected) reasons.push(`${k}: ${n.injected - n.detected} of ${n.injected} injected not detected`);
  }
  if (o.injectedTransfers > 0 && !c.expectInjected) {
    const kinds = (Object.entries(o.injected) as [Injection, InjectedCount][]).filter(([, n]) => n.injected > 0).map(([k, n]) => (n.injected > 1 ? `${k} ×${n.injected}` : k));
    const found = [o.violations.expected ? plural(o.violations.expected, 'violation record') : '', o.leaks.expected ? plural(o.leaks.expected, 'lock leak') : ''].filter(Boolean).join(' and ');
    reasons.push(`${plural(o.injectedTransfers, 'injected bug')} (${kinds.join(', ')})${found ? `: ${found}` : ''}; --expect-injected accepts the detected ones`);
  }
  for (const f of faults) reasons.push(`device fault (${f.kind}) in ${f.device.kind}#${f.device.id}: ${f.message}`);
  if (o.leaks.unexpected.length > 0) reasons.push(`${plural(o.leaks.unexpected.length, 'leak')} (${tally(o.leaks.unexpected.map((l) => l.code))})`);
  return reasons;
}

/** "dma-unlocked ×2, dma-stale-address" */
function tally(codes: readonly string[]): string {
  const m = new Map<string, number>();
  for (const c of codes) m.set(c, (m.get(c) ?? 0) + 1);
  return [...m].map(([c, n]) => (n > 1 ? `${c} ×${n}` : c)).join(', ');
}
