/**
 * nic: an Intel 8254x (e1000) with legacy descriptor rings, on a device-to-device link. Depends
 * only on the device contract (DMA port, registers, interrupt line, wake source, link port).
 *
 * Rings (manual §3.2.6, §3.3.1): the device owns the descriptors from head up to, not including,
 * tail; head == tail means it owns none (so a driver hands over at most count − 1). Both rings live
 * in driver memory and are read and written by DMA, so the ring pages and every buffer must be
 * locked and handed out like any DMA buffer. Ring registers are hostile input: they are checked
 * (refusal codes in regs.ts DIAG_CODE) before any descriptor is touched, and a refused operation
 * writes nothing and leaves the head where it was.
 *
 * Transmit, on any doorbell (TDT, TCTL, …) with TCTL.EN: descriptors TDH … TDT − 1 as TDT was when
 * the doorbell was served (at most one ring's worth per doorbell, so a hostile tail cannot loop),
 * frame by frame: read each descriptor (16 bytes by DMA) up to EOP, gather the buffers, write DD
 * back into the STA of every descriptor with RS (the manual: status only when RS is set), send the
 * frame, advance TDH past it, then ICR.TXDW (a descriptor was written back) and ICR.TXQE once TDH
 * meets TDT. A frame whose EOP lies beyond TDT waits, unsent, for more tail; the device keeps no
 * partial frame and reads its descriptors again then. The status write-back comes before the send,
 * so a refused write-back sends nothing and a retried doorbell never sends a frame twice.
 *
 * Receive, after every doorbell and from the device loop's onWake (a frame arriving on the link
 * moves the wake word): each frame waiting on the link goes into the buffers of RDH … (a frame
 * longer than one buffer spans several, EOP on the last), then each descriptor's length and status
 * are written back, RDH advances, ICR.RXT0. A frame for which the descriptors handed over do not
 * suffice — none at all when RDH == RDT — is dropped and counted (MPC, ICR.RXO), never written
 * anywhere: the device has no packet buffer to keep it in.
 *
 * Provenance (src/provenance.ts): descriptor accesses state the ring base registers' source (read
 * with them, at every operation), buffer accesses the source of the descriptor that gave their
 * address (taken right after the descriptor is read), and the status write-backs are declared as
 * such (numbers the device makes up: they leave the ring's provenance alone).
 *
 * Interrupts: cause bits go into ICR with an atomic OR (regs.set), and the line is raised whenever
 * ICR & IMS is non-zero after a change or a doorbell (ICS and IMS writes ring): level-triggered, as
 * the e1000's is, so a driver acknowledges the line before it reads ICR.
 */

import { physAddr, type PhysAddr } from '../../src/address.js';
import type { DeviceContext, DeviceModel, DmaResult, DmaSource, LinkPort, SgElement } from '../../src/device-api.js';
import {
  CTRL,
  DIAG_CODE,
  DIAG_RX,
  ICR,
  MAX_FRAME,
  RCTL,
  REG,
  REGISTER_COUNT,
  RING_ALIGN,
  RING_LENGTH_LIMIT,
  RING_LENGTH_UNIT,
  RXD_STATUS,
  RX_DESC,
  STATUS,
  TCTL,
  TXD_CMD,
  TXD_STA,
  TX_DESC,
  rxBufferSize,
} from './regs.js';

/** How long a frame waits for room in the peer's queue before the wire drops it (attach option `linkTimeoutMs`). */
const LINK_TIMEOUT_MS = 2000;
/** A wait for room looks again at least this often (the peer's receive also wakes it at once). */
const LINK_WAIT_SLICE_MS = 50;
/** Scatter-gather elements per DMA access (the port's limit). */
const MAX_SPANS = 256;
const FOUR_GIB = 0x1_0000_0000;

/** A ring as its registers describe it, checked. */
interface Ring {
  readonly base: PhysAddr;
  /** Descriptors in the ring. */
  readonly count: number;
  readonly head: number;
  readonly tail: number;
  /** Where the base came from (BAL, BAH): the source of every descriptor access. */
  readonly from: DmaSource;
}

