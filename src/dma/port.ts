/**
 * The checked DMA port (DESIGN.md §3 step 5): the only way device code touches physical memory.
 * Runs on the device's worker thread, directly on shared memory: nothing on this path crosses a
 * MessagePort.
 *
 * Every access is checked before its first byte moves:
 *  1. range rules — the device's address width, its no-crossing boundary, its own MMIO window
 *     (re-entrancy), the end of RAM;
 *  2. a first pass over every frame touched, from plain reads of its epoch and this device's
 *     driver's hand-out, without announcing anything: the access is valid only if the epoch is odd
 *     (locked) and equals the hand-out epoch; a device write also needs the page dirty or locked
 *     with PAGEMARKDIRTY (else the pager may drop it as clean); and when the device stated where
 *     the address came from (DmaAttributes.from), the frame must have held its current page since
 *     before that source was written (src/provenance.ts: 'dma-stale-programming'). An access
 *     refused here (onViolation 'block' or 'throw') leaves the frame table untouched, so it can
 *     never make an innocent driver's unlock look like an unlock during DMA;
 *  3. the access is announced — its spans written to the device's access record, then this
 *     device's in-flight bit set on every frame (record.ts) — and every frame's epoch read again
 *     and classified again. This is the Dekker half that counts (frametable.ts): a change seen now
 *     is a real race with an unlock, refused and reported like any violation.
 * A violating access is blocked (no byte lands), allowed, or thrown, per onViolation, and is always
 * reported to the shared ring. After the bytes move, each frame's bit is cleared and its epoch
 * read once more: a change means an unlock (or move, or free) took effect while the bytes were
 * moving. The unlocker reports that if it saw the bit; it may have read the words just after our
 * clear and seen nothing, so the device reports it too ('unlock-during-dma', epoch seen = the epoch
 * that unlock made) and report.ts keeps one record per unlock.
 *
 * A frame may appear twice in one access (a copy inside one page, overlapping scatter-gather
 * elements): its bit is set twice and cleared at its first position in the end-of-access walk —
 * by then every byte has moved, so the frame is no longer in flight — and an unlock seen there is
 * reported once.
 *
 * After the bytes of a device write land (not a declared status write-back), its frames are marked
 * FF.DMA_DATA: addresses later read from them have unknown provenance (provenance.ts).
 *
 * An access has at most AR_MAX_SPANS (256) spans — scatter-gather elements; more is a RangeError,
 * thrown before anything is touched. Device code that starts a DMA access from inside another one
 * (a typed-array subclass whose set() calls back into the port) gets a RangeError: the access record
 * describes one access at a time.
 */

import { PAGESIZE, type Epoch, type Frame, type PhysAddr } from '../address.js';
import type { CopyAttributes, DmaAttributes, DmaPort, DmaResult, DmaSource, DmaValueResult, SgElement } from '../device-api.js';
import { EPOCH_MASK, epochOf, flagsOf, handoutOf } from '../frametable.js';
import { AR, AR_MAX_SPANS, DCB, FF, FP, FP_STRIDE, FT, H, MMIO_BASE, MMIO_STRIDE, SABOTAGE_CODE, VIOLATION_MODE, accessIndex, dcbIndex, provenanceIndex, type SharedViews } from '../layout.js';
import { UNKNOWN_SOURCE, memorySource, readStamp, seqOf } from '../provenance.js';
import { appendViolation, codeNumber, type ViolationCode } from '../ring.js';
import { DMA_OUTCOME, TraceWriter, dmaKindWord, kindWord } from '../trace.js';
import { AccessRecorder } from './record.js';
import type { SchedGate } from '../sched/gate.js';

/** Thrown into device code when onViolation is 'throw'. */
export class DmaViolationError extends Error {
  override readonly name = 'DmaViolationError';
  constructor(
    readonly code: ViolationCode,
    readonly physAddr: PhysAddr,
  ) {
    super(`${code} at physical address 0x${physAddr.toString(16).toUpperCase().padStart(8, '0')}`);
  }
}

export interface PortStats {
  accesses: number;
  bytesRead: number;
  bytesWritten: number;
  violations: number;
  blocked: number;
}

/** At most this many frame violations are reported for one access (the rest are counted). */
const MAX_REPORTS_PER_ACCESS = 8;
const DIRTY_OK = FF.MARKDIRTY | FF.PTE_DIRTY | FF.FIXED | FF.NOPAGER;

interface Span {
  phys: PhysAddr;
  length: number;
  write: boolean;
  /** Where the address came from (DmaAttributes.from); UNKNOWN_SOURCE: not stated, not judged. */
  from: number;
  /** A device write of its own status (DmaAttributes.writeBack): leaves the frame's provenance. */
  writeBack: boolean;
}

