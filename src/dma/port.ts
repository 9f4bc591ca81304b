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
 *     with PAGEMARKDIRTY (else the pager may drop it as clean). An access refused here (onViolation
 *     'block' or 'throw') leaves the frame table untouched, so it can never make an innocent
 *     driver's unlock look like an unlock during DMA;
 *  3. the access is announced — every frame's in-flight count raised, in a fixed walk order
 *     recorded in the device's access record (record.ts) — and every frame's epoch read again and
 *     classified again. This is the Dekker half that counts (frametable.ts): a change seen now is a
 *     real race with an unlock, refused and reported like any violation (the unlocker may report it
 *     too).
 * A violating access is blocked (no byte lands), allowed, or thrown, per onViolation, and is always
 * reported to the shared ring. After the bytes move, each frame's count is lowered and its epoch
 * read once more: a change means an unlock (or move, or free) took effect while the bytes were
 * moving. The unlocker reports that if it saw the count raised; it may have read the count just
 * after our decrement and seen nothing, so the device reports it too ('unlock-during-dma', epoch
 * seen = the epoch that unlock made) and report.ts keeps one record per unlock.
 *
 * An access has at most AR_MAX_SPANS (256) spans — scatter-gather elements; more is a RangeError,
 * thrown before anything is touched.
 */

import { PAGESIZE } from '../address.js';
import type { DmaPort, DmaResult, SgElement } from '../device-api.js';
import { EPOCH_MASK, epochOf, flagsOf, handoutOf, setFrameFlags } from '../frametable.js';
import { AR, AR_MAX_SPANS, DCB, FF, H, MMIO_BASE, MMIO_STRIDE, VIOLATION_MODE, accessIndex, dcbIndex, type SharedViews } from '../layout.js';
import { appendViolation, codeNumber, type ViolationCode } from '../ring.js';
import { AccessRecorder, walkFrames } from './record.js';

/** Thrown into device code when onViolation is 'throw'. */
export class DmaViolationError extends Error {
  override readonly name = 'DmaViolationError';
  constructor(
    readonly code: ViolationCode,
    readonly physAddr: number,
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
  phys: number;
  length: number;
  write: boolean;
}

/** One finding of an access, as it will be appended to the ring. */
interface Finding {
  code: ViolationCode;
  s: Span;
  phys: number;
  frame: number;
  seen: number;
  expected: number;
  detail: number;
}

const NONE: readonly Finding[] = [];

/** Ring OUTCOME of a device-side unlock-during-dma record (layout.ts VR.OUTCOME). */
const OUTCOME_REPORTED = 3;

/** The findings of one pass: the first code, how many, and the first few in full. */
class Findings {
  first: ViolationCode | undefined;
  count = 0;
  readonly list: Finding[] = [];

  reset(): this {
    this.first = undefined;
    this.count = 0;
    this.list.length = 0;
    return this;
  }

  add(code: ViolationCode, s: Span, phys: number, frame: number, seen: number, expected: number, detail = 0): void {
    this.first ??= code;
    this.count++;
    if (this.list.length < MAX_REPORTS_PER_ACCESS) this.list.push({ code, s, phys, frame, seen, expected, detail });
  }
}

export class CheckedDmaPort implements DmaPort {
  readonly stats: PortStats = { accesses: 0, bytesRead: 0, bytesWritten: 0, violations: 0, blocked: 0 };
  private command = 0;
  private readonly ramBytes: number;
  private readonly ram32: Int32Array;
  private readonly record: AccessRecorder;
  private readonly claimNote: number;
  // Per-access scratch, reused: the walk (frame, its span), and per walk position the epoch read
  // when the frame was announced and whether the frame was valid for this access then.
  private readonly frames: number[] = [];
  private readonly spanOf: number[] = [];
  private readonly epochs: number[] = [];
  private readonly valid: boolean[] = [];
  private readonly findings = new Findings();

  constructor(
    private readonly v: SharedViews,
    private readonly device: number,
  ) {
    this.ramBytes = v.frames * PAGESIZE;
    this.ram32 = new Int32Array(v.ramBuffer);
    this.record = new AccessRecorder(v, device);
    this.claimNote = accessIndex(v, device, AR.RING_CLAIM);
  }

  setCommand(command: number): void {
    this.command = command;
  }

  read(phys: number, into: Uint8Array): DmaResult {
    return this.run([{ phys, length: into.length, write: false }], () => {
      into.set(this.v.ram.subarray(phys, phys + into.length));
    });
  }

  write(phys: number, data: Uint8Array): DmaResult {
    return this.run([{ phys, length: data.length, write: true }], () => {
      this.v.ram.set(data, phys);
    });
  }

