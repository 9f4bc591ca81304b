/**
 * The event trace (DESIGN.md §9): what happened, in global sequence order, written by the main
 * thread and every device worker into shared memory, drained by the main thread into a bounded log.
 * The HTML timeline, the trace hash of deterministic runs and replay read it.
 *
 * Shape: one single-writer ring per producer (layout.ts TR: producer 0 is the main thread,
 * 1 + slot a device), so no writer ever waits for or claims against another, and a worker that dies
 * mid-event leaves nothing for anyone to repair (its half-written event is simply never published).
 * Every event takes its number from the global sequence (H.SEQ) that violation records use too.
 *
 * Exact order across rings: a writer raises BUSY before it takes its sequence number, and lowers it
 * in the same store that publishes the event (BUSY and the published count share the STATE word).
 * The reader loads H.SEQ (= g) first, then each ring's STATE. An event numbered ≤ g that the reader
 * did not collect must belong to a ring whose BUSY it saw raised (had the writer lowered BUSY before
 * the reader's load, it would have published before it too), and is numbered above that ring's last
 * published event. So every collected event numbered below
 * `watermark = min(g + 1, last published + 1 of each busy ring)` can be emitted now, in order; the
 * rest wait in their rings for the next drain.
 *
 * Overflow is counted, never silent: a full ring counts the event in its DROPPED word instead of
 * overwriting one the reader has not seen; a full log evicts its oldest event and counts it.
 */

import { H, TE, TE_STRIDE, TR, TR_COUNT_MASK, traceEventIndex, traceIndex, traceProducers, type SharedViews } from './layout.js';

/** Event kinds, by number in the ring (stable: part of the trace schema). */
export const TRACE_KINDS = [
  'lock',
  'unlock',
  'handout',
  'page-move',
  'page-out',
  'page-discard',
  'page-in',
  'free',
  'doorbell',
  'dma',
  'irq-raise',
  'irq-ack',
  'violation',
  'device-fault',
] as const;
export type TraceKind = (typeof TRACE_KINDS)[number];

/**
 * The payload words of each kind, in order (TE.A onwards). `device` is an attachment id (host-wide,
 * never reused), `driver` a driver context index, `page` a linear page number or -1, `frame` a
 * physical frame number, `phys`/`phys2` physical byte addresses.
 */
export const TRACE_FIELDS = {
  /** A page's lock count went 0 → 1 (the frame's epoch became odd). */
  lock: ['frame', 'epoch', 'driver', 'page'],
  /** A page's lock count went 1 → 0; `inflight`: device slots with an access in flight then. */
  unlock: ['frame', 'epoch', 'driver', 'page', 'inflight'],
  /** `_CopyPageTable` (or an allocation's PhysAddr) told `driver` the frame's address at `epoch`. */
  handout: ['frame', 'epoch', 'driver', 'page'],
  /** The pager moved `page` from `frame` to `to`; `epoch` is the old frame's after the move. */
  'page-move': ['frame', 'to', 'page', 'epoch'],
  /** The pager wrote `page` out and released its frame. */
  'page-out': ['frame', 'page', 'epoch'],
  /** The pager dropped a clean `page` (its backing copy is current, or it was never written). */
  'page-discard': ['frame', 'page', 'epoch'],
  /** `page` was made present on `frame`. */
  'page-in': ['frame', 'page'],
  /** A frame left its page by a free or decommit. */
  free: ['frame', 'epoch', 'driver', 'page'],
  /** The driver rang a device's doorbell: `command` is the command number it starts. */
  doorbell: ['device', 'driver', 'command'],
  /**
   * One DMA access: `frames` walked, bytes read from and written to memory, the first two spans
   * (`phys`/`length`, `phys2`/`length2`; `spans` says how many there were).
   */
  dma: ['device', 'driver', 'command', 'bytesRead', 'bytesWritten', 'frames', 'phys', 'length', 'phys2', 'length2'],
  /** A device raised its interrupt line; `count` is its interrupt count after. */
  'irq-raise': ['device', 'count'],
  /** The driver acknowledged a device's interrupt. */
  'irq-ack': ['device'],
  /** A violation record was made (`record` is its seq in `sim.violations()`); `device` 0 if none. */
  violation: ['code', 'device', 'driver', 'frame', 'phys', 'record'],
  /** A device faulted; `fault` indexes FAULT_KINDS. */
  'device-fault': ['device', 'fault'],
} as const satisfies Record<TraceKind, readonly string[]>;