const NO_ATTRS: DmaAttributes = Object.freeze({});

/** One span (every span has every field: one object shape for the per-frame loops). */
function span(phys: PhysAddr, length: number, write: boolean, attrs: DmaAttributes | undefined, from?: DmaSource): Span {
  return { phys, length, write, from: from ?? attrs?.from ?? UNKNOWN_SOURCE, writeBack: attrs?.writeBack === true };
}

/** One finding of an access, as it will be appended to the ring. */
interface Finding {
  code: ViolationCode;
  s: Span;
  phys: PhysAddr;
  frame: Frame | -1;
  seen: Epoch | 0;
  expected: Epoch | -1;
  detail: number;
  detail2?: number;
}

/**
 * Attributes of an access an ISA DMA channel makes (src/isa/channel.ts): where its 16-bit address
 * counter wrapped inside its page, if it did — the bytes go on at the start of the same 64 KiB
 * (or 128 KiB) page, which is reported as 'dma-boundary' and then done or blocked per onViolation.
 */
export interface IsaAccess {
  /** The physical address the transfer would have continued at had the page carried; -1: no wrap. */
  readonly wrapAt: number;
  /** 65536 (channels 0–3) or 131072 (5–7). */
  readonly boundary: number;
  /** When the driver last programmed the channel's address (provenance.ts channelSource). */
  readonly from: number;
}

/** Codes an ISA channel's 24-bit address can explain when the driver meant the same address plus n × 16 MiB. */
const WIDTH_EXPLAINS: ReadonlySet<ViolationCode> = new Set(['dma-not-handed-out', 'dma-unlocked', 'dma-stale-address', 'dma-address-before-lock', 'dma-stale-programming']);
const TWO32 = 0x1_0000_0000;
const MIB16_FRAMES = 4096;

const NONE: readonly Finding[] = [];

/** Ring OUTCOME of a device-side unlock-during-dma record (layout.ts VR.OUTCOME). */
const OUTCOME_REPORTED = 3;
const VIOLATION_KIND = kindWord('violation');

/** The findings of one pass: the first code, how many, and the first few in full. */
class Findings {
  first: ViolationCode | undefined;
  count = 0;
  readonly list: Finding[] = [];

  reset(): this {
    this.first = undefined;
    this.count = 0;
    if (this.list.length !== 0) this.list.length = 0;
    return this;
  }

  add(code: ViolationCode, s: Span, phys: number, frame: Frame | -1, seen: Epoch | 0, expected: Epoch | -1, detail = 0, detail2 = 0): void {
    this.first ??= code;
    this.count++;
    if (this.list.length < MAX_REPORTS_PER_ACCESS) this.list.push({ code, s, phys: phys as PhysAddr, frame, seen, expected, detail, detail2 });
  }
}

const OK_EMPTY: DmaResult = Object.freeze({ bytesRead: 0, bytesWritten: 0, ok: true });

/**
 * Moves stream bytes [a, b) of an access. The stream is the access's data in order: one span's
 * bytes (read, write, fill, an atomic), both spans' at once (copy: stream byte i is source byte i
 * and destination byte i), or the spans end to end (gather, scatter, an ISA transfer).
 */
type MoveOp = (a: number, b: number) => void;
type StreamLayout = 0 | 1 | 2;
const ONE_SPAN: StreamLayout = 0;
const TWO_PARALLEL: StreamLayout = 1;
const IN_SEQUENCE: StreamLayout = 2;

export class CheckedDmaPort implements DmaPort {
  readonly stats: PortStats = { accesses: 0, bytesRead: 0, bytesWritten: 0, violations: 0, blocked: 0 };
  private command = 0;
  private readonly ramBytes: number;
  private readonly ram32: Int32Array;
  private readonly record: AccessRecorder;
  private readonly claimNote: number;
  private readonly progressAt: number;
  /** The attachment this port serves (constant for its worker's life; stamped on every record). */
  private readonly attachment: number;
  private readonly trace: TraceWriter;
  /** True while an access is in progress (the nested-access guard). */
  private active = false;
  // Per-access scratch, reused (typed arrays with a count: resetting an array's length is a runtime
  // call on every access): the walk (frame, its span), and per walk position the epoch read when
  // the frame was announced and whether the frame was valid for this access then (1/0).
  private frames = new Int32Array(64);
  private spanOf = new Int32Array(64);
  private epochs = new Int32Array(64);
  private valid = new Uint8Array(64);
  private readonly findings = new Findings();

