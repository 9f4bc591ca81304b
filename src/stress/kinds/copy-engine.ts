/**
 * Stress kind `copy-engine`: a driver that copies (or fills) up to 128 KiB between two swappable
 * buffers of its own, at random offsets, through scatter-gather chains over whatever frames the
 * pager left the pages in (one descriptor per page piece, contiguous pieces merged or not), or
 * through the direct registers when the transfer is one piece. The source holds a random pattern
 * written once at set-up. Per transfer: lock the pages the transfer covers (destination with
 * PAGEMARKDIRTY) → _CopyPageTable → poison the destination with the complement of what must land
 * → descriptors → doorbell → interrupt → compare every byte → unlock. The descriptor page stays locked for the driver's life, as a ring would.
 *
 * How each injection is made certain to bite (the loop runs a DMA bug alone, so nothing else moves):
 *  - unlock-early: src and dst are unlocked after the registers are written, before CONTROL.START;
 *    the engine's first descriptor then meets unlocked frames (`dma-unlocked`);
 *  - no-lock: with the pager paused, the destination is touched in by the CPU and _CopyPageTable'd
 *    without a lock: its frames are unlocked when the engine writes them (`dma-unlocked`);
 *  - stale-address: with the pager paused, the destination is locked, its PTEs copied, then it is
 *    unlocked and locked again (same frames, a new lock epoch) and the old addresses programmed
 *    (`dma-stale-address`: the hand-out belongs to the previous tenure);
 *  - short-buffer: a fill of the driver's guard DMA page that runs 1…4096 bytes past its end into
 *    the guard page after it, which this driver never obtained (`dma-not-handed-out`);
 *  - no-markdirty: the destination is a fresh allocation (never written: clean), locked without
 *    PAGEMARKDIRTY (`dma-not-marked-dirty`);
 *  - cross-driver: a copy from its own locked page into the page another driver was handed
 *    (`dma-not-handed-out`);
 *  - double-unlock / leak-lock: a correct, verified transfer, then one destination page unlocked a
 *    second time / a page of its own locked and never unlocked.
 */

import { copyEngine as CE, PAGEMARKDIRTY, PG_SYS, type DeviceHandle } from '../../index.js';
import { diffBytes, HeldLocks, KindError, PAGE, pagesSpanned, patternWindow, physOf, sameBytes } from './common.js';
import type { KindEnv, KindInstance, StressKind, TransferResult, TransferSpec } from './types.js';

const MAX_TRANSFER = 128 << 10;
/** A transfer at an offset inside its first page covers one page more than its length alone. */
const BUF_PAGES = MAX_TRANSFER / PAGE + 1;
const DESC = CE.DESCRIPTOR.SIZE;

export const copyEngineKind: StressKind = {
  name: 'copy-engine',
  maxInstances: 64,
  maxTransfer: MAX_TRANSFER,
  // src + dst + a fresh no-markdirty destination + the descriptor page.
  framesNeeded: 3 * BUF_PAGES + 1,
  injections: ['unlock-early', 'no-lock', 'stale-address', 'short-buffer', 'double-unlock', 'no-markdirty', 'cross-driver', 'leak-lock'],
  setUp: (env) => CopyEngineDriver.create(env),
};

/** One piece of a transfer: physically contiguous on both sides. */
interface Piece {
  src: number;
  dst: number;
  len: number;
}

class CopyEngineDriver implements KindInstance {
  private readonly scratch = new Uint32Array(BUF_PAGES);
  private readonly descBytes = new Uint8Array(DESC * 2 * BUF_PAGES);
  private readonly descView = new DataView(this.descBytes.buffer);

  private constructor(
    private readonly env: KindEnv,
    readonly device: DeviceHandle,
    private readonly locks: HeldLocks,
    private readonly src: number,
    private readonly dst: number,
    private readonly desc: number,
    private readonly descPhys: number,
  ) {}

  static async create(env: KindEnv): Promise<CopyEngineDriver> {
    const drv = env.driver;
    const alloc = (n: number): number => {
      const lin = drv.vmm.pageAllocate(n, PG_SYS, 0, 0, 0, 0, null, 0);
      if (lin === 0) throw new KindError(`_PageAllocate(${n}) failed: ${drv.vmm.lastError?.message ?? '?'}`);
      return lin;
    };
    const src = alloc(BUF_PAGES);
    const dst = alloc(BUF_PAGES);
    const desc = alloc(1);
    const locks = new HeldLocks(drv);
    // The engine reads its descriptors by DMA on every command: locked and handed out for good.
    locks.lock(desc >>> 12, 1, 0);
    const descPhys = physOf(drv, desc >>> 12, 1, new Uint32Array(1))[0]!;
    drv.cpu.writeBytes(src, env.patterns.a.subarray(0, BUF_PAGES * PAGE));
    const device = await env.attach('copy-engine', CE.rings);
    return new CopyEngineDriver(env, device, locks, src, dst, desc, descPhys);
  }

