/**
 * A driver for the nic, written the way an e1000 driver is: rings and buffers in locked,
 * handed-out pages, descriptors written by the CPU, TDT/RDT moved by register writes, completions
 * found by DD in the descriptors and waited for on the interrupt line. Everything goes through the
 * public API (src/index.ts), but for `served`, which reads the device loop's served-doorbell count.
 * Waiting is never timed: `until` acknowledges the line, clears ICR, looks at the rings, and only
 * then sleeps on the line — any progress after the look raises it; `fence` waits until every
 * doorbell rung so far has been served, for the cases where nothing visible happens.
 */

import { expect } from 'vitest';
import { PAGEMARKDIRTY, nic as NIC, type DeviceHandle, type DriverContext, type Simulator } from '../src/index.js';
import { DCB, dcbIndex } from '../src/layout.js';
import { bytes, handOut, lockedPages, type Buffer } from './dma-helpers.js';
import { sharedOf } from './internals.js';

const PAGE = 4096;
/** Bytes of TX buffer per TX descriptor slot (a piece of a frame is at most MAX_FRAME). */
const TX_SLOT_BYTES = 2048;

/**
 * Resolves once the device has served every doorbell rung so far (its loop publishes the count
 * after each onDoorbell returns). Frames the main thread sent before the last doorbell are taken in
 * by that doorbell. Polls with a deadline: the outcome never depends on timing, only how long it takes.
 */
