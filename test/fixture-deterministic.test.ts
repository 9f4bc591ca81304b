// The fixture in deterministic mode: `simOptions: { deterministic: true }`, the drivers inside
// sim.run(). The seed is the test's (FNV-1a of its name), so the same test is the same
// interleaving every run; a violation is claimed as usual and carries the step it happened at.
import { PAGEMARKDIRTY, PG_SYS, copyEngine as CE } from 'dmasim';
import { describe, expect, test } from 'dmasim/vitest';
import { handOut } from './dma-helpers.js';

describe('deterministic', () => {
  test.override({ simOptions: { deterministic: true, pager: 'aggressive' } });

  test('a correct copy: no violations, the schedule recorded', async ({ sim }) => {
    const dev = await sim.attachDevice('copy-engine');
    await sim.run(async function driver() {
      const lin = sim.vmm.pageAllocate(4, PG_SYS, 0, 0, 0, 0, null, 0);
      sim.vmm.linPageLock(lin >>> 12, 4, PAGEMARKDIRTY);
      const phys = handOut(sim, lin >>> 12, 4);
      for (let i = 0; i < 2; i++) {
        dev.writeReg(CE.REG.SRC, phys[i]!);
        dev.writeReg(CE.REG.DST, phys[2 + i]!);
        dev.writeReg(CE.REG.LENGTH, 4096);
        dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.IRQ_ENABLE);
        await dev.waitForInterrupt();
        dev.ackInterrupt();
      }
      sim.vmm.linPageUnLock(lin >>> 12, 4, 0);
    });
    expect(sim).toHaveNoDmaViolations();
    expect(sim.schedule()).toMatchObject({ outcome: 'done', divergences: 0 });
    expect(sim.schedule()!.steps).toBeGreaterThan(4);
  });

  test('an unlock before the doorbell: claimed, with its step', async ({ sim }) => {
    const dev = await sim.attachDevice('copy-engine');
    await sim.run(async function driver() {
      const lin = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, 0);
      sim.vmm.linPageLock(lin >>> 12, 2, PAGEMARKDIRTY);
      const phys = handOut(sim, lin >>> 12, 2);
      sim.vmm.linPageUnLock(lin >>> 12, 2, 0); // the bug
      dev.writeReg(CE.REG.SRC, phys[0]!);
      dev.writeReg(CE.REG.DST, phys[1]!);
      dev.writeReg(CE.REG.LENGTH, 4096);
      dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.IRQ_ENABLE);
      await dev.waitForInterrupt();
      dev.ackInterrupt();
    });
    expect(sim).toHaveDmaViolation('dma-unlocked', { device: { kind: 'copy-engine' } });
    expect(sim.violations().every((v) => Number.isInteger(v.step) && v.step! >= 1)).toBe(true);
  });
});
