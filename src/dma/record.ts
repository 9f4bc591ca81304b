/**
 * A device's access record (layout.ts AR) and its in-flight bits. The DMA port announces an access
 * by setting its device's bit in the INFLIGHT words of every frame the access touches, and writes
 * the access's spans down first, in shared memory. Two readers use the record:
 *
 *  - The host, after the device's worker has exited, however it ended (detach, the hang watchdog,
 *    process.exit in device code): it clears the dead device's bit on every frame of the recorded
 *    spans. That is exact wherever the worker stopped — the spans are published before the first
 *    bit is set and withdrawn only after the last bit is cleared, and clearing a bit that is not set
 *    changes nothing — so no cursor has to be kept in step with the frame table (a worker can be
 *    terminated between any two Atomics calls; two words can never be kept "both or neither").
 *  - An unlocker that found the device's bit raised on the frame it unlocked: it reads which
 *    transfer was in flight (`readAccess`, a seqlock over AR.ID), to name it in its report.
 *
 * A device has one access in progress at a time: the port refuses a nested access (port.ts), so the
 * record is never overwritten while its bits are set.
 */

import { PAGESIZE, type Frame, type PhysAddr } from '../address.js';
import { AR, AR_MAX_SPANS, AR_SPAN_WRITE, FT, accessIndex, ftIndex, type SharedViews } from '../layout.js';

export interface SpanLike {
  readonly phys: PhysAddr;
  readonly length: number;
  readonly write: boolean;
}

/** The worker side: one per DMA port. */
export class AccessRecorder {
  private readonly c: Int32Array;
  private readonly spansAt: number;
  private readonly idAt: number;
  private readonly commandAt: number;
  private readonly base: number;
  /** Offset of this device's in-flight word inside a frame entry, and its bit. */
  private readonly word: number;
  private readonly bit: number;

  constructor(
    private readonly v: SharedViews,
    device: number,
  ) {
    this.c = v.control;
    this.spansAt = accessIndex(v, device, AR.SPANS);
    this.idAt = accessIndex(v, device, AR.ID);
    this.commandAt = accessIndex(v, device, AR.COMMAND);
    this.base = accessIndex(v, device, AR.SPAN_BASE);
    this.word = FT.INFLIGHT + (device >>> 5);
    this.bit = 1 << (device & 31);
  }

  /**
   * Records an access's spans before any of its frames is raised; returns the access id. Empty
   * spans are left out (they contribute no frame).
   */
  open(spans: readonly SpanLike[], command: number): number {
    const c = this.c;
    if (spans.length > AR_MAX_SPANS) throw new RangeError(`at most ${AR_MAX_SPANS} spans per access, got ${spans.length}`);
    // SPANS is 0 here (the previous access's close(), or never set). The id bump comes before the
    // span words (seqlock writer): a reader that loads the same id before and after its reads of
    // the words cannot have read a word of a later access (readAccess).
    const id = Atomics.add(c, this.idAt, 1) + 1;
    let n = 0;
    for (const s of spans) {
      if (s.length === 0) continue;
      // Atomic stores so the seqlock argument holds word by word (a plain store could be seen by
      // the reader without the id bump that precedes it).
      Atomics.store(c, this.base + 2 * n, s.phys | 0);
      Atomics.store(c, this.base + 2 * n + 1, s.length | (s.write ? AR_SPAN_WRITE : 0));
      n++;
    }
    Atomics.store(c, this.commandAt, command);
    // Publication point of the span words, and the host's licence to clear our bits on them: it
    // precedes every raise() of this access.
    Atomics.store(c, this.spansAt, n);
    return id;
  }

  /**
   * Sets this device's in-flight bit on frame `f`. The caller reads the epoch afterwards: the OR
   * precedes that load (both seq-cst), the device half of the Dekker pair (frametable.ts).
   */
  raise(f: Frame): void {
    Atomics.or(this.c, ftIndex(this.v, f, this.word), this.bit);
  }

  /**
   * Clears this device's in-flight bit on frame `f`. The caller re-reads the epoch afterwards: the
   * AND precedes that load (§3 step 5), so an unlock that saw the bit is seen by that read.
   */
  lower(f: Frame): void {
    Atomics.and(this.c, ftIndex(this.v, f, this.word), ~this.bit);
  }

  /** The access is over (every bit cleared): nothing left for the host to clear. */
  close(): void {
    // After the last lower(): the host may skip this record from now on.
    Atomics.store(this.c, this.spansAt, 0);
  }
}

/** A recorded access, as the unlocker reads it. */
export interface RecordedAccess {
  readonly id: number;
  readonly command: number;
  readonly spans: readonly SpanLike[];
}

/**
 * Seqlock read of a device's access in progress (main thread): null if none, or if it ended and
 * another began while it was being read (the reader then knows only that the device was in flight).
 */
export function readAccess(v: SharedViews, device: number): RecordedAccess | null {
  const c = v.control;
  const idAt = accessIndex(v, device, AR.ID);
  const id = Atomics.load(c, idAt);
  // After the id load: a SPANS value seen here belongs to access `id` or a later one (caught below).
  const n = Atomics.load(c, accessIndex(v, device, AR.SPANS));
  if (n <= 0 || n > AR_MAX_SPANS) return null;
  const base = accessIndex(v, device, AR.SPAN_BASE);
  const spans: SpanLike[] = [];
  for (let k = 0; k < n; k++) {
    const len = Atomics.load(c, base + 2 * k + 1);
    spans.push({ phys: (Atomics.load(c, base + 2 * k) >>> 0) as PhysAddr, length: len & ~AR_SPAN_WRITE, write: (len & AR_SPAN_WRITE) !== 0 });
  }
  const command = Atomics.load(c, accessIndex(v, device, AR.COMMAND));
  // Same id after every read: no open() began meanwhile, so every word read belongs to access `id`.
  return Atomics.load(c, idAt) === id ? { id, command, spans } : null;
}

/**
 * Host side, after the device's worker has exited: clears the device's in-flight bit on every frame
 * of its recorded access, and clears the record. Returns how many frames it visited.
 */
export function recoverAccess(v: SharedViews, device: number): number {
  const c = v.control;
  const spansAt = accessIndex(v, device, AR.SPANS);
  // The worker has exited: its last stores happen-before the 'exit' event this runs from, so this
  // load sees its final SPANS, and the span words it published.
  const n = Atomics.load(c, spansAt);
  let visited = 0;
  if (n > 0 && n <= AR_MAX_SPANS) {
    const base = accessIndex(v, device, AR.SPAN_BASE);
    const word = FT.INFLIGHT + (device >>> 5);
    const bit = 1 << (device & 31);
    for (let k = 0; k < n; k++) {
      const phys = c[base + 2 * k]! >>> 0;
      const length = c[base + 2 * k + 1]! & ~AR_SPAN_WRITE;
      if (length <= 0) continue;
      const f0 = Math.floor(phys / PAGESIZE);
      const f1 = Math.min(v.frames - 1, Math.floor((phys + length - 1) / PAGESIZE));
      for (let f = f0; f <= f1; f++) {
        // Idempotent: the access is gone, its announcement withdrawn as its own lower() would have.
        Atomics.and(c, ftIndex(v, f, word), ~bit);
        visited++;
      }
    }
  }
  // Cleared for the slot's next device; no worker writes this record now.
  Atomics.store(c, spansAt, 0);
  return visited;
}
