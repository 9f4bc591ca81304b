/**
 * The contract between the stress loop and a kind driver: one module per device kind under
 * src/stress/kinds/, one row in ./index.ts. A kind driver is driver code under test, written
 * against the public API: it sets its device up in the driver context the loop gives it, runs one
 * verified transfer of a given size (and, when asked, with a given bug injected), and tears down.
 *
 * Rules a kind driver keeps, so that a seed reproduces its run and nothing is lost silently:
 *  - every random choice comes from `spec.rng` (a transfer) or `env.rng` (set-up);
 *  - during a transfer, the only awaits are `env.wait(…)` / `env.control(…)` (the loop's turn gate: the main-thread
 *    steps of all drivers then happen in an order fixed by the seed, whatever the threads do);
 *  - every physical address it programs comes from `_CopyPageTable` (or `env.guard` /
 *    `env.foreign`, which the loop set up), every lock is undone by the end of the transfer (or
 *    tear-down) unless the injection is `leak-lock` (which goes through `env.leakLock()`);
 *  - a correct transfer verifies every byte of its payload and reports those that differ;
 *  - an injection it cannot make certain to bite is not made: it returns `injected: false`.
 */

import type { AttachOptions, DeviceHandle, DriverContext, Simulator } from '../../index.js';
import type { Prng } from '../../prng.js';
import type { Injection } from '../inject.js';

export interface TransferSpec {
  /** The loop's transfer number within the seed (0, 1, …). */
  readonly id: number;
  /** Payload bytes asked for: 1 … the kind's maxTransfer (a kind may round it to its rules). */
  readonly size: number;
  /** The bug to inject, or null for a correct transfer. Only ones in the kind's `injections`. */
  readonly injection: Injection | null;
  /** This transfer's own random stream. */
  readonly rng: Prng;
  /** Page-aligned buffers and the simplest command form (the benchmark's fixed-size loop). */
  readonly aligned: boolean;
}

export interface TransferResult {
  /** Payload bytes this transfer carried (after the kind's rounding). */
  readonly bytes: number;
  /** Of a correct transfer: bytes that did not arrive as sent (0 when all verified). */
  readonly lostBytes: number;
  /** False when the injection asked for was not made (the transfer then ran correctly, verified). */
  readonly injected: boolean;
  /** double-unlock: `vmm.lastError.code` after the second unlock (null: the DDK accepted it). */
  readonly ddkError?: string | null;
  /** What went wrong, when bytes were lost (device registers, the first bad offset). */
  readonly detail?: string;
}

export interface KindEnv {
  readonly sim: Simulator;
  /** This device's own driver context (hand-outs and lastError are per driver). */
  readonly driver: DriverContext;
  /** The instance number within its kind (0, 1, …): an ISA device picks its channel by it. */
  readonly index: number;
  /** Set-up randomness. */
  readonly rng: Prng;
  /**
   * Attaches the device, bound to `driver`. `rings(register, value)` says which register writes
   * ring its doorbell (a device's regs module exports it): the loop counts doorbells to tie each
   * violation record (device attachment + command number) to the transfer that rang it.
   * `options` are the kind's attach options (a disk image, a link end).
   */
  attach(kind: string, rings: (index: number, value: number) => boolean, options?: AttachOptions): Promise<DeviceHandle>;
  /**
   * The turn gate: starts `fn` (e.g. `() => dev.waitForInterrupt(…)`), lets the other drivers take
   * their turns while it is pending, and resolves once it has and this driver's turn has come again.
   */
  wait<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * A control request of this driver's device (`() => dev.stats()`, `() => dev.reset()`) through the
   * turn gate, answered once the device has served every doorbell rung before it (a settle point).
   */
  control<T>(request: () => Promise<T>): Promise<T>;
  /**
   * The simulator is deterministic: waits are the scheduler's and time is virtual, so a kind never
   * measures a deadline on the host's clock (each wait gets the whole timeout instead).
   */
  readonly deterministic: boolean;
  /** How long a transfer's interrupt may take before the device counts as hung. */
  readonly timeoutMs: number;
  /**
   * A fixed, physically contiguous 2-page block below 16 MiB in one 64 KiB bank, owned by this
   * driver: `phys` (its first page) was handed out to it; the page after it never is. A length that
   * runs past `phys + 4096` is certain to meet a frame this driver never obtained.
   */
  readonly guard: { readonly lin: number; readonly phys: number };
  /** A page (below 16 MiB, fixed) handed out only to another driver. */
  readonly foreign: number;
  /** Shared payload patterns: `a` random, `b[i] === ~a[i]`; any window of `patternSpan` bytes fits. */
  readonly patterns: { readonly a: Uint8Array; readonly b: Uint8Array; readonly span: number };
  /** Runs `fn` with the pager off (an injection pins the frame states it needs), then restores it. */
  withPagerPaused<T>(fn: () => T): T;
  /** leak-lock: allocates and locks a page of this driver, never unlocked; false if the budget is spent. */
  leakLock(): boolean;
}

export interface KindInstance {
  /** The device (its attachment names the records it causes). */
  readonly device: DeviceHandle;
  transfer(spec: TransferSpec): Promise<TransferResult>;
  /** Unlocks and frees what it holds, detaches the device. */
  tearDown(): Promise<void>;
}

export interface StressKind {
  readonly name: string;
  /** Most instances one simulator can hold (an ISA kind: one per free 8237 channel). */
  readonly maxInstances: number;
  /** Largest payload the loop may ask for. */
  readonly maxTransfer: number;
  /** Frames one instance may hold locked or fixed at once (memory sizing). */
  readonly framesNeeded: number;
  /** The injections this kind can make bite. */
  readonly injections: readonly Injection[];
  setUp(env: KindEnv): Promise<KindInstance>;
}
