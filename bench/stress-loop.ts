/**
 * The clean stress-style driver loop the benchmarks measure: per copy engine, lock a 64 KiB source
 * and destination (16 pages each, PAGEMARKDIRTY), _CopyPageTable both, write one scatter-gather
 * descriptor per page pair (the pages are not contiguous under the pager), ring the doorbell, await
 * the interrupt, verify every byte, unlock. Correct driver: any violation or lost byte is a bug.
 */

import { copyEngine as CE, PAGEMARKDIRTY, PG_SYS, type DeviceHandle, type DriverContext, type Simulator } from '../src/index.js';

const PAGES = 16;

export interface LoopDevice {
  readonly dev: DeviceHandle;
  readonly drv: DriverContext;
  readonly src: number;
  readonly dst: number;
  readonly desc: number;
  readonly descPhys: number;
  readonly pattern: Uint8Array;
}

/** One driver context and copy engine per device, with their buffers allocated (not locked). */
export async function setUpLoop(sim: Simulator, devices: number): Promise<LoopDevice[]> {
  const out: LoopDevice[] = [];
  for (let i = 0; i < devices; i++) {
    const drv = sim.createDriver(`loop-${i}`);
    const src = drv.vmm.pageAllocate(PAGES, PG_SYS, 0, 0, 0, 0, null, 0);
    const dst = drv.vmm.pageAllocate(PAGES, PG_SYS, 0, 0, 0, 0, null, 0);
    // The descriptor page stays locked: the engine reads it by DMA on every command.
    const desc = drv.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
    drv.vmm.linPageLock(desc >>> 12, 1, PAGEMARKDIRTY);
    const pte = new Uint32Array(1);
    drv.vmm.copyPageTable(desc >>> 12, 1, pte, 0);
    const pattern = Uint8Array.from({ length: PAGES * 4096 }, (_, k) => (k * 31 + i) & 0xff);
    sim.cpu.writeBytes(src, pattern);
    out.push({ dev: await drv.attachDevice('copy-engine'), drv, src, dst, desc, descPhys: (pte[0]! & ~0xfff) >>> 0, pattern });
  }
  return out;
}

const ptes = new Uint32Array(2 * PAGES);
const descBytes = new Uint8Array(16 * PAGES);
const descView = new DataView(descBytes.buffer);

/** One transfer on one device; returns the pages verified. Throws on any lost byte. */
export async function cycle(sim: Simulator, d: LoopDevice): Promise<number> {
  const { drv, dev } = d;
  const ok =
    drv.vmm.linPageLock(d.src >>> 12, PAGES, PAGEMARKDIRTY) &&
    drv.vmm.linPageLock(d.dst >>> 12, PAGES, PAGEMARKDIRTY) &&
    drv.vmm.copyPageTable(d.src >>> 12, PAGES, ptes.subarray(0, PAGES), 0) &&
    drv.vmm.copyPageTable(d.dst >>> 12, PAGES, ptes.subarray(PAGES), 0);
  if (!ok) throw new Error(`the stress driver's lock or _CopyPageTable failed: ${JSON.stringify(drv.vmm.lastError)}`);
  for (let i = 0; i < PAGES; i++) {
    descView.setUint32(i * 16, ptes[i]! & ~0xfff, true);
    descView.setUint32(i * 16 + 4, ptes[PAGES + i]! & ~0xfff, true);
    descView.setUint32(i * 16 + 8, 4096, true);
    descView.setUint32(i * 16 + 12, i + 1 < PAGES ? d.descPhys + (i + 1) * 16 : 0, true);
  }
  sim.cpu.writeBytes(d.desc, descBytes);
  dev.ackInterrupt();
  dev.writeReg(CE.REG.DESC, d.descPhys);
  dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.SG | CE.CONTROL.IRQ_ENABLE);
  await dev.waitForInterrupt();
  const got = sim.cpu.readBytes(d.dst, PAGES * 4096);
  for (let i = 0; i < got.length; i += 997) if (got[i] !== d.pattern[i]) throw new Error(`byte ${i} lost: got ${got[i]}, want ${d.pattern[i]}; engine STATUS ${dev.readReg(CE.REG.STATUS)} ERROR ${dev.readReg(CE.REG.ERROR)} BYTES_DONE ${dev.readReg(CE.REG.BYTES_DONE)}; ${sim.violations().length} violations`);
  drv.vmm.linPageUnLock(d.src >>> 12, PAGES, 0);
  drv.vmm.linPageUnLock(d.dst >>> 12, PAGES, 0);
  // The next cycle must see the copy land again.
  sim.cpu.writeBytes(d.dst, descBytes.subarray(0, 16));
  return PAGES;
}

/** One round: every device runs one cycle, concurrently. Returns pages verified. */
export async function round(sim: Simulator, devices: readonly LoopDevice[]): Promise<number> {
  const n = await Promise.all(devices.map((d) => cycle(sim, d)));
  return n.reduce((a, b) => a + b, 0);
}
