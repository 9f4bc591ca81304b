/**
 * `lock-order` / `lock-order-fixed`: two drivers lock the same pages, and one of them unlocks
 * once too often.
 *
 * A capture driver locks a shared buffer, has its copy engine fill it (four descriptors, one per
 * page), waits for the interrupt and unlocks. A statistics driver locks the same buffer, samples it
 * with the CPU for a while (letting others run between samples), unlocks — and then, the bug, its
 * cleanup path unlocks again. Lock counts are per page, not per driver, so that extra unlock takes
 * the capture driver's lock away. It does harm only if it lands while the copy engine is still
 * writing the buffer: the device's next access is then refused ('dma-unlocked'). Landing earlier or
 * later it is an error return nobody checks (or the capture driver's own unlock failing, which it
 * reports by throwing). The fixed twin unlocks once.
 */

import { defineScenario, type Scenario } from '../scenario.js';
import type { Simulator } from '../../simulator.js';
import { DemoError, PAGE, allocate, fillPattern, lock, lockedPages, startChain, unlock, writeCopyChain } from './driver.js';
import * as CE from '../../../devices/copy-engine/regs.js';

/** Pages of the shared buffer (one descriptor each). */
const PAGES = 4;
/** Samples the statistics driver takes, a step each. */
const SAMPLES = 12;

export function lockOrder(fixed: boolean): Scenario {
  return defineScenario({
    name: fixed ? 'lock-order-fixed' : 'lock-order',
    about: fixed
      ? 'two drivers lock and unlock a shared buffer, balanced, while one of them has a device fill it (twin of lock-order)'
      : "two drivers lock a shared buffer; one unlocks it twice, which takes the other's lock away if it lands while that driver's device is filling it",
    options: { memory: 4 << 20 },
    async run(sim: Simulator) {
      const dev = await sim.attachDevice('copy-engine', { name: 'capture-dma' });
      const stats = sim.createDriver('stats');
      const shared = allocate(sim, PAGES);
      const source = allocate(sim, PAGES);
      fillPattern(sim, source, 0x10);

      async function capture(): Promise<void> {
        lock(sim, source);
        lock(sim, shared);
        const table = lockedPages(sim, 1);
        startChain(dev, writeCopyChain(sim, table, source, shared));
        await dev.waitForInterrupt({ timeoutMs: 1000 });
        const error = dev.readReg(CE.REG.ERROR);
        // The lock count is the pages', not this driver's: another driver's extra unlock may have
        // ended it already — then this unlock fails, and says so.
        if (sim.vmm.linPageUnLock(shared.page, shared.npages, 0) === 0) throw new DemoError(`capture: _LinPageUnLock of the shared buffer failed (${sim.vmm.lastError?.code}): someone else unlocked it`);
        unlock(sim, source);
        unlock(sim, table);
        if (error !== CE.ERROR.NONE) throw new DemoError(`capture: the copy failed (ERROR ${error})`);
      }

      async function statistics(): Promise<void> {
        // Its own lock on the shared pages (the handles are global, the lock count is the page's).
        if (stats.vmm.linPageLock(shared.page, shared.npages, 0) === 0) throw new DemoError(`stats: _LinPageLock failed: ${stats.vmm.lastError?.message}`);
        let sum = 0;
        for (let i = 0; i < SAMPLES; i++) {
          sum = (sum + stats.cpu.read32(shared.lin + (i % PAGES) * PAGE)) >>> 0;
          await sim.yield();
        }
        unlock(stats, shared);
        // The bug: the cleanup path unlocks again and ignores the return value (0 when the count
        // was already 0; when it was not, the lock it ends is the capture driver's).
        if (!fixed) stats.vmm.linPageUnLock(shared.page, shared.npages, 0);
        void sum;
      }

      await sim.run(capture, statistics);
    },
  });
}
