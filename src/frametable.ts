/**
 * The frame table's atomic protocol (DESIGN.md §3), in small named functions so that every Atomics
 * call states what it orders and which race it closes. The VMM uses it on the main thread (lock,
 * unlock, move, free, hand-out); the device side — raise its in-flight bit, read the epoch, clear
 * the bit, read it again — is in src/dma/record.ts and src/dma/port.ts.
 *
 * Memory-ordering argument, once: every operation here is a sequentially consistent Atomics
 * operation, so all threads agree on one total order of them. The check that matters is a Dekker
 * pair — the device sets its INFLIGHT bit then reads EPOCH; the unlocker writes EPOCH then reads
 * the INFLIGHT words. Under a single total order at least one side sees the other's write: either
 * the device reads the new (even) epoch and refuses the access, or the unlocker reads the bit and
 * reports an unlock during DMA. No interleaving lets both miss. And when the unlocker does see the
 * bit, the device's clear comes after that read, so the device's end-of-access epoch read (after its
 * clear) sees the new epoch too: both sides know, and report.ts keeps one record per unlock.
 */

import { HANDOUT_NEVER, type Epoch, type Frame } from './address.js';
import { FF, FT, ftIndex, handoutIndex, type SharedViews } from './layout.js';

/**
 * Epochs are read modulo 2^30. The counter word itself wraps at 2^32 after ~4e9 bumps; masking keeps
 * every epoch a non-negative number with its parity (bit 0) intact, so −1 stays free to mean "never
 * handed out" however long a soak runs. Two epochs 2^30 bumps apart compare equal — an ABA window
 * of a billion lock cycles on one frame.
 */
export const EPOCH_MASK = 0x3fffffff;

function readEpoch(v: SharedViews, f: Frame): Epoch {
  return (Atomics.load(v.control, ftIndex(v, f, FT.EPOCH)) & EPOCH_MASK) as Epoch;
}

/** Adds `by` to a frame's epoch; returns the new (masked) epoch. */
function bumpEpoch(v: SharedViews, f: Frame, by: number): Epoch {
  return ((Atomics.add(v.control, ftIndex(v, f, FT.EPOCH), by) + by) & EPOCH_MASK) as Epoch;
}

/** The epoch a lock or unlock of a frame at epoch `e` makes (one bump). */
export function nextEpoch(e: Epoch): Epoch {
  return ((e + 1) & EPOCH_MASK) as Epoch;
}

/**
 * The device slots whose in-flight bit is set on frame `f`, or null if none. Called by the unlocker
 * right after its epoch bump (the Dekker read): what it returns is the evidence, so it is read once.
 */
export function readInflight(v: SharedViews, f: Frame): number[] | null {
  const c = v.control;
  const at = ftIndex(v, f, FT.INFLIGHT);
  let out: number[] | null = null;
  for (let w = 0; w < v.inflightWords; w++) {
    // Seq-cst load after the epoch bump (module comment).
    let bits = Atomics.load(c, at + w);
    while (bits !== 0) {
      const b = 31 - Math.clz32(bits & -bits);
      (out ??= []).push(w * 32 + b);
      bits &= bits - 1;
    }
  }
  return out;
}

// ——— main thread: lock state ———

/**
 * Adds one lock. On 0 → 1 the epoch becomes odd (locked) and the locker is recorded.
 * Returns the new lock count.
 */
export function lockFrame(v: SharedViews, f: Frame, ctx: number): number {
  const c = v.control;
  // Only the main thread writes LOCK, so the add cannot race another writer; it is atomic so that
  // workers reading LOCK for reports see a whole value.
  const count = Atomics.add(c, ftIndex(v, f, FT.LOCK), 1) + 1;
  if (count === 1) {
    Atomics.store(c, ftIndex(v, f, FT.LOCKER), ctx + 1);
    // Publishes "locked": a device that loads this odd epoch after it was stored may DMA (if its
    // hand-out matches). Ordered after the LOCK add so a report never shows odd epoch, count 0.
    bumpEpoch(v, f, 1);
  }
  return count;
}

/** Result of dropping one lock. */
export interface UnlockResult {
  count: number;
  /** Epoch after the unlock (even when count reached 0). */
  epoch: Epoch;
  /** Device slots with an access in flight on the frame when the unlock took effect (null: none). */
  inflight: number[] | null;
}

/**
 * Drops one lock; the caller has checked the count is > 0. On 1 → 0 the epoch becomes even first
 * and only then are the in-flight bits read (the Dekker order above), so an access racing the
 * unlock is seen by one side or the other.
 */
