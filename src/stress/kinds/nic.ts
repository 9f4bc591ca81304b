/**
 * Stress kind `nic`: an e1000 driver (legacy descriptors) for one NIC whose link's far end the
 * driver task holds on the main thread (`sim.openLink(link.b)`): the task plays the wire. Each
 * transfer is one frame of 60 … 1518 bytes, a seeded choice of direction:
 *  - TX: the frame is written at a random offset into two swappable pages, locked for it, and
 *    queued as 1 … 5 descriptors (split where a page ends and at random points; EOP on the last, RS
 *    on the last and on some others); TDT rings; the frame must come out of the link's far end byte
 *    for byte, TDH must pass it and every RS descriptor must have DD; then the pages are unlocked.
 *  - RX: the receive ring is topped up to a random fill (at least what the frame needs): each
 *    buffer (RCTL.BSIZE 256 … 2048, chosen at set-up) sits at a random offset in a page of its own,
 *    locked (PAGEMARKDIRTY) when it is handed to the ring, poisoned with a window of the complement
 *    pattern; RDT rings. The far end sends a frame built from the matching windows of the pattern,
 *    so every byte that does not land differs; every descriptor the frame took must say DD (DD |
 *    EOP | IXSM on the last) with its length, every buffer hold its part; those buffers are taken
 *    back (unlocked). Buffers not needed stay on the ring, locked, across transfers, pager passes
 *    and the other drivers' steps.
 * Both rings (8 or 16 descriptors each) share one page locked and handed out for the driver's
 * life, and wrap around over many transfers. The driver's last register write of a transfer is an
 * ICS of LSC (a software interrupt, as e1000 drivers use it): the line then rises after the device
 * has served every doorbell before it, even when it refused one and raised nothing itself.
 *
 * Waiting: the device's work is seen in its registers (TDH, RDH, DIAG, MPC), never in memory, so
 * the wait (in `env.wait`) touches nothing but this device's registers: acknowledge the line, look,
 * sleep on the line — what moves after the look raises it again (level-triggered).
 *
 * Doorbells and attribution: a record carries the device's command number — the doorbell being
 * served or, for a frame taken in from the link between doorbells (onWake), the last one served. A
 * transfer rings TDT or RDT, then the ICS. A DMA bug first waits until the device has served every
 * doorbell rung before (`settle`: a control request is answered only between commands, after every
 * doorbell rung before it), so its accesses carry its own numbers; an RX one settles again after
 * RDT, before the frame is sent (the device could otherwise take the frame in before serving RDT,
 * under the previous transfer's number), and so does the first RX after a DMA bug (a record of it
 * must not pass for the bug's). After a DMA bug the driver resets the NIC (`dev.reset()`, as a
 * TX-hang handler does: a refused frame would stay on the ring and be retried on every later
 * doorbell), takes back every receive buffer, programs the rings again and settles once more.
 *
 * How each injection is made certain to bite (the loop runs a DMA bug alone, so nothing else moves):
 *  - unlock-early (the NIC classic): an RX transfer unlocks the page of the buffer at RDH — on the
 *    ring, owned by the device — before the frame arrives (`dma-unlocked`);
 *  - no-lock: TX from pages touched in with the pager paused, PTEs copied, never locked
 *    (`dma-unlocked`);
 *  - stale-address: TX with the pager paused: lock, copy the PTEs, unlock and lock again in place,
 *    queue the old addresses (`dma-stale-address`);
 *  - short-buffer: TX of one descriptor from inside the guard DMA page running 1 … 1517 bytes into
 *    the guard page after it, never handed out (`dma-not-handed-out`);
 *  - no-markdirty: RX (the device writes memory) after a reset, into fresh, never-written pages
 *    locked without PAGEMARKDIRTY (`dma-not-marked-dirty`);
 *  - cross-driver: TX of one descriptor inside another driver's page (`dma-not-handed-out`);
 *  - double-unlock / leak-lock: a correct, verified transfer, then one of its buffer pages unlocked a
 *    second time / a page of its own locked and never unlocked.
 */

