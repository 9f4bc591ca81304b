/**
 * Physical frame allocator (main thread). Single frames come from a free stack in O(1); a frame can
 * be removed from the middle of the stack in O(1) through a position index, which is what lets
 * contiguous allocation claim an arbitrary run. Released frames may pass through a FIFO quarantine
 * (KASAN-style) before they are reusable, so a stale DMA lands on a frame nobody owns and is caught
 * instead of corrupting a new owner.
 *
 * Costs: alloc/release O(1); a contiguous search O(frames) in the worst case (a scan for a run),
 * which is the nature of the request and is not on any per-page path.
 */

import type { Frame } from './address.js';
import { FF } from './layout.js';
import { clearFrameFlags, flagsOf, setFrameFlags } from './frametable.js';
import type { SharedViews } from './layout.js';

export interface ContigRequest {
  count: number;
  /** Low bits that must be clear in the first frame number (2^k − 1). */
  alignMask: number;
  /** Every frame f must satisfy minFrame ≤ f < maxFrame. */
  minFrame: number;
  maxFrame: number;
}

export class FrameAllocator {
  private readonly stack: Int32Array;
  private readonly pos: Int32Array;
  private top = 0;
  /**
   * FIFO of released frames. Entries are never removed from the middle: a frame taken out of
   * quarantine early (a contiguous run needed it) just loses its QUARANTINED flag, and its entry is
   * skipped when it reaches the head. qLen counts entries, qLive the frames really quarantined.
   */
  private readonly quarantine: Int32Array;
  private qHead = 0;
  private qLen = 0;
  private qLive = 0;

  constructor(
    private readonly v: SharedViews,
    /** Frames held back after release before reuse; 0 disables the quarantine. */
    private quarantineCapacity: number,
  ) {
    const n = v.frames;
    this.stack = new Int32Array(n);
    this.pos = new Int32Array(n).fill(-1);
    this.quarantine = new Int32Array(Math.max(1, n));
    // Push high frames first so that low frames are handed out first: deterministic and
    // recognisable in demos (the first allocation gets low physical addresses).
    for (let f = n - 1; f >= 0; f--) {
      this.pos[f] = this.top;
      this.stack[this.top++] = f;
    }
    this.quarantineCapacity = Math.min(quarantineCapacity, n);
  }

  /** Frames on the free list plus frames in quarantine (both are unowned). */
  get freeCount(): number {
    return this.top + this.qLive;
  }

  isFree(f: number): boolean {
    return this.pos[f]! >= 0;
  }

  /** Takes one frame, or -1 if none is free. Drains the quarantine only when the free list is empty. */
  alloc(): Frame | -1 {
    if (this.top === 0 && !this.drainOne()) return -1;
    const f = this.stack[--this.top]!;
    this.pos[f] = -1;
    setFrameFlags(this.v, f as Frame, FF.USED);
    return f as Frame;
  }

  /**
   * The first run of `count` frames honouring alignment and bounds whose every frame satisfies
   * `usable` (default: free or quarantined). -1 if none. Pure: changes nothing.
   */
  findContig(req: ContigRequest, usable: (f: number) => boolean = (f) => this.isFree(f) || this.isQuarantined(f)): Frame | -1 {
    const step = req.alignMask + 1;
    const lo = Math.ceil(req.minFrame / step) * step;
    const hi = Math.min(req.maxFrame, this.v.frames);
    for (let s = lo; s + req.count <= hi; s += step) {
      let ok = true;
      for (let f = s + req.count - 1; f >= s; f--) {
        if (!usable(f)) {
          ok = false;
          // Skip past the blocker to the next aligned start.
          s = Math.floor(f / step) * step;
          break;
        }
      }
      if (ok) return s as Frame;
    }
    return -1;
  }

  /**
   * Takes the frames [start, start+count), every one of which must be free or quarantined; only
   * those frames leave the quarantine.
   */
  takeRun(start: Frame, count: number): void {
    for (let f = start; f < start + count; f++) {
      if (this.isQuarantined(f)) {
        clearFrameFlags(this.v, f as Frame, FF.QUARANTINED);
        this.qLive--;
        setFrameFlags(this.v, f as Frame, FF.USED);
      } else this.take(f);
    }
  }

  isQuarantined(f: number): boolean {
    return (flagsOf(this.v, f as Frame) & FF.QUARANTINED) !== 0;
  }

  /** Returns a frame. With a quarantine it waits there first; the oldest quarantined frame is freed. */
  release(f: number): void {
    clearFrameFlags(this.v, f as Frame, FF.USED);
    if (this.quarantineCapacity === 0) {
      this.push(f);
      return;
    }
    if (this.qLive === this.quarantineCapacity) this.drainOne();
    if (this.qLen === this.quarantine.length) this.compact();
    this.quarantine[(this.qHead + this.qLen) % this.quarantine.length] = f;
    this.qLen++;
    this.qLive++;
    setFrameFlags(this.v, f as Frame, FF.QUARANTINED);
  }

  /** A stable fingerprint of the allocator state, for all-or-nothing checks in tests. */
  fingerprint(): string {
    const q: number[] = [];
    for (let i = 0; i < this.qLen; i++) {
      const f = this.quarantine[(this.qHead + i) % this.quarantine.length]!;
      if (this.isQuarantined(f)) q.push(f);
    }
    return `${this.top}:${Buffer.from(this.stack.buffer, 0, this.top * 4).toString('base64')}|${q.join(',')}`;
  }

  /** Moves the oldest really-quarantined frame to the free list; false if there is none. */
  private drainOne(): boolean {
    while (this.qLen > 0) {
      const f = this.quarantine[this.qHead]!;
      this.qHead = (this.qHead + 1) % this.quarantine.length;
      this.qLen--;
      if (!this.isQuarantined(f)) continue; // taken out early by takeRun
      clearFrameFlags(this.v, f as Frame, FF.QUARANTINED);
      this.qLive--;
      this.push(f);
      return true;
    }
    return false;
  }

  /** Drops skipped entries so the FIFO never outgrows its buffer (rare: only after early takes). */
  private compact(): void {
    const live: number[] = [];
    for (let i = 0; i < this.qLen; i++) {
      const f = this.quarantine[(this.qHead + i) % this.quarantine.length]!;
      if (this.isQuarantined(f) && !live.includes(f)) live.push(f);
    }
    this.quarantine.set(live);
    this.qHead = 0;
    this.qLen = live.length;
  }

  private push(f: number): void {
    this.pos[f] = this.top;
    this.stack[this.top++] = f;
  }

  /** Removes a specific free frame from the middle of the stack in O(1). */
  private take(f: number): void {
    const i = this.pos[f]!;
    const last = this.stack[--this.top]!;
    this.stack[i] = last;
    this.pos[last] = i;
    this.pos[f] = -1;
    setFrameFlags(this.v, f as Frame, FF.USED);
  }
}