  constructor(
    private readonly v: SharedViews,
    private readonly device: number,
    /** The device's trace writer: one per ring, shared with its interrupt line (same thread). */
    trace?: TraceWriter,
    /** Deterministic mode's grant points (src/sched/gate.ts); absent or off when free running. */
    private readonly gate?: SchedGate,
  ) {
    this.ramBytes = v.frames * PAGESIZE;
    this.ram32 = new Int32Array(v.ramBuffer);
    this.record = new AccessRecorder(v, device);
    this.claimNote = accessIndex(v, device, AR.RING_CLAIM);
    this.progressAt = dcbIndex(v, device, DCB.PROGRESS);
    // Written by the host before the worker was spawned (the Worker constructor orders it).
    this.attachment = Atomics.load(v.control, dcbIndex(v, device, DCB.ATTACHMENT));
    this.trace = trace ?? new TraceWriter(v, 1 + device);
    this.unchecked = Atomics.load(v.control, H.UNCHECKED) === 1;
    this.sabotage = Atomics.load(v.control, H.SABOTAGE);
    this.ftBase = v.frameTableBase;
    this.ftStride = v.ftStride;
    this.handoutBase = v.handoutBase;
    this.frameCount = v.frames;
    this.arrivedBase = v.provenanceBase + FP.ARRIVED;
  }

  // The shared layout's offsets, cached for the per-frame loops (layout.ts owns them).
  private readonly ftBase: number;
  private readonly ftStride: number;
  private readonly handoutBase: number;
  private readonly frameCount: number;
  /** Word index of frame 0's FP.ARRIVED stamp (frame f's at + f * FP_STRIDE). */
  private readonly arrivedBase: number;

  /** Checks off (the benchmark's baseline only): bytes move, nothing is checked or recorded. */
  private readonly unchecked: boolean;
  /** CHECKER SELF-TESTS ONLY (src/sabotage.ts): a SABOTAGE_CODE, 0 in every real run. */
  private readonly sabotage: number;

  setCommand(command: number): void {
    this.command = command;
  }

  read(phys: PhysAddr, into: Uint8Array, attrs?: DmaAttributes): DmaResult {
    return this.run([span(phys, into.length, false, attrs)], ONE_SPAN, (a, b) => {
      // `into` is the device's own buffer: a subclass's set() is device code running inside the
      // access (allowed; a nested DMA access from it is refused by the guard in run()).
      into.set(this.v.ram.subarray(phys + a, phys + b), a);
    });
  }

  write(phys: PhysAddr, data: Uint8Array, attrs?: DmaAttributes): DmaResult {
    return this.run([span(phys, data.length, true, attrs)], ONE_SPAN, (a, b) => {
      this.v.ram.set(a === 0 && b === data.length ? data : data.subarray(a, b), phys + a);
    });
  }

  fill(phys: PhysAddr, length: number, value: number, attrs?: DmaAttributes): DmaResult {
    return this.run([span(phys, length, true, attrs)], ONE_SPAN, (a, b) => {
      this.v.ram.fill(value & 0xff, phys + a, phys + b);
    });
  }

  copy(src: PhysAddr, dst: PhysAddr, length: number, attrs?: CopyAttributes): DmaResult {
    return this.run([span(src, length, false, NO_ATTRS, attrs?.srcFrom), span(dst, length, true, NO_ATTRS, attrs?.dstFrom)], TWO_PARALLEL, (a, b) => {
      // Piece by piece in deterministic mode: move() then takes an overlapping copy with dst > src
      // backwards, so each piece reads bytes not yet overwritten (memmove, as one copyWithin is).
      this.v.ram.copyWithin(dst + a, src + a, src + b);
    });
  }

  load32(phys: PhysAddr, attrs?: DmaAttributes): DmaValueResult {
    let value = 0;
    const r = this.atomic(phys, false, attrs, () => (value = Atomics.load(this.ram32, phys >>> 2) >>> 0));
    return { ...r, value };
  }

  store32(phys: PhysAddr, value: number, attrs?: DmaAttributes): DmaResult {
    return this.atomic(phys, true, attrs, () => Atomics.store(this.ram32, phys >>> 2, value | 0));
  }

  add32(phys: PhysAddr, delta: number, attrs?: DmaAttributes): DmaValueResult {
    let value = 0;
    const r = this.atomic(phys, true, attrs, () => (value = Atomics.add(this.ram32, phys >>> 2, delta | 0) >>> 0));
    return { ...r, value };
  }

  compareExchange32(phys: PhysAddr, expected: number, replacement: number, attrs?: DmaAttributes): DmaValueResult {
    let value = 0;
    const r = this.atomic(phys, true, attrs, () => (value = Atomics.compareExchange(this.ram32, phys >>> 2, expected | 0, replacement | 0) >>> 0));
    return { ...r, value };
  }

