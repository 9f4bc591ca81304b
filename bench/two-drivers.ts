/**
 * The fixed scenario the deterministic-mode rows measure: two drivers (driver contexts A and B),
 * each with its own copy engine, each transfer copying PAGES pages through a scatter-gather chain
 * (one descriptor per page) the way a correct driver does — lock both buffers (PAGEMARKDIRTY on the
 * destination) and the chain page, _CopyPageTable, descriptors written by the CPU, doorbell,
 * interrupt, unlock. A round is one transfer per driver, both drivers as tasks of one sim.run: in
 * deterministic mode the scheduler interleaves their steps and their engines' (every DMA access a
 * grant point); free running, sim.run is Promise.all and the same code runs on real threads.
 * Correct drivers: a violation or a failed copy is a bug.
 */

import { P_PRES, PAGEMARKDIRTY, PG_SYS, copyEngine as CE, type DeviceHandle, type DriverContext, type Simulator } from '../src/index.js';

export const PAGES = 4;

interface Driver {
  readonly drv: DriverContext;
  readonly dev: DeviceHandle;
  readonly src: number;
  readonly dst: number;
  readonly chain: number;
}

export interface TwoDrivers {
  readonly drivers: readonly Driver[];
}

export async function setUpTwoDrivers(sim: Simulator): Promise<TwoDrivers> {
  const drivers: Driver[] = [];
  for (const name of ['A', 'B']) {
    const drv = sim.createDriver(name);
    const dev = await drv.attachDevice('copy-engine');
    const alloc = (n: number) => {
      const lin = drv.vmm.pageAllocate(n, PG_SYS, 0, 0, 0, 0, null, 0);
      if (lin === 0) throw new Error(`driver ${name}: _PageAllocate(${n}) failed`);
      return lin;
    };
    drivers.push({ drv, dev, src: alloc(PAGES), dst: alloc(PAGES), chain: alloc(1) });
  }
  return { drivers };
}

/** Locks `n` pages at `lin` and returns each page's physical address (_CopyPageTable). */
function lock(d: Driver, lin: number, n: number, flags: number): number[] {
  const page = lin >>> 12;
  if (d.drv.vmm.linPageLock(page, n, flags) !== 1) throw new Error('_LinPageLock failed');
  const ptes = new Uint32Array(n);
  if (d.drv.vmm.copyPageTable(page, n, ptes, 0) !== 1) throw new Error('_CopyPageTable failed');
  return [...ptes].map((e) => {
    if (!(e & P_PRES)) throw new Error('a locked page is not present');
    return (e & ~0xfff) >>> 0;
  });
}

/** One transfer of driver `d`: PAGES pages copied src → dst through a chain, waited for on the interrupt. */
async function transfer(d: Driver): Promise<void> {
  const src = lock(d, d.src, PAGES, 0);
  const dst = lock(d, d.dst, PAGES, PAGEMARKDIRTY);
  const [chain] = lock(d, d.chain, 1, 0) as [number];
  for (let i = 0; i < PAGES; i++) {
    const at = d.chain + i * CE.DESCRIPTOR.SIZE;
    d.drv.cpu.write32(at + CE.DESCRIPTOR.SRC, src[i]!);
    d.drv.cpu.write32(at + CE.DESCRIPTOR.DST, dst[i]!);
    d.drv.cpu.write32(at + CE.DESCRIPTOR.LENGTH, 4096);
    d.drv.cpu.write32(at + CE.DESCRIPTOR.NEXT, i + 1 < PAGES ? chain + (i + 1) * CE.DESCRIPTOR.SIZE : 0);
  }
  d.dev.ackInterrupt();
  d.dev.writeReg(CE.REG.DESC, chain);
  d.dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.SG | CE.CONTROL.IRQ_ENABLE);
  await d.dev.waitForInterrupt({ timeoutMs: 10_000 });
  d.dev.ackInterrupt();
  const status = d.dev.readReg(CE.REG.STATUS);
  if (status !== CE.STATUS.DONE) throw new Error(`the copy ended with STATUS ${status}`);
  for (const [lin, n] of [[d.src, PAGES], [d.dst, PAGES], [d.chain, 1]] as const) d.drv.vmm.linPageUnLock(lin >>> 12, n, 0);
}

/** One round: a transfer per driver, the drivers as concurrent tasks of one sim.run (violations: checked at close). */
export async function twoDriverRound(sim: Simulator, rig: TwoDrivers): Promise<void> {
  const outcome = await sim.run(...rig.drivers.map((d) => () => transfer(d)));
  if (outcome !== 'done') throw new Error(`the round ended with ${outcome}`);
}
