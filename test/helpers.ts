/**
 * General test helpers for the memory manager, shared by the test files: simulators that are always
 * closed, page-table reads through _CopyPageTable, the failure and "changed nothing" assertions, and
 * a few setups several files need. Everything goes through the public API (src/index.ts), as a
 * driver's code would; device helpers live in dma-helpers.ts.
 */

import { afterEach, expect } from 'vitest';
import {
  P_PRES,
  PAGEFIXED,
  PAGEZEROINIT,
  PG_SYS,
  PageFault,
  createSimulator,
  type DriverContext,
  type PageFaultReason,
  type Simulator,
  type SimulatorOptions,
  type VmmErrorCode,
} from '../src/index.js';

/** Simulators made by one test file, closed together by `closeAll`. */
export class SimPool {
  private readonly list: Simulator[] = [];

  async make(options: SimulatorOptions = {}): Promise<Simulator> {
    const sim = await createSimulator(options);
    this.list.push(sim);
    return sim;
  }

  async closeAll(): Promise<void> {
    const all = this.list.splice(0);
    await Promise.all(all.map((s) => s.close()));
  }
}

/**
 * A SimPool whose simulators are closed after each test of the calling file: call it once at the
 * top of a test file (it registers the afterEach there).
 */
export function simulatorsClosedAfterEach(): SimPool {
  const pool = new SimPool();
  afterEach(async () => {
    await pool.closeAll();
  });
  return pool;
}

/** The PTEs of `n` pages from `page`, as _CopyPageTable gives them to a driver (asserting it succeeds). */
export function ptes(drv: DriverContext, page: number, n: number): number[] {
  const buf = new Uint32Array(n);
  expect(drv.vmm.copyPageTable(page, n, buf, 0)).toBe(1);
  return [...buf];
}

/** One page's PTE, as _CopyPageTable gives it. */
export function pte(drv: DriverContext, page: number): number {
  return ptes(drv, page, 1)[0]!;
}

/** The frame number in a PTE (meaningful only with P_PRES set). */
export const frameNumber = (entry: number): number => entry >>> 12;

/** The physical frame address of each of `n` pages, or null where a page is not present. */
export function frames(drv: DriverContext, page: number, n: number): (number | null)[] {
  return ptes(drv, page, n).map((e) => (e & P_PRES ? (e & ~0xfff) >>> 0 : null));
}

/** One page's physical frame address, or null when it is not present. */
export function frameOf(drv: DriverContext, page: number): number | null {
  return frames(drv, page, 1)[0]!;
}

/** A call that failed: it returned the service's failure value, and lastError names the service and the code. */
export function expectFailure(drv: DriverContext, result: number, failure: number, service: string, code: VmmErrorCode): void {
  expect(result).toBe(failure);
  expect(drv.vmm.lastError).toMatchObject({ service, code });
}

/** Runs `fn` and asserts that it changed no memory-manager state (the simulator's fingerprint). */
export function expectUnchanged(sim: Simulator, fn: () => void): void {
  const before = sim.fingerprint();
  fn();
  expect(sim.fingerprint()).toBe(before);
}

/** The reason of the page fault `fn` raises, or 'no fault'. Anything else thrown is rethrown. */
export function faultOf(fn: () => unknown): PageFaultReason | 'no fault' {
  try {
    fn();
  } catch (e) {
    if (e instanceof PageFault) return e.reason;
    throw e;
  }
  return 'no fault';
}

/** _PageQuery: the 7 DWORDs of the structure, in DDK order (asserting the 28 bytes were written). */
export function query(drv: DriverContext, addr: number): Uint32Array {
  const mbi = new Uint32Array(7);
  expect(drv.vmm.pageQuery(addr, mbi, 28)).toBe(28);
  return mbi;
}

/** _GetFreePageCount: EAX (pages on the free list) and EDX (pages that could be allocated locked). */
export function freeCounts(drv: DriverContext): { eax: number; edx: number } {
  const edx = new Uint32Array(1);
  const eax = drv.vmm.getFreePageCount(0, edx);
  expect(drv.vmm.lastError).toBeNull();
  return { eax, edx: edx[0]! };
}

/** A swappable block in the system arena (zero-init unless `flags` say otherwise); returns its address. */
export function allocSwappable(drv: DriverContext, npages: number, flags = PAGEZEROINIT): number {
  const lin = drv.vmm.pageAllocate(npages, PG_SYS, 0, 0, 0, 0, null, flags);
  expect(drv.vmm.lastError).toBeNull();
  expect(lin).not.toBe(0);
  return lin;
}

/** Fills every free frame with 0xEE, so "zero-initialised" can only pass if something zeroed it. */
export function dirtyAllFreeFrames(drv: DriverContext): void {
  const n = drv.vmm.getFreePageCount(0);
  const lin = drv.vmm.pageAllocate(n, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED);
  expect(lin).not.toBe(0);
  drv.cpu.writeBytes(lin, new Uint8Array(n * 4096).fill(0xee));
  expect(drv.vmm.pageFree(lin, 0)).toBe(1);
  expect(drv.vmm.getFreePageCount(0)).toBe(n);
}
