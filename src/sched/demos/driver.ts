/**
 * What the race demos' drivers share: buffers taken the DDK way (_PageAllocate, _LinPageLock,
 * _CopyPageTable), and copy-engine scatter-gather chains written by the CPU into a locked page.
 * A DDK call that fails here is the demo's own bug, not the race it shows: it throws DemoError
 * with the VMM's typed record, so the run ends with that message instead of a misleading record.
 */

import { P_PRES, PAGEMARKDIRTY, PG_SYS } from '../../ddk.js';
import { SimulatorError } from '../../errors.js';
import type { DriverContext } from '../../simulator.js';
import type { DeviceHandle } from '../../host/host.js';
import * as CE from '../../../devices/copy-engine/regs.js';

export class DemoError extends SimulatorError {}

export const PAGE = 4096;

/** Pages a driver holds: linear page number, count, and the physical address _CopyPageTable gave for each. */
export interface Pages {
  readonly lin: number;
  readonly page: number;
  readonly npages: number;
  phys: number[];
}

function check(drv: DriverContext, ok: boolean, what: string): void {
  if (!ok) throw new DemoError(`${drv.name}: ${what} failed: ${drv.vmm.lastError?.message ?? 'no error record'}`);
}

/** _PageAllocate(npages, PG_SYS) — swappable, not locked. */
export function allocate(drv: DriverContext, npages: number): Pages {
  const lin = drv.vmm.pageAllocate(npages, PG_SYS, 0, 0, 0, 0, null, 0);
  check(drv, lin !== 0, `_PageAllocate(${npages})`);
  return { lin, page: lin >>> 12, npages, phys: [] };
}

/** _LinPageLock(PAGEMARKDIRTY) then _CopyPageTable: the pages' physical addresses, handed out to `drv`. */
export function lock(drv: DriverContext, p: Pages): Pages {
  check(drv, drv.vmm.linPageLock(p.page, p.npages, PAGEMARKDIRTY) !== 0, `_LinPageLock(${p.page.toString(16)}, ${p.npages})`);
  const buf = new Uint32Array(p.npages);
  check(drv, drv.vmm.copyPageTable(p.page, p.npages, buf, 0) !== 0, `_CopyPageTable(${p.page.toString(16)}, ${p.npages})`);
  p.phys = [...buf].map((e) => (e & P_PRES ? (e & ~0xfff) >>> 0 : 0));
  return p;
}

/** _LinPageUnLock; throws if it fails (the correct drivers never unlock what they do not hold). */
export function unlock(drv: DriverContext, p: Pages): void {
  check(drv, drv.vmm.linPageUnLock(p.page, p.npages, 0) !== 0, `_LinPageUnLock(${p.page.toString(16)}, ${p.npages})`);
}

export function lockedPages(drv: DriverContext, npages: number): Pages {
  return lock(drv, allocate(drv, npages));
}

/**
 * Writes a copy-engine chain into `table` (locked, handed out): one descriptor per page, copying
 * page i of `src` to page i of `dst`. Returns the chain's physical address for DESC.
 */
export function writeCopyChain(drv: DriverContext, table: Pages, src: Pages, dst: Pages): number {
  const n = Math.min(src.npages, dst.npages);
  if (n * CE.DESCRIPTOR.SIZE > PAGE) throw new DemoError(`a chain of ${n} descriptors does not fit one page`);
  const b = new Uint8Array(n * CE.DESCRIPTOR.SIZE);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < n; i++) {
    const at = i * CE.DESCRIPTOR.SIZE;
    dv.setUint32(at + CE.DESCRIPTOR.SRC, src.phys[i]!, true);
    dv.setUint32(at + CE.DESCRIPTOR.DST, dst.phys[i]!, true);
    dv.setUint32(at + CE.DESCRIPTOR.LENGTH, PAGE, true);
    dv.setUint32(at + CE.DESCRIPTOR.NEXT, i === n - 1 ? 0 : table.phys[0]! + at + CE.DESCRIPTOR.SIZE, true);
  }
  drv.cpu.writeBytes(table.lin, b);
  return table.phys[0]!;
}

/** Rings a copy-engine scatter-gather command with its interrupt enabled (the descriptors are in memory before this register store). */
export function startChain(dev: DeviceHandle, desc: number): void {
  dev.ackInterrupt();
  dev.writeReg(CE.REG.DESC, desc);
  dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.SG | CE.CONTROL.IRQ_ENABLE);
}

/** Fills a driver's pages with a recognisable byte per page (the CPU's writes; the page must be committed). */
export function fillPattern(drv: DriverContext, p: Pages, seed: number): void {
  for (let i = 0; i < p.npages; i++) drv.cpu.writeBytes(p.lin + i * PAGE, new Uint8Array(PAGE).fill((seed + i) & 0xff));
}