/** How a traced DMA access ended (the dma event's `outcome`). */
export const DMA_OUTCOMES = ['ok', 'refused', 'allowed'] as const;
export type DmaOutcome = (typeof DMA_OUTCOMES)[number];
/** Device fault kinds, by number in a device-fault event. */
export const FAULT_KINDS = ['threw', 'violation', 'exited', 'hung', 'load-failed'] as const;

type FieldsOf<K extends TraceKind> = { readonly [F in (typeof TRACE_FIELDS)[K][number]]: number };
interface DmaExtra {
  readonly outcome: DmaOutcome;
  readonly spans: number;
  /** The first span is a device write (memory is written). */
  readonly write: boolean;
  readonly write2: boolean;
}
/**
 * A trace event. `slot` is the device slot whose ring it came from, or null for the main thread.
 * Each kind has the fields of TRACE_FIELDS; a dma event also has DmaExtra.
 */
export type TraceEvent = {
  [K in TraceKind]: { readonly seq: number; readonly kind: K; readonly slot: number | null } & FieldsOf<K> & (K extends 'dma' ? DmaExtra : unknown);
}[TraceKind];

const KIND = Object.fromEntries(TRACE_KINDS.map((k, i) => [k, i])) as { readonly [K in TraceKind]: number };
/** Payload fields stored as unsigned 32-bit values. */
const UNSIGNED = new Set(['phys', 'phys2']);

/** Flag bits of a dma event's KIND word (above the kind byte). */
const DMA_FLAGS = { OUTCOME_SHIFT: 8, WRITE: 1 << 10, WRITE2: 1 << 11, SPANS_SHIFT: 12 } as const;

/** A dma event's outcome by number (DMA_OUTCOMES index). */
export const DMA_OUTCOME = { ok: 0, refused: 1, allowed: 2 } as const satisfies Record<DmaOutcome, number>;

/** The KIND word of a dma event; `outcome` is a DMA_OUTCOME number. */
export function dmaKindWord(outcome: number, spans: number, write: boolean, write2: boolean): number {
  return KIND.dma | (outcome << DMA_FLAGS.OUTCOME_SHIFT) | (write ? DMA_FLAGS.WRITE : 0) | (write2 ? DMA_FLAGS.WRITE2 : 0) | (spans << DMA_FLAGS.SPANS_SHIFT);
}

export function kindWord(kind: TraceKind): number {
  return KIND[kind];
}

/**
 * A producer's writer (one per thread per ring). When the trace is off (capacity 0) `on` is false
 * and callers skip the call entirely, so the trace costs nothing.
 */
export class TraceWriter {
  readonly on: boolean;
  private readonly c: Int32Array;
  private readonly mask: number;
  private readonly stateAt: number;
  private readonly readAt: number;
  private readonly droppedAt: number;
  private readonly base: number;
  /** Events published, modulo 2^30: this writer is STATE's only writer, so it keeps its own copy. */
  private written: number;
  /** Free slots known without reloading READ (the reader only ever frees more). */
  private free = 0;
  /**
   * True for the main thread's own ring: its reader is the same thread, which can never see it
   * mid-event, so its words need no atomics; only the sequence number does.
   */
  private readonly sameThread: boolean;

  constructor(
    v: SharedViews,
    producer: number,
    /** Called (main thread) when this ring is half full: the reader drains it then. */
    private readonly onHalfFull?: () => void,
  ) {
    this.c = v.control;
    const cap = v.config.traceCapacity;
    this.on = cap > 0;
    this.mask = cap - 1;
    this.sameThread = producer === 0;
    this.stateAt = this.on ? traceIndex(v, producer, TR.STATE) : 0;
    this.readAt = this.on ? traceIndex(v, producer, TR.READ) : 0;
    this.droppedAt = this.on ? traceIndex(v, producer, TR.DROPPED) : 0;
    this.base = this.on ? traceEventIndex(v, producer, 0) : 0;
    // A ring outlives the writers of its slot: continue where the previous (exited) one stopped.
    this.written = this.on ? Atomics.load(this.c, this.stateAt) >>> 1 : 0;
  }

