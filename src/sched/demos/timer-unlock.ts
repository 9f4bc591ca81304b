/**
 * `timer-unlock` / `timer-unlock-fixed`: a driver that unlocks its DMA buffers after a timer
 * instead of on the device's interrupt.
 *
 * The driver copies four pages with a copy engine (a scatter-gather chain built from
 * _CopyPageTable), then — the bug — sleeps "long enough" and unlocks source, destination and chain.
 * Meanwhile a second driver is busy on the CPU, letting others run between pages, so it and the
 * copy engine share the steps.
 * The copy needs about ten device steps and the timer gives it TIMER_MS of virtual time (a step is
 * a microsecond), so in most schedules it finishes first; only when the scheduler favours the
 * other driver for long enough does the unlock land before the last descriptor's copy (reported at
 * that access: 'dma-unlocked') or between its frames ('unlock-during-dma'). Free running the race is
 * the same, on the host's clock. The fixed twin waits for the interrupt, then unlocks.
 */

import { defineScenario, type Scenario } from '../scenario.js';
import type { Simulator } from '../../simulator.js';
import { PAGE, allocate, fillPattern, lock, lockedPages, startChain, unlock, writeCopyChain } from './driver.js';
import * as CE from '../../../devices/copy-engine/regs.js';

/** Pages the driver copies (one descriptor each). */
const PAGES = 4;
/** The buggy driver's timer: virtual milliseconds (20 steps), enough for the copy in most schedules. */
const TIMER_MS = 0.02;
/** The background driver's CPU work: passes over its pages, a step per page. */
const BACKGROUND_PAGES = 8;
const BACKGROUND_PASSES = 8;

export function timerUnlock(fixed: boolean): Scenario {
  return defineScenario({
    name: fixed ? 'timer-unlock-fixed' : 'timer-unlock',
    about: fixed
      ? 'a copy-engine driver that unlocks its buffers once the interrupt says the copy is done (twin of timer-unlock)'
      : `a copy-engine driver that unlocks its buffers ${TIMER_MS * 1000} µs after starting the copy instead of on the interrupt, while another driver competes for steps`,
    options: { memory: 4 << 20 },
    async run(sim: Simulator) {
      const dev = await sim.attachDevice('copy-engine', { name: 'copier' });
      const other = sim.createDriver('background');

      async function driver(): Promise<void> {
        const src = allocate(sim, PAGES);
        fillPattern(sim, src, 0x40);
        lock(sim, src);
        const dst = lockedPages(sim, PAGES);
        const table = lockedPages(sim, 1);
        startChain(dev, writeCopyChain(sim, table, src, dst));
        if (fixed) await dev.waitForInterrupt({ timeoutMs: 1000 });
        else await sim.sleep(TIMER_MS);
        for (const p of [src, dst, table]) unlock(sim, p);
        // Before freeing: a buggy unlock may have left the copy running (its refusal ends it).
        await sim.waitUntil(() => (dev.readReg(CE.REG.STATUS) & CE.STATUS.DONE) !== 0, { timeoutMs: 1000, what: 'the copy to end' });
      }

      async function background(): Promise<void> {
        // CPU work on its own locked pages, one page per step (a driver checksumming a buffer and
        // letting others run between pages): it competes with the copy engine for the steps.
        const buf = lockedPages(other, BACKGROUND_PAGES);
        let sum = 0;
        for (let i = 0; i < BACKGROUND_PAGES * BACKGROUND_PASSES; i++) {
          sum = (sum + other.cpu.read32(buf.lin + (i % BACKGROUND_PAGES) * PAGE)) >>> 0;
          await sim.yield();
        }
        unlock(other, buf);
        void sum;
      }

      await sim.run(driver, background);
    },
  });
}