import { nic as NIC, PAGEMARKDIRTY, PG_SYS, type DeviceHandle, type HostLinkPort } from '../../index.js';
import type { Prng } from '../../prng.js';
import type { Injection } from '../inject.js';
import { diffBytes, HeldLocks, KindError, PAGE, pagesSpanned, physOf, sameBytes } from './common.js';
import type { KindEnv, KindInstance, StressKind, TransferResult, TransferSpec } from './types.js';

const { REG, ICR, RCTL, TCTL, TX_DESC, RX_DESC, TXD_CMD, TXD_STA, RXD_STATUS } = NIC;

/** The shortest Ethernet frame without its FCS. */
const MIN_FRAME = 60;
const MAX_FRAME = NIC.MAX_FRAME;
/** TX buffer: two pages, so a frame at any offset fits (and may cross a page end). */
const TX_PAGES = 2;
/** The rings share one page: TX at 0, RX at RX_RING_AT (16 descriptors of 16 bytes each at most). */
const RX_RING_AT = 2048;
const MAX_RING = 16;
const BUFFER_SIZES = [256, 512, 1024, 2048] as const;
const BSIZE: Readonly<Record<number, number>> = { 256: RCTL.BSIZE_256, 512: RCTL.BSIZE_512, 1024: RCTL.BSIZE_1024, 2048: RCTL.BSIZE_2048 };
/** The software interrupt rung last in every transfer (the line rises once the device got that far). */
const FENCE = ICR.LSC;
const IMS = ICR.TXDW | ICR.RXT0 | ICR.RXO | FENCE;
/** Injections made on the transmit side; the rest of the DMA bugs on the receive side. */
const TX_BUGS: ReadonlySet<Injection | null> = new Set<Injection | null>(['no-lock', 'stale-address', 'short-buffer', 'cross-driver']);
const RX_BUGS: ReadonlySet<Injection | null> = new Set<Injection | null>(['unlock-early', 'no-markdirty']);

export const nicKind: StressKind = {
  name: 'nic',
  maxInstances: 64,
  maxTransfer: MAX_FRAME,
  // The ring page, the TX pages, a page per RX descriptor, fresh no-markdirty pages for one frame.
  framesNeeded: 1 + TX_PAGES + MAX_RING + Math.ceil(MAX_FRAME / BUFFER_SIZES[0]),
  injections: ['unlock-early', 'no-lock', 'stale-address', 'short-buffer', 'double-unlock', 'no-markdirty', 'cross-driver', 'leak-lock'],
  setUp: (env) => NicDriver.create(env),
};

/** A receive descriptor slot: its own page, the buffer's offset in it, its poison's pattern window. */
interface RxSlot {
  locked: boolean;
  off: number;
  at: number;
}

/** A TX piece: physical address and length. */
interface Piece {
  addr: number;
  len: number;
}

class NicDriver implements KindInstance {
  private readonly scratch = new Uint32Array(TX_PAGES);
  private readonly desc = new Uint8Array(16);
  private readonly descView = new DataView(this.desc.buffer);
  private readonly slots: RxSlot[];
  /** The driver's TDT (TDH catches up with it by the end of every transfer). */
  private txTail = 0;
  /** The driver's RDT, and the next RX descriptor the device fills (RDH as the driver knows it). */
  private rxTail = 0;
  private rxClean = 0;
  /** Descriptors queued by the last `queue`, and which of them carry RS. */
  private queued = 0;
  private reportsStatus: boolean[] = [];
  /** MPC as read since clearCauses (read-to-clear: summed here). */
  private dropped = 0;
  /** The last transfer was a DMA bug (its doorbells are the last this device served). */
  private afterBug = false;

  private constructor(
    private readonly env: KindEnv,
    readonly device: DeviceHandle,
    private readonly host: HostLinkPort,
    private readonly locks: HeldLocks,
    private readonly ring: { readonly lin: number; readonly phys: number },
    private readonly tx: number,
    private readonly rx: number,
    private readonly txCount: number,
    private readonly rxCount: number,
    private readonly bufSize: number,
  ) {
    this.slots = Array.from({ length: rxCount }, () => ({ locked: false, off: 0, at: 0 }));
  }

