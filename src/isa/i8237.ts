/**
 * The two 8237 DMA controllers of a PC/AT, as driver code programs them through I/O ports (spec
 * §5.4; Intel 8237A datasheet; IBM PC/AT technical reference for the port map). The controllers'
 * state lives in the shared ISA region (layout.ts ISA_CH / ISA_CTL): this module decodes the ports
 * on the main thread; a device worker runs the transfers its DREQ asks for (src/isa/channel.ts).
 *
 * Port map (table below, one decode function): controller 1 (channels 0–3, 8-bit) at 0x00–0x0F,
 * controller 2 (channels 4–7, 16-bit) at 0xC0–0xDE, even ports, the same sixteen registers in the
 * same order; page registers ch0 0x87, ch1 0x83, ch2 0x81, ch3 0x82, ch5 0x8B, ch6 0x89, ch7 0x8A.
 *
 * Choices where the datasheet leaves room (README lists them):
 *  - Address and count reads give the current values, one byte per read through the byte
 *    flip-flop, each from one atomic snapshot of the channel's current address|count word. Like the
 *    real part, two reads are two samples: a driver that reads a running counter re-reads until the
 *    high byte is stable, as VDMAD does.
 *  - Registers the 8237A cannot read (request, mask, mode, flip-flop, clear) read all ones; 0x0D
 *    reads the temporary register (always 0: memory-to-memory transfers are not modelled); 0x0F
 *    reads the four mask bits (high nibble ones), as later AT chipsets allow.
 *  - A software request (0x09) is recorded and shows in the status register; it moves no data (no
 *    memory-to-memory mode). Transfers happen for a device's DREQ only.
 */

import { ISA_CH, ISA_CTL, isaChannelIndex, isaControllerIndex, type SharedViews } from '../layout.js';
import { channelProgrammed } from '../provenance.js';
import { FLOATING_BUS, type PortBus, type PortHandler } from './portbus.js';

/** Mode byte fields (spec §5.3, VDMAD.H names). */
export const DMA_MODE = {
  CHANNEL: 0x03,
  TYPE: 0x0c,
  VERIFY: 0x00,
  /** Device → memory. */
  WRITE: 0x04,
  /** Memory → device. */
  READ: 0x08,
  AUTOINIT: 0x10,
  DECREMENT: 0x20,
  MODE: 0xc0,
  DEMAND: 0x00,
  SINGLE: 0x40,
  BLOCK: 0x80,
  CASCADE: 0xc0,
} as const;

/** Page register port of each channel (channel 4 has none: it is the cascade input). */
export const PAGE_PORTS: Readonly<Record<number, number>> = { 0: 0x87, 1: 0x83, 2: 0x81, 3: 0x82, 5: 0x8b, 6: 0x89, 7: 0x8a };

/** A controller's sixteen registers, by index (port = base + index << shift). */
export const I8237_REG = {
  STATUS_COMMAND: 8,
  REQUEST: 9,
  SINGLE_MASK: 10,
  MODE: 11,
  CLEAR_FLIP_FLOP: 12,
  MASTER_CLEAR: 13,
  CLEAR_MASKS: 14,
  WRITE_MASKS: 15,
} as const;

const CONTROLLERS = [
  { base: 0x00, shift: 0 },
  { base: 0xc0, shift: 1 },
] as const;

type Decoded = { kind: 'channel'; controller: number; channel: number; count: boolean } | { kind: 'control'; controller: number; reg: number } | { kind: 'page'; channel: number };

/** The main thread's side of both controllers: the port decode, the byte flip-flops. */
export class IsaDmaControllers implements PortHandler {
  private readonly decode = new Map<number, Decoded>();
  /** Byte flip-flop per controller (0: next access is the low byte). Only the main thread decodes ports. */
  private readonly flipFlop = [0, 0];

  constructor(
    private readonly v: SharedViews,
    bus: PortBus,
    /** Called after every write that changes what a waiting device may do (unmask, reprogram). */
    private readonly changed: () => void,
  ) {
    CONTROLLERS.forEach(({ base, shift }, controller) => {
      for (let i = 0; i < 16; i++) {
        const port = base + (i << shift);
        this.decode.set(port, i < 8 ? { kind: 'channel', controller, channel: controller * 4 + (i >> 1), count: (i & 1) === 1 } : { kind: 'control', controller, reg: i });
      }
    });
    for (const [ch, port] of Object.entries(PAGE_PORTS)) this.decode.set(port, { kind: 'page', channel: Number(ch) });
    bus.claim([...this.decode.keys()], this);
    this.powerOn();
  }

  /**
   * As the AT BIOS leaves them: every channel masked but channel 4, which is in cascade mode (it
   * carries controller 1's requests); addresses, counts and pages 0.
   */
  private powerOn(): void {
    const c = this.v.control;
    Atomics.store(c, isaControllerIndex(this.v, 0, ISA_CTL.MASK), 0xf);
    Atomics.store(c, isaControllerIndex(this.v, 1, ISA_CTL.MASK), 0xe);
    Atomics.store(c, isaChannelIndex(this.v, 4, ISA_CH.MODE), DMA_MODE.CASCADE);
  }

