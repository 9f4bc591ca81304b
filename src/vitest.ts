/**
 * dmasim inside a driver's vitest suite: `import { test, expect } from 'dmasim/vitest'`.
 *
 *  - `test` is vitest's, extended with a `sim` fixture: a fresh simulator per test (pager
 *    'aggressive', a seed derived from the test's full name), configured per file or describe
 *    block through the `simOptions` fixture (`test.override({ simOptions: { … } })`).
 *  - At teardown the fixture closes the simulator and fails the test, naming each item with its
 *    stacks, when the test leaves behind: a violation no `toHaveDmaViolation` matched, a page still
 *    locked, a global alias still mapped, a DMA in flight (or a command still running), a device
 *    fault no `toHaveDeviceFault` matched, or dropped records. Like KASAN and DMA-API debug: the
 *    test fails even if nobody asserted anything. Its JSON and HTML reports are then written to the
 *    reports folder, and the failure message names them.
 *  - Importing this module registers the matchers on vitest's `expect` (typed below).
 */

import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, test as base } from 'vitest';
import { createSimulator, type Simulator, type SimulatorOptions } from './simulator.js';
import { renderViolation, type DeviceFault, type Violation } from './report.js';
import { renderLeak } from './leaks.js';
import type { Leak } from './report/types.js';
import type { VmmServices } from './vmm/services.js';
import type { VmmErrorCode } from './errors.js';
import type { ViolationCode } from './ring.js';
import type { FaultKind } from './report.js';

export { describe, expect };

/** The fixture's options: simulator options, plus where failing tests' reports go. */
export interface SimFixtureOptions extends SimulatorOptions {
  /** Folder for the JSON and HTML reports of failing tests (default: $DMASIM_REPORTS_DIR or ./dmasim-reports). */
  reportsDir?: string;
  /** Leak codes the teardown accepts (e.g. ['dma-in-flight'] for a test that ends mid-transfer on purpose). */
  allowLeaks?: Leak['code'][];
}

export interface DmasimFixtures {
  simOptions: SimFixtureOptions;
  sim: Simulator;
}

/** What the matchers marked as expected, per simulator: those records do not fail the test. */
const expected = new WeakMap<Simulator, { violations: Set<number>; faults: Set<number> }>();
function marks(sim: Simulator) {
  let m = expected.get(sim);
  if (!m) expected.set(sim, (m = { violations: new Set(), faults: new Set() }));
  return m;
}

/** FNV-1a 32-bit of the test's full name: a stable seed per test, different between tests. */
export function seedFor(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Leaks that fail a test (device-leak does not: the fixture detaches what the test left attached). */
const FAILING_LEAKS: readonly Leak['code'][] = ['lock-leak', 'alias-leak', 'dma-in-flight'];

export const test = base.extend<DmasimFixtures>({
  simOptions: [{}, { injected: false }],
  sim: async ({ simOptions, task, onTestFailed }, use) => {
    const name = task.fullName;
    const { reportsDir, allowLeaks = [], ...opts } = simOptions;
    const seed = opts.seed ?? seedFor(name);
    const sim = await createSimulator({ pager: 'aggressive', ...opts, seed });
    const note = `dmasim seed ${seed} (test "${name}"; createSimulator({ seed: ${seed} }) reproduces its decisions)`;
    // Every failure message names the seed, whoever failed the test.
    onTestFailed(({ task: t }) => appendToErrors(t.result?.errors, `\n\n${note}`));
    try {
      await use(sim);
    } finally {
      await sim.close();
    }
    const m = marks(sim);
    const problems: string[] = [];
    const violations = sim.violations().filter((v) => !m.violations.has(v.seq));
    for (const v of violations) problems.push(renderViolation(v));
    for (const l of sim.leaks()) if (FAILING_LEAKS.includes(l.code) && !allowLeaks.includes(l.code)) problems.push(renderLeak(l));
    for (const f of sim.deviceFaults()) if (!m.faults.has(f.seq)) problems.push(`device fault (${f.kind}) in ${f.device.kind}#${f.device.id}: ${f.message}${f.stack ? `\n${f.stack}` : ''}`);
    const counts = sim.violationCounts();
    if (counts.total > counts.kept) problems.push(`${counts.total - counts.kept} violation records were only counted, not kept (raise maxRecords)`);
    if (counts.ringDropped > 0) problems.push(`${counts.ringDropped} violation records were dropped: the ring was full (raise ringCapacity)`);
    const trace = sim.trace.stats();
    if (trace.dropped > 0) problems.push(`${trace.dropped} trace events were dropped: a producer's ring was full (raise trace.capacity)`);
    const failed = problems.length > 0 || (task.result?.errors?.length ?? 0) > 0;
    let files = '';
    if (failed) {
      const dir = resolve(reportsDir ?? process.env.DMASIM_REPORTS_DIR ?? 'dmasim-reports');
      await mkdir(dir, { recursive: true });
      const stem = join(dir, `${slug(name)}-${seed}`);
      await sim.writeJson(`${stem}.json`);
      await sim.writeHtml(`${stem}.html`);
      files = `\nReports: ${stem}.json\n         ${stem}.html`;
      onTestFailed(({ task: t }) => appendToErrors(t.result?.errors, files));
    }
    if (problems.length > 0) {
      throw new DmasimTeardownError(`the test left ${problems.length} problem${problems.length > 1 ? 's' : ''} behind:\n\n${problems.join('\n\n')}\n\n${note}${files}`);
    }
  },
});

/** Thrown by the fixture's teardown: what the test left behind. */
export class DmasimTeardownError extends Error {
  override readonly name = 'DmasimTeardownError';
}

/** Adds `text` to each error's message (and its stack, which reporters print), once. */
function appendToErrors(errors: { message?: string; stack?: string }[] | undefined, text: string): void {
  for (const e of errors ?? []) {
    if (typeof e.message !== 'string' || e.message.includes(text)) continue;
    const old = e.message;
    e.message = `${old}${text}`;
    if (typeof e.stack === 'string' && e.stack.includes(old)) e.stack = e.stack.replace(old, e.message);
  }
}

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 120) || 'test';
}