  /** Appends an event: its KIND word and up to ten payload words (missing ones are 0). */
  emit(kind: number, a = 0, b = 0, d = 0, e = 0, f = 0, g = 0, h = 0, i = 0, j = 0, k = 0): void {
    const c = this.c;
    const w = this.written;
    if (this.free === 0) {
      // READ only grows (modulo 2^30); an older value only makes us more conservative.
      const unread = (w - (this.sameThread ? c[this.readAt]! : Atomics.load(c, this.readAt))) & TR_COUNT_MASK;
      this.free = this.mask + 1 - unread;
      if (this.free === 0) {
        Atomics.add(c, this.droppedAt, 1);
        return;
      }
    }
    const next = (w + 1) & TR_COUNT_MASK;
    if (this.sameThread) {
      const at = this.base + (w & this.mask) * TE_STRIDE;
      this.fill(at, Atomics.add(c, H.SEQ, 1) + 1, kind, a, b, d, e, f, g, h, i, j, k);
      this.written = next;
      this.free--;
      c[this.stateAt] = next << 1;
      if (this.onHalfFull && this.free <= (this.mask + 1) >>> 1) {
        this.onHalfFull();
        // Reload READ at the next event: the drain has just freed the ring.
        this.free = 0;
      }
      return;
    }
    // BUSY before the sequence number is taken (the watermark argument, module comment).
    Atomics.store(c, this.stateAt, (w << 1) | 1);
    const seq = Atomics.add(c, H.SEQ, 1) + 1;
    this.fill(this.base + (w & this.mask) * TE_STRIDE, seq, kind, a, b, d, e, f, g, h, i, j, k);
    this.written = next;
    this.free--;
    // Publication and BUSY lowered in one store: the plain stores above happen-before a reader's
    // load that sees it.
    Atomics.store(c, this.stateAt, next << 1);
  }

  private fill(at: number, seq: number, kind: number, a: number, b: number, d: number, e: number, f: number, g: number, h: number, i: number, j: number, k: number): void {
    const c = this.c;
    c[at + TE.SEQ] = seq;
    c[at + TE.KIND] = kind;
    c[at + 2] = a;
    c[at + 3] = b;
    c[at + 4] = d;
    c[at + 5] = e;
    c[at + 6] = f;
    c[at + 7] = g;
    c[at + 8] = h;
    c[at + 9] = i;
    c[at + 10] = j;
    c[at + 11] = k;
  }
}

/** Host side, after a device's worker has exited: a writer that died holding BUSY holds no more. */
export function releaseTraceProducer(v: SharedViews, producer: number): void {
  if (v.config.traceCapacity > 0) Atomics.and(v.control, traceIndex(v, producer, TR.STATE), ~1);
}

export interface TraceStats {
  /** Events drained into the log since the start. */
  readonly recorded: number;
  /** Events lost because a producer's ring was full (raise `trace.capacity`). */
  readonly dropped: number;
  /** Events pushed out of the bounded log by newer ones (raise `trace.keep`). */
  readonly evicted: number;
}

/** Words kept per logged event: the producer, then the event's TE_STRIDE words. */
const LOG_STRIDE = TE_STRIDE + 1;

/**
 * The main thread's reader: merges the producers' rings in sequence order into a bounded log of the
 * last `keep` events, and keeps a running FNV-1a hash of everything it drained (the trace hash).
 */
export class TraceReader {
  private readonly c: Int32Array;
  private readonly cap: number;
  private readonly producers: number;
  private readonly read: Int32Array;
  private readonly lastSeq: Int32Array;
  /** Per producer during a drain: its events still to take. */
  private readonly write: Int32Array;
  /** Word index of each producer's first event slot. */
  private readonly base: Int32Array;
  /** Producers with unread events during a drain. */
  private readonly active: Int32Array;
  private readonly log: Int32Array;
  private logged = 0;
  private hashValue = 0x811c9dc5;
  private draining = false;

  constructor(
    private readonly v: SharedViews,
    readonly keep: number,
  ) {
    this.c = v.control;
    this.cap = v.config.traceCapacity;
    this.producers = traceProducers(v.config);
    this.read = new Int32Array(this.producers);
    this.lastSeq = new Int32Array(this.producers);
    this.write = new Int32Array(this.producers);
    this.base = new Int32Array(this.producers);
    this.active = new Int32Array(this.producers);
    if (this.cap > 0) for (let p = 0; p < this.producers; p++) this.base[p] = traceEventIndex(v, p, 0);
    this.log = new Int32Array(this.cap > 0 ? keep * LOG_STRIDE : 0);
  }

  get on(): boolean {
    return this.cap > 0;
  }

  /** Moves every event that can be ordered now from the rings into the log. */
  drain(): void {
    if (!this.on || this.draining) return;
    this.draining = true;
    try {
      this.drainOnce();
    } finally {
      this.draining = false;
    }
  }

