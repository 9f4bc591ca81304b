/**
 * test-probe register map: a device that performs one DMA primitive per command, or misbehaves on
 * purpose (throws, exits, hangs; with the attach option `failOnLoad: true` it fails to start). For
 * testing drivers' and the simulator's handling of both.
 */

export const REG = {
  /** Writing a nonzero OP rings the doorbell. */
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
} as const;

export const STATUS = { DONE: 1 << 0, REFUSED: 1 << 1 } as const;

export function rings(index: number, value: number): boolean {
  return index === REG.CMD && value !== 0;
}