  read(port: number): number {
    const d = this.decode.get(port)!;
    const c = this.v.control;
    if (d.kind === 'page') return Atomics.load(c, isaChannelIndex(this.v, d.channel, ISA_CH.PAGE)) & 0xff;
    if (d.kind === 'channel') {
      // One snapshot of address|count per byte read (the worker advances them together).
      const cur = Atomics.load(c, isaChannelIndex(this.v, d.channel, ISA_CH.CUR));
      const word = d.count ? cur >>> 16 : cur & 0xffff;
      return this.flip(d.controller) === 0 ? word & 0xff : word >>> 8;
    }
    const at = (f: number) => isaControllerIndex(this.v, d.controller, f);
    switch (d.reg) {
      case I8237_REG.STATUS_COMMAND: {
        // TC bits are cleared by the read, atomically against a worker setting one.
        const old = Atomics.and(c, at(ISA_CTL.STATUS), ~0x0f);
        const requests = ((old >>> 4) | Atomics.load(c, at(ISA_CTL.REQUEST))) & 0x0f;
        return (old & 0x0f) | (requests << 4);
      }
      case I8237_REG.MASTER_CLEAR:
        return 0; // the temporary register
      case I8237_REG.WRITE_MASKS:
        return 0xf0 | (Atomics.load(c, at(ISA_CTL.MASK)) & 0x0f);
      default:
        return FLOATING_BUS;
    }
  }

  write(port: number, value: number): void {
    const d = this.decode.get(port)!;
    const c = this.v.control;
    if (d.kind === 'page') {
      // The address's provenance first (provenance.ts): a worker that reads the new page reads a
      // stamp at least this one.
      channelProgrammed(this.v, d.channel);
      Atomics.store(c, isaChannelIndex(this.v, d.channel, ISA_CH.PAGE), value);
    } else if (d.kind === 'channel') {
      if (!d.count) channelProgrammed(this.v, d.channel);
      const high = this.flip(d.controller) === 1;
      const shift = (d.count ? 16 : 0) + (high ? 8 : 0);
      const keep = ~(0xff << shift);
      // Base and current both take the byte (the 8237 writes both). The current word may be
      // advanced by a worker meanwhile: compare-exchange until this byte lands on a whole value.
      const baseAt = isaChannelIndex(this.v, d.channel, ISA_CH.BASE);
      Atomics.store(c, baseAt, (Atomics.load(c, baseAt) & keep) | (value << shift));
      const curAt = isaChannelIndex(this.v, d.channel, ISA_CH.CUR);
      for (;;) {
        const old = Atomics.load(c, curAt);
        if (Atomics.compareExchange(c, curAt, old, (old & keep) | (value << shift)) === old) break;
      }
    } else {
      this.control(d.controller, d.reg, value);
    }
    this.changed();
  }

  private control(controller: number, reg: number, value: number): void {
    const c = this.v.control;
    const at = (f: number) => isaControllerIndex(this.v, controller, f);
    const bit = 1 << (value & 3);
    switch (reg) {
      case I8237_REG.STATUS_COMMAND:
        Atomics.store(c, at(ISA_CTL.COMMAND), value);
        return;
      case I8237_REG.REQUEST:
        if (value & 4) Atomics.or(c, at(ISA_CTL.REQUEST), bit);
        else Atomics.and(c, at(ISA_CTL.REQUEST), ~bit);
        return;
      case I8237_REG.SINGLE_MASK:
        if (value & 4) Atomics.or(c, at(ISA_CTL.MASK), bit);
        else Atomics.and(c, at(ISA_CTL.MASK), ~bit);
        return;
      case I8237_REG.MODE:
        Atomics.store(c, isaChannelIndex(this.v, controller * 4 + (value & 3), ISA_CH.MODE), value);
        return;
      case I8237_REG.CLEAR_FLIP_FLOP:
        this.flipFlop[controller] = 0;
        return;
      case I8237_REG.MASTER_CLEAR:
        // As a hardware reset: command, status, requests and the flip-flop cleared, every channel
        // of this controller masked (on controller 2 that includes the cascade channel 4).
        Atomics.store(c, at(ISA_CTL.COMMAND), 0);
        Atomics.and(c, at(ISA_CTL.STATUS), ~0x0f);
        Atomics.store(c, at(ISA_CTL.REQUEST), 0);
        Atomics.store(c, at(ISA_CTL.MASK), 0xf);
        this.flipFlop[controller] = 0;
        return;
      case I8237_REG.CLEAR_MASKS:
        Atomics.store(c, at(ISA_CTL.MASK), 0);
        return;
      case I8237_REG.WRITE_MASKS:
        Atomics.store(c, at(ISA_CTL.MASK), value & 0xf);
        return;
    }
  }

  /** Returns the flip-flop's state for this access and toggles it. */
  private flip(controller: number): number {
    const f = this.flipFlop[controller]!;
    this.flipFlop[controller] = f ^ 1;
    return f;
  }
}
