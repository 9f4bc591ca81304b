/**
 * The violation ring in shared memory: device workers append fixed-size records, the main thread
 * drains them. Multi-producer (one per device worker), single consumer (the main thread).
 *
 * Protocol:
 *  - A writer notes the slot index `w` it is about to claim in its device's access record
 *    (AR.RING_CLAIM = w+1), then claims it by compare-exchange on RING_WRITE, but only while
 *    `w − RING_READ < capacity`; a full ring counts the record in RING_DROPPED instead of
 *    overwriting one the reader has not seen.
 *  - It fills the record's words with plain stores, publishes with `Atomics.store(COMMIT, w+1)`, and
 *    only then clears its note.
 *  - The reader, for each r from RING_READ, waits for `COMMIT === r+1` (a later drain picks up a
 *    record still being written), reads the words, then releases the slot with
 *    `Atomics.store(RING_READ, r+1)`. A tombstone (CODE = VR_TOMBSTONE) is skipped and counted in
 *    RING_DROPPED.
 *  - A writer can die (worker terminated) between its claim and its COMMIT, which would leave a hole
 *    the reader never passes. After the worker's exit the host takes the dead writer's note and calls
 *    `settleClaim`, which publishes a tombstone in the slot if — and only if — it was claimed and no
 *    live writer can still publish it.
 */

import { AR, H, VR, VR_TOMBSTONE, accessIndex, ringIndex, type SharedViews } from './layout.js';

/** Numeric codes in the ring; the names are the stable public codes. */
export const VIOLATION_CODES = [
  'dma-unlocked',
  'dma-stale-address',
  'dma-not-handed-out',
  'unlock-during-dma',
  'dma-not-marked-dirty',
  'dma-address-width',
  'dma-boundary',
  'dma-outside-memory',
  'device-reentrancy',
  'dma-address-before-lock',
  'dma-stale-programming',
] as const;
export type ViolationCode = (typeof VIOLATION_CODES)[number];

export function codeNumber(code: ViolationCode): number {
  return VIOLATION_CODES.indexOf(code);
}

/** What a writer fills in; the ring adds SEQ and COMMIT. */
export interface RawViolation {
  code: number;
  /** Device slot. */
  device: number;
  /** The attachment that made the record (layout.ts DCB.ATTACHMENT; 0 for none). */
  attachment: number;
  driver: number;
  phys: number;
  length: number;
  frame: number;
  epochSeen: number;
  epochExpected: number;
  dir: number;
  outcome: number;
  command: number;
  access: number;
  detail: number;
  detail2: number;
}

/** A record as drained, with its global sequence number. */
export interface DrainedViolation extends RawViolation {
  seq: number;
}

/** Takes the next global sequence number (shared by every report and history event). */
export function nextSeq(v: SharedViews): number {
  // Atomic add: writers on several threads take distinct numbers; the order is the total order of
  // these adds, which is what "monotonic sequence" promises.
  return Atomics.add(v.control, H.SEQ, 1) + 1;
}

/**
 * Appends a record and returns its sequence number; -1 if the ring was full (the record is counted
 * as dropped). `note` is the word index of the writer's claim note (its device's AR.RING_CLAIM): one
 * writer per note.
 */
export function appendViolation(v: SharedViews, r: RawViolation, note: number): number {
  const c = v.control;
  const cap = v.config.ringCapacity;
  let w: number;
  for (;;) {
    w = Atomics.load(c, H.RING_WRITE);
    // RING_READ only grows; reading an older value only makes us more conservative.
    if (w - Atomics.load(c, H.RING_READ) >= cap) {
      // Nothing claimed: withdraw a note left by a failed compare-exchange below.
      Atomics.store(c, note, 0);
      Atomics.add(c, H.RING_DROPPED, 1);
      return -1;
    }
    // The note precedes the claim (both seq-cst): whenever RING_WRITE has passed w by our CAS, the
    // note already names w, so a writer that dies after its CAS is always named by its note — and a
    // live writer holding slot w keeps naming it until after its COMMIT store (settleClaim relies on
    // both).
    Atomics.store(c, note, w + 1);
    // Claims slot w against other writers.
    if (Atomics.compareExchange(c, H.RING_WRITE, w, w + 1) === w) break;
  }
  const slot = w % cap;
  const seq = nextSeq(v);
  const at = (f: number) => ringIndex(v, slot, f);
  c[at(VR.SEQ)] = seq;
  c[at(VR.CODE)] = r.code;
  c[at(VR.DEVICE)] = r.device;
  c[at(VR.DRIVER)] = r.driver;
  c[at(VR.PHYS)] = r.phys | 0;
  c[at(VR.LENGTH)] = r.length;
  c[at(VR.FRAME)] = r.frame;
  c[at(VR.EPOCH_SEEN)] = r.epochSeen;
  c[at(VR.EPOCH_EXPECTED)] = r.epochExpected;
  c[at(VR.DIR)] = r.dir;
  c[at(VR.OUTCOME)] = r.outcome;
  c[at(VR.COMMAND)] = r.command;
  c[at(VR.ACCESS)] = r.access | 0;
  c[at(VR.DETAIL)] = r.detail | 0;
  c[at(VR.ATTACHMENT)] = r.attachment;
  c[at(VR.DETAIL2)] = r.detail2 | 0;
  // Publication: the plain stores above happen-before any Atomics.load that reads this value.
  Atomics.store(c, at(VR.COMMIT), w + 1);
  // After the COMMIT store: the note is gone only once the slot is published (settleClaim).
  Atomics.store(c, note, 0);
  return seq;
}

