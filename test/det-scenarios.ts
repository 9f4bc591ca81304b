/**
 * Small deterministic-mode scenarios for the scheduler's own tests: two drivers, each with its own
 * device (a copy engine and a test probe), moving multi-page buffers under the aggressive pager —
 * enough interleaving points (every DMA access and every frame of one) for seeds to differ.
 */

import { PAGEMARKDIRTY, PG_SYS, copyEngine as CE, testProbe as TP, type DriverContext, type Simulator } from '../src/index.js';
import { handOut } from './dma-helpers.js';

export interface Locked {
  page: number;
  npages: number;
  phys: number[];
  unlock(): void;
}

/** _PageAllocate + _LinPageLock(PAGEMARKDIRTY) + _CopyPageTable. */
export function lockBuffer(drv: DriverContext, npages: number): Locked {
  const lin = drv.vmm.pageAllocate(npages, PG_SYS, 0, 0, 0, 0, null, 0);
  const page = lin >>> 12;
  if (drv.vmm.linPageLock(page, npages, PAGEMARKDIRTY) === 0) throw new Error('lock failed');
  return { page, npages, phys: handOut(drv, page, npages), unlock: () => void drv.vmm.linPageUnLock(page, npages, 0) };
}

/** Driver "copier": copies page by page with the copy engine, `rounds` times, each after its interrupt. */
export async function copier(sim: Simulator, rounds: number): Promise<void> {
  const drv = sim.createDriver('copier');
  const dev = await drv.attachDevice('copy-engine');
  await sim.run(
    async function copier() {
      for (let r = 0; r < rounds; r++) {
        const src = lockBuffer(drv, 2);
        const dst = lockBuffer(drv, 2);
        for (let i = 0; i < 2; i++) {
          dev.writeReg(CE.REG.SRC, src.phys[i]!);
          dev.writeReg(CE.REG.DST, dst.phys[i]!);
          dev.writeReg(CE.REG.LENGTH, 4096);
          dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.IRQ_ENABLE);
          await dev.waitForInterrupt();
          dev.ackInterrupt();
        }
        src.unlock();
        dst.unlock();
      }
    },
    async function filler() {
      const probe = await sim.attachDevice('test-probe');
      for (let r = 0; r < rounds; r++) {
        const buf = lockBuffer(sim, 3);
        probe.writeReg(TP.REG.ADDR, buf.phys[0]!);
        // Three pages only if they are contiguous; else one (the probe takes one span).
        const contiguous = buf.phys[1] === buf.phys[0]! + 4096 && buf.phys[2] === buf.phys[0]! + 8192;
        probe.writeReg(TP.REG.LEN, contiguous ? 3 * 4096 : 4096);
        probe.writeReg(TP.REG.VALUE, r & 0xff);
        probe.writeReg(TP.REG.CMD, TP.OP.FILL);
        await probe.waitForInterrupt();
        probe.ackInterrupt();
        buf.unlock();
      }
    },
  );
}