  gather(list: readonly SgElement[], into: Uint8Array, attrs?: DmaAttributes): DmaResult {
    const total = list.reduce((s, e) => s + e.length, 0);
    if (total > into.length) throw new RangeError(`gather of ${total} bytes into a ${into.length}-byte buffer`);
    return this.run(list.map((e) => span(e.phys, e.length, false, attrs, e.from)), IN_SEQUENCE, (a, b) => this.eachPiece(list, a, b, (phys, off, n) => into.set(this.v.ram.subarray(phys, phys + n), off)));
  }

  scatter(list: readonly SgElement[], data: Uint8Array, attrs?: DmaAttributes): DmaResult {
    const total = list.reduce((s, e) => s + e.length, 0);
    if (total > data.length) throw new RangeError(`scatter of ${total} bytes from a ${data.length}-byte buffer`);
    return this.run(list.map((e) => span(e.phys, e.length, true, attrs, e.from)), IN_SEQUENCE, (a, b) => this.eachPiece(list, a, b, (phys, off, n) => this.v.ram.set(data.subarray(off, off + n), phys)));
  }

  /**
   * Calls `fn(phys, offset, n)` for the part of each element that falls in stream bytes [a, b) —
   * the elements laid end to end, as gather and scatter move them.
   */
  private eachPiece(list: readonly SgElement[], a: number, b: number, fn: (phys: number, off: number, n: number) => void): void {
    let off = 0;
    for (const e of list) {
      const lo = Math.max(a, off);
      const hi = Math.min(b, off + e.length);
      if (lo < hi) fn(e.phys + (lo - off), lo, hi - lo);
      off += e.length;
      if (off >= b) break;
    }
  }

  private atomic(phys: PhysAddr, write: boolean, attrs: DmaAttributes | undefined, op: () => void): DmaResult {
    if ((phys & 3) !== 0) throw new RangeError(`32-bit DMA atomics need a 4-byte aligned address, got 0x${(phys >>> 0).toString(16)}`);
    // One aligned word is inside one frame: one piece.
    return this.run([span(phys, 4, write, attrs)], ONE_SPAN, op);
  }

  sourceOf(phys: PhysAddr, length = 1): DmaSource {
    if (!Number.isInteger(phys) || phys < 0 || phys > 0xffffffff || !Number.isInteger(length) || length < 0) throw new RangeError(`bad source range ${String(phys)} + ${String(length)}`);
    return this.unchecked ? UNKNOWN_SOURCE : memorySource(this.v, phys, length);
  }

  /** Classifies frame `f` (span `s`) at epoch `e` for driver context `ctx`; true if valid. */
  private classify(out: Findings, ctx: number, s: Span, f: Frame, e: Epoch): boolean {
    const v = this.v;
    let h = handoutOf(v, ctx, f);
    // ——— SABOTAGE (checker self-tests only, src/sabotage.ts): 0 in every real run. ———
    if (this.sabotage !== 0) {
      if (this.sabotage === SABOTAGE_CODE['ignore-handouts']) h = e;
      else if (this.sabotage === SABOTAGE_CODE['no-epoch-bump'] && h >= 0 && (h & 1) === 1) e = h as Epoch;
    }
    const at = Math.max(s.phys, f * PAGESIZE);
    if (h < 0) out.add('dma-not-handed-out', s, at, f, e, -1);
    else if ((e & 1) === 0) out.add('dma-unlocked', s, at, f, e, h);
    // An even hand-out epoch: the driver copied the page table while the page was unlocked
    // (the DDK: obtain the physical address only after locking); the page may have moved since.
    else if ((h & 1) === 0) out.add('dma-address-before-lock', s, at, f, e, h);
    else if (e !== h) out.add('dma-stale-address', s, at, f, e, h);
    else if (s.write && (flagsOf(v, f) & DIRTY_OK) === 0 && this.sabotage !== SABOTAGE_CODE['dirty-rule-off']) out.add('dma-not-marked-dirty', s, at, f, e, h);
    else if (s.from !== UNKNOWN_SOURCE && this.staleProgramming(out, s, at, f, e)) return false;
    else return true;
    return false;
  }

