/**
 * The 8237 transfer engine, on a peripheral's worker thread: a device asserts DREQ on a channel and
 * this moves its bytes wherever the channel's mode, address and count say (QEMU `i8257.c`'s
 * `i8257_dma_read_memory`/`write_memory`, as this project's model of it), through the device's own
 * checked DMA port. It reads the controllers' state from the shared ISA region (layout.ts) and
 * advances the channel's address and count there; the main thread decodes the driver's port I/O
 * (src/isa/i8237.ts).
 *
 * Hardware rules (spec §5.4): channels 0–3 move bytes, their 16-bit address counter is A0–A15 and
 * the page register A16–A23; channels 5–7 move words, the counter is A1–A16 and the page register
 * A17–A23 (bit 0 ignored). The counter wraps inside its 64 KiB (128 KiB) page without carrying into
 * the page register: such a transfer is reported ('dma-boundary') and its tail lands at the start
 * of the page, or is blocked, per onViolation. The count holds transfers − 1; terminal count (TC)
 * is when it rolls past 0: auto-init reloads the base address and count, otherwise the channel
 * masks itself. Channel 4 is the cascade input of controller 1: it moves nothing itself, and
 * channels 0–3 get the bus only while it is unmasked and in cascade mode. Demand, single and block
 * modes differ only in bus timing, which is not modelled: a request moves what it asked for.
 *
 * Memory ordering: every ISA word is read and written with Atomics. The current address and count
 * share one word, advanced here by compare-exchange: a driver's port read of either sees a whole
 * step, and a driver that reprograms the channel meanwhile keeps its value (the transfer already
 * done is not undone: that is the driver's race, as on the hardware).
 */

import { physAddr, type PhysAddr } from '../address.js';
import type { IsaDma, IsaDmaResult, SgElement } from '../device-api.js';
import type { CheckedDmaPort } from '../dma/port.js';
import { ISA_CH, ISA_CTL, isaChannelIndex, isaControllerIndex, type SharedViews } from '../layout.js';
import { channelSource } from '../provenance.js';
import { DMA_MODE } from './i8237.js';

/** Command register bit 2: controller disable. */
const COMMAND_DISABLE = 0x04;

function waiting(type: IsaDmaResult['type']): IsaDmaResult {
  return { type, transfers: 0, bytes: 0, tc: false, waiting: true };
}

export class IsaDmaChannels implements IsaDma {
  constructor(
    private readonly v: SharedViews,
    private readonly port: CheckedDmaPort,
  ) {}

  request(channel: number, bytes: number, produce: (out: Uint8Array) => void, consume: (data: Uint8Array) => void): IsaDmaResult {
    if (!Number.isInteger(channel) || channel < 0 || channel > 7) throw new RangeError(`no DMA channel ${String(channel)} (0…7)`);
    const width = channel < 4 ? 1 : 2;
    if (!Number.isInteger(bytes) || bytes < 0 || bytes % width !== 0) throw new RangeError(`a request on channel ${channel} needs a ${width === 2 ? 'non-negative even' : 'non-negative'} byte count, got ${String(bytes)}`);
    const v = this.v;
    const c = v.control;
    const ctl = channel >> 2;
    const bit = 1 << (channel & 3);
    const mode = Atomics.load(c, isaChannelIndex(v, channel, ISA_CH.MODE));
    const type: IsaDmaResult['type'] = (mode & DMA_MODE.TYPE) === DMA_MODE.WRITE ? 'write' : (mode & DMA_MODE.TYPE) === DMA_MODE.READ ? 'read' : 'verify';
    const want = bytes / width;
    if (want === 0) return { type, transfers: 0, bytes: 0, tc: false, waiting: false };
    const statusAt = isaControllerIndex(v, ctl, ISA_CTL.STATUS);
    // DREQ asserted (status bits 4–7): held while the channel cannot serve it, dropped once served.
    Atomics.or(c, statusAt, bit << 4);
    if (!this.canServe(channel, ctl, bit, mode)) return waiting(type);
    try {
      return this.serve(channel, ctl, bit, mode, type, width, want, produce, consume);
    } finally {
      Atomics.and(c, statusAt, ~(bit << 4));
    }
  }

  release(channel: number): void {
    if (!Number.isInteger(channel) || channel < 0 || channel > 7) throw new RangeError(`no DMA channel ${String(channel)} (0…7)`);
    Atomics.and(this.v.control, isaControllerIndex(this.v, channel >> 2, ISA_CTL.STATUS), ~((1 << (channel & 3)) << 4));
  }

  /** Can the channel answer DREQ now? */
  private canServe(channel: number, ctl: number, bit: number, mode: number): boolean {
    const v = this.v;
    const c = v.control;
    if (channel === 4 || (mode & DMA_MODE.MODE) === DMA_MODE.CASCADE) return false;
    if (Atomics.load(c, isaControllerIndex(v, ctl, ISA_CTL.COMMAND)) & COMMAND_DISABLE) return false;
    if (Atomics.load(c, isaControllerIndex(v, ctl, ISA_CTL.MASK)) & bit) return false;
    if (ctl === 0) {
      // Controller 1 reaches the bus through channel 4 of controller 2.
      if (Atomics.load(c, isaControllerIndex(v, 1, ISA_CTL.MASK)) & 1) return false;
      if ((Atomics.load(c, isaChannelIndex(v, 4, ISA_CH.MODE)) & DMA_MODE.MODE) !== DMA_MODE.CASCADE) return false;
      if (Atomics.load(c, isaControllerIndex(v, 1, ISA_CTL.COMMAND)) & COMMAND_DISABLE) return false;
    }
    return true;
  }