/** Does `actual` contain every field of `partial` (deeply; arrays element by element)? */
function partialMatch(actual: unknown, partial: unknown): boolean {
  if (partial === null || typeof partial !== 'object') return Object.is(actual, partial);
  if (actual === null || typeof actual !== 'object') return false;
  if (Array.isArray(partial)) return Array.isArray(actual) && partial.every((p, i) => partialMatch(actual[i], p));
  return Object.entries(partial).every(([k, p]) => partialMatch((actual as Record<string, unknown>)[k], p));
}

function isSimulator(x: unknown): x is Simulator {
  return typeof x === 'object' && x !== null && typeof (x as Simulator).violations === 'function' && typeof (x as Simulator).deviceFaults === 'function';
}

/** Any part of a record, nested objects and arrays included. */
export type DeepPartial<T> = T extends readonly (infer U)[] ? readonly DeepPartial<U>[] : T extends object ? { readonly [K in keyof T]?: DeepPartial<T[K]> } : T;

expect.extend({
  toHaveNoDmaViolations(received: unknown) {
    if (!isSimulator(received)) return { pass: false, message: () => 'expected a dmasim Simulator' };
    const vs = received.violations();
    return {
      pass: vs.length === 0,
      message: () => (vs.length === 0 ? 'expected DMA violations, found none' : `expected no DMA violations, found ${vs.length}:\n\n${vs.map(renderViolation).join('\n\n')}`),
    };
  },

  toHaveDmaViolation(received: unknown, code: ViolationCode, fields?: DeepPartial<Violation>) {
    if (!isSimulator(received)) return { pass: false, message: () => 'expected a dmasim Simulator' };
    const all = received.violations();
    const hits = all.filter((v) => v.code === code && (fields === undefined || partialMatch(v, fields)));
    // Matched records are expected: the fixture's teardown does not fail the test for them.
    if (!this.isNot) for (const v of hits) marks(received).violations.add(v.seq);
    const want = `${code}${fields ? ` matching ${JSON.stringify(fields)}` : ''}`;
    return {
      pass: hits.length > 0,
      message: () =>
        hits.length > 0
          ? `expected no ${want} violation, found ${hits.length}:\n\n${hits.map(renderViolation).join('\n\n')}`
          : `expected a ${want} violation; ${all.length === 0 ? 'there were none' : `there were ${all.length} others:\n\n${all.map(renderViolation).join('\n\n')}`}`,
    };
  },

  toHaveDeviceFault(received: unknown, kind: FaultKind, fields?: DeepPartial<DeviceFault>) {
    if (!isSimulator(received)) return { pass: false, message: () => 'expected a dmasim Simulator' };
    const all = received.deviceFaults();
    const hits = all.filter((f) => f.kind === kind && (fields === undefined || partialMatch(f, fields)));
    if (!this.isNot) for (const f of hits) marks(received).faults.add(f.seq);
    const list = (fs: DeviceFault[]) => fs.map((f) => `  ${f.kind} in ${f.device.kind}#${f.device.id}: ${f.message}`).join('\n');
    return {
      pass: hits.length > 0,
      message: () => (hits.length > 0 ? `expected no ${kind} device fault, found:\n${list(hits)}` : `expected a ${kind} device fault; found ${all.length === 0 ? 'none' : `only:\n${list(all)}`}`),
    };
  },

  toHaveLastError(received: unknown, code: VmmErrorCode, fields?: Record<string, unknown>) {
    const vmm = received as VmmServices;
    if (typeof vmm !== 'object' || vmm === null || !('lastError' in vmm)) return { pass: false, message: () => 'expected a driver context vmm (sim.vmm or driver.vmm)' };
    const e = vmm.lastError;
    const pass = e !== null && e.code === code && (fields === undefined || partialMatch(e, fields));
    return {
      pass,
      message: () => (pass ? `expected the last DDK call not to fail with ${code}` : `expected the last DDK call to fail with ${code}${fields ? ` matching ${JSON.stringify(fields)}` : ''}; lastError is ${e === null ? 'null (it succeeded)' : JSON.stringify(e)}`),
    };
  },
});

interface DmasimMatchers<R = unknown> {
  /** The simulator recorded no DMA violation. */
  toHaveNoDmaViolations(): R;
  /** A violation of `code` whose record contains `fields` was recorded; matched records no longer fail the test at teardown. */
  toHaveDmaViolation(code: ViolationCode, fields?: DeepPartial<Violation>): R;
  /** A device fault of `kind` whose record contains `fields` happened; matched faults no longer fail the test. */
  toHaveDeviceFault(kind: FaultKind, fields?: DeepPartial<DeviceFault>): R;
  /** The driver's last DDK service call failed with `code` (and its error contains `fields`). */
  toHaveLastError(code: VmmErrorCode, fields?: Record<string, unknown>): R;
}

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Matchers<T = any> extends DmasimMatchers<T> {}
}