/** The registers of one ring (both rings have the same five). */
interface RingRegs {
  readonly bal: number;
  readonly bah: number;
  readonly len: number;
  readonly head: number;
  readonly tail: number;
  readonly lengthCode: number;
  readonly rangeCode: number;
  readonly diagSide: number;
}

const TX_RING: RingRegs = { bal: REG.TDBAL, bah: REG.TDBAH, len: REG.TDLEN, head: REG.TDH, tail: REG.TDT, lengthCode: DIAG_CODE.TX_RING_LENGTH, rangeCode: DIAG_CODE.TX_HEAD_TAIL_RANGE, diagSide: 0 };
const RX_RING: RingRegs = { bal: REG.RDBAL, bah: REG.RDBAH, len: REG.RDLEN, head: REG.RDH, tail: REG.RDT, lengthCode: DIAG_CODE.RX_RING_LENGTH, rangeCode: DIAG_CODE.RX_HEAD_TAIL_RANGE, diagSide: DIAG_RX };

/** A transmit frame found between head and tail, or why there is none. */
type TxTake =
  | { readonly kind: 'frame'; readonly buffers: SgElement[]; readonly length: number; readonly statusAt: SgElement[]; readonly status: number[]; readonly descriptors: number; readonly next: number }
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'refused'; readonly code: number };

/** Refused means no byte moved; under onViolation 'allow' a violating access still lands and counts as done. */
const refused = (r: DmaResult): boolean => !r.ok && r.bytesRead + r.bytesWritten === 0;