  /**
   * The provenance check (src/provenance.ts), after every other check passed: the driver's hand-out
   * is current, so the frame has held its page since before that hand-out; if it began to hold it
   * AFTER the source of the address was written, the address was programmed for a page that has
   * since left the frame. Never true for a correct driver: it programs the address after it obtained
   * it, so the source (the latest write to the register or descriptor frame it came from, at least
   * that write) is never earlier than the page's arrival (at most that hand-out). The arrival is
   * read atomically here (a torn read is only ever too early: a miss, not a false report).
   */
  private staleProgramming(out: Findings, s: Span, at: number, f: Frame, e: Epoch): boolean {
    const arrived = readStamp(this.v.control, provenanceIndex(this.v, f, FP.ARRIVED));
    if (!(s.from < arrived)) return false;
    // The hand-out is current: the epoch expected is the epoch seen.
    out.add('dma-stale-programming', s, at, f, e, e, seqOf(s.from), seqOf(arrived));
    return true;
  }

  /**
   * Fills the scratch walk (spans in order, each span's frames ascending) and returns its length, growing the scratch arrays when an access needs more.
   */
  private walk(spans: readonly Span[]): number {
    let n = 0;
    for (let k = 0; k < spans.length; k++) {
      const s = spans[k]!;
      if (s.length === 0) continue;
      const f0 = Math.floor(s.phys / PAGESIZE);
      const f1 = Math.floor((s.phys + s.length - 1) / PAGESIZE);
      if (n + (f1 - f0 + 1) > this.frames.length) this.grow(n + (f1 - f0 + 1));
      for (let f = f0; f <= f1; f++) {
        this.frames[n] = f;
        this.spanOf[n] = k;
        n++;
      }
    }
    return n;
  }

  private grow(need: number): void {
    let cap = this.frames.length;
    while (cap < need) cap *= 2;
    const frames = new Int32Array(cap);
    frames.set(this.frames);
    const spanOf = new Int32Array(cap);
    spanOf.set(this.spanOf);
    this.frames = frames;
    this.spanOf = spanOf;
    this.epochs = new Int32Array(cap);
    this.valid = new Uint8Array(cap);
  }

  /**
   * An ISA channel produces only 24-bit addresses: a driver whose buffer lies above 16 MiB
   * programs its low 24 bits and the transfer lands n × 16 MiB lower. When the driver holds a live
   * hand-out (locked, at the frame's current epoch) of the same address plus n × 16 MiB, that is the
   * diagnosis the user needs: the finding becomes 'dma-address-width', naming both addresses.
   */
  private widthDiagnosis(out: Findings, ctx: number): void {
    const v = this.v;
    let changed = false;
    for (const p of out.list) {
      if (p.frame < 0 || !WIDTH_EXPLAINS.has(p.code)) continue;
      for (let g = p.frame + MIB16_FRAMES; g < v.frames; g += MIB16_FRAMES) {
        const h = handoutOf(v, ctx, g as Frame);
        if (h >= 0 && (h & 1) === 1 && h === epochOf(v, g as Frame)) {
          p.code = 'dma-address-width';
          p.detail = 24;
          p.detail2 = p.phys + (g - p.frame) * PAGESIZE;
          changed = true;
          break;
        }
      }
    }
    if (changed) out.first = out.list[0]!.code;
  }

  /** The frame holding `phys` if it is inside RAM, else -1 (range findings name it when they can). */
  private frameIfRam(phys: number): Frame | -1 {
    return phys < this.ramBytes ? (Math.floor(phys / PAGESIZE) as Frame) : -1;
  }

  /**
   * Checks every span, then (unless refused) announces the frames, re-checks them, moves the bytes
   * (op) unless the policy blocks, withdraws the announcement and re-checks the epochs. All spans are
   * checked before any byte moves: an access is all-or-nothing.
   */
  /**
   * An ISA DMA channel's access (the worker's 8237 model, src/isa/channel.ts): `pieces` in memory
   * order, `data` their bytes in the same order (filled for a read, taken for a write).
   */
  isaAccess(pieces: readonly SgElement[], write: boolean, data: Uint8Array, isa: IsaAccess): DmaResult {
    const spans = pieces.map((e) => span(e.phys, e.length, write, NO_ATTRS, isa.from));
    return this.run(
      spans,
      IN_SEQUENCE,
      (a, b) =>
        this.eachPiece(pieces, a, b, (phys, off, n) => {
          if (write) this.v.ram.set(data.subarray(off, off + n), phys);
          else data.set(this.v.ram.subarray(phys, phys + n), off);
        }),
      isa,
    );
  }

