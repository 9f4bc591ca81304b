/**
 * Device-to-device links (the wire between two NICs). A link is a SharedArrayBuffer laid out by
 * layout.ts (LINK): two one-way frame queues, each with one producer and one consumer. Its two ends
 * are plain-data endpoints, `{ dmasimLink: 1, buffer, side }`, that cross to a device worker in its
 * attach options by structured clone (the buffer is shared, not copied).
 *
 * A producer wakes the holder of the other side (LINK.OWNER): a device through its device control
 * block's WAKE word (so the device's loop calls its model's onWake, and a model blocked on its wake
 * source inside a command returns), the main thread through the queue's WRITE word (waitAsync).
 */

import { LINK, LINK_Q, attachLinkShared, linkQueueIndex, linkSlotOffset, type LinkViews, type SharedViews } from './layout.js';
import type { LinkPort } from './device-api.js';
import { wakeDevice } from './wake.js';

export type LinkSide = 'a' | 'b';

/** One end of a link, as plain data (passes structured clone). */
export interface LinkEndpoint {
  readonly dmasimLink: 1;
  readonly buffer: SharedArrayBuffer;
  readonly side: LinkSide;
}

export function isLinkEndpoint(x: unknown): x is LinkEndpoint {
  if (typeof x !== 'object' || x === null) return false;
  const e = x as Partial<LinkEndpoint>;
  return e.dmasimLink === 1 && e.buffer instanceof SharedArrayBuffer && (e.side === 'a' || e.side === 'b');
}

export function sideIndex(side: LinkSide): 0 | 1 {
  return side === 'a' ? 0 : 1;
}

/**
 * A link end in use: sends on its own queue (side A produces queue 0), receives from the other.
 * Non-blocking: a full queue refuses the frame (the caller decides to wait, retry or drop).
 */
export class SharedLinkPort implements LinkPort {
  readonly maxFrame: number;
  private readonly tx: 0 | 1;
  private readonly rx: 0 | 1;
  private readonly dv: DataView;

  constructor(
    private readonly v: SharedViews,
    private readonly l: LinkViews,
    readonly side: LinkSide,
  ) {
    this.tx = sideIndex(side);
    this.rx = (1 - this.tx) as 0 | 1;
    this.maxFrame = l.slotBytes - 4;
    this.dv = new DataView(l.buffer);
  }

  static open(v: SharedViews, endpoint: unknown): SharedLinkPort {
    if (!isLinkEndpoint(endpoint)) throw new TypeError('not a link endpoint (use an end of sim.createLink())');
    return new SharedLinkPort(v, attachLinkShared(endpoint.buffer, v), endpoint.side);
  }

  /** Is anyone holding the other end? */
  get connected(): boolean {
    return Atomics.load(this.l.words, LINK.OWNER + this.rx) !== 0;
  }

  send(frame: Uint8Array): boolean {
    if (frame.length > this.maxFrame) throw new RangeError(`frame of ${frame.length} bytes exceeds the link's ${this.maxFrame}`);
    const w = this.l.words;
    const write = Atomics.load(w, linkQueueIndex(this.tx, LINK_Q.WRITE));
    // Acquire: the consumer's store of READ comes after it has copied the slot out, so a slot seen
    // as free here is no longer being read.
    const read = Atomics.load(w, linkQueueIndex(this.tx, LINK_Q.READ));
    if (((write - read) | 0) >= this.l.slots) return false;
    const at = linkSlotOffset(this.l, this.tx, (write >>> 0) % this.l.slots);
    this.dv.setUint32(at, frame.length, true);
    this.l.bytes.set(frame, at + 4);
    // Release: the slot's plain stores above are ordered before this seq-cst store.
    Atomics.store(w, linkQueueIndex(this.tx, LINK_Q.WRITE), (write + 1) | 0);
    Atomics.notify(w, linkQueueIndex(this.tx, LINK_Q.WRITE));
    this.wakeHolder(this.rx);
    return true;
  }

