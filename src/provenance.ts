/**
 * Address provenance: when the driver programmed the address a device uses, and when the frame
 * that address names last began to hold a page. It closes the one stale-address case the epoch
 * protocol (DESIGN.md §3) cannot see: the driver programs a device with page P1's address (frame F),
 * unlocks P1, then locks another page P2 that lands in F and obtains its address — its hand-out of
 * F is current again, so a device still holding P1's address passes every epoch check and its DMA
 * lands in P2's buffer.
 *
 * The facts, all kept as stamps: 64-bit points of the global sequence H.SEQ (ring.ts nextSeq), as
 * numbers below 2^53 (the 32-bit SEQ wraps within hours of a stress run; a 32-bit comparison of a
 * lock held across 2^31 events would invert), in two Int32 words, low word first.
 *
 *  - per device register, when the driver last wrote it (DCB.REG_WRITTEN; the host's writeReg);
 *  - per 8237 channel, when the driver last wrote an address byte or its page register
 *    (ISA_CH.PROGRAMMED; the port decode);
 *  - per frame, when the main thread last wrote its contents (FP.WRITTEN: every CPU write, through
 *    any mapping or alias, VDMAD's EDDS writes, zero fills; a move or a page-in carries the stamp
 *    with the contents) — and FF.DMA_DATA while a device has written data there since;
 *  - per frame, when it last began to hold a page's contents (FP.ARRIVED: page-in, the target of a
 *    move, a fixed commit, a PCC_NOLIN frame) — not when a page's contents come back to the frame
 *    they last left by a move or page-out, with nothing else there in between.
 *
 * A device states where the address of an access came from: a source, `regs.source(REG.X)` taken
 * right after it read the register, or `dma.sourceOf(descriptor)` taken right after it read the
 * descriptor (device-api.ts DmaAttributes.from). The port then checks, for every frame of the
 * access that passed every other check: if the frame began to hold its current page AFTER the
 * source was written, the address was programmed for a page that is no longer in the frame — the
 * access is 'dma-stale-programming'.
 *
 * Soundness (a correct driver is never reported): a correct driver programs an address only after
 * it obtained it, and obtains it only from a page locked in the frame (the existing checks refuse
 * anything else first). The page arrived in the frame at stamp A before that lock and hand-out (a
 * frame changes pages only through a retire, which bumps the epoch and would fail the hand-out
 * check), so the driver's write of the address — into a register, a descriptor, an 8237 channel —
 * takes a stamp W ≥ A (stamps never go backwards on the main thread, and A took a sequence number
 * of its own). The source a device presents is the stamp of the LAST write to that register or
 * descriptor frame, read after the value it read: at least W. So source ≥ W ≥ A, and the strict
 * test `source < A` never fires. Every approximation here only makes a source later or an arrival
 * earlier — it can miss, never cry wolf:
 *  - a descriptor's source is the last write to any byte of its frame(s), not to the descriptor;
 *  - a source combining several registers (or a register and the index a device keeps) is the latest;
 *  - bytes a device wrote into a frame have no known provenance (a copy engine may have copied a
 *    descriptor table the driver wrote elsewhere, an IDE read may bring one back from disk), so
 *    until the main thread writes the frame again its source is unknown (Infinity: never
 *    judged) — except a device's own status write-back (DmaAttributes.writeBack), numbers it made
 *    up, never an address a driver wrote;
 *  - a register the driver never wrote counts as written when the device was attached.
 * Hand-outs (first or repeated, _CopyPageTable, PhysAddr, VDMAD) do not enter the check at all:
 * relocking the same page in the same frame (it never left, or it came straight back) and ringing
 * again without reprogramming lands in the right buffer, and is not reported. A page that comes
 * back after another page held the frame is: the address was programmed for its earlier stay, and
 * that it means the same again is a coincidence a driver must not rely on.
 *
 * What it cannot catch: a stale address the driver writes again after the new page arrived (that
 * is the driver programming, indistinguishable from correct code), a stale descriptor in a frame
 * the driver has written since (the frame's stamp moves on), addresses in device-written memory,
 * and devices that state no source (custom devices that do not annotate keep today's checks).
 *
 * Memory ordering. Every stamp is written by the main thread only, with Atomics stores; a reader
 * uses readStamp (high, low, high again). A source stamp is stored before the value it describes
 * (register, channel byte, frame contents), high word first: a device that read the value and then
 * the stamp sees at least that stamp, and a torn read can only be too high (a carry already in the
 * high word). An arrival stamp is stored low word first, so a torn read can only be too low. Both
 * errors are on the missing side. The DMA_DATA flag is set by a device after its bytes land and
 * cleared by the main thread after it stores a new WRITTEN stamp; a reader loads the flag first,
 * then the stamp. If it sees the flag clear, either the device had not finished its access (a
 * device reading what another is still writing: a race no correct driver makes), or the main
 * thread's clear came after the device's flag — and then the stamp it stored before the clear is
 * what the reader loads, taken after the driver wrote anything the device's bytes could carry.
 */