export async function served(sim: Simulator, dev: DeviceHandle, timeoutMs = 10_000): Promise<void> {
  const v = sharedOf(sim);
  const rung = Atomics.load(v.control, dcbIndex(v, dev.id, DCB.DOORBELL_RUNG));
  const deadline = performance.now() + timeoutMs;
  while (Atomics.load(v.control, dcbIndex(v, dev.id, DCB.DOORBELL_SERVED)) < rung) {
    if (performance.now() > deadline) throw new Error(`doorbell ${rung} not served within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Is the interrupt line up? (waitForInterrupt looks at the level before its deadline: a zero timeout never waits.) */
export async function lineUp(dev: DeviceHandle): Promise<boolean> {
  return dev.waitForInterrupt({ timeoutMs: 0 }).then(
    () => true,
    (e: unknown) => {
      if ((e as { code?: string }).code === 'timeout') return false;
      throw e;
    },
  );
}

export interface NicOptions {
  /** Descriptors per ring (a multiple of 8: rings are multiples of 128 bytes). */
  txCount?: number;
  rxCount?: number;
  /** Receive buffer size (RCTL.BSIZE): 256, 512, 1024 or 2048. */
  rxBufSize?: number;
  /** IMS (default TXDW | RXT0 | RXO). */
  ims?: number;
  /** Leave the buffers unlocked after allocation (the caller locks them per round). */
  unlockedBuffers?: boolean;
}

const BSIZE: Readonly<Record<number, number>> = { 256: NIC.RCTL.BSIZE_256, 512: NIC.RCTL.BSIZE_512, 1024: NIC.RCTL.BSIZE_1024, 2048: NIC.RCTL.BSIZE_2048 };

/** A deterministic frame: `length` bytes from `seed`. */
export const frameOf = (seed: number, length: number): Uint8Array => bytes(seed + 1, length);

/** The physical address of byte `off` of a buffer whose pages need not be contiguous. */
export function physAt(b: Buffer, off: number): number {
  const p = b.phys[Math.floor(off / PAGE)];
  if (p === undefined || p === 0) throw new Error(`no physical address for offset ${off}`);
  return p + (off % PAGE);
}

/** Writes a 16-byte legacy TX descriptor with the CPU. */
export function writeTxDescriptor(drv: DriverContext, lin: number, d: { addr: number; addrHigh?: number; length: number; cmd: number; sta?: number }): void {
  const b = new Uint8Array(NIC.TX_DESC.SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint32(NIC.TX_DESC.ADDR, d.addr, true);
  dv.setUint32(NIC.TX_DESC.ADDR + 4, d.addrHigh ?? 0, true);
  dv.setUint16(NIC.TX_DESC.LENGTH, d.length, true);
  b[NIC.TX_DESC.CMD] = d.cmd;
  b[NIC.TX_DESC.STA] = d.sta ?? 0;
  drv.cpu.writeBytes(lin, b);
}

/** Writes a 16-byte RX descriptor with the CPU: the buffer address, everything else zero. */
export function writeRxDescriptor(drv: DriverContext, lin: number, addr: number, addrHigh = 0): void {
  const b = new Uint8Array(NIC.RX_DESC.SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint32(NIC.RX_DESC.ADDR, addr, true);
  dv.setUint32(NIC.RX_DESC.ADDR + 4, addrHigh, true);
  drv.cpu.writeBytes(lin, b);
}

export interface RxDescriptor {
  addr: number;
  length: number;
  checksum: number;
  status: number;
  errors: number;
  special: number;
}

export function readRxDescriptor(drv: DriverContext, lin: number): RxDescriptor {
  const b = drv.cpu.readBytes(lin, NIC.RX_DESC.SIZE);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    addr: dv.getUint32(NIC.RX_DESC.ADDR, true),
    length: dv.getUint16(NIC.RX_DESC.LENGTH, true),
    checksum: dv.getUint16(NIC.RX_DESC.CHECKSUM, true),
    status: b[NIC.RX_DESC.STATUS]!,
    errors: b[NIC.RX_DESC.ERRORS]!,
    special: dv.getUint16(NIC.RX_DESC.SPECIAL, true),
  };
}

/** One NIC and its driver state. */
export class NicDriver {
  readonly txCount: number;
  readonly rxCount: number;
  readonly rxBufSize: number;
  readonly txRing: Buffer;
  readonly rxRing: Buffer;
  readonly txBufs: Buffer;
  readonly rxBufs: Buffer;
  /** Driver's TDT, and the next TX descriptor to reclaim. */
  txTail = 0;
  txClean = 0;
  /** Driver's RDT, and the next RX descriptor to clean. */
  rxTail = 0;
  rxClean = 0;
  /** Frames received, in order. */
  readonly received: Uint8Array[] = [];
  /** MPC as read (read-to-clear), summed. */
  missed = 0;
  private partial: Uint8Array[] = [];

  constructor(
    readonly drv: DriverContext,
    readonly dev: DeviceHandle,
    opts: NicOptions = {},
  ) {
    this.txCount = opts.txCount ?? 8;
    this.rxCount = opts.rxCount ?? 8;
    this.rxBufSize = opts.rxBufSize ?? 2048;
    this.txRing = lockedPages(drv, 1);
    this.rxRing = lockedPages(drv, 1);
    const bufFlags = opts.unlockedBuffers ? { lockFlags: null } : {};
    this.txBufs = lockedPages(drv, Math.ceil((this.txCount * TX_SLOT_BYTES) / PAGE), bufFlags);
    this.rxBufs = lockedPages(drv, Math.ceil((this.rxCount * this.rxBufSize) / PAGE), bufFlags);
    const { REG } = NIC;
    dev.writeReg(REG.TDBAL, this.txRing.phys[0]!);
    dev.writeReg(REG.TDBAH, 0);
    dev.writeReg(REG.TDLEN, this.txCount * NIC.TX_DESC.SIZE);
    dev.writeReg(REG.TDH, 0);
    dev.writeReg(REG.TDT, 0);
    dev.writeReg(REG.RDBAL, this.rxRing.phys[0]!);
    dev.writeReg(REG.RDBAH, 0);
    dev.writeReg(REG.RDLEN, this.rxCount * NIC.RX_DESC.SIZE);
    dev.writeReg(REG.RDH, 0);
    dev.writeReg(REG.RDT, 0);
    dev.writeReg(REG.IMS, opts.ims ?? NIC.ICR.TXDW | NIC.ICR.RXT0 | NIC.ICR.RXO);
    dev.writeReg(REG.RCTL, NIC.RCTL.EN | BSIZE[this.rxBufSize]!);
    dev.writeReg(REG.TCTL, NIC.TCTL.EN);
  }

  /** TX descriptors the driver may still queue (one slot always stays empty: head == tail means none). */
  get txFree(): number {
    return this.txCount - 1 - ((this.txTail - this.txClean + this.txCount) % this.txCount);
  }

  /** RX descriptors the driver may still hand over. */
  get rxFree(): number {
    return this.rxCount - 1 - ((this.rxTail - this.rxClean + this.rxCount) % this.rxCount);
  }

  /** RX descriptors handed over and not yet cleaned: what frames in flight may fill. */
  get rxPosted(): number {
    return (this.rxTail - this.rxClean + this.rxCount) % this.rxCount;
  }

  /** RX descriptors a frame of `length` bytes takes. */
  rxNeed(length: number): number {
    return Math.max(1, Math.ceil(length / this.rxBufSize));
  }

  txSlotLin(i: number): number {
    return this.txRing.lin + i * NIC.TX_DESC.SIZE;
  }

  rxSlotLin(i: number): number {
    return this.rxRing.lin + i * NIC.RX_DESC.SIZE;
  }

  /** Locks the buffers (PAGEMARKDIRTY: the device writes the RX ones) and takes their new addresses. */
  lockBuffers(): void {
    for (const b of [this.txBufs, this.rxBufs]) {
      expect(this.drv.vmm.linPageLock(b.page, b.npages, PAGEMARKDIRTY)).toBe(1);
      b.phys = handOut(this.drv, b.page, b.npages);
    }
  }

  unlockBuffers(): void {
    for (const b of [this.txBufs, this.rxBufs]) expect(this.drv.vmm.linPageUnLock(b.page, b.npages, 0)).toBe(1);
  }

  /** Hands `n` RX descriptors (default: all it may) to the device: buffer addresses in, status zero, then RDT. */
  postRx(n = this.rxFree): void {
    expect(n).toBeLessThanOrEqual(this.rxFree);
    for (let j = 0; j < n; j++) {
      const i = this.rxTail;
      writeRxDescriptor(this.drv, this.rxSlotLin(i), physAt(this.rxBufs, i * this.rxBufSize));
      this.rxTail = (i + 1) % this.rxCount;
    }
    // The descriptors (plain CPU stores) are in memory before this register store: the device
    // reads RDT before the descriptors it covers.
    this.dev.writeReg(NIC.REG.RDT, this.rxTail);
  }

  /** Queues a frame split across `pieces` descriptors (EOP on the last, RS on each); TDT is moved by kick(). */
  queue(frame: Uint8Array, pieces = 1): void {
    const k = Math.max(1, Math.min(pieces, frame.length));
    expect(k).toBeLessThanOrEqual(this.txFree);
    let off = 0;
    for (let p = 0; p < k; p++) {
      const n = p === k - 1 ? frame.length - off : Math.floor(frame.length / k);
      const i = this.txTail;
      this.drv.cpu.writeBytes(this.txBufs.lin + i * TX_SLOT_BYTES, frame.subarray(off, off + n));
      const cmd = NIC.TXD_CMD.RS | NIC.TXD_CMD.IFCS | (p === k - 1 ? NIC.TXD_CMD.EOP : 0);
      writeTxDescriptor(this.drv, this.txSlotLin(i), { addr: physAt(this.txBufs, i * TX_SLOT_BYTES), length: n, cmd });
      this.txTail = (i + 1) % this.txCount;
      off += n;
    }
  }

  kick(): void {
    this.dev.writeReg(NIC.REG.TDT, this.txTail);
  }

  /** Every queued descriptor has been sent (TDH caught up with the driver's TDT). */
  get txDone(): boolean {
    return this.txClean === this.txTail;
  }

  /** Reclaims the TX descriptors the device is done with: each has DD written back (all carry RS). */
  reclaim(): void {
    const tdh = this.dev.readReg(NIC.REG.TDH);
    while (this.txClean !== tdh) {
      const sta = this.drv.cpu.read8(this.txSlotLin(this.txClean) + NIC.TX_DESC.STA);
      expect(sta & NIC.TXD_STA.DD, `DD in TX descriptor ${this.txClean}`).toBe(NIC.TXD_STA.DD);
      this.txClean = (this.txClean + 1) % this.txCount;
    }
  }

  /** Takes every RX descriptor with DD, in ring order, reassembling frames at EOP. */
  collect(): void {
    while (this.rxClean !== this.rxTail) {
      const i = this.rxClean;
      const d = readRxDescriptor(this.drv, this.rxSlotLin(i));
      if (!(d.status & NIC.RXD_STATUS.DD)) return;
      const eop = (d.status & NIC.RXD_STATUS.EOP) !== 0;
      // A descriptor that is not the last of its frame is full.
      if (!eop) expect(d.length, `RX descriptor ${i} length`).toBe(this.rxBufSize);
      expect(d.status).toBe(NIC.RXD_STATUS.DD | (eop ? NIC.RXD_STATUS.EOP | NIC.RXD_STATUS.IXSM : 0));
      this.partial.push(this.drv.cpu.readBytes(this.rxBufs.lin + i * this.rxBufSize, d.length));
      if (eop) {
        const total = this.partial.reduce((s, p) => s + p.length, 0);
        const f = new Uint8Array(total);
        let o = 0;
        for (const p of this.partial) {
          f.set(p, o);
          o += p.length;
        }
        this.received.push(f);
        this.partial = [];
      }
      this.rxClean = (i + 1) % this.rxCount;
    }
  }

  /**
   * Runs the interrupt handler until `done()` holds: acknowledge the line, read ICR (clearing it),
   * accumulate MPC, reclaim TX, collect RX, test — and only then sleep on the line.
   */
  async until(done: () => boolean, timeoutMs = 20_000): Promise<void> {
    for (;;) {
      this.dev.ackInterrupt();
      this.dev.readReg(NIC.REG.ICR);
      this.missed += this.dev.readReg(NIC.REG.MPC);
      this.reclaim();
      this.collect();
      if (done()) return;
      await this.dev.waitForInterrupt({ timeoutMs });
    }
  }

  /**
   * Rings a doorbell that changes nothing (ICS of 0) and waits until it is served: every register
   * write and every frame sent before it has then been acted on.
   */
  async fence(sim: Simulator): Promise<void> {
    this.dev.writeReg(NIC.REG.ICS, 0);
    await served(sim, this.dev);
  }
}

/** Two NICs on one link, each with a driver. */
export async function linkedPair(sim: Simulator, a: NicOptions = {}, b: NicOptions = {}, linkOptions: { slots?: number } = {}, attach: Record<string, unknown> = {}): Promise<{ a: NicDriver; b: NicDriver }> {
  const link = sim.createLink(linkOptions);
  const devA = await sim.attachDevice('nic', { name: 'nic-a', link: link.a, ...attach });
  const devB = await sim.attachDevice('nic', { name: 'nic-b', link: link.b, ...attach });
  return { a: new NicDriver(sim, devA, a), b: new NicDriver(sim, devB, b) };
}
