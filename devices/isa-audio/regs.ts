/**
 * isa-audio register map: an ISA sound device that asks for DMA (DREQ) on one channel of the 8237s
 * and streams through it — recording (the device supplies bytes) or playing (it consumes them),
 * block after block. Fixed, so that tests outside this project can program it. 32-bit registers.
 */

import type { DeviceDescriptor } from '../../src/device-api.js';
import { rings as ringsBy } from '../../src/descriptor.js';

export const REG = {
  CONTROL: 0,
  STATUS: 1,
  /** The DMA channel: 0–3 (8-bit) or 5–7 (16-bit). */
  CHANNEL: 2,
  /** Bytes per block; an interrupt after each block when IRQ_ENABLE. Even on a 16-bit channel. */
  BLOCK: 3,
  /** Bytes to move: the command ends after TOTAL bytes. Ignored with AUTO (the stream runs until STOP). */
  TOTAL: 4,
  /** RECORD: byte n of the stream, counted from START, is (SEED + n) & 0xFF. */
  SEED: 5,
  /** PLAY: FNV-1a 32-bit of every byte read, in stream order, since START. */
  CHECKSUM: 6,
  /** Bytes of the stream moved since START. */
  BYTES_DONE: 7,
  /** Blocks completed since START. */
  BLOCKS: 8,
  /** The last command's error (ERROR codes). */
  ERROR: 9,
} as const;
export const REGISTER_COUNT = 10;

export const CONTROL = {
  /** Rings the doorbell: starts a command from the registers. Self-clearing as the command starts. */
  START: 1 << 0,
  /** Record (the device writes memory); clear = play (it reads memory). */
  RECORD: 1 << 1,
  /** Keep streaming block after block until STOP. */
  AUTO: 1 << 2,
  IRQ_ENABLE: 1 << 3,
  /** Rings the doorbell: ends the stream after the current block (at once while it waits). */
  STOP: 1 << 4,
} as const;

export const STATUS = {
  BUSY: 1 << 0,
  DONE: 1 << 1,
  ERROR: 1 << 2,
  /** Its request is pending: the channel is masked, or at terminal count without auto-init. */
  WAITING: 1 << 3,
} as const;

export const ERROR = {
  NONE: 0,
  /** A DMA transfer was refused by the checks (see sim.violations()). */
  DMA_REFUSED: 1,
  /** CHANNEL is 4 (the cascade) or above 7. */
  BAD_CHANNEL: 2,
  /** BLOCK is 0, or odd on a 16-bit channel. */
  BAD_BLOCK: 3,
} as const;

/** FNV-1a 32-bit offset basis: CHECKSUM right after START. */
export const FNV_OFFSET = 0x811c9dc5;
export const FNV_PRIME = 0x01000193;

/** The CHECKSUM of a byte stream (what a driver test compares against). */
export function fnv1a(bytes: Uint8Array, h = FNV_OFFSET): number {
  for (const b of bytes) h = Math.imul(h ^ b, FNV_PRIME) >>> 0;
  return h >>> 0;
}

/** What the host needs to know about the kind: register count, the writes that ring the doorbell. */
export const DEVICE: DeviceDescriptor = {
  kind: 'isa-audio',
  registers: REGISTER_COUNT,
  doorbells: [{ register: REG.CONTROL, mask: CONTROL.START | CONTROL.STOP }],
};

/** Does a write of `value` to register `index` ring the doorbell? */
export function rings(index: number, value: number): boolean {
  return ringsBy(DEVICE.doorbells, index, value);
}
