/**
 * The driver bugs a stress campaign injects on purpose (`--inject KIND:RATE`), and what counts as
 * the checker catching each. A table, so the CLI, the planner, the accounting and the README agree.
 *
 * Every injection is made to bite by construction (the kind drivers in ./kinds/ say how), and is
 * "detected" only when the checker reports it for that very transfer:
 *  - a DMA bug (`class: 'dma'`): a violation record of the transfer's device whose command number
 *    is one of the transfer's doorbells, with one of `codes`. A DMA bug runs alone (no other
 *    transfer in flight, no other driver step between its programming and its interrupt), so the
 *    frame states its device meets — and so the codes it gets — follow from the seed alone;
 *  - `double-unlock`: the DDK refuses the second unlock with `vmm.lastError.code === 'not-locked'`;
 *  - `leak-lock`: a `lock-leak` record of that driver for that page in `sim.leaks()` at seed end.
 */

import type { ViolationCode } from '../report.js';

export const INJECTIONS = ['unlock-early', 'no-lock', 'stale-address', 'short-buffer', 'double-unlock', 'no-markdirty', 'cross-driver', 'leak-lock'] as const;
export type Injection = (typeof INJECTIONS)[number];

export interface InjectionInfo {
  /** 'dma': the device meets the bug (runs alone, violation codes); 'ddk': the DDK or the leak check does. */
  readonly class: 'dma' | 'ddk';
  /** Violation codes that count as detecting a 'dma' bug (any record of the transfer with one of them). */
  readonly codes: readonly ViolationCode[];
  /** One line for --help and the README. */
  readonly what: string;
}

export const INJECTION_INFO: Readonly<Record<Injection, InjectionInfo>> = {
  'unlock-early': { class: 'dma', codes: ['dma-unlocked'], what: 'unlocks the buffers after programming the device, before ringing the doorbell' },
  'no-lock': { class: 'dma', codes: ['dma-unlocked'], what: 'programs the device with PTEs copied from pages it never locked' },
  'stale-address': { class: 'dma', codes: ['dma-stale-address'], what: 'keeps the addresses of the previous lock tenure: unlock, lock again, program the old addresses' },
  'short-buffer': { class: 'dma', codes: ['dma-not-handed-out'], what: 'programs a length that runs past its DMA page into the guard page after it, never handed out' },
  'double-unlock': { class: 'ddk', codes: [], what: 'unlocks a buffer page a second time after the transfer (the DDK must refuse: not-locked)' },
  'no-markdirty': { class: 'dma', codes: ['dma-not-marked-dirty'], what: 'locks a fresh, clean destination without PAGEMARKDIRTY for a device write' },
  'cross-driver': { class: 'dma', codes: ['dma-not-handed-out'], what: "programs its device with an address handed out only to another driver" },
  'leak-lock': { class: 'ddk', codes: [], what: 'locks a page of its own and never unlocks it (a lock-leak at seed end)' },
};

export function isInjection(s: string): s is Injection {
  return (INJECTIONS as readonly string[]).includes(s);
}
