/**
 * Helpers for ISA DMA driver tests: the classic 8237 channel-programming sequence a DOS or VxD
 * driver performs through the ports, and isa-audio programming. Everything goes through the public
 * API (port I/O on the driver's CPU, device registers).
 */

import { DMA_MODE, I8237_REG, PAGE_PORTS, isaAudio as IA, type Cpu, type DeviceHandle } from '../src/index.js';
import { pollReg } from './dma-helpers.js';

/** Port of register `index` (0–15) of the controller serving `channel`. */
export function dmaPort(channel: number, index: number): number {
  return channel >= 4 ? 0xc0 + (index << 1) : index;
}

/**
 * Mask, clear the flip-flop, mode, address (low, high), page, count (low, high), unmask — with
 * `phys` a byte address and `bytes` the transfer length (words on channels 5–7 are derived).
 */
export function programChannel(cpu: Cpu, channel: number, mode: number, phys: number, bytes: number, opts: { unmask?: boolean } = {}): void {
  const local = channel & 3;
  const word = channel >= 4;
  const addr = word ? (phys >>> 1) & 0xffff : phys & 0xffff;
  const count = (word ? bytes / 2 : bytes) - 1;
  cpu.outb(dmaPort(channel, I8237_REG.SINGLE_MASK), 0x04 | local);
  cpu.outb(dmaPort(channel, I8237_REG.CLEAR_FLIP_FLOP), 0);
  cpu.outb(dmaPort(channel, I8237_REG.MODE), mode | local);
  cpu.outb(dmaPort(channel, local * 2), addr & 0xff);
  cpu.outb(dmaPort(channel, local * 2), addr >>> 8);
  cpu.outb(PAGE_PORTS[channel]!, (phys >>> 16) & 0xff);
  cpu.outb(dmaPort(channel, local * 2 + 1), count & 0xff);
  cpu.outb(dmaPort(channel, local * 2 + 1), (count >>> 8) & 0xff);
  if (opts.unmask !== false) cpu.outb(dmaPort(channel, I8237_REG.SINGLE_MASK), local);
}

/** Reads a channel's current address or count through the flip-flop (low byte, then high). */
export function readCounter(cpu: Cpu, channel: number, count: boolean): number {
  const local = channel & 3;
  cpu.outb(dmaPort(channel, I8237_REG.CLEAR_FLIP_FLOP), 0);
  const lo = cpu.inb(dmaPort(channel, local * 2 + (count ? 1 : 0)));
  const hi = cpu.inb(dmaPort(channel, local * 2 + (count ? 1 : 0)));
  return lo | (hi << 8);
}

export const SINGLE_WRITE = DMA_MODE.SINGLE | DMA_MODE.WRITE; // device → memory
export const SINGLE_READ = DMA_MODE.SINGLE | DMA_MODE.READ; // memory → device

/** Starts isa-audio: CHANNEL, BLOCK, TOTAL, SEED, then CONTROL with START. */
export function startAudio(dev: DeviceHandle, o: { channel: number; block: number; total?: number; seed?: number; record?: boolean; auto?: boolean; irq?: boolean }): void {
  dev.ackInterrupt();
  // A fresh STATUS, so that waiting for DONE waits for this command.
  dev.writeReg(IA.REG.STATUS, 0);
  dev.writeReg(IA.REG.CHANNEL, o.channel);
  dev.writeReg(IA.REG.BLOCK, o.block);
  dev.writeReg(IA.REG.TOTAL, o.total ?? 0);
  dev.writeReg(IA.REG.SEED, o.seed ?? 0);
  dev.writeReg(IA.REG.CONTROL, IA.CONTROL.START | (o.record ? IA.CONTROL.RECORD : 0) | (o.auto ? IA.CONTROL.AUTO : 0) | (o.irq ? IA.CONTROL.IRQ_ENABLE : 0));
}

/** Waits until the command is DONE; returns STATUS, ERROR, BYTES_DONE, BLOCKS, CHECKSUM. */
export async function audioDone(dev: DeviceHandle): Promise<{ status: number; error: number; bytes: number; blocks: number; checksum: number }> {
  await pollReg(dev, IA.REG.STATUS, IA.STATUS.DONE, IA.STATUS.DONE);
  return { status: dev.readReg(IA.REG.STATUS), error: dev.readReg(IA.REG.ERROR), bytes: dev.readReg(IA.REG.BYTES_DONE), blocks: dev.readReg(IA.REG.BLOCKS), checksum: dev.readReg(IA.REG.CHECKSUM) };
}

/** The bytes isa-audio records from SEED: (seed + n) & 0xFF. */
export function recorded(seed: number, n: number, from = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (seed + from + i) & 0xff);
}
