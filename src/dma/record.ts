/**
 * A device's access record (layout.ts AR): the DMA port writes down, in shared memory, which frames'
 * in-flight counts it has raised, so that the host can lower exactly those if the worker dies in the
 * middle of an access (terminated by detach or by the hang watchdog, or exiting on its own). Without
 * it, every later unlock of those frames would report a false 'unlock-during-dma'.
 *
 * The record holds the access's spans and two cursors over one fixed walk of its frames
 * (`walkFrames`): BEGUN, frames whose INFLIGHT was raised, and ENDED, frames whose INFLIGHT was
 * lowered again. The frames at walk positions [ENDED, BEGUN) are the ones still raised.
 *
 * Why the cursors are exact: a count and its cursor are two words, so they cannot change in one
 * atomic step; what keeps them in step is where a worker can be stopped. `worker.terminate()`
 * (V8 TerminateExecution) is a request that the thread honours at its next interrupt check — the
 * stack check on entry to a JavaScript function, or a loop back-edge — not inside a builtin such as
 * Atomics.add or Atomics.store, and not between two of them with no call or loop in between.
 * `raise` and `lower` below do the count change and the cursor store back to back in one function
 * body (the index arithmetic and the call checks happen before the count change): a worker stopped
 * anywhere has done both or neither. This is why they do not call frametable.ts
 * beginAccess/endAccess, which make a further function call (the epoch read) right after the count
 * change — an interrupt check between the count and any cursor stored by the caller. A worker that
 * exits on its own (process.exit in device code) does so from device code, between accesses or
 * inside op(), never between the two stores. Uncatchable termination also skips `finally`, so
 * nothing here relies on one.
 */

import { PAGESIZE } from '../address.js';
import { AR, AR_MAX_SPANS, FT, accessIndex, ftIndex, type SharedViews } from '../layout.js';

export interface SpanLike {
  readonly phys: number;
  readonly length: number;
}

/**
 * The one walk order of an access's frames, shared by the port and the host: the spans in order,
 * each span's frames ascending; empty spans contribute nothing. Appends the frames to `frames` and,
 * if given, each frame's span index to `spanOf`.
 */
export function walkFrames(spans: readonly SpanLike[], frames: number[], spanOf?: number[]): void {
  for (let k = 0; k < spans.length; k++) {
    const s = spans[k]!;
    if (s.length === 0) continue;
    const f0 = Math.floor(s.phys / PAGESIZE);
    const f1 = Math.floor((s.phys + s.length - 1) / PAGESIZE);
    for (let f = f0; f <= f1; f++) {
      frames.push(f);
      spanOf?.push(k);
    }
  }
}

/** The worker side: one per DMA port. */
export class AccessRecorder {
  private readonly c: Int32Array;
  private readonly spansAt: number;
  private readonly begunAt: number;
  private readonly endedAt: number;
  private readonly base: number;

  constructor(
    private readonly v: SharedViews,
    device: number,
  ) {
    this.c = v.control;
    this.spansAt = accessIndex(v, device, AR.SPANS);
    this.begunAt = accessIndex(v, device, AR.BEGUN);
    this.endedAt = accessIndex(v, device, AR.ENDED);
    this.base = accessIndex(v, device, AR.SPAN_BASE);
  }

  /**
   * Records an access's spans before any of its frames is raised. Empty spans are left out (they
   * contribute no frame to the walk, so the walk is the same).
   */
  open(spans: readonly SpanLike[]): void {
    const c = this.c;
    if (spans.length > AR_MAX_SPANS) throw new RangeError(`at most ${AR_MAX_SPANS} spans per access, got ${spans.length}`);
    // SPANS is 0 here (close() of the previous access, or never set), so the host ignores every other
    // word of the record; the cursors and span words are written plainly and published together by
    // the Atomics.store of SPANS below (a host load that sees SPANS = n sees them too).
    c[this.begunAt] = 0;
    c[this.endedAt] = 0;
    let n = 0;
    for (const s of spans) {
      if (s.length === 0) continue;
      c[this.base + 2 * n] = s.phys | 0;
      c[this.base + 2 * n + 1] = s.length;
      n++;
    }
    // Publication point of the words above; the host loads SPANS first.
    Atomics.store(c, this.spansAt, n);
  }

  /**
   * Raises INFLIGHT on frame `f`, the frame at walk position `i`, and records it. The add and the
   * cursor store are adjacent on purpose (module comment). The caller reads the epoch afterwards:
   * the add precedes that load (both seq-cst), the Dekker order of frametable.ts.
   */
  raise(f: number, i: number): void {
    Atomics.add(this.c, ftIndex(this.v, f, FT.INFLIGHT), 1);
    // After the add: a host that finds BEGUN = i+1 knows position i was raised.
    Atomics.store(this.c, this.begunAt, i + 1);
  }

  /**
   * Lowers INFLIGHT on frame `f` at walk position `i` and records it (adjacent, as in raise). The
   * caller re-reads the epoch afterwards: the sub precedes that load (§3 step 5).
   */
  lower(f: number, i: number): void {
    Atomics.sub(this.c, ftIndex(this.v, f, FT.INFLIGHT), 1);
    // After the sub: a host that finds ENDED = i+1 knows position i is no longer raised.
    Atomics.store(this.c, this.endedAt, i + 1);
  }

  /** The access is over (every raised frame lowered): nothing for the host to undo. */
  close(): void {
    // After the last ENDED store; a worker stopped before this leaves ENDED = BEGUN, which undoes nothing.
    Atomics.store(this.c, this.spansAt, 0);
  }
}

/**
 * Host side, after the device's worker has exited: lowers INFLIGHT on exactly the frames its
 * record shows still raised, and clears the record. Returns how many counts it lowered.
 */
export function recoverAccess(v: SharedViews, device: number): number {
  const c = v.control;
  const spansAt = accessIndex(v, device, AR.SPANS);
  const begunAt = accessIndex(v, device, AR.BEGUN);
  const endedAt = accessIndex(v, device, AR.ENDED);
  // The worker has exited: its last stores happen-before the 'exit' event this runs from, so these
  // loads see its final values; the load of SPANS also pairs with its store in open(), making the
  // span words visible.
  const n = Atomics.load(c, spansAt);
  let lowered = 0;
  if (n > 0 && n <= AR_MAX_SPANS) {
    const base = accessIndex(v, device, AR.SPAN_BASE);
    const spans: SpanLike[] = [];
    for (let k = 0; k < n; k++) spans.push({ phys: c[base + 2 * k]! >>> 0, length: c[base + 2 * k + 1]! });
    const frames: number[] = [];
    walkFrames(spans, frames);
    const begun = Math.min(Atomics.load(c, begunAt), frames.length);
    const ended = Math.max(0, Atomics.load(c, endedAt));
    for (let i = ended; i < begun; i++) {
      const f = frames[i]!;
      if (f < 0 || f >= v.frames) continue;
      // The access is gone: its announcement is withdrawn as the worker's own lower() would have.
      Atomics.sub(c, ftIndex(v, f, FT.INFLIGHT), 1);
      lowered++;
    }
  }
  // Cleared for the slot's next device; no worker writes this record now (the slot is reused only
  // after this device is released), so the order among these stores does not matter.
  Atomics.store(c, begunAt, 0);
  Atomics.store(c, endedAt, 0);
  Atomics.store(c, spansAt, 0);
  return lowered;
}
