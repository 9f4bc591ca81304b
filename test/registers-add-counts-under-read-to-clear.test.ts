/**
 * Registers.add: the device's atomic add for counters the driver reads to clear (e1000 MPC,
 * GPRC). It returns the value before, wraps modulo 2^32, and against a read-to-clear (one
 * exchange) every count lands either in a value the driver read or in the register.
 */

import { describe, expect, it } from 'vitest';
import { applyRead } from '../src/descriptor.js';
import { SharedRegisters } from '../src/dma/runtime.js';
import { DCB, dcbIndex } from '../src/layout.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { sharedOf } from './internals.js';

const pool = simulatorsClosedAfterEach();

describe('Registers.add', () => {
  it('returns the value before, wraps at 2^32, and no count is lost to read-to-clear', async () => {
    const sim = await pool.make();
    const v = sharedOf(sim);
    // Slot 0's register file, as a device on slot 0 would see it (nothing runs in the slot).
    const regs = new SharedRegisters(v, 0, 4);
    const at = dcbIndex(v, 0, DCB.REGS + 2);
    expect(regs.add(2, 5)).toBe(0);
    expect(regs.add(2, 1)).toBe(5);
    expect(regs.read(2)).toBe(6);
    regs.write(2, 0xffffffff);
    expect(regs.add(2, 2)).toBe(0xffffffff);
    expect(regs.read(2)).toBe(1);
    regs.write(2, 0);
    let read = 0;
    for (let i = 0; i < 1000; i++) {
      regs.add(2, 1);
      if (i % 7 === 0) read += applyRead(v.control, at, { readToClear: true });
    }
    expect(read + regs.read(2)).toBe(1000);
    expect(() => regs.add(4, 1)).toThrow(RangeError);
  });
});