/**
 * Main thread, after a writer's worker has exited: takes its claim note (the slot index it was
 * claiming or filling), clearing the word. Returns the slot index, or -1 if it noted none.
 */
export function takeClaimNote(v: SharedViews, device: number): number {
  const at = accessIndex(v, device, AR.RING_CLAIM);
  // The worker has exited (its last stores happen-before the 'exit' event), so this exchange sees its
  // final note, and clearing it here means no later settleClaim mistakes the dead writer for a live one.
  return Atomics.exchange(v.control, at, 0) - 1;
}

/**
 * Main thread: settles slot `w` noted by a writer that has died (its own note already taken with
 * takeClaimNote). True once nothing is left to do: the slot was never claimed, or it is published,
 * or it has just been published as a tombstone. False if a live writer's note also names `w` — it
 * may be the one holding the slot and about to publish — so the caller tries again later (a live
 * writer that lost the claim moves its note on within a few instructions).
 */
export function settleClaim(v: SharedViews, w: number): boolean {
  const c = v.control;
  const cap = v.config.ringCapacity;
  // Only this thread advances RING_READ: past w means w was published and read, and its slot may
  // already hold a later record (w + cap), which must not be touched.
  if (Atomics.load(c, H.RING_READ) > w) return true;
  // Not claimed yet: the dead writer's CAS never succeeded; whoever claims w later is alive.
  if (Atomics.load(c, H.RING_WRITE) <= w) return true;
  const commit = ringIndex(v, w % cap, VR.COMMIT);
  if (Atomics.load(c, commit) === w + 1) return true;
  // Claimed, unpublished. A live writer that claimed w stored its note (w+1) before its CAS, which
  // precedes our RING_WRITE load, and clears it only after its COMMIT store. So if we read every note
  // and only then COMMIT: either some note still names w (maybe its owner: wait), or the COMMIT load
  // below sees the owner's publication, or no live writer owns w — the dead one did.
  for (let d = 0; d < v.config.maxDevices; d++) {
    if (Atomics.load(c, accessIndex(v, d, AR.RING_CLAIM)) === w + 1) return false;
  }
  if (Atomics.load(c, commit) === w + 1) return true;
  c[ringIndex(v, w % cap, VR.CODE)] = VR_TOMBSTONE;
  // Publishes the tombstone (this thread is also the reader, so this only keeps the protocol uniform).
  Atomics.store(c, commit, w + 1);
  return true;
}

/** Drains every published record (main thread). */
export function drainViolations(v: SharedViews): DrainedViolation[] {
  const c = v.control;
  const cap = v.config.ringCapacity;
  const out: DrainedViolation[] = [];
  let r = Atomics.load(c, H.RING_READ);
  const end = Atomics.load(c, H.RING_WRITE);
  for (; r < end; r++) {
    const slot = r % cap;
    const at = (f: number) => ringIndex(v, slot, f);
    // Pairs with the writer's COMMIT store; a slot claimed but not yet filled stops the drain.
    if (Atomics.load(c, at(VR.COMMIT)) !== r + 1) break;
    if (c[at(VR.CODE)] === VR_TOMBSTONE) {
      // A record lost with its writer (settleClaim): pass it, count it as dropped. The add is atomic
      // because writers add to RING_DROPPED too; the RING_READ store releases the slot as below.
      Atomics.add(c, H.RING_DROPPED, 1);
      Atomics.store(c, H.RING_READ, r + 1);
      continue;
    }
    out.push({
      seq: c[at(VR.SEQ)]!,
      code: c[at(VR.CODE)]!,
      device: c[at(VR.DEVICE)]!,
      driver: c[at(VR.DRIVER)]!,
      phys: c[at(VR.PHYS)]! >>> 0,
      length: c[at(VR.LENGTH)]!,
      frame: c[at(VR.FRAME)]!,
      epochSeen: c[at(VR.EPOCH_SEEN)]!,
      epochExpected: c[at(VR.EPOCH_EXPECTED)]!,
      dir: c[at(VR.DIR)]!,
      outcome: c[at(VR.OUTCOME)]!,
      command: c[at(VR.COMMAND)]!,
      access: c[at(VR.ACCESS)]! >>> 0,
      detail: c[at(VR.DETAIL)]!,
      attachment: c[at(VR.ATTACHMENT)]!,
      detail2: c[at(VR.DETAIL2)]!,
    });
    // Releases the slot to writers only after its words were read.
    Atomics.store(c, H.RING_READ, r + 1);
  }
  return out;
}

export function droppedViolations(v: SharedViews): number {
  return Atomics.load(v.control, H.RING_DROPPED);
}