export function createNic({ dma, regs, irq, wake, options, openLink }: DeviceContext): DeviceModel {
  const link: LinkPort | null = options['link'] === undefined ? null : openLink(options['link']);
  const linkTimeoutMs = typeof options['linkTimeoutMs'] === 'number' && options['linkTimeoutMs'] >= 0 ? options['linkTimeoutMs'] : LINK_TIMEOUT_MS;
  const counters = {
    txFrames: 0,
    rxFrames: 0,
    /** Frames missed for want of receive descriptors (the MPC total, never cleared by reading MPC). */
    rxDropped: 0,
    txDescriptors: 0,
    rxDescriptors: 0,
    ringErrors: 0,
    /** Frame bytes transmitted plus received. */
    bytes: 0,
    /** Frames sent with no peer on the link (or no link): the wire drops them. */
    txNowhere: 0,
    /** Frames the wire dropped: the peer's queue stayed full for linkTimeoutMs, or the link's maxFrame is smaller. */
    txLinkDropped: 0,
    /** Frames that arrived with RCTL.EN clear (dropped). */
    rxDisabled: 0,
    /** Frames longer than MAX_FRAME that arrived (dropped; ROC counts them). */
    rxOversize: 0,
  };
  // Scratch: one descriptor (transmit's walk is over before send() may receive, which reuses it),
  // and the frame being transmitted (send() copies it into the link's slot).
  const desc = new Uint8Array(TX_DESC.SIZE);
  const dv = new DataView(desc.buffer);
  const frameBuf = new Uint8Array(MAX_FRAME);

  const linkUp = (): boolean => link !== null && link.connected;

  function powerOn(): void {
    for (let i = 0; i < REGISTER_COUNT; i++) regs.write(i, 0);
    regs.write(REG.STATUS, linkUp() ? STATUS.LU : 0);
  }
  powerOn();

  /** Records why a ring operation was refused: `diag` is a DIAG_CODE, with DIAG_RX for the receive side. */
  function refuse(diag: number): void {
    regs.write(REG.DIAG, diag);
    counters.ringErrors++;
  }

  /** ORs cause bits into ICR, then raises the line if an unmasked cause is pending. */
  function signal(cause: number): void {
    // The OR is one atomic RMW (a driver's read-to-clear exchange is wholly before or after it),
    // and it precedes the line's seq-cst store in raise(): a driver woken by the line reads ICR
    // after it and sees the cause (unless an earlier read of its own already took it).
    if (cause !== 0) regs.set(REG.ICR, cause);
    if ((regs.read(REG.ICR) & regs.read(REG.IMS)) !== 0) irq.raise();
  }

  /** Reads and checks a ring's registers; a DIAG code (with its side bit) if they describe no ring. */
  function ring(r: RingRegs): Ring | number {
    const len = regs.read(r.len);
    if (len === 0 || len % RING_LENGTH_UNIT !== 0 || len >= RING_LENGTH_LIMIT) return r.lengthCode | r.diagSide;
    if (regs.read(r.bah) !== 0) return DIAG_CODE.ADDRESS_HIGH | r.diagSide;
    const base = regs.read(r.bal);
    const from = regs.source(r.bal, r.bah);
    if (base % RING_ALIGN !== 0) return DIAG_CODE.RING_BASE_MISALIGNED | r.diagSide;
    if (base + len > FOUR_GIB) return DIAG_CODE.ADDRESS_HIGH | r.diagSide;
    const count = len / TX_DESC.SIZE;
    // Ordering point 1: the tail is read (seq-cst) before any descriptor it covers. The driver
    // wrote those descriptors before its store of the tail register, so they are visible to the
    // DMA reads that follow.
    const tail = regs.read(r.tail);
    const head = regs.read(r.head);
    if (head >= count || tail >= count) return r.rangeCode | r.diagSide;
    return { base: physAddr(base), count, head, tail, from };
  }

  /** Physical address of descriptor `i` (the ring was checked to end below 4 GiB). */
  const descriptorAt = (rg: Ring, i: number, field = 0): PhysAddr => physAddr(rg.base + i * TX_DESC.SIZE + field);

  /**
   * Reads descriptor `i` of `rg` into `desc`; the source of the addresses in it (taken right after
   * the read), or null if the read was refused.
   */
  function readDescriptor(rg: Ring, i: number): DmaSource | null {
    if (refused(dma.read(descriptorAt(rg, i), desc, { from: rg.from }))) return null;
    return dma.sourceOf(descriptorAt(rg, i), TX_DESC.SIZE);
  }

  /**
   * Gathers (or scatters) in accesses of at most MAX_SPANS elements; false if one was refused.
   * `writeBack`: the bytes are the device's status write-back.
   */
  function moveAll(list: readonly SgElement[], bytes: Uint8Array, write: boolean, writeBack = false): boolean {
    let off = 0;
    for (let i = 0; i < list.length; i += MAX_SPANS) {
      const part = list.slice(i, i + MAX_SPANS);
      const n = part.reduce((s, e) => s + e.length, 0);
      const view = bytes.subarray(off, off + n);
      if (refused(write ? dma.scatter(part, view, { writeBack }) : dma.gather(part, view))) return false;
      off += n;
    }
    return true;
  }

  /** The frame starting at descriptor `head`, if its EOP lies before `tail`. */
  function takeTxFrame(rg: Ring, head: number, tail: number): TxTake {
    const buffers: SgElement[] = [];
    const statusAt: SgElement[] = [];
    const status: number[] = [];
    let length = 0;
    let descriptors = 0;
    for (let i = head; i !== tail; ) {
      const from = readDescriptor(rg, i);
      if (from === null) return { kind: 'refused', code: DIAG_CODE.DMA_REFUSED };
      descriptors++;
      const cmd = desc[TX_DESC.CMD]!;
      if (cmd & TXD_CMD.DEXT) return { kind: 'refused', code: DIAG_CODE.DESCRIPTOR_EXTENDED };
      const n = dv.getUint16(TX_DESC.LENGTH, true);
      if (n > 0) {
        const lo = dv.getUint32(TX_DESC.ADDR, true);
        if (dv.getUint32(TX_DESC.ADDR + 4, true) !== 0 || lo + n > FOUR_GIB) return { kind: 'refused', code: DIAG_CODE.ADDRESS_HIGH };
        length += n;
        if (length > MAX_FRAME) return { kind: 'refused', code: DIAG_CODE.FRAME_TOO_LONG };
        buffers.push({ phys: physAddr(lo), length: n, from });
      }
      if (cmd & TXD_CMD.RS) {
        statusAt.push({ phys: descriptorAt(rg, i, TX_DESC.STA), length: 1, from: rg.from });
        status.push((desc[TX_DESC.STA]! | TXD_STA.DD) & ~(TXD_STA.EC | TXD_STA.LC | TXD_STA.TU));
      }
      i = (i + 1) % rg.count;
      if (cmd & TXD_CMD.EOP) return { kind: 'frame', buffers, length, statusAt, status, descriptors, next: i };
    }
    return { kind: 'incomplete' };
  }

  /** Sends what lies between TDH and TDT; returns the ICR causes. */
  function transmit(): number {
    if (!(regs.read(REG.TCTL) & TCTL.EN)) return 0;
    const rg = ring(TX_RING);
    if (typeof rg === 'number') {
      refuse(rg);
      return 0;
    }
    // The tail as of this doorbell: between head and it lie at most count − 1 descriptors, so the
    // walk is bounded by one ring whatever the registers say. A later TDT write rings again.
    const tail = rg.tail;
    let head = rg.head;
    let cause = 0;
    while (head !== tail) {
      const t = takeTxFrame(rg, head, tail);
      if (t.kind === 'incomplete') break;
      if (t.kind === 'refused') {
        refuse(t.code);
        break;
      }
      const frame = frameBuf.subarray(0, t.length);
      if (!moveAll(t.buffers, frame, false)) {
        refuse(DIAG_CODE.DMA_REFUSED);
        break;
      }
      // The buffers are read: only now may the driver reuse them, which DD tells it.
      if (t.statusAt.length > 0 && !moveAll(t.statusAt, Uint8Array.from(t.status), true, true)) {
        refuse(DIAG_CODE.DMA_REFUSED);
        break;
      }
      if (t.statusAt.length > 0) cause |= ICR.TXDW;
      send(frame);
      head = t.next;
      regs.write(REG.TDH, head);
      regs.add(REG.GPTC, 1);
      counters.txFrames++;
      counters.txDescriptors += t.descriptors;
      counters.bytes += t.length;
      if (head === tail) cause |= ICR.TXQE;
    }
    return cause;
  }

  /**
   * Puts a frame on the wire. With the peer's queue full it waits on the wake source (the peer's
   * receive wakes it), taking in what arrives meanwhile — the peer may itself be waiting for room
   * in ours, and two NICs sending to each other would otherwise wait for each other forever.
   */
  function send(frame: Uint8Array): void {
    if (!link || !link.connected) {
      counters.txNowhere++;
      return;
    }
    if (frame.length > link.maxFrame) {
      link.countDropped();
      counters.txLinkDropped++;
      return;
    }
    const deadline = wake.now() + linkTimeoutMs;
    for (;;) {
      // The token before the attempt: room made, or a frame arriving, after it moves the wake word,
      // so the wait below returns at once instead of sleeping through it.
      const token = wake.token();
      // The frame is copied into the link's slot: the caller's buffer is free again on return.
      if (link.send(frame)) return;
      signal(receive());
      if (!link.connected) {
        counters.txNowhere++;
        return;
      }
      const left = deadline - wake.now();
      if (left <= 0) {
        link.countDropped();
        counters.txLinkDropped++;
        return;
      }
      wake.wait(token, Math.min(left, LINK_WAIT_SLICE_MS));
    }
  }

  /**
   * Takes in every frame waiting on the link now; returns the ICR causes. A frame published after
   * the count was taken bumped the wake word after it, so the loop calls onWake again for it.
   */
  function receive(): number {
    if (!link) return 0;
    let cause = 0;
    for (let n = link.pending(); n > 0; n--) {
      const frame = link.receive();
      if (!frame) break;
      cause |= deliver(frame);
    }
    return cause;
  }

  /** One frame from the wire into the receive ring; returns the ICR causes. */
  function deliver(frame: Uint8Array): number {
    const rctl = regs.read(REG.RCTL);
    if (!(rctl & RCTL.EN)) {
      counters.rxDisabled++;
      return 0;
    }
    if (frame.length > MAX_FRAME) {
      regs.add(REG.ROC, 1);
      counters.rxOversize++;
      refuse(DIAG_CODE.FRAME_TOO_LONG | DIAG_RX);
      return 0;
    }
    const rg = ring(RX_RING);
    if (typeof rg === 'number') {
      refuse(rg);
      return 0;
    }
    const size = rxBufferSize(rctl);
    const need = Math.max(1, Math.ceil(frame.length / size));
    const free = (rg.tail - rg.head + rg.count) % rg.count;
    if (free < need) {
      regs.add(REG.MPC, 1);
      counters.rxDropped++;
      return ICR.RXO;
    }
    const buffers: SgElement[] = [];
    const statusAt: SgElement[] = [];
    const writeBack = new Uint8Array(need * 8);
    const wb = new DataView(writeBack.buffer);
    for (let k = 0; k < need; k++) {
      const i = (rg.head + k) % rg.count;
      const from = readDescriptor(rg, i);
      if (from === null) {
        refuse(DIAG_CODE.DMA_REFUSED | DIAG_RX);
        return 0;
      }
      const n = Math.min(size, frame.length - k * size);
      const lo = dv.getUint32(RX_DESC.ADDR, true);
      if (dv.getUint32(RX_DESC.ADDR + 4, true) !== 0 || lo + n > FOUR_GIB) {
        refuse(DIAG_CODE.ADDRESS_HIGH | DIAG_RX);
        return 0;
      }
      buffers.push({ phys: physAddr(lo), length: n, from });
      // Bytes 8…15 of the descriptor: length, checksum (0: no offload), status, errors, special.
      statusAt.push({ phys: descriptorAt(rg, i, RX_DESC.LENGTH), length: 8, from: rg.from });
      wb.setUint16(k * 8, n, true);
      writeBack[k * 8 + RX_DESC.STATUS - RX_DESC.LENGTH] = RXD_STATUS.DD | (k === need - 1 ? RXD_STATUS.EOP | RXD_STATUS.IXSM : 0);
    }
    // Ordering point 2: the data lands before any descriptor says DD. Both are plain stores into
    // shared memory; the driver learns of them through RDH (written below) or the interrupt line,
    // both seq-cst stores after them, so a driver that saw either sees the data with the status.
    // Each scatter is checked whole before its first byte moves: a refused one writes nothing.
    if (!moveAll(buffers, frame, true) || !moveAll(statusAt, writeBack, true, true)) {
      refuse(DIAG_CODE.DMA_REFUSED | DIAG_RX);
      return 0;
    }
    regs.write(REG.RDH, (rg.head + need) % rg.count);
    regs.add(REG.GPRC, 1);
    counters.rxFrames++;
    counters.rxDescriptors += need;
    counters.bytes += frame.length;
    // RXDMT0 when the descriptors left are at or below RDLEN >> (RDMTS + 1), as QEMU computes it.
    const left = free - need;
    const shift = ((rctl & RCTL.RDMTS_MASK) >>> 8) + 1;
    return ICR.RXT0 | (left * RX_DESC.SIZE <= (rg.count * RX_DESC.SIZE) >>> shift ? ICR.RXDMT0 : 0);
  }

  /** STATUS.LU follows the link; a change is ICR.LSC. */
  function linkStatus(): number {
    const lu = linkUp() ? STATUS.LU : 0;
    if ((regs.read(REG.STATUS) & STATUS.LU) === lu) return 0;
    regs.write(REG.STATUS, (regs.read(REG.STATUS) & ~STATUS.LU) | lu);
    return ICR.LSC;
  }

  return {
    onDoorbell() {
      // Which register rang is not told: every doorbell does everything that may have become due.
      if (regs.read(REG.CTRL) & CTRL.RST) {
        powerOn();
        return;
      }
      // Frames that arrived before this doorbell are taken in by it (a driver can order a
      // doorbell after a frame it knows was sent); the line is always re-evaluated, since an ICS
      // or IMS write may have unmasked a pending cause.
      signal(linkStatus() | transmit() | receive());
    },
    onWake() {
      const cause = linkStatus() | receive();
      if (cause !== 0) signal(cause);
    },
    reset: powerOn,
    stats() {
      return { ...counters };
    },
  };
}