  private run(spans: readonly Span[], layout: StreamLayout, op: MoveOp, isa?: IsaAccess): DmaResult {
    if (this.active) throw new RangeError('a DMA access was started from inside another DMA access (device code re-entered the port)');
    if (spans.length > AR_MAX_SPANS) throw new RangeError(`a DMA access has at most ${AR_MAX_SPANS} spans (scatter-gather elements), got ${spans.length}`);
    let bytesR = 0;
    let bytesW = 0;
    for (const s of spans) {
      if (!Number.isInteger(s.phys) || s.phys < 0 || s.phys > 0xffffffff || !Number.isInteger(s.length) || s.length < 0) {
        throw new RangeError(`bad DMA span ${String(s.phys)} + ${String(s.length)}`);
      }
      // A source is a point of the sequence or Infinity (DmaSource); anything else is a device bug.
      if (typeof s.from !== 'number' || !(s.from >= 0)) throw new RangeError(`bad DMA source ${String(s.from)} (regs.source, dma.sourceOf, or Infinity)`);
      if (s.write) bytesW += s.length;
      else bytesR += s.length;
    }
    // Deterministic mode: every access is a grant point, before anything is checked — an unlock the
    // scheduler runs first is seen by this access's checks.
    if (this.gate?.on) this.gate.point();
    this.stats.accesses++;
    if (bytesR + bytesW === 0) return OK_EMPTY;
    const stream = layout === TWO_PARALLEL ? spans[0]!.length : layout === ONE_SPAN ? spans[0]!.length : bytesR + bytesW;
    if (this.unchecked) {
      this.move(spans, layout, stream, op);
      Atomics.add(this.v.control, this.progressAt, 1);
      return { bytesRead: bytesR, bytesWritten: bytesW, ok: true };
    }
    this.active = true;
    try {
      return this.checked(spans, () => this.move(spans, layout, stream, op), bytesR, bytesW, isa);
    } finally {
      this.active = false;
    }
  }

  /**
   * Moves the access's bytes: at once when free running; in deterministic mode frame by frame, with
   * a grant point before every frame after the first, so the scheduler can run an unlock (or any
   * driver step) inside the transfer. The frames stay announced meanwhile (step 3), so such an
   * unlock is reported as during DMA, by the unlocker and by step 4.
   */
  private move(spans: readonly Span[], layout: StreamLayout, stream: number, op: MoveOp): void {
    if (!this.gate?.on) {
      op(0, stream);
      return;
    }
    const cuts: number[] = [];
    let base = 0;
    for (const s of spans) {
      for (let x = (Math.floor(s.phys / PAGESIZE) + 1) * PAGESIZE; x < s.phys + s.length; x += PAGESIZE) cuts.push(base + (x - s.phys));
      if (layout === IN_SEQUENCE) base += s.length;
    }
    cuts.sort((a, b) => a - b);
    const pieces: number[] = [0];
    for (const cut of cuts) if (cut > pieces[pieces.length - 1]!) pieces.push(cut);
    pieces.push(stream);
    const n = pieces.length - 1;
    const backwards = layout === TWO_PARALLEL && spans[1]!.phys > spans[0]!.phys && spans[1]!.phys < spans[0]!.phys + stream;
    for (let k = 0; k < n; k++) {
      const i = backwards ? n - 1 - k : k;
      if (k > 0) this.gate.point();
      op(pieces[i]!, pieces[i + 1]!);
    }
  }

