/**
 * A multi-frame access yields between its frames, with every frame announced: the scheduler can run
 * a driver's unlock inside the transfer. The driver waits (a scheduler wait, so no timing is
 * involved) until the copy engine is inside its 8-page copy, then unlocks the destination: reported
 * as 'unlock-during-dma', stamped with the step of the unlock; replaying the recorded decisions
 * gives the same record at the same step.
 */

import { describe, expect, it } from 'vitest';
import { copyEngine as CE, createSimulator, renderViolation, type Simulator, type StrategySpec } from '../src/index.js';
import { lockBuffer } from './det-scenarios.js';
import { inflightSlots } from './internals.js';

const PAGES = 8;

async function unlockMidCopy(sim: Simulator): Promise<void> {
  const dev = await sim.attachDevice('copy-engine');
  // Contiguous physical pages, so the whole copy is one access of PAGES frames per span.
  const src = lockBuffer(sim, PAGES);
  const dst = lockBuffer(sim, PAGES);
  const contiguous = (p: number[]) => p.every((a, i) => a === p[0]! + i * 4096);
  expect(contiguous(src.phys) && contiguous(dst.phys)).toBe(true);
  await sim.run(async function driver() {
    dev.writeReg(CE.REG.SRC, src.phys[0]!);
    dev.writeReg(CE.REG.DST, dst.phys[0]!);
    dev.writeReg(CE.REG.LENGTH, PAGES * 4096);
    dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.IRQ_ENABLE);
    // The engine parks between the frames of its copy with every frame announced.
    const inside = await sim.waitUntil(() => inflightSlots(sim, dst.phys[0]! >>> 12).includes(dev.id), { timeoutMs: 1000, what: 'the copy in flight' });
    expect(inside).toBe(true);
    dst.unlock(); // the bug: the copy is still moving bytes into these pages
    await dev.waitForInterrupt();
    dev.ackInterrupt();
    src.unlock();
  });
}

async function once(strategy?: StrategySpec) {
  const sim = await createSimulator({ memory: 2 << 20, seed: 3, deterministic: strategy ? { strategy } : true });
  try {
    await unlockMidCopy(sim);
    return { violations: sim.violations(), schedule: sim.schedule()! };
  } finally {
    await sim.close();
  }
}

describe('deterministic mode: an unlock inside a multi-frame transfer', () => {
  it('is reported as unlock-during-dma at the step of the unlock, and replays to the same record', async () => {
    const first = await once();
    const v = first.violations.find((x) => x.code === 'unlock-during-dma');
    expect(v).toBeDefined();
    expect(v!.step).toBeGreaterThanOrEqual(1);
    expect(v!.step).toBeLessThanOrEqual(first.schedule.steps);
    expect(renderViolation(v!).split('\n')[1]).toMatch(new RegExp(`^BUG: dmasim: unlock-during-dma in copy-engine#\\d+, driver "default" at step ${v!.step}$`));
    // The step is the driver's: the unlocker saw the in-flight bits and reported at once.
    const entity = first.schedule.entities.find((e) => e.name === 'driver')!;
    let at = 0;
    let who = -1;
    for (const [e, n] of first.schedule.decisions) {
      if (v!.step! <= at + n) {
        who = e;
        break;
      }
      at += n;
    }
    expect(who).toBe(entity.id);

    const again = await once({ kind: 'replay', decisions: first.schedule.decisions });
    expect(again.schedule.divergences).toBe(0);
    const w = again.violations.find((x) => x.code === 'unlock-during-dma')!;
    const pick = (x: typeof v) => ({ code: x!.code, step: x!.step, physAddr: x!.physAddr, frame: x!.frame, device: x!.device, driver: x!.driver, seq: x!.seq });
    expect(pick(w)).toEqual(pick(v));
  });
});
