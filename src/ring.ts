/**
 * The violation ring in shared memory: device workers append fixed-size records, the main thread
 * drains them. Multi-producer (one per device worker), single consumer (the main thread).
 *
 * Protocol:
 *  - A writer claims slot index `w` by compare-exchange on RING_WRITE, but only while
 *    `w − RING_READ < capacity`; a full ring counts the record in RING_DROPPED instead of
 *    overwriting one the reader has not seen.
 *  - It fills the record's words with plain stores, then publishes with `Atomics.store(COMMIT, w+1)`.
 *  - The reader, for each r from RING_READ, waits for `COMMIT === r+1` (a later drain picks up a
 *    record still being written), reads the words, then releases the slot with
 *    `Atomics.store(RING_READ, r+1)`.
 */

import { H, VR, ringIndex, type SharedViews } from './layout.js';

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
] as const;
export type ViolationCode = (typeof VIOLATION_CODES)[number];

export function codeNumber(code: ViolationCode): number {
  return VIOLATION_CODES.indexOf(code);
}

/** What a writer fills in; the ring adds SEQ and COMMIT. */
export interface RawViolation {
  code: number;
  device: number;
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

/** Appends a record; false if the ring was full (the record is counted as dropped). */
export function appendViolation(v: SharedViews, r: RawViolation): boolean {
  const c = v.control;
  const cap = v.config.ringCapacity;
  let w: number;
  for (;;) {
    w = Atomics.load(c, H.RING_WRITE);
    // RING_READ only grows; reading an older value only makes us more conservative.
    if (w - Atomics.load(c, H.RING_READ) >= cap) {
      Atomics.add(c, H.RING_DROPPED, 1);
      return false;
    }
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
  // Publication: the plain stores above happen-before any Atomics.load that reads this value.
  Atomics.store(c, at(VR.COMMIT), w + 1);
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
    });
    // Releases the slot to writers only after its words were read.
    Atomics.store(c, H.RING_READ, r + 1);
  }
  return out;
}

export function droppedViolations(v: SharedViews): number {
  return Atomics.load(v.control, H.RING_DROPPED);
}

