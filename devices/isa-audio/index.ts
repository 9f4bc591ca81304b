/**
 * isa-audio: an ISA peripheral that requests DMA. On START it streams TOTAL bytes (or, with AUTO,
 * until STOP) through its channel one BLOCK at a time: each block is a DREQ the 8237 serves
 * wherever the channel's mode, address and count say (src/isa/channel.ts). Recording, byte n of the
 * stream is (SEED + n) & 0xFF; playing, every byte read is folded into CHECKSUM (FNV-1a). The
 * channel's transfer type decides what moves: a channel programmed to write memory takes the
 * device's bytes, one programmed to read memory gives it bytes, a verify channel moves none — as
 * on the bus, where the device only asserts DREQ. A request the channel cannot serve (masked, at
 * terminal count without auto-init) waits (STATUS.WAITING) until the driver reprograms or unmasks
 * it, or STOP. Depends only on the device contract.
 */

import type { DeviceContext, DeviceModel } from '../../src/device-api.js';
import { CONTROL, ERROR, FNV_OFFSET, FNV_PRIME, REG, STATUS } from './regs.js';

/** A waiting request looks again at least this often (a reprogramming also wakes it at once). */
const WAIT_SLICE_MS = 50;

export function createIsaAudio({ isaDma, regs, irq, wake }: DeviceContext): DeviceModel {
  const counters = { commands: 0, blocks: 0, bytes: 0, errors: 0 };

  function stream(control: number): number {
    const channel = regs.read(REG.CHANNEL);
    const block = regs.read(REG.BLOCK);
    const total = regs.read(REG.TOTAL);
    const seed = regs.read(REG.SEED);
    const auto = (control & CONTROL.AUTO) !== 0;
    const irqOn = (control & CONTROL.IRQ_ENABLE) !== 0;
    if (channel > 7 || channel === 4) return ERROR.BAD_CHANNEL;
    if (block === 0 || (channel >= 4 && block % 2 !== 0)) return ERROR.BAD_BLOCK;
    let n = 0; // stream position (bytes since START)
    let checksum = FNV_OFFSET;
    const produce = (out: Uint8Array) => {
      for (let i = 0; i < out.length; i++) out[i] = (seed + n + i) & 0xff;
    };
    const consume = (data: Uint8Array) => {
      for (const b of data) checksum = Math.imul(checksum ^ b, FNV_PRIME) >>> 0;
    };
    const stopped = () => (regs.read(REG.CONTROL) & CONTROL.STOP) !== 0;
    for (let blocks = 0; auto ? !stopped() : n < total; ) {
      let left = auto ? block : Math.min(block, total - n);
      while (left > 0) {
        const token = wake.token();
        const r = isaDma.request(channel, left, produce, consume);
        if (r.violation && r.transfers === 0) return ERROR.DMA_REFUSED;
        if (r.waiting) {
          regs.write(REG.STATUS, STATUS.BUSY | STATUS.WAITING);
          if (stopped()) {
            isaDma.release(channel);
            return ERROR.NONE;
          }
          wake.wait(token, WAIT_SLICE_MS);
          continue;
        }
        regs.write(REG.STATUS, STATUS.BUSY);
        n += r.bytes;
        left -= r.bytes;
        regs.write(REG.BYTES_DONE, n);
        regs.write(REG.CHECKSUM, checksum);
      }
      blocks++;
      counters.blocks++;
      regs.write(REG.BLOCKS, blocks);
      if (irqOn) irq.raise();
    }
    counters.bytes += n;
    return ERROR.NONE;
  }

  return {
    onDoorbell() {
      const control = regs.read(REG.CONTROL);
      // START and STOP are consumed by the command that sees them (a STOP doorbell that queued
      // behind the stream it ended finds nothing left to stop).
      regs.write(REG.CONTROL, control & ~(CONTROL.START | CONTROL.STOP));
      if (!(control & CONTROL.START)) return;
      counters.commands++;
      regs.write(REG.STATUS, STATUS.BUSY);
      regs.write(REG.ERROR, ERROR.NONE);
      regs.write(REG.BYTES_DONE, 0);
      regs.write(REG.BLOCKS, 0);
      regs.write(REG.CHECKSUM, FNV_OFFSET);
      const error = stream(control);
      if (error) counters.errors++;
      regs.write(REG.ERROR, error);
      regs.write(REG.STATUS, STATUS.DONE | (error ? STATUS.ERROR : 0));
      // An error ends the command with an interrupt too, so a driver waiting for one is not left hanging.
      if (error && control & CONTROL.IRQ_ENABLE) irq.raise();
    },
    reset() {
      for (let i = 0; i < REG.ERROR + 1; i++) regs.write(i, 0);
    },
    stats() {
      return { ...counters };
    },
  };
}
