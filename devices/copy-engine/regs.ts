/**
 * copy-engine register map. Fixed, so that tests outside this project can program the device.
 * All registers are 32-bit; physical addresses are byte addresses.
 */

import type { DeviceDescriptor } from '../../src/device-api.js';
import { rings as ringsBy } from '../../src/descriptor.js';

/** Register indices. */
export const REG = {
  CONTROL: 0,
  STATUS: 1,
  SRC: 2,
  DST: 3,
  LENGTH: 4,
  FILL_VALUE: 5,
  DESC: 6,
  ERROR: 7,
  BYTES_DONE: 8,
} as const;
export const REGISTER_COUNT = 9;

/**
 * CONTROL bits. Writing CONTROL with START set rings the doorbell; each doorbell is one command.
 * START reads back as set until the engine starts the command, then clear (self-clearing). A
 * doorbell rung while the engine is busy queues: it runs later, from the registers as they are then,
 * even though START has been cleared meanwhile — so two back-to-back writes of START run two
 * commands, each with the registers current when it starts.
 */
export const CONTROL = {
  START: 1 << 0,
  FILL: 1 << 1,
  IRQ_ENABLE: 1 << 2,
  SG: 1 << 3,
} as const;

/** STATUS bits. */
export const STATUS = {
  BUSY: 1 << 0,
  DONE: 1 << 1,
  ERROR: 1 << 2,
} as const;

/** ERROR register codes (the last command's outcome). */
export const ERROR = {
  NONE: 0,
  /** A DMA access was refused by the port (a violation; see sim.violations()). */
  DMA_REFUSED: 1,
  /** A descriptor chain longer than MAX_DESCRIPTORS, or one that loops. */
  CHAIN_TOO_LONG: 2,
  /** DESC (or a descriptor's next) is not 16-byte aligned. */
  DESC_MISALIGNED: 3,
  /** A single transfer longer than MAX_TRANSFER bytes. */
  LENGTH_TOO_LARGE: 4,
} as const;

/** A scatter-gather descriptor: four little-endian 32-bit words, 16 bytes, 16-byte aligned. */
export const DESCRIPTOR = { SIZE: 16, SRC: 0, DST: 4, LENGTH: 8, NEXT: 12 } as const;
/** Descriptor chains are hostile input: walks are capped. */
export const MAX_DESCRIPTORS = 4096;
/** Largest single transfer (a descriptor or the direct registers), 16 MiB. */
export const MAX_TRANSFER = 16 << 20;

/** What the host needs to know about the kind: register count, the writes that ring the doorbell. */
export const DEVICE: DeviceDescriptor = {
  kind: 'copy-engine',
  registers: REGISTER_COUNT,
  doorbells: [{ register: REG.CONTROL, mask: CONTROL.START }],
};

/** Does a write of `value` to register `index` ring the doorbell? */
export function rings(index: number, value: number): boolean {
  return ringsBy(DEVICE.doorbells, index, value);
}
