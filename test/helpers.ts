/**
 * Test helpers that build real state through the DDK services (no mocks): locked buffers with their
 * physical addresses, copy-engine programming, violation lookup.
 */

import { expect } from 'vitest';
import { PAGEMARKDIRTY, PG_SYS, copyEngine as CE, type DeviceHandle, type DriverContext, type Violation, type ViolationCode } from '../src/index.js';

export interface LockedBuffer {
  lin: number;
  page: number;
  npages: number;
  /** Physical address of each page, from _CopyPageTable. */
  phys: number[];
}

/** _PageAllocate(PG_SYS) + _LinPageLock + _CopyPageTable, as a driver does. Asserts each step. */
export function allocLocked(drv: DriverContext, npages: number, lockFlags = PAGEMARKDIRTY): LockedBuffer {
  const lin = drv.vmm.pageAllocate(npages, PG_SYS, 0, 0, 0, 0, null, 0);
  expect(drv.vmm.lastError).toBeNull();
  const page = lin >>> 12;
  expect(drv.vmm.linPageLock(page, npages, lockFlags)).not.toBe(0);
  const ptes = new Uint32Array(npages);
  expect(drv.vmm.copyPageTable(page, npages, ptes, 0)).toBe(1);
  return { lin, page, npages, phys: [...ptes].map((e) => (e & ~0xfff) >>> 0) };
}

/** Programs a direct copy and waits for its interrupt; returns STATUS, ERROR and BYTES_DONE. */
export async function ceCopy(dev: DeviceHandle, src: number, dst: number, length: number) {
  dev.ackInterrupt();
  dev.writeReg(CE.REG.SRC, src);
  dev.writeReg(CE.REG.DST, dst);
  dev.writeReg(CE.REG.LENGTH, length);
  dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.IRQ_ENABLE);
  await dev.waitForInterrupt({ timeoutMs: 10_000 });
  return { status: dev.readReg(CE.REG.STATUS), error: dev.readReg(CE.REG.ERROR), bytes: dev.readReg(CE.REG.BYTES_DONE) };
}

/** Programs a fill and waits for its interrupt. */
export async function ceFill(dev: DeviceHandle, dst: number, length: number, value: number) {
  dev.ackInterrupt();
  dev.writeReg(CE.REG.DST, dst);
  dev.writeReg(CE.REG.LENGTH, length);
  dev.writeReg(CE.REG.FILL_VALUE, value);
  dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.FILL | CE.CONTROL.IRQ_ENABLE);
  await dev.waitForInterrupt({ timeoutMs: 10_000 });
  return { status: dev.readReg(CE.REG.STATUS), error: dev.readReg(CE.REG.ERROR), bytes: dev.readReg(CE.REG.BYTES_DONE) };
}

export function codes(vs: readonly Violation[]): ViolationCode[] {
  return vs.map((v) => v.code);
}