  static async create(env: KindEnv): Promise<NicDriver> {
    const { rng, driver: drv } = env;
    const txCount = rng.chance(0.5) ? 8 : 16;
    const rxCount = rng.chance(0.5) ? 8 : 16;
    const bufSize = BUFFER_SIZES[rng.below(BUFFER_SIZES.length)]!;
    const alloc = (n: number): number => {
      const lin = drv.vmm.pageAllocate(n, PG_SYS, 0, 0, 0, 0, null, 0);
      if (lin === 0) throw new KindError(`_PageAllocate(${n}) failed: ${drv.vmm.lastError?.message ?? '?'}`);
      return lin;
    };
    const ringLin = alloc(1);
    const tx = alloc(TX_PAGES);
    const rx = alloc(rxCount);
    const locks = new HeldLocks(drv);
    // The device reads descriptors and writes their status back by DMA: locked and handed out for good.
    locks.lock(ringLin >>> 12, 1, PAGEMARKDIRTY);
    const ringPhys = physOf(drv, ringLin >>> 12, 1, new Uint32Array(1))[0]!;
    const link = env.sim.createLink();
    // The far end first: the NIC comes up with its link up (no LSC of its own later).
    const host = env.sim.openLink(link.b);
    let device: DeviceHandle;
    try {
      device = await env.attach('nic', NIC.rings, { link: link.a });
    } catch (e) {
      host.close();
      throw e;
    }
    const d = new NicDriver(env, device, host, locks, { lin: ringLin, phys: ringPhys }, tx, rx, txCount, rxCount, bufSize);
    d.program();
    // Set-up's doorbells are served before the first transfer rings its own.
    await device.stats();
    return d;
  }

  /** Programs both rings (empty: head = tail = 0), the mask, and enables both directions. */
  private program(): void {
    const dev = this.device;
    dev.writeReg(REG.TDBAL, this.ring.phys);
    dev.writeReg(REG.TDBAH, 0);
    dev.writeReg(REG.TDLEN, this.txCount * TX_DESC.SIZE);
    dev.writeReg(REG.TDH, 0);
    dev.writeReg(REG.TDT, 0);
    dev.writeReg(REG.RDBAL, this.ring.phys + RX_RING_AT);
    dev.writeReg(REG.RDBAH, 0);
    dev.writeReg(REG.RDLEN, this.rxCount * RX_DESC.SIZE);
    dev.writeReg(REG.RDH, 0);
    dev.writeReg(REG.RDT, 0);
    dev.writeReg(REG.IMS, IMS);
    dev.writeReg(REG.RCTL, RCTL.EN | BSIZE[this.bufSize]!);
    dev.writeReg(REG.TCTL, TCTL.EN);
    this.txTail = 0;
    this.rxTail = 0;
    this.rxClean = 0;
  }

  async transfer(spec: TransferSpec): Promise<TransferResult> {
    const inj = spec.injection;
    const dmaBug = TX_BUGS.has(inj) || RX_BUGS.has(inj);
    // A DMA bug's accesses must carry its own command numbers: nothing rung before is left unserved.
    if (dmaBug) await this.settle();
    const size = Math.min(MAX_FRAME, Math.max(MIN_FRAME, spec.size));
    const transmit = TX_BUGS.has(inj) || (!RX_BUGS.has(inj) && spec.rng.chance(0.5));
    const r = transmit ? await this.transmit(spec, size) : await this.receive(spec, size);
    this.afterBug = dmaBug;
    const vmm = this.env.driver.vmm;
    if (inj === 'double-unlock') return { ...r.result, ddkError: vmm.linPageUnLock(r.page, 1, 0) === 0 ? (vmm.lastError?.code ?? 'failed') : null };
    if (inj === 'leak-lock') return { ...r.result, injected: this.env.leakLock() };
    return r.result;
  }

