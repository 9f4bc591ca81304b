/**
 * What every kind driver needs: locks it can always undo (a transfer that faults mid-way leaves
 * nothing held after tear-down), physical addresses from _CopyPageTable with their presence
 * checked, and byte comparison that costs a memcmp, not a JavaScript loop.
 */

import { P_PRES, type DriverContext } from '../../index.js';

export const PAGE = 4096;

/** A DDK call failed where a correct driver's call cannot: the stress run itself is broken. */
export class KindError extends Error {
  override readonly name = 'KindError';
}

/** Pages covered by `size` bytes starting `offset` bytes into a page-aligned buffer. */
export function pagesSpanned(offset: number, size: number): number {
  return Math.ceil((offset + size) / PAGE);
}

/** The locks a driver holds, by linear page range, so tear-down can drop whatever is left. */
export class HeldLocks {
  private readonly held = new Map<number, number[]>();

  constructor(private readonly drv: DriverContext) {}

  lock(page: number, n: number, flags: number): void {
    if (!this.drv.vmm.linPageLock(page, n, flags)) throw new KindError(`_LinPageLock(${page.toString(16)}, ${n}) failed: ${this.drv.vmm.lastError?.message ?? '?'}`);
    const list = this.held.get(page);
    if (list) list.push(n);
    else this.held.set(page, [n]);
  }

  unlock(page: number, n: number): void {
    const list = this.held.get(page);
    const at = list ? list.lastIndexOf(n) : -1;
    if (!list || at < 0) throw new KindError(`dmasim stress internal: unlock of ${n} pages at ${page.toString(16)} that this driver does not hold`);
    list.splice(at, 1);
    if (list.length === 0) this.held.delete(page);
    if (!this.drv.vmm.linPageUnLock(page, n, 0)) throw new KindError(`_LinPageUnLock(${page.toString(16)}, ${n}) failed: ${this.drv.vmm.lastError?.message ?? '?'}`);
  }

  /** Drops every lock still held (tear-down after a fault); errors are ignored. */
  releaseAll(): void {
    for (const [page, list] of this.held) for (const n of list) this.drv.vmm.linPageUnLock(page, n, 0);
    this.held.clear();
  }
}

/**
 * _CopyPageTable for `n` pages from `page`: the physical address of each. Every page must be
 * present (locked, or just touched with the pager paused); anything else is a KindError.
 */
export function physOf(drv: DriverContext, page: number, n: number, scratch: Uint32Array): number[] {
  const buf = scratch.length >= n ? scratch.subarray(0, n) : new Uint32Array(n);
  if (!drv.vmm.copyPageTable(page, n, buf, 0)) throw new KindError(`_CopyPageTable(${page.toString(16)}, ${n}) failed: ${drv.vmm.lastError?.message ?? '?'}`);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const e = buf[i]!;
    if (!(e & P_PRES)) throw new KindError(`page ${(page + i).toString(16)} is not present after locking`);
    out[i] = (e & ~0xfff) >>> 0;
  }
  return out;
}

/** True if the two byte ranges are equal (a native compare). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** How many bytes differ, and where the first one is (-1: none). Only called when they do differ. */
export function diffBytes(got: Uint8Array, want: Uint8Array): { count: number; first: number } {
  let count = Math.abs(got.length - want.length);
  let first = -1;
  const n = Math.min(got.length, want.length);
  for (let i = 0; i < n; i++) {
    if (got[i] !== want[i]) {
      count++;
      if (first < 0) first = i;
    }
  }
  return { count, first: first < 0 && count > 0 ? n : first };
}

/** A window of `size` bytes of the shared random pattern (`a`) and its complement (`b`), from `rng`. */
export function patternWindow(p: { a: Uint8Array; b: Uint8Array; span: number }, at: number, size: number): { payload: Uint8Array; poison: Uint8Array } {
  return { payload: p.a.subarray(at, at + size), poison: p.b.subarray(at, at + size) };
}