  private drainOnce(): void {
    const c = this.c;
    const v = this.v;
    const cap = this.cap;
    const read = this.read;
    const write = this.write;
    const base = this.base;
    // First the sequence, then each ring's STATE: its BUSY bit and how far it has published (module
    // comment). Counters are modulo 2^30; `unread` is how many events are ours to take.
    let watermark = Atomics.load(c, H.SEQ) + 1;
    let na = 0;
    for (let p = 0; p < this.producers; p++) {
      const state = Atomics.load(c, traceIndex(v, p, TR.STATE));
      const unread = ((state >>> 1) - read[p]!) & TR_COUNT_MASK;
      write[p] = unread;
      if ((state & 1) !== 0) {
        // Its next event is numbered above its last published one, which is unread (still in its
        // slot) or the last one we consumed.
        const last = unread > 0 ? c[base[p]! + (((state >>> 1) - 1) & (cap - 1)) * TE_STRIDE + TE.SEQ]! : this.lastSeq[p]!;
        // Sequence numbers are Int32 and wrap after 2^31 events: compare them by difference.
        if (((last + 1 - watermark) | 0) < 0) watermark = last + 1;
      }
      if (unread > 0) this.active[na++] = p;
    }
    // Merge the rings' unread events (each ring is in sequence order) below the watermark.
    while (na > 0) {
      let bi = 0;
      let best = this.active[0]!;
      let bestSeq = c[base[best]! + (read[best]! & (cap - 1)) * TE_STRIDE + TE.SEQ]!;
      for (let i = 1; i < na; i++) {
        const p = this.active[i]!;
        const s = c[base[p]! + (read[p]! & (cap - 1)) * TE_STRIDE + TE.SEQ]!;
        if (((s - bestSeq) | 0) < 0) {
          bestSeq = s;
          best = p;
          bi = i;
        }
      }
      if (((bestSeq - watermark) | 0) >= 0) break;
      this.append(best, base[best]! + (read[best]! & (cap - 1)) * TE_STRIDE);
      this.lastSeq[best] = bestSeq;
      read[best] = (read[best]! + 1) & TR_COUNT_MASK;
      if (--write[best]! === 0) this.active[bi] = this.active[--na]!;
    }
    // Releases the consumed slots to their writers, after their words were copied.
    for (let p = 0; p < this.producers; p++) Atomics.store(c, traceIndex(v, p, TR.READ), read[p]!);
  }

  private append(producer: number, at: number): void {
    const c = this.c;
    const o = (this.logged % this.keep) * LOG_STRIDE;
    this.log[o] = producer;
    let h = this.hashValue;
    const log = this.log;
    for (let i = 0; i < TE_STRIDE; i++) {
      const w = c[at + i]!;
      log[o + 1 + i] = w;
      // FNV-1a, a 32-bit word at a time, over the event's words (the sequence number included: it
      // is the order).
      h = Math.imul(h ^ w, 0x01000193);
    }
    this.hashValue = h;
    this.logged++;
  }

  stats(): TraceStats {
    let dropped = 0;
    if (this.on) for (let p = 0; p < this.producers; p++) dropped += Atomics.load(this.c, traceIndex(this.v, p, TR.DROPPED));
    return { recorded: this.logged, dropped, evicted: Math.max(0, this.logged - this.keep) };
  }

  /** FNV-1a (32-bit, word-wise) of every event drained so far, as 8 hex digits. */
  hash(): string {
    return (this.hashValue >>> 0).toString(16).padStart(8, '0');
  }

  /** The events kept in the log (the last `keep`), oldest first. Drains first. */
  events(): TraceEvent[] {
    this.drain();
    const out: TraceEvent[] = [];
    const n = Math.min(this.logged, this.keep);
    for (let i = this.logged - n; i < this.logged; i++) out.push(decode(this.log, (i % this.keep) * LOG_STRIDE));
    return out;
  }
}

function decode(log: Int32Array, o: number): TraceEvent {
  const producer = log[o]!;
  const kw = log[o + 1 + TE.KIND]!;
  const kind = TRACE_KINDS[kw & 0xff] ?? 'violation';
  const e: Record<string, unknown> = { seq: log[o + 1 + TE.SEQ]!, kind, slot: producer === 0 ? null : producer - 1 };
  TRACE_FIELDS[kind].forEach((name, i) => {
    const w = log[o + 1 + TE.A + i]!;
    e[name] = UNSIGNED.has(name) ? w >>> 0 : w;
  });
  if (kind === 'dma') {
    e.outcome = DMA_OUTCOMES[(kw >>> DMA_FLAGS.OUTCOME_SHIFT) & 3] ?? 'ok';
    e.spans = kw >>> DMA_FLAGS.SPANS_SHIFT;
    e.write = (kw & DMA_FLAGS.WRITE) !== 0;
    e.write2 = (kw & DMA_FLAGS.WRITE2) !== 0;
  }
  return e as TraceEvent;
}