  /** One frame out: queue, ring, see it at the far end. `page`: a buffer page it locked and unlocked. */
  private async transmit(spec: TransferSpec, size: number): Promise<{ result: TransferResult; page: number }> {
    const { env, locks, device: dev } = this;
    const { rng } = spec;
    const inj = spec.injection;
    const cpu = env.driver.cpu;
    this.clearCauses();
    const tail = this.txTail;
    let payload: Uint8Array | null = null;
    let locked: { page: number; n: number } | null = null;
    let page = this.tx >>> 12;
    if (inj === 'short-buffer') {
      // `past` bytes lie beyond the handed-out page; at least one inside it.
      const past = 1 + rng.below(size - 1);
      this.queue([{ addr: env.guard.phys + PAGE - size + past, len: size }], tail, rng);
    } else if (inj === 'cross-driver') {
      this.queue([{ addr: env.foreign + rng.below(PAGE - size + 1), len: size }], tail, rng);
    } else {
      const off = spec.aligned ? 0 : rng.below(TX_PAGES * PAGE - size + 1);
      const first = (this.tx >>> 12) + Math.floor(off / PAGE);
      page = first;
      const n = pagesSpanned(off % PAGE, size);
      const at = rng.below(env.patterns.span);
      payload = env.patterns.a.subarray(at, at + size);
      const lin = this.tx + off;
      const frame = payload;
      const program = (): void => {
        let phys: number[];
        if (inj === 'no-lock') {
          // Touched in (present: the pager is paused), never locked.
          cpu.writeBytes(lin, frame);
          phys = physOf(env.driver, first, n, this.scratch);
        } else {
          locks.lock(first, n, 0);
          locked = { page: first, n };
          phys = physOf(env.driver, first, n, this.scratch);
          cpu.writeBytes(lin, frame);
          if (inj === 'stale-address') {
            // The same frames (the pager is paused), a new tenure: the addresses kept are stale.
            locks.unlock(first, n);
            locks.lock(first, n, 0);
          }
        }
        this.queue(txPieces(phys, off % PAGE, size, spec.aligned ? null : rng), tail, rng);
      };
      // The descriptors are CPU writes too: with a bug that needs the frames to stay, all of it paused.
      if (inj === 'no-lock' || inj === 'stale-address') env.withPagerPaused(program);
      else program();
    }
    const next = (tail + this.queued) % this.txCount;
    await this.until(() => dev.readReg(REG.TDH) === next || dev.readReg(REG.DIAG) !== 0);

    if (inj !== null && TX_BUGS.has(inj)) {
      await this.reinit();
      const l = locked as { page: number; n: number } | null;
      if (l) locks.unlock(l.page, l.n);
      return { result: { bytes: size, lostBytes: 0, injected: true }, page };
    }
    let lostBytes = 0;
    let detail: string | undefined;
    const diag = dev.readReg(REG.DIAG);
    const got = this.host.receive();
    const extra = this.host.pending();
    if (diag !== 0 || got === null || extra !== 0) {
      lostBytes = size;
      detail = `TX of ${size} bytes in ${this.queued} descriptors from TDT ${tail}: ${got === null ? 'no frame at the far end' : `${extra} frames too many`}; ${this.registers()}`;
    } else if (!sameBytes(got, payload!)) {
      const d = diffBytes(got, payload!);
      lostBytes = d.count;
      detail = `TX of ${size} bytes in ${this.queued} descriptors: ${d.count} differ at the far end, the first at +${d.first}; ${this.registers()}`;
    } else {
      for (let k = 0; k < this.queued; k++) {
        const i = (tail + k) % this.txCount;
        if (!this.reportsStatus[k]) continue;
        if ((cpu.read8(this.ring.lin + i * TX_DESC.SIZE + TX_DESC.STA) & TXD_STA.DD) === 0) {
          lostBytes = size;
          detail = `TX of ${size} bytes: TX descriptor ${i} has RS but no DD; ${this.registers()}`;
          break;
        }
      }
    }
    this.txTail = next;
    const l = locked as { page: number; n: number } | null;
    if (l) locks.unlock(l.page, l.n);
    if (diag !== 0) await this.reinit();
    return { result: { bytes: size, lostBytes, injected: inj !== null, ...(detail ? { detail } : {}) }, page };
  }