  pending(): number {
    const w = this.l.words;
    return (Atomics.load(w, linkQueueIndex(this.rx, LINK_Q.WRITE)) - Atomics.load(w, linkQueueIndex(this.rx, LINK_Q.READ))) | 0;
  }

  /** Length of the next frame waiting, or -1. */
  peekLength(): number {
    if (this.pending() <= 0) return -1;
    const read = Atomics.load(this.l.words, linkQueueIndex(this.rx, LINK_Q.READ));
    return this.dv.getUint32(linkSlotOffset(this.l, this.rx, (read >>> 0) % this.l.slots), true);
  }

  receive(): Uint8Array | null {
    const w = this.l.words;
    const read = Atomics.load(w, linkQueueIndex(this.rx, LINK_Q.READ));
    // Acquire: pairs with the producer's store of WRITE, after which the slot's bytes are visible.
    const write = Atomics.load(w, linkQueueIndex(this.rx, LINK_Q.WRITE));
    if (((write - read) | 0) <= 0) return null;
    const at = linkSlotOffset(this.l, this.rx, (read >>> 0) % this.l.slots);
    const n = Math.min(this.dv.getUint32(at, true), this.maxFrame);
    const frame = this.l.bytes.slice(at + 4, at + 4 + n);
    const wasFull = ((write - read) | 0) >= this.l.slots;
    // Hands the slot back: ordered after the copy above.
    Atomics.store(w, linkQueueIndex(this.rx, LINK_Q.READ), (read + 1) | 0);
    // A producer that found the queue full waits on its wake word: tell it there is room. The
    // producer of the queue this end receives from is the holder of the other side (rx).
    if (wasFull) this.wakeHolder(this.rx);
    return frame;
  }

  /** Counts a frame the producer gave up on (no room). */
  countDropped(): void {
    Atomics.add(this.l.words, linkQueueIndex(this.tx, LINK_Q.DROPPED), 1);
  }

  /** The queue this end receives from: its WRITE word, for waitAsync on the main thread. */
  arrivals(): { words: Int32Array; index: number } {
    return { words: this.l.words, index: linkQueueIndex(this.rx, LINK_Q.WRITE) };
  }

  private wakeHolder(s: 0 | 1): void {
    wakeSideHolder(this.v, this.l, s);
  }
}

/** Bumps the wake word of the device holding side index `s` (nothing for the main thread or nobody). */
function wakeSideHolder(v: SharedViews, l: LinkViews, s: 0 | 1): void {
  const owner = Atomics.load(l.words, LINK.OWNER + s);
  if (owner <= 0) return;
  // The device re-checks its sources after any change of WAKE, parked in its loop or waiting inside
  // a command (src/wake.ts: notified only if parked).
  wakeDevice(v, owner - 1);
}

/**
 * Claims side `side` of a link for `owner` (slot + 1, or -1 for the main thread); false if taken.
 * The holder of the other side is woken: its `connected` changed (a NIC's link-up status).
 */
export function claimLinkSide(v: SharedViews, l: LinkViews, side: LinkSide, owner: number): boolean {
  // The OWNER exchange is seq-cst and precedes the peer's WAKE bump: a peer that sees the bump and
  // then loads OWNER (its `connected`) sees this claim.
  if (Atomics.compareExchange(l.words, LINK.OWNER + sideIndex(side), 0, owner) !== 0) return false;
  wakeSideHolder(v, l, (1 - sideIndex(side)) as 0 | 1);
  return true;
}

/** Gives side `side` back if `owner` holds it, and wakes the other side's holder (as claimLinkSide). */
export function releaseLinkSide(v: SharedViews, l: LinkViews, side: LinkSide, owner: number): void {
  if (Atomics.compareExchange(l.words, LINK.OWNER + sideIndex(side), owner, 0) !== owner) return;
  wakeSideHolder(v, l, (1 - sideIndex(side)) as 0 | 1);
}