import type { PhysAddr } from './address.js';
import { DCB, FF, FP, FT, H, ISA_CH, dcbIndex, ftIndex, isaChannelIndex, provenanceIndex, type SharedViews } from './layout.js';
import { nextSeq } from './ring.js';

/** A source that says nothing: an access with it is never judged stale. */
export const UNKNOWN_SOURCE = Infinity;

const TWO32 = 0x1_0000_0000;

/** The main thread's 64-bit value of a SEQ it just loaded or took (the header keeps the carry). */
function extend(c: Int32Array, seq: number): number {
  const lo = seq >>> 0;
  // Main thread only: plain words. SEQ moves forward between calls by far less than 2^32, so a low
  // word below the last one means SEQ wrapped.
  let hi = c[H.CLOCK_HI]!;
  if (lo < c[H.CLOCK_LO]! >>> 0) c[H.CLOCK_HI] = ++hi;
  c[H.CLOCK_LO] = lo | 0;
  return hi * TWO32 + lo;
}

/**
 * Main thread: "now", without taking a sequence number. Every stamp taken later is ≥ it, and it is
 * ≥ every stamp taken earlier.
 */
export function stampNow(v: SharedViews): number {
  return extend(v.control, Atomics.load(v.control, H.SEQ));
}

/** Main thread: takes a sequence number: strictly later than every stampNow before it. */
export function stampNext(v: SharedViews): number {
  return extend(v.control, nextSeq(v));
}

/** A stamp as the 32-bit sequence number records and trace events carry (for report details). */
export function seqOf(t: number): number {
  return Number.isFinite(t) ? t % TWO32 | 0 : 0;
}

/**
 * Stores a "written at" stamp, high word first (module comment): a concurrent readStamp returns the
 * stamp before or something later, never less.
 */
function storeSource(c: Int32Array, at: number, t: number): void {
  const hi = Math.floor(t / TWO32);
  // The main thread is the only writer: its own plain read of the high word is current.
  if (c[at + 1] !== hi) Atomics.store(c, at + 1, hi);
  Atomics.store(c, at, t % TWO32 | 0);
}

/** Stores an arrival stamp, low word first: a concurrent readStamp returns at most the new stamp. */
function storeArrival(c: Int32Array, at: number, t: number): void {
  Atomics.store(c, at, t % TWO32 | 0);
  Atomics.store(c, at + 1, Math.floor(t / TWO32));
}

/** Reads a two-word stamp: high, low, high again, until both high words agree. */
export function readStamp(c: Int32Array, at: number): number {
  for (;;) {
    const hi = Atomics.load(c, at + 1);
    const lo = Atomics.load(c, at);
    if (Atomics.load(c, at + 1) === hi) return hi * TWO32 + (lo >>> 0);
  }
}

// ——— main thread: frames ———

/**
 * The main thread is about to write frame `f`'s contents (a CPU write, a zero fill). Called before
 * the bytes are stored, so a device that reads them reads this stamp or a later one. Any bytes a
 * device wrote there earlier are covered too: whatever address they carry was written by the driver
 * before this call. `t`: a stampNow taken before the write began (one per multi-page CPU access).
 */
export function frameWritten(v: SharedViews, f: number, t = stampNow(v)): void {
  const c = v.control;
  storeSource(c, provenanceIndex(v, f, FP.WRITTEN), t);
  // After the stamp (module comment); a plain load first keeps the common case to one load.
  const fl = ftIndex(v, f, FT.FLAGS);
  if (c[fl]! & FF.DMA_DATA) Atomics.and(c, fl, ~FF.DMA_DATA);
}

/** The provenance of frame `f`'s contents: their WRITTEN stamp, or UNKNOWN_SOURCE after device data. */
export function contentsProvenance(v: SharedViews, f: number): number {
  if (Atomics.load(v.control, ftIndex(v, f, FT.FLAGS)) & FF.DMA_DATA) return UNKNOWN_SOURCE;
  return readStamp(v.control, provenanceIndex(v, f, FP.WRITTEN));
}

/**
 * contentsProvenance on the main thread, the only writer of the stamps: its plain reads of them are
 * current (the flag, which devices set, is still read atomically).
 */
