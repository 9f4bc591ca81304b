/**
 * The facts reports are made of, captured when each event happens (KASAN keeps the alloc and free
 * stacks in the object's metadata at the time; Linux DMA-API debug keeps the mapping entry). Two
 * kinds, both bounded by the size of memory, never by the length of a run:
 *
 *  - a **tenure** per lock of a frame: from the 0 → 1 lock (or a fixed allocation) to the event
 *    that ended it (unlock, free, decommit), with the driver, the linear page, the epoch the lock
 *    made, and the stacks of both ends. A frame has at most one current tenure and remembers the
 *    last ended one;
 *  - a **hand-out** per (driver context, frame): the latest time `_CopyPageTable` (or an
 *    allocation's PhysAddr) told that driver the frame's address — its epoch, page, stack and the
 *    tenure it belonged to. A device checks exactly this entry (the shared hand-out table holds its
 *    epoch), so a report about a device access finds the driver's view of the frame here, and from
 *    it the lock and unlock that explain it, however much the frame has been used since.
 *
 * Stacks are captured only where a report prints them (lock, unlock, hand-out, free, and device
 * programming in the host): pager events cost no stack. They are kept as Error objects: V8 records
 * the frames when the Error is made and formats the text only when `.stack` is read.
 *
 * Every event also goes to the trace (trace.ts) when it is on; and before any fact changes, the
 * `beforeChange` hook lets the report sink turn device findings already published into records, so
 * a record is built from the facts as they were when the device saw them.
 */

import type { Epoch, Frame, LinPage } from '../address.js';
import { kindWord, type TraceKind, type TraceWriter } from '../trace.js';

export type HistoryKind = 'lock' | 'handout' | 'unlock' | 'move' | 'page-out' | 'page-discard' | 'page-in' | 'move-in' | 'free' | 'fixed';
/** The VMM core's name for a frame taken into use: by page-in, by a move, or as a fixed page. */
type AllocKind = 'alloc';

/** The event that ended a tenure. */
export interface TenureEnd {
  readonly kind: 'unlock' | 'free';
  /** The frame's epoch after it (even). */
  readonly epoch: Epoch;
  /** Driver context, or -1 for the VMM itself. */
  readonly ctx: number;
  readonly service: string;
  readonly seq: number;
  readonly where: Error | undefined;
}

/** One lock of a frame (or one fixed allocation), from start to end. */
export interface Tenure {
  readonly frame: Frame;
  /** The linear page it locked, or -1 (a PCC_NOLIN frame). */
  readonly page: number;
  readonly ctx: number;
  /** The epoch the lock made (odd). */
  readonly epoch: Epoch;
  readonly service: string;
  readonly seq: number;
  readonly fixed: boolean;
  readonly where: Error | undefined;
  end: TenureEnd | undefined;
}

/** The latest hand-out of a frame's address to one driver context. */
export interface Handout {
  readonly ctx: number;
  readonly frame: Frame;
  readonly page: number;
  /** The epoch the driver was given (odd if the frame was locked then). */
  readonly epoch: Epoch;
  readonly service: string;
  readonly seq: number;
  readonly where: Error | undefined;
  /** The frame's tenure at the hand-out (undefined: it was not locked). */
  readonly tenure: Tenure | undefined;
}

const TRACE_OF: Readonly<Record<HistoryKind, TraceKind>> = {
  lock: 'lock',
  handout: 'handout',
  unlock: 'unlock',
  move: 'page-move',
  'page-out': 'page-out',
  'page-discard': 'page-discard',
  'page-in': 'page-in',
  'move-in': 'page-in',
  free: 'free',
  fixed: 'lock',
};

/**
 * Which events capture a call-site stack: none; the ones a report prints (lock, unlock, hand-out,
 * free, fixed allocation); or every event, pager moves and page-ins included — what dmasim did
 * before, kept only so the benchmark can show what the default saves.
 */
export type StackPolicy = 'none' | 'reported' | 'all-events';

export class History {
  private readonly current = new Map<number, Tenure>();
  private readonly lastEnded = new Map<number, Tenure>();
  private readonly handouts = new Map<number, Handout>();
  /** Frame a page is being moved to (a 'move-in' precedes the 'move' of the old frame). */
  private moveTarget = -1;
  /** Called before any fact changes (the report sink drains device findings then). */
  beforeChange: () => void = () => {};

  constructor(
    private readonly stacks: StackPolicy,
    private readonly frames: number,
    private readonly nextSeq: () => number,
    private readonly trace: TraceWriter | undefined,
  ) {}