  transfer(spec: TransferSpec): Promise<TransferResult> {
    if (spec.injection === 'short-buffer') return this.shortBuffer(spec);
    if (spec.injection === 'cross-driver') return this.crossDriver(spec);
    return this.copy(spec);
  }

  private async copy(spec: TransferSpec): Promise<TransferResult> {
    const { env, locks } = this;
    const { rng } = spec;
    const inj = spec.injection;
    const { vmm, cpu } = env.driver;
    const size = Math.min(Math.max(1, spec.size), MAX_TRANSFER);
    const fill = !spec.aligned && rng.chance(0.2);
    const merge = !spec.aligned && rng.chance(0.5);
    const srcOff = spec.aligned ? 0 : rng.below(PAGE);
    const dstOff = spec.aligned ? 0 : rng.below(PAGE);
    const value = rng.below(256);
    const nSrc = pagesSpanned(srcOff, size);
    const nDst = pagesSpanned(dstOff, size);
    const srcPage = this.src >>> 12;
    const fresh = inj === 'no-markdirty' ? vmm.pageAllocate(nDst, PG_SYS, 0, 0, 0, 0, null, 0) : 0;
    if (inj === 'no-markdirty' && fresh === 0) throw new KindError(`_PageAllocate(${nDst}) failed: ${vmm.lastError?.message ?? '?'}`);
    const dstLin = fresh || this.dst;
    const dstPage = dstLin >>> 12;
    // The source holds the pattern from set-up on (never written again: its pages stay clean, and
    // a page the pager lost or mixed up shows in the comparison); the destination is poisoned with
    // the complement, so every byte the engine does not write differs.
    const { payload, poison } = fill ? { payload: new Uint8Array(size).fill(value), poison: new Uint8Array(size).fill(~value & 0xff) } : patternWindow(env.patterns, srcOff, size);

    const program = (): void => {
      let srcPhys: number[] | null = null;
      if (!fill) {
        locks.lock(srcPage, nSrc, 0);
        srcPhys = physOf(env.driver, srcPage, nSrc, this.scratch);
      }
      let dstPhys: number[];
      if (inj === 'no-lock') {
        // Touched in (present: the pager is paused), never locked.
        cpu.writeBytes(dstLin + dstOff, poison);
        dstPhys = physOf(env.driver, dstPage, nDst, this.scratch);
      } else {
        locks.lock(dstPage, nDst, inj === 'no-markdirty' ? 0 : PAGEMARKDIRTY);
        dstPhys = physOf(env.driver, dstPage, nDst, this.scratch);
        // A fresh no-markdirty destination stays clean: no CPU write may dirty it.
        if (inj !== 'no-markdirty') cpu.writeBytes(dstLin + dstOff, poison);
        if (inj === 'stale-address') {
          // The same frames (the pager is paused), a new tenure: the addresses kept are stale.
          locks.unlock(dstPage, nDst);
          locks.lock(dstPage, nDst, PAGEMARKDIRTY);
        }
      }
      const pieces = split(srcPhys, srcOff, dstPhys, dstOff, size, merge);
      const direct = pieces.length === 1 && !spec.aligned && rng.chance(0.5);
      this.ring(pieces, direct, fill, value, () => {
        if (inj !== 'unlock-early') return;
        if (!fill) locks.unlock(srcPage, nSrc);
        locks.unlock(dstPage, nDst);
      });
    };
    if (inj === 'no-lock' || inj === 'stale-address') env.withPagerPaused(program);
    else program();

    await env.wait(() => this.device.waitForInterrupt({ timeoutMs: env.timeoutMs }));
    this.device.ackInterrupt();

    let lostBytes = 0;
    let detail: string | undefined;
    const verified = inj === null || inj === 'double-unlock' || inj === 'leak-lock';
    if (verified) {
      const got = cpu.readBytes(dstLin + dstOff, size);
      if (!sameBytes(got, payload)) {
        const d = diffBytes(got, payload);
        lostBytes = d.count;
        detail = `${fill ? 'fill' : 'copy'} of ${size} bytes: ${d.count} differ, the first at +${d.first}; ${this.registers()}`;
      }
    }
    if (inj !== 'unlock-early') {
      if (!fill) locks.unlock(srcPage, nSrc);
      if (inj !== 'no-lock') locks.unlock(dstPage, nDst);
    }
    if (fresh) vmm.pageFree(fresh, 0);
    const result = { bytes: size, lostBytes, injected: inj !== null, ...(detail ? { detail } : {}) };
    if (inj === 'double-unlock') return { ...result, ddkError: this.unlockAgain(dstPage) };
    if (inj === 'leak-lock') return { ...result, injected: env.leakLock() };
    return result;
  }

