/**
 * A SimReport assembled from the public simulator API, for the HTML report tests until the
 * simulator makes its own (sim.report()). Leaks are not known to the public API yet: none.
 */

import { readFileSync } from 'node:fs';
import type { DeviceHandle, Simulator, SimulatorOptions } from '../src/index.js';
import { REPORT_SCHEMA_VERSION, type SimReport } from '../src/report/types.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** The report of `sim` now; `options` and `devices` are what the test gave and attached. */
export function buildReport(sim: Simulator, extra: { options?: SimulatorOptions; devices?: readonly DeviceHandle[] } = {}): SimReport {
  const counts = sim.violationCounts();
  const faults = sim.deviceFaults();
  const stats = sim.trace.stats();
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: 'dmasim', version: pkg.version },
    node: process.version,
    createdAt: new Date().toISOString(),
    seed: sim.seed,
    options: { seed: sim.seed, memory: sim.memory.bytes, pager: sim.pager.policy, ...extra.options },
    memory: sim.memory,
    violations: sim.violations(),
    violationCounts: counts,
    leaks: [],
    faults,
    devices: (extra.devices ?? []).map((d) => ({ id: d.id, attachment: d.attachment, kind: d.kind, name: d.name, driver: d.driver, detached: false })),
    counters: { pager: { ...sim.pager.stats }, violationsDropped: counts.ringDropped, faultsTotal: faults.length },
    trace: { enabled: sim.trace.enabled, stats, events: sim.trace.events() },
  };
}