  /**
   * Writes TX descriptors for `pieces` from ring slot `tail` (EOP on the last; RS on the last and
   * on some others), then TDT (rings: transmit) and the ICS fence.
   */
  private queue(pieces: readonly Piece[], tail: number, rng: Prng): void {
    if (pieces.length > this.txCount - 1) throw new KindError(`dmasim stress internal: ${pieces.length} TX descriptors for a ring of ${this.txCount}`);
    const v = this.descView;
    this.reportsStatus = [];
    pieces.forEach((p, k) => {
      const last = k === pieces.length - 1;
      const rs = last || rng.chance(0.5);
      this.reportsStatus.push(rs);
      this.desc.fill(0);
      v.setUint32(TX_DESC.ADDR, p.addr >>> 0, true);
      v.setUint16(TX_DESC.LENGTH, p.len, true);
      this.desc[TX_DESC.CMD] = TXD_CMD.IFCS | (rs ? TXD_CMD.RS : 0) | (last ? TXD_CMD.EOP : 0);
      this.env.driver.cpu.writeBytes(this.ring.lin + ((tail + k) % this.txCount) * TX_DESC.SIZE, this.desc);
    });
    this.queued = pieces.length;
    // The descriptors (CPU stores) are in memory before this register store: the device reads TDT
    // before the descriptors it covers.
    this.device.writeReg(REG.TDT, (tail + pieces.length) % this.txCount);
    this.device.writeReg(REG.ICS, FENCE);
  }

