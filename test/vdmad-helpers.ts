/**
 * Helpers for the VDMAD tests: Lock_DMA_Region with its output registers, buffers whose physical
 * layout the test chooses (pages touched in a chosen order, so the allocator's lowest-free-frame
 * order decides their frames), and EDDS structures built in simulated memory with the CPU, as a
 * driver builds them. Everything goes through the public API (src/index.ts).
 */

import { expect } from 'vitest';
import { EDDS, P_PRES, PAGEFIXED, PAGEZEROINIT, PG_SYS, type DriverContext } from '../src/index.js';
import { ptes } from './helpers.js';

export interface LockResult {
  /** What lockDMARegion returned: 0 (carry clear) or the AL error code. */
  result: number;
  /** EDX: the physical address of the first byte (0 on failure). */
  edx: number;
  /** ECX: on failure the bytes that could have been locked, on success the size. */
  ecx: number;
}

/** VDMAD_Lock_DMA_Region with the output registers read back. */
export function lockRegion(drv: DriverContext, linear: number, size: number, boundary: number): LockResult {
  const out = new Uint32Array(2).fill(0xdeadbeef);
  const result = drv.vdmad.lockDMARegion(linear, size, boundary, out);
  return { result, edx: out[0]!, ecx: out[1]! };
}

/**
 * A swappable, zero-initialised block of `npages` whose pages are made present by CPU reads in the
 * order `touch` gives (indexes into the block); pages not named stay not present. Reads set P_ACC,
 * never P_DIRTY. With the pager off and nothing else allocating, each page-in takes the lowest free
 * frame: pages touched one after the other get consecutive frames.
 */
export function swappable(drv: DriverContext, npages: number, touch: readonly number[]): number {
  const lin = drv.vmm.pageAllocate(npages, PG_SYS, 0, 0, 0, 0, null, PAGEZEROINIT);
  expect(lin).not.toBe(0);
  for (const i of touch) drv.cpu.read8(lin + i * 4096);
  return lin;
}

/** The frame address of each page of a block, or null where not present (_CopyPageTable). */
export function framesOf(drv: DriverContext, lin: number, npages: number): (number | null)[] {
  return ptes(drv, lin >>> 12, npages).map((e) => (e & P_PRES ? (e & ~0xfff) >>> 0 : null));
}

/** A fixed page for an EDDS: always present, so VDMAD's writes into it need no page-in. */
export function eddsPage(drv: DriverContext): number {
  const lin = drv.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED);
  expect(lin).not.toBe(0);
  return lin;
}

export interface EddsInput {
  size: number;
  linear: number;
  avail: number;
  seg?: number;
}

/** Writes an EDDS header (§5.2) at `at` with the CPU, DDS_used = 0, and `table` DWORDs after it. */
export function writeEdds(drv: DriverContext, at: number, e: EddsInput, table: readonly number[] = []): void {
  const b = new Uint8Array(EDDS.table + table.length * 4);
  const dv = new DataView(b.buffer);
  dv.setUint32(EDDS.DDS_size, e.size, true);
  dv.setUint32(EDDS.DDS_linear, e.linear, true);
  dv.setUint16(EDDS.DDS_seg, e.seg ?? 0, true);
  dv.setUint16(EDDS.DDS_avail, e.avail, true);
  dv.setUint16(EDDS.DDS_used, 0, true);
  table.forEach((v, i) => dv.setUint32(EDDS.table + i * 4, v, true));
  drv.cpu.writeBytes(at, b);
}

export interface EddsOutput {
  size: number;
  linear: number;
  avail: number;
  used: number;
  /** The first `dwords` DWORDs of the table. */
  table: number[];
}

/** Reads an EDDS back with the CPU (sets P_ACC: not for use inside an unchanged-state check). */
export function readEdds(drv: DriverContext, at: number, dwords: number): EddsOutput {
  const b = drv.cpu.readBytes(at, EDDS.table + dwords * 4);
  const dv = new DataView(b.buffer);
  return {
    size: dv.getUint32(EDDS.DDS_size, true),
    linear: dv.getUint32(EDDS.DDS_linear, true),
    avail: dv.getUint16(EDDS.DDS_avail, true),
    used: dv.getUint16(EDDS.DDS_used, true),
    table: Array.from({ length: dwords }, (_, i) => dv.getUint32(EDDS.table + i * 4, true)),
  };
}

/** A region list's entries as {phys, length} pairs. */
export function regions(table: readonly number[], used: number): { phys: number; length: number }[] {
  return Array.from({ length: used }, (_, i) => ({ phys: table[2 * i]!, length: table[2 * i + 1]! }));
}

/** VDMAD_Scatter_Lock with its output registers read back. */
export function scatterLock(drv: DriverContext, vm: number, flags: number, edds: number): { result: number; edx: number; esi: number } {
  const out = new Uint32Array(2).fill(0xdeadbeef);
  const result = drv.vdmad.scatterLock(vm, flags, edds, out);
  return { result, edx: out[0]!, esi: out[1]! };
}

/** How many pages are locked (fixed pages excepted), and the lock count of each, by frame. */
export function lockCounts(sim: { outstandingLocks(): readonly { frame: number; lockCount: number }[] }): Map<number, number> {
  return new Map(sim.outstandingLocks().map((l) => [l.frame, l.lockCount]));
}