  fill(phys: number, length: number, value: number): DmaResult {
    return this.run([{ phys, length, write: true }], () => {
      this.v.ram.fill(value & 0xff, phys, phys + length);
    });
  }

  copy(src: number, dst: number, length: number): DmaResult {
    return this.run(
      [
        { phys: src, length, write: false },
        { phys: dst, length, write: true },
      ],
      () => {
        this.v.ram.copyWithin(dst, src, src + length);
      },
    );
  }

  load32(phys: number) {
    let value = 0;
    const r = this.atomic(phys, false, () => (value = Atomics.load(this.ram32, phys >>> 2) >>> 0));
    return { ...r, value };
  }

  store32(phys: number, value: number): DmaResult {
    return this.atomic(phys, true, () => Atomics.store(this.ram32, phys >>> 2, value | 0));
  }

  add32(phys: number, delta: number) {
    let value = 0;
    const r = this.atomic(phys, true, () => (value = Atomics.add(this.ram32, phys >>> 2, delta | 0) >>> 0));
    return { ...r, value };
  }

  compareExchange32(phys: number, expected: number, replacement: number) {
    let value = 0;
    const r = this.atomic(phys, true, () => (value = Atomics.compareExchange(this.ram32, phys >>> 2, expected | 0, replacement | 0) >>> 0));
    return { ...r, value };
  }

  gather(list: readonly SgElement[], into: Uint8Array): DmaResult {
    const total = list.reduce((s, e) => s + e.length, 0);
    if (total > into.length) throw new RangeError(`gather of ${total} bytes into a ${into.length}-byte buffer`);
    return this.run(list.map((e) => ({ phys: e.phys, length: e.length, write: false })), () => {
      let off = 0;
      for (const e of list) {
        into.set(this.v.ram.subarray(e.phys, e.phys + e.length), off);
        off += e.length;
      }
    });
  }

  scatter(list: readonly SgElement[], data: Uint8Array): DmaResult {
    const total = list.reduce((s, e) => s + e.length, 0);
    if (total > data.length) throw new RangeError(`scatter of ${total} bytes from a ${data.length}-byte buffer`);
    return this.run(list.map((e) => ({ phys: e.phys, length: e.length, write: true })), () => {
      let off = 0;
      for (const e of list) {
        this.v.ram.set(data.subarray(off, off + e.length), e.phys);
        off += e.length;
      }
    });
  }

  private atomic(phys: number, write: boolean, op: () => void): DmaResult {
    if ((phys & 3) !== 0) throw new RangeError(`32-bit DMA atomics need a 4-byte aligned address, got 0x${(phys >>> 0).toString(16)}`);
    return this.run([{ phys, length: 4, write }], op);
  }

  /** Classifies frame `f` (span `s`) at epoch `e` for driver context `ctx`; true if valid. */
  private classify(out: Findings, ctx: number, s: Span, f: number, e: number): boolean {
    const v = this.v;
    const h = handoutOf(v, ctx, f);
    const at = Math.max(s.phys, f * PAGESIZE);
    if (h < 0) out.add('dma-not-handed-out', s, at, f, e, h);
    else if ((e & 1) === 0) out.add('dma-unlocked', s, at, f, e, h);
    // An even hand-out epoch: the driver copied the page table while the page was unlocked
    // (the DDK: obtain the physical address only after locking); the page may have moved since.
    else if ((h & 1) === 0) out.add('dma-address-before-lock', s, at, f, e, h);
    else if (e !== h) out.add('dma-stale-address', s, at, f, e, h);
    else if (s.write && (flagsOf(v, f) & DIRTY_OK) === 0) out.add('dma-not-marked-dirty', s, at, f, e, h);
    else return true;
    return false;
  }

  /**
   * Checks every span, then (unless refused) announces the frames, re-checks them, moves the bytes
   * (op) unless the policy blocks, withdraws the announcement and re-checks the epochs. All spans are
   * checked before any byte moves: an access is all-or-nothing.
   */
  private run(spans: readonly Span[], op: () => void): DmaResult {
    const v = this.v;
    const c = v.control;
    if (spans.length > AR_MAX_SPANS) throw new RangeError(`a DMA access has at most ${AR_MAX_SPANS} spans (scatter-gather elements), got ${spans.length}`);
    this.stats.accesses++;
    let bytesR = 0;
    let bytesW = 0;
    for (const s of spans) {
      if (!Number.isInteger(s.phys) || s.phys < 0 || s.phys > 0xffffffff || !Number.isInteger(s.length) || s.length < 0) {
        throw new RangeError(`bad DMA span ${String(s.phys)} + ${String(s.length)}`);
      }
      if (s.write) bytesW += s.length;
      else bytesR += s.length;
    }
    if (bytesR + bytesW === 0) return { bytes: 0, ok: true };
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
      if (end > limit) ranges.add('dma-address-width', s, Math.max(s.phys, limit), -1, 0, -1, addressBits);
      else if (boundary > 0 && Math.floor(s.phys / boundary) !== Math.floor((end - 1) / boundary)) ranges.add('dma-boundary', s, (Math.floor(s.phys / boundary) + 1) * boundary, -1, 0, -1, boundary);
      else if (s.phys < ownMmio + MMIO_STRIDE && end > ownMmio) ranges.add('device-reentrancy', s, Math.max(s.phys, ownMmio), -1, 0, -1);
      else if (end > this.ramBytes) ranges.add('dma-outside-memory', s, Math.max(s.phys, this.ramBytes), -1, 0, -1);
    }
    if (ranges.first !== undefined) return this.finish(ranges, NONE, false, mode, ctx, 0);