  /** One frame in: top the ring up, the far end sends, check what landed. `page`: a buffer page it took back. */
  private async receive(spec: TransferSpec, size: number): Promise<{ result: TransferResult; page: number }> {
    const { env, locks, device: dev } = this;
    const { rng } = spec;
    const inj = spec.injection;
    const { vmm, cpu } = env.driver;
    const need = Math.ceil(size / this.bufSize);
    const rxPage = (i: number) => (this.rx >>> 12) + i;

    if (inj === 'no-markdirty') {
      // The frame must land in fresh pages: start from a ring the device owns nothing of.
      await this.reinit();
      this.clearCauses();
      const fresh = vmm.pageAllocate(need, PG_SYS, 0, 0, 0, 0, null, 0);
      if (fresh === 0) throw new KindError(`_PageAllocate(${need}) failed: ${vmm.lastError?.message ?? '?'}`);
      locks.lock(fresh >>> 12, need, 0);
      const phys = physOf(env.driver, fresh >>> 12, need, new Uint32Array(need));
      // Never written by the CPU: clean. Descriptors 0 … need − 1 (after the reset RDH = RDT = 0).
      phys.forEach((p, k) => this.writeRxDescriptor(k, p));
      dev.writeReg(REG.RDT, need);
      await this.settle();
      const at = rng.below(env.patterns.span);
      this.send(env.patterns.a.subarray(at, at + size));
      await this.until(() => dev.readReg(REG.RDH) !== 0 || dev.readReg(REG.DIAG) !== 0 || this.missed());
      await this.reinit();
      locks.unlock(fresh >>> 12, need);
      vmm.pageFree(fresh, 0);
      return { result: { bytes: size, lostBytes: 0, injected: true }, page: fresh >>> 12 };
    }

    this.clearCauses();
    // Top up: at least what the frame needs, at most what the ring can hold (count − 1).
    const max = this.rxCount - 1;
    const target = need + rng.below(max - need + 1);
    while (this.posted() < target) this.post(this.rxTail, rng, spec.aligned);
    // Always rung: the frame then moves under this transfer's command number.
    dev.writeReg(REG.RDT, this.rxTail);
    const head = this.rxClean;
    const parts: Uint8Array[] = [];
    for (let k = 0; k < need; k++) {
      const s = this.slots[(head + k) % this.rxCount]!;
      parts.push(env.patterns.a.subarray(s.at, s.at + Math.min(this.bufSize, size - k * this.bufSize)));
    }
    if (inj === 'unlock-early') {
      // ← the bug: the buffer at RDH is still the device's.
      locks.unlock(rxPage(head), 1);
      this.slots[head]!.locked = false;
    }
    // The device takes a frame in whenever it looks at the link (onWake too), under the number of
    // the last doorbell it served: RDT must be served first when a record must name this transfer —
    // a DMA bug's, or any after one (else it would be judged the bug's).
    if (inj === 'unlock-early' || this.afterBug) await this.settle();
    this.send(concat(parts, size));
    const next = (head + need) % this.rxCount;
    await this.until(() => dev.readReg(REG.RDH) === next || dev.readReg(REG.DIAG) !== 0 || this.missed());

    if (inj === 'unlock-early') {
      await this.reinit();
      return { result: { bytes: size, lostBytes: 0, injected: true }, page: rxPage(head) };
    }
    let lostBytes = 0;
    let detail: string | undefined;
    const rdh = dev.readReg(REG.RDH);
    const diag = dev.readReg(REG.DIAG);
    if (rdh !== next || diag !== 0) {
      lostBytes = size;
      detail = `RX of ${size} bytes into ${need} descriptors from RDH ${head}: RDH ${rdh}, ${this.dropped} dropped; ${this.registers()}`;
    } else {
      for (let k = 0; k < need; k++) {
        const i = (head + k) % this.rxCount;
        const part = parts[k]!;
        const last = k === need - 1;
        const d = cpu.readBytes(this.ring.lin + RX_RING_AT + i * RX_DESC.SIZE, RX_DESC.SIZE);
        const status = d[RX_DESC.STATUS]!;
        const length = d[RX_DESC.LENGTH]! | (d[RX_DESC.LENGTH + 1]! << 8);
        const want = RXD_STATUS.DD | (last ? RXD_STATUS.EOP | RXD_STATUS.IXSM : 0);
        if (status !== want || length !== part.length) {
          lostBytes += part.length;
          detail ??= `RX of ${size} bytes: descriptor ${i} says status 0x${status.toString(16)} length ${length}, want 0x${want.toString(16)} ${part.length}; ${this.registers()}`;
          continue;
        }
        const got = cpu.readBytes(this.rx + i * PAGE + this.slots[i]!.off, part.length);
        if (!sameBytes(got, part)) {
          const x = diffBytes(got, part);
          lostBytes += x.count;
          detail ??= `RX of ${size} bytes: ${x.count} differ in the buffer of descriptor ${i}, the first at +${x.first}; ${this.registers()}`;
        }
      }
    }
    if (diag !== 0 || rdh !== next) {
      await this.reinit();
    } else {
      // Taken back: unlocked until handed to the ring again.
      for (let k = 0; k < need; k++) {
        const i = (head + k) % this.rxCount;
        locks.unlock(rxPage(i), 1);
        this.slots[i]!.locked = false;
      }
      this.rxClean = next;
    }
    return { result: { bytes: size, lostBytes, injected: inj !== null, ...(detail ? { detail } : {}) }, page: rxPage(head) };
  }

  /** RX descriptors handed to the device and not yet taken back. */
  private posted(): number {
    return (this.rxTail - this.rxClean + this.rxCount) % this.rxCount;
  }

  /** Hands slot `i` to the ring (RDT is written by the caller): lock, address, poison, descriptor. */
  private post(i: number, rng: Prng, aligned: boolean): void {
    const { env } = this;
    const s = this.slots[i]!;
    const page = (this.rx >>> 12) + i;
    this.locks.lock(page, 1, PAGEMARKDIRTY);
    s.locked = true;
    const phys = physOf(env.driver, page, 1, this.scratch)[0]!;
    s.off = aligned ? 0 : rng.below(PAGE - this.bufSize + 1);
    s.at = rng.below(env.patterns.span);
    env.driver.cpu.writeBytes(this.rx + i * PAGE + s.off, env.patterns.b.subarray(s.at, s.at + this.bufSize));
    this.writeRxDescriptor(i, phys + s.off);
    this.rxTail = (i + 1) % this.rxCount;
  }

  /** RX descriptor `i`: the buffer address, everything the device writes back zero. */
  private writeRxDescriptor(i: number, addr: number): void {
    this.desc.fill(0);
    this.descView.setUint32(RX_DESC.ADDR, addr >>> 0, true);
    this.env.driver.cpu.writeBytes(this.ring.lin + RX_RING_AT + i * RX_DESC.SIZE, this.desc);
  }