  private serve(channel: number, ctl: number, bit: number, mode: number, type: IsaDmaResult['type'], width: number, want: number, produce: (out: Uint8Array) => void, consume: (data: Uint8Array) => void): IsaDmaResult {
    const v = this.v;
    const c = v.control;
    const curAt = isaChannelIndex(v, channel, ISA_CH.CUR);
    const cur = Atomics.load(c, curAt);
    const addr = cur & 0xffff;
    const count = cur >>> 16;
    const n = Math.min(want, count + 1);
    const down = (mode & DMA_MODE.DECREMENT) !== 0;
    const page = Atomics.load(c, isaChannelIndex(v, channel, ISA_CH.PAGE)) & (width === 2 ? 0xfe : 0xff);
    // Where the address came from: when the driver last wrote an address byte or the page register,
    // read after both (the port decode stamps before it stores; provenance.ts). An address the
    // worker advanced, or auto-init reloaded from the base register, derives from those writes.
    const from = channelSource(v, channel);
    const pageBase = page << 16;
    // Transfers before the 16-bit counter wraps, and the ones after it (at the other end of the page).
    const first = down ? Math.min(n, addr + 1) : Math.min(n, 0x10000 - addr);
    const runs: { counter: number; transfers: number }[] = [{ counter: addr, transfers: first }];
    if (n > first) runs.push({ counter: down ? 0xffff : 0, transfers: n - first });

    if (type !== 'verify') {
      // Memory pieces in transfer order; within a decrementing piece, memory order is the reverse of
      // stream order (transfer by transfer; a word keeps its low byte first).
      const pieces: SgElement[] = runs.map((r) => ({ phys: physAddr(pageBase + (down ? r.counter - r.transfers + 1 : r.counter) * width) as PhysAddr, length: r.transfers * width }));
      const stream = new Uint8Array(n * width);
      const memory = new Uint8Array(n * width);
      const wrapAt = n > first ? Math.max(0, pageBase + (down ? -1 : 0x10000) * width) : -1;
      if (type === 'write') {
        produce(stream);
        this.order(runs, down, width, stream, memory);
      }
      const r = this.port.isaAccess(pieces, type === 'write', memory, { wrapAt, boundary: 0x10000 * width, from });
      if (!r.ok && r.bytesRead + r.bytesWritten === 0) return { type, transfers: 0, bytes: 0, tc: false, waiting: false, ...(r.violation ? { violation: r.violation } : {}) };
      if (type === 'read') {
        this.order(runs, down, width, memory, stream);
        consume(stream);
      }
      if (r.violation) return { ...this.advance(channel, ctl, bit, mode, cur, addr, count, n, down, type, width), violation: r.violation };
    }
    return this.advance(channel, ctl, bit, mode, cur, addr, count, n, down, type, width);
  }

  /** Copies `from` to `to` converting between stream order and memory order (its own inverse). */
  private order(runs: readonly { transfers: number }[], down: boolean, width: number, from: Uint8Array, to: Uint8Array): void {
    if (!down) {
      to.set(from);
      return;
    }
    let off = 0;
    for (const r of runs) {
      for (let i = 0; i < r.transfers; i++) {
        const src = off + i * width;
        const dst = off + (r.transfers - 1 - i) * width;
        for (let b = 0; b < width; b++) to[dst + b] = from[src + b]!;
      }
      off += r.transfers * width;
    }
  }

  /** Advances the channel by `n` transfers; at terminal count reloads (auto-init) or masks it. */
  private advance(channel: number, ctl: number, bit: number, mode: number, cur: number, addr: number, count: number, n: number, down: boolean, type: IsaDmaResult['type'], width: number): IsaDmaResult {
    const v = this.v;
    const c = v.control;
    const tc = n === count + 1;
    let next = ((down ? addr - n : addr + n) & 0xffff) | (((count - n) & 0xffff) << 16);
    if (tc && mode & DMA_MODE.AUTOINIT) next = Atomics.load(c, isaChannelIndex(v, channel, ISA_CH.BASE));
    // A driver that reprogrammed the channel meanwhile keeps what it wrote (module comment).
    Atomics.compareExchange(c, isaChannelIndex(v, channel, ISA_CH.CUR), cur, next);
    if (tc) {
      if (!(mode & DMA_MODE.AUTOINIT)) Atomics.or(c, isaControllerIndex(v, ctl, ISA_CTL.MASK), bit);
      // After the mask: a driver that sees TC in the status register sees the channel masked too.
      Atomics.or(c, isaControllerIndex(v, ctl, ISA_CTL.STATUS), bit);
    }
    return { type, transfers: n, bytes: n * width, tc, waiting: false };
  }
}
