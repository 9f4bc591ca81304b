/**
 * Per-frame history of the events that explain a DMA report: lock, hand-out, unlock, move,
 * page-out, free — each with its epoch, the driver context and (optionally) the call-site stack.
 * Bounded per frame, so memory stays proportional to the frames in use, not to run length.
 *
 * Stacks are kept as Error objects: V8 records the frames when the Error is made and formats the
 * text only when `.stack` is read, so capture is cheap and formatting is paid only by reports.
 */

export type HistoryKind = 'lock' | 'handout' | 'unlock' | 'move' | 'page-out' | 'free' | 'alloc';

export interface HistoryEvent {
  readonly kind: HistoryKind;
  readonly frame: number;
  /** Frame epoch after the event. */
  readonly epoch: number;
  /** Driver context index, or -1 for the pager / the VMM itself. */
  readonly ctx: number;
  readonly page: number;
  readonly service: string;
  /** Global sequence number (shared with violations): orders events across frames. */
  readonly seq: number;
  readonly where: Error | undefined;
}

const PER_FRAME = 12;

export class History {
  private readonly byFrame = new Map<number, HistoryEvent[]>();

  constructor(
    private readonly captureStacks: boolean,
    private readonly nextSeq: () => number,
  ) {}

  record(kind: HistoryKind, frame: number, epoch: number, ctx: number, page: number, service: string): void {
    let list = this.byFrame.get(frame);
    if (!list) {
      list = [];
      this.byFrame.set(frame, list);
    }
    if (list.length >= PER_FRAME) list.shift();
    list.push({ kind, frame, epoch, ctx, page, service, seq: this.nextSeq(), where: this.captureStacks ? capture() : undefined });
  }

  /** Events for a frame, oldest first. */
  of(frame: number): readonly HistoryEvent[] {
    return this.byFrame.get(frame) ?? [];
  }

  /** The event that ended a lock: the unlock, free, page-out or move that made `epoch`. */
  ending(frame: number, epoch: number): HistoryEvent | undefined {
    const list = this.byFrame.get(frame);
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const e = list[i]!;
      if (e.epoch === epoch && (e.kind === 'unlock' || e.kind === 'free' || e.kind === 'page-out' || e.kind === 'move')) return e;
    }
    return undefined;
  }

  /** The most recent event of a kind for a frame, optionally at an exact epoch and context. */
  last(frame: number, kind: HistoryKind, epoch?: number, ctx?: number): HistoryEvent | undefined {
    const list = this.byFrame.get(frame);
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const e = list[i]!;
      if (e.kind === kind && (epoch === undefined || e.epoch === epoch) && (ctx === undefined || e.ctx === ctx)) return e;
    }
    return undefined;
  }
}

function capture(): Error {
  const prev = Error.stackTraceLimit;
  Error.stackTraceLimit = 24;
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
  const own = lines.filter((l) => !/[/\\](src|dist[/\\]src)[/\\](vmm|host|report|simulator|cpu|frametable)[/\\.]/.test(l));
  return (own.length > 0 ? own : lines).slice(0, 12);
}