  /** The far end sends `frame`, then the driver rings the ICS fence. */
  private send(frame: Uint8Array): void {
    if (!this.host.send(frame)) throw new KindError('the link to the NIC is full: frames were left on it');
    this.device.writeReg(REG.ICS, FENCE);
  }

  /** Frames the device dropped for want of descriptors since clearCauses. */
  private missed(): boolean {
    this.dropped += this.device.readReg(REG.MPC);
    return this.dropped > 0;
  }

  /** Acknowledges the line and clears the causes (ICR and MPC are read-to-clear). */
  private clearCauses(): void {
    this.device.ackInterrupt();
    this.device.readReg(REG.ICR);
    this.device.readReg(REG.MPC);
    this.dropped = 0;
  }

  /**
   * Until `done()`, a look at this device's registers only: acknowledge the line, look, and only then
   * sleep on it — whatever the device does after the look raises the line again (level-triggered;
   * the ICS fence rung last keeps a cause pending, so even a refusal that raised nothing is followed
   * by a rise once the device got past it).
   */
  private until(done: () => boolean): Promise<void> {
    const dev = this.device;
    const timeoutMs = this.env.timeoutMs;
    // Deterministic mode: no host clock (every wait gets the whole timeout, in virtual time).
    const clock = this.env.deterministic ? null : performance;
    return this.env.wait(async () => {
      const deadline = clock ? clock.now() + timeoutMs : 0;
      for (;;) {
        dev.ackInterrupt();
        if (done()) return;
        await dev.waitForInterrupt({ timeoutMs: clock ? Math.max(1, deadline - clock.now()) : timeoutMs });
      }
    });
  }

  /**
   * Resolves once the device has served every doorbell rung so far: a control request (stats) is
   * answered by the device loop only between commands, after every doorbell rung before it.
   */
  private async settle(): Promise<void> {
    await this.env.control(() => this.device.stats());
  }

  /**
   * After a refused frame: reset the NIC (it would retry the frame on every doorbell), take back
   * every receive buffer (after the reset the device owns none), program the rings again, settle.
   */
  private async reinit(): Promise<void> {
    await this.env.control(() => this.device.reset());
    for (let i = this.rxClean; i !== this.rxTail; i = (i + 1) % this.rxCount) {
      const s = this.slots[i]!;
      if (s.locked) this.locks.unlock((this.rx >>> 12) + i, 1);
      s.locked = false;
    }
    // A frame that went out after all (a violation allowed to proceed) is not left on the wire.
    while (this.host.receive() !== null);
    this.program();
    await this.settle();
  }

  private registers(): string {
    const r = (i: number) => this.device.readReg(i);
    return `TDH ${r(REG.TDH)} TDT ${r(REG.TDT)} RDH ${r(REG.RDH)} RDT ${r(REG.RDT)} DIAG 0x${r(REG.DIAG).toString(16)}`;
  }

  async tearDown(): Promise<void> {
    const vmm = this.env.driver.vmm;
    this.locks.releaseAll();
    for (const lin of [this.ring.lin, this.tx, this.rx]) vmm.pageFree(lin, 0);
    await this.device.detach();
    this.host.close();
  }
}

/**
 * The TX pieces of `size` bytes starting `off` bytes into pages at `phys`: split where a page ends
 * (the pages need not be contiguous) and, with `rng`, at up to 3 random points more.
 */
function txPieces(phys: readonly number[], off: number, size: number, rng: Prng | null): Piece[] {
  const cuts = new Set<number>();
  if (off + size > PAGE) cuts.add(PAGE - off);
  if (rng) for (let k = rng.below(4); k > 0; k--) cuts.add(1 + rng.below(size - 1));
  const ends = [...cuts].sort((a, b) => a - b);
  ends.push(size);
  const out: Piece[] = [];
  let from = 0;
  for (const to of ends) {
    const at = off + from;
    out.push({ addr: phys[Math.floor(at / PAGE)]! + (at % PAGE), len: to - from });
    from = to;
  }
  return out;
}

function concat(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