  /** A second _LinPageUnLock of a page whose only lock was just dropped: the DDK's answer. */
  private unlockAgain(page: number): string | null {
    const vmm = this.env.driver.vmm;
    return vmm.linPageUnLock(page, 1, 0) === 0 ? (vmm.lastError?.code ?? 'failed') : null;
  }

  /** A fill of the guard DMA page that runs past its end into the guard page, never handed out. */
  private async shortBuffer(spec: TransferSpec): Promise<TransferResult> {
    const { rng } = spec;
    const off = rng.below(PAGE);
    const len = PAGE - off + 1 + rng.below(PAGE);
    this.ring([{ src: 0, dst: this.env.guard.phys + off, len }], true, true, rng.below(256), noop);
    await this.env.wait(() => this.device.waitForInterrupt({ timeoutMs: this.env.timeoutMs }));
    this.device.ackInterrupt();
    return { bytes: len, lostBytes: 0, injected: true };
  }

  /** A copy from one of its own locked pages into a page handed out only to another driver. */
  private async crossDriver(spec: TransferSpec): Promise<TransferResult> {
    const { rng } = spec;
    const off = rng.below(PAGE);
    const len = 1 + rng.below(PAGE - off);
    const page = this.src >>> 12;
    this.locks.lock(page, 1, 0);
    const srcPhys = physOf(this.env.driver, page, 1, this.scratch)[0]!;
    this.ring([{ src: srcPhys + off, dst: this.env.foreign + off, len }], true, false, 0, noop);
    await this.env.wait(() => this.device.waitForInterrupt({ timeoutMs: this.env.timeoutMs }));
    this.device.ackInterrupt();
    this.locks.unlock(page, 1);
    return { bytes: len, lostBytes: 0, injected: true };
  }

  /**
   * Programs the command and rings the doorbell: direct registers for one piece, else a
   * descriptor chain written into the locked descriptor page. `beforeStart` runs between the
   * programming and the doorbell (where unlock-early strikes).
   */
  private ring(pieces: readonly Piece[], direct: boolean, fill: boolean, value: number, beforeStart: () => void): void {
    const dev = this.device;
    dev.ackInterrupt();
    if (direct) {
      const p = pieces[0]!;
      dev.writeReg(CE.REG.SRC, p.src);
      dev.writeReg(CE.REG.DST, p.dst);
      dev.writeReg(CE.REG.LENGTH, p.len);
    } else {
      const v = this.descView;
      pieces.forEach((p, i) => {
        v.setUint32(i * DESC + CE.DESCRIPTOR.SRC, p.src, true);
        v.setUint32(i * DESC + CE.DESCRIPTOR.DST, p.dst, true);
        v.setUint32(i * DESC + CE.DESCRIPTOR.LENGTH, p.len, true);
        v.setUint32(i * DESC + CE.DESCRIPTOR.NEXT, i + 1 < pieces.length ? this.descPhys + (i + 1) * DESC : 0, true);
      });
      this.env.driver.cpu.writeBytes(this.desc, this.descBytes.subarray(0, pieces.length * DESC));
      dev.writeReg(CE.REG.DESC, this.descPhys);
    }
    if (fill) dev.writeReg(CE.REG.FILL_VALUE, value);
    beforeStart();
    dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.IRQ_ENABLE | (fill ? CE.CONTROL.FILL : 0) | (direct ? 0 : CE.CONTROL.SG));
  }

  private registers(): string {
    const r = (i: number) => this.device.readReg(i);
    return `engine STATUS ${r(CE.REG.STATUS)} ERROR ${r(CE.REG.ERROR)} BYTES_DONE ${r(CE.REG.BYTES_DONE)}`;
  }

  async tearDown(): Promise<void> {
    const vmm = this.env.driver.vmm;
    this.locks.releaseAll();
    for (const lin of [this.src, this.dst, this.desc]) vmm.pageFree(lin, 0);
    await this.device.detach();
  }
}

const noop = (): void => undefined;

/**
 * Splits a transfer into pieces that are physically contiguous on both sides: a piece ends where
 * either side's page ends; with `merge`, a piece that continues the previous one on both sides
 * joins it. `src` null: a fill (only the destination matters).
 */
function split(src: readonly number[] | null, srcOff: number, dst: readonly number[], dstOff: number, size: number, merge: boolean): Piece[] {
  const out: Piece[] = [];
  for (let i = 0; i < size; ) {
    const s = srcOff + i;
    const d = dstOff + i;
    const len = Math.min(size - i, PAGE - (d % PAGE), src ? PAGE - (s % PAGE) : PAGE);
    const sp = src ? src[Math.floor(s / PAGE)]! + (s % PAGE) : 0;
    const dp = dst[Math.floor(d / PAGE)]! + (d % PAGE);
    const last = out[out.length - 1];
    if (merge && last && last.dst + last.len === dp && (!src || last.src + last.len === sp)) last.len += len;
    else out.push({ src: sp, dst: dp, len });
    i += len;
  }
  return out;
}