    const frames = this.frames;
    const spanOf = this.spanOf;
    frames.length = 0;
    spanOf.length = 0;
    walkFrames(spans, frames, spanOf);
    const n = frames.length;

    // 2. First pass: plain reads, nothing announced. Refused here, the access leaves no trace in the
    //    frame table (no in-flight count an unlocker could mistake for this access).
    if (mode !== VIOLATION_MODE.allow) {
      const pre = this.findings.reset();
      for (let i = 0; i < n; i++) this.classify(pre, ctx, spans[spanOf[i]!]!, frames[i]!, epochOf(v, frames[i]!));
      if (pre.first !== undefined) return this.finish(pre, NONE, false, mode, ctx, 0);
    }

    // 3. Announce, re-read, re-classify. Each count is raised before its epoch is read (Dekker order,
    //    frametable.ts); each raise is recorded so the host can undo it if this worker dies.
    const epochs = this.epochs;
    const valid = this.valid;
    epochs.length = n;
    valid.length = n;
    const found = this.findings.reset();
    this.record.open(spans);
    for (let i = 0; i < n; i++) {
      const f = frames[i]!;
      this.record.raise(f, i);
      const e = epochOf(v, f);
      epochs[i] = e;
      valid[i] = this.classify(found, ctx, spans[spanOf[i]!]!, f, e);
    }
    const proceed = found.first === undefined || mode === VIOLATION_MODE.allow;
    if (proceed) {
      try {
        op();
      } catch (e) {
        // Device-supplied buffers can throw from inside the copy: withdraw the announcement anyway.
        for (let i = 0; i < n; i++) this.record.lower(frames[i]!, i);
        this.record.close();
        throw e;
      }
      for (let i = 0; i < n; i++) if (spans[spanOf[i]!]!.write) setFrameFlags(v, frames[i]!, FF.DMA_WRITTEN);
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
      const f = frames[i]!;
      this.record.lower(f, i);
      const now = epochOf(v, f);
      if (!proceed || !valid[i] || now === epochs[i]) continue;
      const made = (epochs[i]! + 1) & EPOCH_MASK;
      unlocked ??= [];
      // The same frame twice in one access (a copy within a page): one unlock, one record.
      if (unlocked.some((u) => u.frame === f && u.seen === made)) continue;
      unlockedCount++;
      if (unlocked.length < MAX_REPORTS_PER_ACCESS) {
        const s = spans[spanOf[i]!]!;
        unlocked.push({ code: 'unlock-during-dma', s, phys: Math.max(s.phys, f * PAGESIZE), frame: f, seen: made, expected: epochs[i]!, detail: 0 });
      }
    }
    this.record.close();
    this.stats.violations += unlockedCount;
    return this.finish(found, unlocked ?? NONE, proceed, mode, ctx, bytesR + bytesW);
  }

  /** Appends the access's records to the ring and gives the device its result (or throws). */
  private finish(found: Findings, unlocked: readonly Finding[], proceed: boolean, mode: number, ctx: number, bytes: number): DmaResult {
    const v = this.v;
    const outcome = proceed ? 1 : mode === VIOLATION_MODE.throw ? 2 : 0;
    const append = (p: Finding, o: number) =>
      appendViolation(
        v,
        {
          code: codeNumber(p.code),
          device: this.device,
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
        },
        this.claimNote,
      );
    for (const p of found.list) append(p, outcome);
    // The access itself was valid when checked: these records blame the unlocker, not the device.
    for (const p of unlocked) append(p, OUTCOME_REPORTED);
    if (found.first === undefined) return { bytes, ok: true };
    this.stats.violations += found.count;
    if (!proceed) this.stats.blocked++;
    if (mode === VIOLATION_MODE.throw) throw new DmaViolationError(found.first, found.list[0]?.phys ?? 0);
    return proceed ? { bytes, ok: false, violation: found.first } : { bytes: 0, ok: false, violation: found.first };
  }
}
