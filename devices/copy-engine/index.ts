/**
 * copy-engine: a memory-to-memory DMA engine with fill and scatter-gather chains. Depends only on
 * the DMA port / register / interrupt interfaces.
 *
 * A command runs when the driver writes CONTROL with START: that write rings the doorbell, and each
 * doorbell is one command, run from the registers as they are when the engine gets to it. A doorbell
 * rung while a command runs only queues; when its turn comes the engine runs it whatever CONTROL's
 * START bit says by then (the engine clears START as each command starts, so a queued doorbell finds
 * it clear). Direct mode copies LENGTH bytes from SRC
 * to DST (or fills DST with FILL_VALUE when FILL is set). SG mode walks 16-byte descriptors
 * {src, dst, length, next} from DESC, read by DMA from driver memory — so the descriptor table must be
 * locked and handed out like any buffer — until next = 0; with FILL, each descriptor fills its dst.
 * At the end STATUS = DONE (| ERROR), ERROR holds the code, BYTES_DONE the bytes moved, and the
 * interrupt is raised if IRQ_ENABLE was set.
 *
 * Every access states where its address came from (DmaAttributes, src/provenance.ts): SRC, DST and
 * DESC from their registers' sources, taken right after the registers are read; a descriptor's
 * src, dst and next from the descriptor's own source, taken right after it is read.
 */

import { physAddr } from '../../src/address.js';
import type { DeviceContext, DeviceModel, DmaSource } from '../../src/device-api.js';
import { CONTROL, DESCRIPTOR, ERROR, MAX_DESCRIPTORS, MAX_TRANSFER, REG, STATUS } from './regs.js';

export function createCopyEngine({ dma, regs, irq }: DeviceContext): DeviceModel {
  const counters = { commands: 0, descriptors: 0, bytes: 0, errors: 0 };
  const desc = new Uint8Array(DESCRIPTOR.SIZE);
  const dv = new DataView(desc.buffer);

  /** One transfer; returns the bytes moved or an ERROR code (negative). */
  function transfer(fill: boolean, src: number, dst: number, length: number, value: number, srcFrom: DmaSource, dstFrom: DmaSource): number {
    if (length > MAX_TRANSFER) return -ERROR.LENGTH_TOO_LARGE;
    const r = fill ? dma.fill(physAddr(dst), length, value, { from: dstFrom }) : dma.copy(physAddr(src), physAddr(dst), length, { srcFrom, dstFrom });
    // Refused means no byte moved; under onViolation 'allow' a violating access still lands.
    if (!r.ok && r.bytesWritten === 0) return -ERROR.DMA_REFUSED;
    return r.bytesWritten;
  }

  function run(control: number): { error: number; bytes: number } {
    const fill = (control & CONTROL.FILL) !== 0;
    const value = regs.read(REG.FILL_VALUE) & 0xff;
    if (!(control & CONTROL.SG)) {
      const src = regs.read(REG.SRC);
      const dst = regs.read(REG.DST);
      const n = transfer(fill, src, dst, regs.read(REG.LENGTH), value, regs.source(REG.SRC), regs.source(REG.DST));
      return n < 0 ? { error: -n, bytes: 0 } : { error: ERROR.NONE, bytes: n };
    }
    let bytes = 0;
    let at = regs.read(REG.DESC);
    // The first descriptor's address came from DESC, each next one's from the descriptor before.
    let atFrom = regs.source(REG.DESC);
    // Hostile input: bounded walk, alignment checked before each descriptor is read.
    for (let i = 0; i < MAX_DESCRIPTORS; i++) {
      if (at % DESCRIPTOR.SIZE !== 0) return { error: ERROR.DESC_MISALIGNED, bytes };
      const r = dma.read(physAddr(at), desc, { from: atFrom });
      // Refused means no byte moved; under onViolation 'allow' a violating read still lands.
      if (!r.ok && r.bytesRead === 0) return { error: ERROR.DMA_REFUSED, bytes };
      // After the read: the addresses in it were written at this source or earlier.
      const from = dma.sourceOf(physAddr(at), DESCRIPTOR.SIZE);
      counters.descriptors++;
      const n = transfer(fill, dv.getUint32(DESCRIPTOR.SRC, true), dv.getUint32(DESCRIPTOR.DST, true), dv.getUint32(DESCRIPTOR.LENGTH, true), value, from, from);
      if (n < 0) return { error: -n, bytes };
      bytes += n;
      at = dv.getUint32(DESCRIPTOR.NEXT, true);
      atFrom = from;
      if (at === 0) return { error: ERROR.NONE, bytes };
    }
    return { error: ERROR.CHAIN_TOO_LONG, bytes };
  }

  return {
    onDoorbell() {
      // One doorbell, one command: START is not re-checked (module comment).
      const control = regs.read(REG.CONTROL);
      counters.commands++;
      regs.write(REG.STATUS, STATUS.BUSY);
      // Self-clearing START, for the driver's readback only.
      regs.write(REG.CONTROL, control & ~CONTROL.START);
      const { error, bytes } = run(control);
      counters.bytes += bytes;
      if (error) counters.errors++;
      regs.write(REG.ERROR, error);
      regs.write(REG.BYTES_DONE, bytes);
      regs.write(REG.STATUS, STATUS.DONE | (error ? STATUS.ERROR : 0));
      if (control & CONTROL.IRQ_ENABLE) irq.raise();
    },
    reset() {
      for (let i = 0; i <= REG.BYTES_DONE; i++) regs.write(i, 0);
    },
    stats() {
      return { ...counters };
    },
  };
}