  private checked(spans: readonly Span[], op: () => void, bytesR: number, bytesW: number, isa: IsaAccess | undefined): DmaResult {
    const v = this.v;
    const c = v.control;
    const ctx = Atomics.load(c, dcbIndex(v, this.device, DCB.DRIVER));
    const addressBits = Atomics.load(c, dcbIndex(v, this.device, DCB.ADDRESS_BITS));
    const boundary = Atomics.load(c, dcbIndex(v, this.device, DCB.BOUNDARY));
    const limit = addressBits >= 32 ? 0x100000000 : 2 ** addressBits;
    const ownMmio = MMIO_BASE + this.device * MMIO_STRIDE;
    const mode = Atomics.load(c, H.ON_VIOLATION);

    // 1. Range rules (no frame state touched). A range violation is never let through.
    const ranges = this.findings.reset();
    for (const s of spans) {
      if (s.length === 0) continue;
      const end = s.phys + s.length; // exclusive
      let at: number;
      if (end > limit) ranges.add('dma-address-width', s, (at = Math.max(s.phys, limit)), this.frameIfRam(at), 0, -1, addressBits);
      else if (boundary > 0 && Math.floor(s.phys / boundary) !== Math.floor((end - 1) / boundary)) ranges.add('dma-boundary', s, (at = (Math.floor(s.phys / boundary) + 1) * boundary), this.frameIfRam(at), 0, -1, boundary);
      else if (s.phys < ownMmio + MMIO_STRIDE && end > ownMmio) ranges.add('device-reentrancy', s, Math.max(s.phys, ownMmio), -1, 0, -1);
      else if (end > this.ramBytes) ranges.add('dma-outside-memory', s, Math.max(s.phys, this.ramBytes), -1, 0, -1);
    }
    if (ranges.first !== undefined) return this.finish(spans, ranges, NONE, false, mode, ctx, 0, 0, 0);
    // An ISA counter that wrapped inside its page: the hardware would put the bytes at the start of
    // the page. Reported; blocked, or (under 'allow') let through with the frame checks below.
    const wrap = isa && isa.wrapAt >= 0 ? isa : undefined;
    if (wrap && mode !== VIOLATION_MODE.allow) {
      const w = this.findings.reset();
      w.add('dma-boundary', spans[0]!, wrap.wrapAt, this.frameIfRam(wrap.wrapAt), 0, -1, wrap.boundary);
      return this.finish(spans, w, NONE, false, mode, ctx, 0, 0, 0);
    }

    const n = this.walk(spans);
    const frames = this.frames;
    const spanOf = this.spanOf;

    // 2. First pass: plain reads, nothing announced. Refused here, the access leaves no trace in the
    //    frame table (no in-flight bit an unlocker could mistake for this access). The common case
    //    (every frame valid) is decided inline from three plain loads per frame; a frame that looks
    //    wrong goes through classify() for its finding.
    const epochs = this.epochs;
    const valid = this.valid;
    const first = mode !== VIOLATION_MODE.allow;
    if (first) {
      const pre = this.findings.reset();
      const ft = this.ftBase;
      const stride = this.ftStride;
      const ho = this.handoutBase + ctx * this.frameCount;
      const arrived = this.arrivedBase;
      for (let i = 0; i < n; i++) {
        const f = frames[i]!;
        const e = c[ft + f * stride + FT.EPOCH]! & EPOCH_MASK;
        epochs[i] = e;
        const s = spans[spanOf[i]!]!;
        // The provenance check from two plain loads (the arrival stamp's words, high then low): a
        // value that looks stale is decided again by classify() from an atomic read.
        const ok =
          (e & 1) === 1 &&
          c[ho + f]! === e &&
          (!s.write || (c[ft + f * stride + FT.FLAGS]! & DIRTY_OK) !== 0) &&
          (s.from === UNKNOWN_SOURCE || c[arrived + f * FP_STRIDE + 1]! * TWO32 + (c[arrived + f * FP_STRIDE]! >>> 0) <= s.from);
        if (!ok) this.classify(pre, ctx, s, f as Frame, e as Epoch);
      }
      if (isa) this.widthDiagnosis(pre, ctx);
      if (pre.first !== undefined) return this.finish(spans, pre, NONE, false, mode, ctx, 0, 0, n);
    }

    // 3. Announce, re-read, re-check. Each bit is set before its epoch is read (Dekker order,
    //    frametable.ts); the spans are recorded before the first bit, so the host can clear them all
    //    if this worker dies. A frame whose epoch is still the one the first pass found valid is
    //    valid now: its hand-out, dirty flags and arrival stamp change only with its epoch (a lock,
    //    unlock or retire; a frame takes a new page only after a retire), or only towards valid (a
    //    CPU write dirtying it).
    const found = this.findings.reset();
    if (wrap) found.add('dma-boundary', spans[0]!, wrap.wrapAt, this.frameIfRam(wrap.wrapAt), 0, -1, wrap.boundary);
    this.record.open(spans, this.command);
    for (let i = 0; i < n; i++) {
      const f = frames[i]! as Frame;
      this.record.raise(f);
      const e = epochOf(v, f);
      if (first && e === epochs[i]) {
        valid[i] = 1;
        continue;
      }
      epochs[i] = e;
      valid[i] = this.classify(found, ctx, spans[spanOf[i]!]!, f, e) ? 1 : 0;
    }
    if (isa) this.widthDiagnosis(found, ctx);
    const proceed = found.first === undefined || mode === VIOLATION_MODE.allow;
    if (proceed) {
      try {
        op();
      } catch (e) {
        // Device-supplied buffers can throw from inside the copy: withdraw the announcement anyway.
        for (let i = 0; i < n; i++) this.record.lower(frames[i]! as Frame);
        this.record.close();
        throw e;
      }
      this.stats.bytesRead += bytesR;
      this.stats.bytesWritten += bytesW;
    }

    // 4. End of the access: withdraw each announcement, then re-read the epoch (§3 step 5). For a
    //    frame that was valid at its announcement and whose bytes moved, a change means an unlock
    //    (or move/free) took effect meanwhile. The epoch that unlock made is e + 1 (e was odd: the
    //    first change to a locked frame is the unlock or retire that ends the lock, by 1).
    let unlocked: Finding[] | undefined;
    let unlockedCount = 0;
    for (let i = 0; i < n; i++) {
      const f = frames[i]! as Frame;
      // The bytes have landed: device data has no known provenance (provenance.ts; set after the
      // bytes, read by sourceOf before the stamp). A plain load spares the RMW once it is set.
      const sp = spans[spanOf[i]!]!;
      if (proceed && sp.write && !sp.writeBack) {
        const fl = this.ftBase + f * this.ftStride + FT.FLAGS;
        if ((c[fl]! & FF.DMA_DATA) === 0) Atomics.or(c, fl, FF.DMA_DATA);
      }
      this.record.lower(f);
      const now = epochOf(v, f);
      // (SABOTAGE 'no-epoch-bump', self-tests only: the change is not seen.)
      if (!proceed || valid[i] === 0 || now === epochs[i] || this.sabotage === SABOTAGE_CODE['no-epoch-bump']) continue;
      const made = ((epochs[i]! + 1) & EPOCH_MASK) as Epoch;
      unlocked ??= [];
      // The same frame twice in one access: one unlock, one record.
      if (unlocked.some((u) => u.frame === f && u.seen === made)) continue;
      unlockedCount++;
      if (unlocked.length < MAX_REPORTS_PER_ACCESS) {
        const s = spans[spanOf[i]!]!;
        unlocked.push({ code: 'unlock-during-dma', s, phys: Math.max(s.phys, f * PAGESIZE) as PhysAddr, frame: f, seen: made, expected: epochs[i]! as Epoch, detail: 0 });
      }
    }
    this.record.close();
    this.stats.violations += unlockedCount;
    if (proceed) {
      // Progress for the hang watchdog: bytes moved. Its own word in this device's block; the add
      // is atomic only so the host's load sees a whole value.
      Atomics.add(c, this.progressAt, 1);
    }
    return this.finish(spans, found, unlocked ?? NONE, proceed, mode, ctx, proceed ? bytesR : 0, proceed ? bytesW : 0, n);
  }