export function unlockFrame(v: SharedViews, f: Frame): UnlockResult {
  const c = v.control;
  const count = Atomics.sub(c, ftIndex(v, f, FT.LOCK), 1) - 1;
  if (count !== 0) return { count, epoch: readEpoch(v, f), inflight: null };
  const epoch = bumpEpoch(v, f, 1);
  // Must follow the epoch bump (seq-cst): see the module comment.
  const inflight = readInflight(v, f);
  // Only after the bump: a device that still read the odd epoch must not see the dirty mark gone
  // (it would be told 'dma-not-marked-dirty' instead of the real race).
  Atomics.and(c, ftIndex(v, f, FT.FLAGS), ~FF.MARKDIRTY);
  return { count, epoch, inflight };
}

/**
 * Fixed frames are permanently locked: their epoch is made odd when they are allocated and even when
 * released, with no lock count. Returns the new epoch.
 */
export function fixFrame(v: SharedViews, f: Frame): Epoch {
  Atomics.or(v.control, ftIndex(v, f, FT.FLAGS), FF.FIXED);
  // Publishes "locked" to devices after the FIXED flag (reports read both).
  return bumpEpoch(v, f, 1);
}

/**
 * A frame leaves its page (page-out, move, free, decommit). Its epoch advances so that every
 * hand-out of the old mapping goes stale: by 1 if it was locked or fixed (odd → even, with the
 * in-flight read after it, as in unlockFrame), by 2 if it was already unlocked (stays even).
 */
export function retireFrame(v: SharedViews, f: Frame): UnlockResult {
  const c = v.control;
  // Only the main thread writes EPOCH, so reading it and then adding cannot lose an update.
  const e0 = readEpoch(v, f);
  const epoch = bumpEpoch(v, f, e0 & 1 ? 1 : 2);
  // After the bump (Dekker order, module comment).
  const inflight = readInflight(v, f);
  // The frame's other state is cleared only once no device can still pass the epoch check.
  Atomics.store(c, ftIndex(v, f, FT.LOCK), 0);
  Atomics.store(c, ftIndex(v, f, FT.LOCKER), 0);
  Atomics.and(c, ftIndex(v, f, FT.FLAGS), ~(FF.FIXED | FF.MARKDIRTY | FF.PTE_DIRTY | FF.NOPAGER));
  Atomics.store(c, ftIndex(v, f, FT.OWNER), -1);
  return { count: 0, epoch, inflight };
}

export function lockCount(v: SharedViews, f: Frame): number {
  return Atomics.load(v.control, ftIndex(v, f, FT.LOCK));
}

export function epochOf(v: SharedViews, f: Frame): Epoch {
  return readEpoch(v, f);
}

export function flagsOf(v: SharedViews, f: Frame): number {
  return Atomics.load(v.control, ftIndex(v, f, FT.FLAGS));
}

/** Sets flag bits (main thread; atomic because devices read FLAGS concurrently). */
export function setFrameFlags(v: SharedViews, f: Frame, bits: number): void {
  Atomics.or(v.control, ftIndex(v, f, FT.FLAGS), bits);
}

export function clearFrameFlags(v: SharedViews, f: Frame, bits: number): void {
  Atomics.and(v.control, ftIndex(v, f, FT.FLAGS), ~bits);
}

export function setOwner(v: SharedViews, f: Frame, page: number): void {
  Atomics.store(v.control, ftIndex(v, f, FT.OWNER), page);
}

export function ownerOf(v: SharedViews, f: Frame): number {
  return Atomics.load(v.control, ftIndex(v, f, FT.OWNER));
}

export function lockerOf(v: SharedViews, f: Frame): number {
  return Atomics.load(v.control, ftIndex(v, f, FT.LOCKER)) - 1;
}

// ——— hand-outs ———

/**
 * Records that driver context `ctx` was told frame `f`'s address at its current epoch. Stored after
 * the epoch load so a device that later reads this hand-out compares against the epoch the driver
 * really saw.
 */
export function recordHandout(v: SharedViews, ctx: number, f: Frame): Epoch {
  const e = readEpoch(v, f);
  Atomics.store(v.control, handoutIndex(v, ctx, f), e);
  return e;
}

/** The epoch at which `ctx` was last handed frame `f`, or HANDOUT_NEVER. */
export function handoutOf(v: SharedViews, ctx: number, f: Frame): Epoch | typeof HANDOUT_NEVER {
  return Atomics.load(v.control, handoutIndex(v, ctx, f)) as Epoch | typeof HANDOUT_NEVER;
}

/** Marks every hand-out entry of a driver context as HANDOUT_NEVER. Main thread, at context creation. */
export function clearHandouts(v: SharedViews, ctx: number): void {
  v.control.fill(HANDOUT_NEVER, handoutIndex(v, ctx, 0), handoutIndex(v, ctx, v.frames));
}
