/**
 * Failures as data. A DDK service that fails returns its DDK failure value and leaves a typed
 * record in `vmm.lastError`; CPU-side accesses that fault throw a `PageFault` carrying the address
 * and the reason.
 */

/** Stable kebab-case failure codes of the VMM services. */
export type VmmErrorCode =
  | 'invalid-argument'
  | 'reserved-flags'
  | 'invalid-flags'
  | 'zero-count'
  | 'invalid-range'
  | 'invalid-region'
  | 'crosses-arena'
  | 'crosses-block'
  | 'not-a-block'
  | 'not-committed'
  | 'already-committed'
  | 'not-locked'
  | 'no-page-table'
  | 'buffer-too-small'
  | 'insufficient-memory'
  | 'address-in-use'
  | 'invalid-page-type'
  | 'invalid-vm'
  | 'invalid-align-mask'
  | 'invalid-phys-range'
  | 'invalid-pager'
  | 'static-block'
  | 'fixed-block'
  | 'aligned-block'
  | 'not-an-alias'
  | 'alias-needs-mapglobal'
  | 'not-freeable'
  | 'not-contiguous'
  | 'lock-count-overflow';

export interface VmmError {
  /** The DDK service name, e.g. '_LinPageLock'. */
  readonly service: string;
  readonly code: VmmErrorCode;
  readonly message: string;
  /** Code-specific fields (the offending argument, page, count …). */
  readonly [field: string]: unknown;
}

/** Why a CPU-side access faulted. */
export type PageFaultReason = 'invalid-region' | 'free' | 'reserved' | 'stale-alias' | 'out-of-memory';

/** Thrown by `sim.cpu` accesses that the simulated CPU cannot complete. */
export class PageFault extends Error {
  override readonly name = 'PageFault';
  constructor(
    readonly address: number,
    readonly reason: PageFaultReason,
    readonly write: boolean,
  ) {
    super(`page fault on ${write ? 'write' : 'read'} at 0x${address.toString(16).toUpperCase().padStart(8, '0')}: ${reason}`);
  }
}

/** A programming error in how the simulator itself was used (bad options, use after close). */
export class SimulatorError extends Error {
  override readonly name = 'SimulatorError';
}