export function linkOwner(l: LinkViews, side: LinkSide): number {
  return Atomics.load(l.words, LINK.OWNER + sideIndex(side));
}

export function linkDropped(l: LinkViews, side: LinkSide): number {
  return Atomics.load(l.words, linkQueueIndex(sideIndex(side), LINK_Q.DROPPED));
}

/** A link made by sim.createLink(): its two ends, to pass in attach options (or to sim.openLink). */
export interface Link {
  readonly a: LinkEndpoint;
  readonly b: LinkEndpoint;
  /** Frames a side's producer gave up on (its queue stayed full). */
  dropped(side: LinkSide): number;
}

/** The main thread's end of a link (sim.openLink): a test playing the far end of the wire. */
export interface HostLinkPort {
  readonly side: LinkSide;
  readonly maxFrame: number;
  /** Someone holds the other end. */
  readonly connected: boolean;
  /** Queues a frame for the other end; false when its queue is full. Never blocks. */
  send(frame: Uint8Array): boolean;
  /** The next frame from the other end, or null. */
  receive(): Uint8Array | null;
  /** Resolves with the next frame; rejects with a RangeError-free timeout Error after `timeoutMs` (default 5000). Never blocks the thread. */
  nextFrame(options?: { timeoutMs?: number }): Promise<Uint8Array>;
  /** Frames waiting. */
  pending(): number;
  /** Gives the side back (another holder may open it). */
  close(): void;
}

export function makeLink(v: SharedViews, l: LinkViews): Link {
  return Object.freeze({
    a: Object.freeze({ dmasimLink: 1 as const, buffer: l.buffer, side: 'a' as const }),
    b: Object.freeze({ dmasimLink: 1 as const, buffer: l.buffer, side: 'b' as const }),
    dropped: (side: LinkSide) => linkDropped(attachLinkShared(l.buffer, v), side),
  });
}

/** Opens a side for the main thread (owner -1). */
export function openHostLink(v: SharedViews, endpoint: unknown, sched?: { inTask(): boolean; waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<boolean> }): HostLinkPort {
  const port = SharedLinkPort.open(v, endpoint);
  const l = attachLinkShared((endpoint as LinkEndpoint).buffer, v);
  const side = port.side;
  if (!claimLinkSide(v, l, side, -1)) throw new Error(`side ${side} of the link is already held`);
  let open = true;
  const live = () => {
    if (!open) throw new Error('the link port is closed');
  };
  return {
    side,
    maxFrame: port.maxFrame,
    get connected() {
      return port.connected;
    },
    send: (f) => (live(), port.send(f)),
    receive: () => (live(), port.receive()),
    pending: () => port.pending(),
    async nextFrame(options = {}) {
      live();
      const timeoutMs = options.timeoutMs ?? 5000;
      if (sched?.inTask()) {
        // Deterministic mode: the scheduler resumes this task once a frame is there (virtual timeout).
        if (!(await sched.waitUntil(() => port.pending() > 0, timeoutMs, `a frame on link side ${side}`))) throw new Error(`no frame on link side ${side} within ${timeoutMs} ms (virtual time)`);
        return port.receive()!;
      }
      const deadline = performance.now() + timeoutMs;
      const { words, index } = port.arrivals();
      for (;;) {
        // Take WRITE before looking: a frame published after this load changes it, so the
        // waitAsync below returns at once rather than sleeping through it.
        const seen = Atomics.load(words, index);
        const f = port.receive();
        if (f) return f;
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`no frame on link side ${side} within ${timeoutMs} ms`);
        const r = Atomics.waitAsync(words, index, seen, left);
        if (r.async) await r.value;
      }
    },
    close() {
      if (!open) return;
      open = false;
      releaseLinkSide(v, l, side, -1);
    },
  };
}