function ownContentsProvenance(v: SharedViews, f: number): number {
  const c = v.control;
  if (Atomics.load(c, ftIndex(v, f, FT.FLAGS)) & FF.DMA_DATA) return UNKNOWN_SOURCE;
  const at = provenanceIndex(v, f, FP.WRITTEN);
  return c[at + 1]! * TWO32 + (c[at]! >>> 0);
}

/** Main thread: the provenance of frame `f`'s contents, to carry with them (a move, a page-out). */
export function savedProvenance(v: SharedViews, f: number): number {
  return ownContentsProvenance(v, f);
}

/**
 * Frame `f` now holds contents whose provenance is `p` (contentsProvenance of where they came from:
 * the frame a move copied, the saved copy a page-in restores). Called before the bytes are copied in.
 */
export function setContentsProvenance(v: SharedViews, f: number, p: number): void {
  const c = v.control;
  const fl = ftIndex(v, f, FT.FLAGS);
  if (p === UNKNOWN_SOURCE) {
    Atomics.or(c, fl, FF.DMA_DATA);
    return;
  }
  storeSource(c, provenanceIndex(v, f, FP.WRITTEN), p);
  if (c[fl]! & FF.DMA_DATA) Atomics.and(c, fl, ~FF.DMA_DATA);
}

/**
 * Frame `f` begins to hold the contents of linear page `page` (-1: none — a PCC_NOLIN frame): a
 * page-in, the target of a move, a fixed commit. Takes a sequence number, so an address programmed
 * before this is strictly earlier — unless `page` is the page whose contents last left this frame
 * (by a move or a page-out, nothing else in the frame since): then they are back, an address the
 * driver programmed for them means what it meant, and the arrival stays as it was (a later
 * arrival could only report more).
 */
export function frameArrived(v: SharedViews, f: number, page: number): void {
  const c = v.control;
  const last = provenanceIndex(v, f, FP.LAST_PAGE);
  const back = page >= 0 && c[last] === page;
  c[last] = -1;
  if (!back) storeArrival(c, provenanceIndex(v, f, FP.ARRIVED), stampNext(v));
}

/**
 * Frame `f` gives up linear page `page`'s contents: by a move or a page-out (`kept`: they live on
 * elsewhere, and may come back), or by a free or decommit (they are gone: a later page with the
 * same number is another buffer). Main thread.
 */
export function frameLeft(v: SharedViews, f: number, page: number, kept: boolean): void {
  v.control[provenanceIndex(v, f, FP.LAST_PAGE)] = kept ? page : -1;
}

// ——— main thread: registers, channels ———

/** The driver is about to write register `index` of the device in `slot` (host writeReg). */
export function registerWritten(v: SharedViews, slot: number, index: number): void {
  storeSource(v.control, dcbIndex(v, slot, DCB.REG_WRITTEN + 2 * index), stampNow(v));
}

/** At attach: every register of the slot counts as written now (its power-on value). */
export function registersReset(v: SharedViews, slot: number, count: number): void {
  const t = stampNow(v);
  for (let i = 0; i < count; i++) storeSource(v.control, dcbIndex(v, slot, DCB.REG_WRITTEN + 2 * i), t);
}

/** The driver is about to write an address byte or the page register of 8237 channel `channel`. */
export function channelProgrammed(v: SharedViews, channel: number): void {
  storeSource(v.control, isaChannelIndex(v, channel, ISA_CH.PROGRAMMED), stampNow(v));
}

// ——— device side ———

/** When the driver last wrote the latest of these registers of the device in `slot`. */
export function registerSource(v: SharedViews, slot: number, indices: readonly number[]): number {
  let t = 0;
  for (const i of indices) t = Math.max(t, readStamp(v.control, dcbIndex(v, slot, DCB.REG_WRITTEN + 2 * i)));
  return t;
}

/** When the driver last programmed 8237 channel `channel`'s address (read after CUR and PAGE). */
export function channelSource(v: SharedViews, channel: number): number {
  return readStamp(v.control, isaChannelIndex(v, channel, ISA_CH.PROGRAMMED));
}

/**
 * The source of addresses read from [phys, phys + length) of driver memory: the latest main-thread
 * write to any of its frames, or UNKNOWN_SOURCE if a device wrote data into one since, or if the
 * range leaves RAM. To be taken after the bytes were read (module comment).
 */
export function memorySource(v: SharedViews, phys: PhysAddr | number, length: number): number {
  const end = phys + Math.max(1, length);
  if (end > v.frames * 4096) return UNKNOWN_SOURCE;
  let t = 0;
  for (let f = Math.floor(phys / 4096); f <= Math.floor((end - 1) / 4096); f++) {
    const p = contentsProvenance(v, f);
    if (p === UNKNOWN_SOURCE) return p;
    t = Math.max(t, p);
  }
  return t;
}
