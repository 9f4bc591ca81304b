/**
 * The JSON report of one simulator (sim.report()): facts fixed when they happened, JSON-safe (no
 * bigint, no undefined in arrays, no class instances), validated by schema/report.schema.json.
 * Types only.
 */

import type { ScheduleRecord } from '../sched/scheduler.js';
import type { DeviceFault, DeviceRef, Violation, ViolationCounts } from '../report.js';
import type { TraceEvent, TraceStats } from '../trace.js';

export const REPORT_SCHEMA_VERSION = 1;

export type LeakCode = 'lock-leak' | 'alias-leak' | 'dma-in-flight' | 'device-leak';

/**
 * Something still held when it should not be (at close, or whenever sim.leaks() is asked): in the
 * shape of a violation record, so the same renderers and matchers handle both.
 */
export interface Leak {
  readonly code: LeakCode;
  readonly message: string;
  /** The driver that holds it (the lock-taker, the alias's creator, the device's driver). */
  readonly driver: string | null;
  readonly device: DeviceRef | null;
  /** The frame concerned, or -1. */
  readonly frame: number;
  /** The linear page concerned, or null. */
  readonly linearPage: number | null;
  /** Locks of this driver still held on the page (lock-leak), aliases (alias-leak). */
  readonly count: number;
  readonly detail: Readonly<Record<string, number>>;
  /** Where it was taken (lock stack, alias creation, attach). */
  readonly stacks: { readonly taken?: string[] };
  /** Deterministic mode: the scheduler step at which it was found (the last step of the run, for leaks at close). */
  readonly step?: number;
}

export interface SimReport {
  readonly schemaVersion: typeof REPORT_SCHEMA_VERSION;
  readonly tool: { readonly name: 'dmasim'; readonly version: string };
  readonly node: string;
  /** ISO time the report was made. */
  readonly createdAt: string;
  readonly seed: number;
  /** The simulator's options as given, with defaults filled in (JSON-safe). */
  readonly options: Readonly<Record<string, unknown>>;
  readonly memory: { readonly bytes: number; readonly frames: number };
  /** Driver context names by index (trace events name drivers by index). */
  readonly drivers: readonly string[];
  readonly violations: readonly Violation[];
  readonly violationCounts: ViolationCounts;
  readonly leaks: readonly Leak[];
  readonly faults: readonly DeviceFault[];
  /** Devices attached over the simulator's life (attachment order). */
  readonly devices: readonly (DeviceRef & { readonly driver: string; readonly detached: boolean })[];
  readonly counters: {
    readonly pager: Readonly<Record<string, number>>;
    readonly violationsDropped: number;
    readonly faultsTotal: number;
  };
  /** The trace window kept (the most recent events), in sequence order. */
  readonly trace: { readonly enabled: boolean; readonly stats: TraceStats; readonly events: readonly TraceEvent[] };
  /** Deterministic mode only: the schedule (for replay) and the trace hash. */
  readonly deterministic?: ScheduleRecord & { readonly traceHash: string };
}