  /**
   * Records an event on `frame` whose epoch is now `epoch`, for driver context `ctx` (-1: the VMM or
   * the pager) and linear page `page` (-1: none), made by DDK service `service`.
   */
  record(kind: HistoryKind | AllocKind, frame: Frame, epoch: Epoch, ctx: number, page: LinPage | number, service: string, inflight = 0): void {
    if (kind === 'alloc') kind = service === 'page-in' ? 'page-in' : service === 'move' ? 'move-in' : 'fixed';
    this.beforeChange();
    // The old cost, for the benchmark only: a stack for an event no report prints.
    if (this.stacks === 'all-events' && (kind === 'move' || kind === 'move-in' || kind === 'page-in' || kind === 'page-out' || kind === 'page-discard')) void capture();
    const t = this.trace;
    switch (kind) {
      case 'lock':
      case 'fixed': {
        const seq = this.nextSeq();
        this.current.set(frame, { frame, page, ctx, epoch, service, seq, fixed: kind === 'fixed', where: this.stack(), end: undefined });
        if (t?.on) t.emit(kindWord('lock'), frame, epoch, ctx, page);
        return;
      }
      case 'unlock':
      case 'free': {
        const tenure = this.current.get(frame);
        if (tenure) {
          tenure.end = { kind, epoch, ctx, service, seq: this.nextSeq(), where: this.stack() };
          this.current.delete(frame);
          this.lastEnded.set(frame, tenure);
        }
        if (t?.on) t.emit(kindWord(kind), frame, epoch, ctx, page, inflight);
        return;
      }
      case 'handout': {
        this.handouts.set(ctx * this.frames + frame, { ctx, frame, page, epoch, service, seq: this.nextSeq(), where: this.stack(), tenure: this.current.get(frame) });
        if (t?.on) t.emit(kindWord('handout'), frame, epoch, ctx, page);
        return;
      }
      case 'move-in':
        // The destination of a move; the move itself is traced when the old frame is released.
        this.moveTarget = frame;
        return;
      case 'move':
        if (t?.on) t.emit(kindWord('page-move'), frame, this.moveTarget, page, epoch);
        this.moveTarget = -1;
        return;
      default:
        if (t?.on) t.emit(kindWord(TRACE_OF[kind]), frame, page, epoch);
    }
  }

  /** The frame's tenure now (locked or fixed), if any. */
  currentTenure(frame: number): Tenure | undefined {
    return this.current.get(frame);
  }

  /** The frame's tenure that made `epoch` (odd), now or the last one ended. */
  tenureAt(frame: number, epoch: number): Tenure | undefined {
    const now = this.current.get(frame);
    if (now?.epoch === epoch) return now;
    const last = this.lastEnded.get(frame);
    return last?.epoch === epoch ? last : undefined;
  }

  /** The frame's last ended tenure (the lock before the current one, or the last one). */
  lastTenure(frame: number): Tenure | undefined {
    return this.lastEnded.get(frame);
  }

  /** The latest hand-out of `frame` to driver context `ctx`. */
  handout(ctx: number, frame: number): Handout | undefined {
    return this.handouts.get(ctx * this.frames + frame);
  }

  /** Nesting depth of DDK service calls in progress, and the stack captured for the outermost. */
  private calls = 0;
  private callStack: Error | undefined;

  /**
   * A DDK service call begins: every event it makes until endCall shares one stack, captured the
   * first time one is needed (a 16-page lock is one call site, not sixteen; a capture costs
   * microseconds here).
   */
  beginCall(): void {
    this.calls++;
  }

  endCall(): void {
    if (--this.calls === 0) this.callStack = undefined;
  }

  /** The current DDK call's stack (shared by its events), or undefined with stacks off. */
  currentStack(): Error | undefined {
    return this.stack();
  }

  private stack(): Error | undefined {
    if (this.stacks === 'none') return undefined;
    // 'all-events' is the old cost: one capture per event, no sharing.
    if (this.calls === 0 || this.stacks === 'all-events') return capture();
    return (this.callStack ??= capture());
  }
}

/**
 * A call-site stack. 16 frames: dmasim's own (about seven, dropped by formatStack) and enough of the
 * driver's. A capture costs ~1 µs per frame walked on this machine, so the limit is the cost.
 */
function capture(): Error {
  const prev = Error.stackTraceLimit;
  Error.stackTraceLimit = 16;
  const e = new Error('call site');
  Error.stackTraceLimit = prev;
  return e;
}

/**
 * Formats a captured stack for a report: drops the message line and dmasim's own frames, so the
 * first line is the driver code that made the call.
 */
export function formatStack(e: Error | undefined): string[] | undefined {
  if (!e?.stack) return undefined;
  const lines = e.stack.split('\n').slice(1).map((l) => l.trim());
  const own = lines.filter((l) => !/[/\\](src|dist[/\\]src)[/\\](vmm|host|report|simulator|cpu|frametable|trace)[/\\.]/.test(l));
  return (own.length > 0 ? own : lines).slice(0, 12);
}
