/**
 * The checked DMA port (DESIGN.md §3 step 5): the only way device code touches physical memory.
 * Runs on the device's worker thread, directly on shared memory: nothing on this path crosses a
 * MessagePort.
 *
 * Every access is checked before its first byte moves:
 *  1. range rules — the device's address width, its no-crossing boundary, its own MMIO window
 *     (re-entrancy), the end of RAM;
 *  2. for every frame touched, the lock / epoch / hand-out protocol: the frame is announced in
 *     flight, its epoch read once, and the access is valid only if that epoch is odd (locked) and
 *     equals the epoch at which this device's driver was handed the frame's address; a device write
 *     also needs the page dirty or locked with PAGEMARKDIRTY (else the pager may drop it as clean).
 * A violating access is blocked (no byte lands), allowed, or thrown, per onViolation, and is always
 * reported to the shared ring. After the bytes move, every frame's epoch is read again: a change
 * means an unlock took effect mid-access, which the unlocking side reports (frametable.ts).
 */

import { PAGESIZE } from '../address.js';
import type { DmaPort, DmaResult, SgElement } from '../device-api.js';
import { beginAccess, endAccess, handoutOf, setFrameFlags, flagsOf } from '../frametable.js';
import { DCB, FF, H, MMIO_BASE, MMIO_STRIDE, VIOLATION_MODE, dcbIndex, type SharedViews } from '../layout.js';
import { appendViolation, codeNumber, type ViolationCode } from '../ring.js';

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

export class CheckedDmaPort implements DmaPort {
  readonly stats: PortStats = { accesses: 0, bytesRead: 0, bytesWritten: 0, violations: 0, blocked: 0 };
  private command = 0;
  private readonly ramBytes: number;
  private readonly ram32: Int32Array;
  private readonly seen: number[] = [];

  constructor(
    private readonly v: SharedViews,
    private readonly device: number,
  ) {
    this.ramBytes = v.frames * PAGESIZE;
    this.ram32 = new Int32Array(v.ramBuffer);
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

  /**
   * Checks every span, then moves the bytes (op) unless the policy blocks, then re-checks epochs.
   * All spans are checked before any byte moves: an access is all-or-nothing.
   */
  private run(spans: readonly Span[], op: () => void): DmaResult {
    const v = this.v;
    const c = v.control;
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

    let first: ViolationCode | undefined;
    const pending: { code: ViolationCode; s: Span; phys: number; frame: number; seen: number; expected: number; detail: number }[] = [];
    const report = (code: ViolationCode, s: Span, phys: number, frame: number, seen: number, expected: number, detail = 0) => {
      first ??= code;
      this.stats.violations++;
      if (pending.length < MAX_REPORTS_PER_ACCESS) pending.push({ code, s, phys, frame, seen, expected, detail });
    };

    // 1. Range rules (no frame state touched yet).
    let rangeOk = true;
    for (const s of spans) {
      if (s.length === 0) continue;
      const end = s.phys + s.length; // exclusive
      if (end > limit) {
        report('dma-address-width', s, Math.max(s.phys, limit), -1, 0, -1, addressBits);
        rangeOk = false;
      } else if (boundary > 0 && Math.floor(s.phys / boundary) !== Math.floor((end - 1) / boundary)) {
        report('dma-boundary', s, (Math.floor(s.phys / boundary) + 1) * boundary, -1, 0, -1, boundary);
        rangeOk = false;
      } else if (s.phys < ownMmio + MMIO_STRIDE && end > ownMmio) {
        report('device-reentrancy', s, Math.max(s.phys, ownMmio), -1, 0, -1);
        rangeOk = false;
      } else if (end > this.ramBytes) {
        report('dma-outside-memory', s, Math.max(s.phys, this.ramBytes), -1, 0, -1);
        rangeOk = false;
      }
    }

    // 2. Frame protocol. Every frame is announced in flight before its epoch is read; the epochs
    //    are kept so the same values are re-checked after the copy.
    const seen = this.seen;
    seen.length = 0;
    if (rangeOk) {
      for (const s of spans) {
        if (s.length === 0) continue;
        const f0 = Math.floor(s.phys / PAGESIZE);
        const f1 = Math.floor((s.phys + s.length - 1) / PAGESIZE);
        for (let f = f0; f <= f1; f++) {
          const e = beginAccess(v, f);
          seen.push(f, e);
          const h = handoutOf(v, ctx, f);
          const at = Math.max(s.phys, f * PAGESIZE);
          if (h < 0) report('dma-not-handed-out', s, at, f, e, h);
          else if ((e & 1) === 0) report('dma-unlocked', s, at, f, e, h);
          // An even hand-out epoch: the driver copied the page table while the page was unlocked
          // (the DDK: obtain the physical address only after locking); the page may have moved since.
          else if ((h & 1) === 0) report('dma-address-before-lock', s, at, f, e, h);
          else if (e !== h) report('dma-stale-address', s, at, f, e, h);
          else if (s.write && (flagsOf(v, f) & DIRTY_OK) === 0) report('dma-not-marked-dirty', s, at, f, e, h);
        }
      }
    }

    const mode = Atomics.load(c, H.ON_VIOLATION);
    const proceed = first === undefined || (mode === VIOLATION_MODE.allow && rangeOk);
    if (proceed) {
      op();
      for (const s of spans) {
        if (!s.write || s.length === 0) continue;
        const f0 = Math.floor(s.phys / PAGESIZE);
        const f1 = Math.floor((s.phys + s.length - 1) / PAGESIZE);
        for (let f = f0; f <= f1; f++) setFrameFlags(v, f, FF.DMA_WRITTEN);
      }
      this.stats.bytesRead += bytesR;
      this.stats.bytesWritten += bytesW;
    }
    // 3. End of the access: leave the in-flight count, re-read the epoch. A change means an unlock
    //    (or move/free) raced this access; the unlocker saw INFLIGHT > 0 and reported it.
    for (let i = 0; i < seen.length; i += 2) endAccess(v, seen[i]!);

    if (first === undefined) return { bytes: bytesR + bytesW, ok: true };
    const outcome = proceed ? 1 : mode === VIOLATION_MODE.throw ? 2 : 0;
    for (const p of pending) {
      appendViolation(v, {
        code: codeNumber(p.code),
        device: this.device,
        driver: ctx,
        phys: p.phys,
        length: p.s.length,
        frame: p.frame,
        epochSeen: p.seen,
        epochExpected: p.expected,
        dir: p.s.write ? 1 : 0,
        outcome,
        command: this.command,
        access: p.s.phys,
        detail: p.detail,
      });
    }
    if (!proceed) this.stats.blocked++;
    if (mode === VIOLATION_MODE.throw) throw new DmaViolationError(first, pending[0]?.phys ?? 0);
    return proceed ? { bytes: bytesR + bytesW, ok: false, violation: first } : { bytes: 0, ok: false, violation: first };
  }
}