  /** Appends the access's records to the ring, traces it, and gives the device its result (or throws). */
  private finish(spans: readonly Span[], found: Findings, unlocked: readonly Finding[], proceed: boolean, mode: number, ctx: number, bytesR: number, bytesW: number, frames: number): DmaResult {
    const v = this.v;
    const outcome = proceed ? 1 : mode === VIOLATION_MODE.throw ? 2 : 0;
    const trace = this.trace;
    const append = (p: Finding, o: number) => {
      const seq = appendViolation(
        v,
        {
          code: codeNumber(p.code),
          device: this.device,
          attachment: this.attachment,
          driver: ctx,
          phys: p.phys,
          length: p.s.length,
          frame: p.frame,
          epochSeen: p.seen,
          epochExpected: p.expected,
          dir: p.s.write ? 1 : 0,
          outcome: o,
          command: this.command,
          access: p.s.phys,
          detail: p.detail,
          detail2: p.detail2 ?? 0,
        },
        this.claimNote,
      );
      if (trace.on) trace.emit(VIOLATION_KIND, codeNumber(p.code), this.attachment, ctx, p.frame, p.phys, seq);
    };
    for (const p of found.list) append(p, outcome);
    // The access itself was valid when checked: these records blame the unlocker, not the device.
    for (const p of unlocked) append(p, OUTCOME_REPORTED);
    if (trace.on) {
      const traced = found.first === undefined ? DMA_OUTCOME.ok : proceed ? DMA_OUTCOME.allowed : DMA_OUTCOME.refused;
      const s0 = spans[0]!;
      if (spans.length > 1) {
        const s1 = spans[1]!;
        trace.emit(dmaKindWord(traced, spans.length, s0.write, s1.write), this.attachment, ctx, this.command, bytesR, bytesW, frames, s0.phys, s0.length, s1.phys, s1.length);
      } else trace.emit(dmaKindWord(traced, 1, s0.write, false), this.attachment, ctx, this.command, bytesR, bytesW, frames, s0.phys, s0.length);
    }
    if (found.first === undefined) return { bytesRead: bytesR, bytesWritten: bytesW, ok: true };
    this.stats.violations += found.count;
    if (!proceed) this.stats.blocked++;
    if (mode === VIOLATION_MODE.throw) throw new DmaViolationError(found.first, found.list[0]?.phys ?? (0 as PhysAddr));
    return { bytesRead: bytesR, bytesWritten: bytesW, ok: false, violation: found.first };
  }
}
