// The copy engine driven the way a user's driver test would be: the dmasim/vitest fixture gives a
// fresh simulator per test (aggressive pager), the matchers check what the checker saw, and the
// teardown would fail the test for anything left locked, mapped or unasserted.
import { copyEngine as CE, PAGEMARKDIRTY, PG_SYS, type Simulator } from 'dmasim';
import { describe, expect, test } from 'dmasim/vitest';

/** The driver's half of one DMA: lock, learn the addresses, run, unlock — as the DDK prescribes. */
function lockForDma(sim: Simulator, pages: number) {
  const lin = sim.vmm.pageAllocate(pages, PG_SYS, 0, 0, 0, 0, null, 0);
  expect(sim.vmm.linPageLock(lin >>> 12, pages, PAGEMARKDIRTY)).toBe(1);
  const ptes = new Uint32Array(pages);
  sim.vmm.copyPageTable(lin >>> 12, pages, ptes, 0);
  return { lin, phys: [...ptes].map((e) => (e & ~0xfff) >>> 0), unlock: () => sim.vmm.linPageUnLock(lin >>> 12, pages, 0) };
}

async function copy(dev: Awaited<ReturnType<Simulator['attachDevice']>>, src: number, dst: number, length: number) {
  dev.writeReg(CE.REG.SRC, src);
  dev.writeReg(CE.REG.DST, dst);
  dev.writeReg(CE.REG.LENGTH, length);
  dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.IRQ_ENABLE);
  await dev.waitForInterrupt();
  dev.ackInterrupt();
  return dev.readReg(CE.REG.STATUS);
}

describe('copy engine', () => {
  test('copies a page between two locked buffers', async ({ sim }) => {
    const dev = await sim.attachDevice('copy-engine');
    const src = lockForDma(sim, 1);
    const dst = lockForDma(sim, 1);
    const data = Uint8Array.from({ length: 4096 }, (_, i) => (i * 13) & 0xff);
    sim.cpu.writeBytes(src.lin, data);

    expect(await copy(dev, src.phys[0]!, dst.phys[0]!, 4096)).toBe(CE.STATUS.DONE);
    expect(sim.cpu.readBytes(dst.lin, 4096)).toEqual(data);
    src.unlock();
    dst.unlock();
    expect(sim).toHaveNoDmaViolations();
  });

  test('a copy into a buffer unlocked too early is caught, and expected here', async ({ sim }) => {
    const dev = await sim.attachDevice('copy-engine');
    const src = lockForDma(sim, 1);
    const dst = lockForDma(sim, 1);
    dst.unlock(); // the bug under test: unlocked before the transfer
    expect(await copy(dev, src.phys[0]!, dst.phys[0]!, 4096)).toBe(CE.STATUS.DONE | CE.STATUS.ERROR);
    src.unlock();
    expect(sim).toHaveDmaViolation('dma-unlocked', { device: { kind: 'copy-engine' }, access: { direction: 'write' } });
  });

  test('the DDK refuses an unlock of a page that is not locked', ({ sim }) => {
    const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
    expect(sim.vmm.linPageUnLock(lin >>> 12, 1, 0)).toBe(0);
    expect(sim.vmm).toHaveLastError('not-locked', { service: '_LinPageUnLock' });
  });
});

describe('per-describe options', () => {
  test.override({ simOptions: { pager: 'off', seed: 42, memory: 4 << 20 } });
  test('simOptions replace the defaults for this block', ({ sim }) => {
    expect([sim.pager.policy, sim.seed, sim.memory.bytes]).toEqual(['off', 42, 4 << 20]);
  });
});

test('the default seed is derived from the test name and the pager is aggressive', ({ sim, task }) => {
  expect(sim.pager.policy).toBe('aggressive');
  let h = 0x811c9dc5;
  for (const ch of task.fullName) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  expect(sim.seed).toBe(h >>> 0);
});
