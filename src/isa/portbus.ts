/**
 * The x86 I/O port space as driver code sees it through `cpu.inb/outb/inw/outw/ind/outd`:
 * synchronous on the main thread, like the instructions. Devices claim byte ports through a table
 * (one handler per port, 0 … 0xFFFF); one decode function serves every width.
 *
 * Widths: a 16- or 32-bit access is carried out as byte accesses to consecutive ports, low byte
 * first — what the ISA bus does for an 8-bit device (the 8237s are 8-bit devices: `inw(0x00)` reads
 * channel 0's address register and then its count register). An unclaimed port reads all ones
 * (a floating ISA bus) and ignores writes.
 */

import { SimulatorError } from '../errors.js';

export interface PortHandler {
  /** Reads the byte at `port`. */
  read(port: number): number;
  /** Writes the byte `value` (0 … 0xFF) at `port`. */
  write(port: number, value: number): void;
}

export const PORT_COUNT = 0x10000;
/** What an unclaimed port reads: the pulled-up data lines of an idle ISA bus. */
export const FLOATING_BUS = 0xff;

const WIDTH_MAX = { 1: 0xff, 2: 0xffff, 4: 0xffffffff } as const;
export type PortWidth = keyof typeof WIDTH_MAX;

export class PortBus {
  private readonly handlers: (PortHandler | undefined)[] = new Array<PortHandler | undefined>(PORT_COUNT);

  /** Claims ports; a port already claimed by another handler is a programming error. */
  claim(ports: readonly number[], handler: PortHandler): void {
    for (const p of ports) {
      if (!Number.isInteger(p) || p < 0 || p >= PORT_COUNT) throw new RangeError(`not an I/O port: ${String(p)}`);
      if (this.handlers[p] && this.handlers[p] !== handler) throw new SimulatorError(`I/O port 0x${p.toString(16)} is claimed twice`);
    }
    for (const p of ports) this.handlers[p] = handler;
  }

  /** IN of `width` bytes at `port`. Bad arguments throw a RangeError and touch nothing. */
  in(port: number, width: PortWidth): number {
    check(port, width);
    let v = 0;
    for (let i = 0; i < width; i++) {
      const h = this.handlers[port + i];
      v |= ((h ? h.read(port + i) : FLOATING_BUS) & 0xff) << (8 * i);
    }
    return v >>> 0;
  }

  /** OUT of `width` bytes at `port`. Bad arguments throw a RangeError and touch nothing. */
  out(port: number, width: PortWidth, value: number): void {
    check(port, width);
    if (!Number.isInteger(value) || value < 0 || value > WIDTH_MAX[width]) {
      throw new RangeError(`an ${width * 8}-bit OUT value must be an integer in 0…0x${WIDTH_MAX[width].toString(16).toUpperCase()}, got ${String(value)}`);
    }
    for (let i = 0; i < width; i++) this.handlers[port + i]?.write(port + i, (value >>> (8 * i)) & 0xff);
  }
}

function check(port: number, width: PortWidth): void {
  if (!Number.isInteger(port) || port < 0 || port + width > PORT_COUNT) {
    throw new RangeError(`an ${width * 8}-bit port access needs a port in 0…0x${(PORT_COUNT - width).toString(16).toUpperCase()}, got ${String(port)}`);
  }
}
