/**
 * test-probe register map: a device that performs one DMA primitive per command, or misbehaves on
 * purpose (throws, exits, hangs — also in the middle of a DMA access; with the attach option
 * `failOnLoad: true` it fails to start). For
 * testing drivers' and the simulator's handling of both.
 */

import type { DeviceDescriptor } from '../../src/device-api.js';
import { rings as ringsBy } from '../../src/descriptor.js';

export const REG = {
  /**
   * Writing a nonzero OP rings the doorbell; each doorbell is one command. The op stays latched here
   * (reads back as the last op written): a doorbell rung while the probe is busy queues, and runs the
   * op CMD holds when its turn comes.
   */
  CMD: 0,
  ADDR: 1,
  LEN: 2,
  VALUE: 3,
  /** Bytes moved, or the word read / the old word for atomics. */
  RESULT: 4,
  STATUS: 5,
  /** Violation code index + 1 of a refused access (0: none). */
  VIOLATION: 6,
  /** Second value for compare-exchange. */
  VALUE2: 7,
} as const;
export const REGISTER_COUNT = 8;

export const OP = {
  READ: 1,
  FILL: 2,
  LOAD32: 3,
  STORE32: 4,
  ADD32: 5,
  CMPXCHG32: 6,
  THROW: 0x10,
  EXIT: 0x11,
  HANG: 0x12,
  /**
   * A read of LEN bytes at ADDR that never finishes: the worker spins inside the DMA access, after
   * the port has announced its frames (in flight) and before any byte lands. For testing what a
   * worker terminated mid-access leaves behind.
   */
  HANG_MID_ACCESS: 0x13,
  /**
   * Busy without moving a byte: reads LEN bytes at ADDR again and again, forever, whatever the port
   * answers (point it at memory the driver does not hold, and every read is refused), pausing VALUE
   * milliseconds between reads (0: none). For the hang watchdog, which must call this hung — a device
   * is alive only if it makes progress — and for keeping the violation ring busy.
   */
  SPIN_REFUSED: 0x14,
} as const;

export const STATUS = { DONE: 1 << 0, REFUSED: 1 << 1 } as const;

/** What the host needs to know about the kind: register count, the writes that ring the doorbell. */
export const DEVICE: DeviceDescriptor = {
  kind: 'test-probe',
  registers: REGISTER_COUNT,
  doorbells: [{ register: REG.CMD, mask: 0xffffffff }],
};

/** Does a write of `value` to register `index` ring the doorbell? */
export function rings(index: number, value: number): boolean {
  return ringsBy(DEVICE.doorbells, index, value);
}
