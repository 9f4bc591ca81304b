// Cases for the fixture's teardown. Each test's name says what must happen to it; the driver test
// (test/fixture-teardown.test.ts) checks that it did.
import { PAGECONTIG, PAGEFIXED, PAGEMAPGLOBAL, PAGEMARKDIRTY, PAGEUSEALIGN, PG_SYS, copyEngine as CE, testProbe as TP, type Simulator } from 'dmasim';
import { expect, test } from 'dmasim/vitest';

function page(sim: Simulator, drv = sim) {
  const lin = drv.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
  return lin >>> 12;
}

async function copyIntoUnlocked(sim: Simulator) {
  const dev = await sim.attachDevice('copy-engine');
  const p = page(sim);
  sim.vmm.linPageLock(p, 1, PAGEMARKDIRTY);
  const pte = new Uint32Array(1);
  sim.vmm.copyPageTable(p, 1, pte, 0);
  sim.vmm.linPageUnLock(p, 1, 0);
  dev.writeReg(CE.REG.DST, pte[0]! & ~0xfff);
  dev.writeReg(CE.REG.LENGTH, 64);
  dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.FILL | CE.CONTROL.IRQ_ENABLE);
  await dev.waitForInterrupt();
  await dev.detach();
}

test('FAILS lock-leak: a page left locked', ({ sim }) => {
  sim.vmm.linPageLock(page(sim), 1, 0); // LEAKED-LOCK-LINE
});

test('FAILS lock-leak blamed on B: locked by A and B, unlocked by A', ({ sim }) => {
  const b = sim.createDriver('B');
  const p = page(sim);
  sim.vmm.linPageLock(p, 1, 0);
  b.vmm.linPageLock(p, 1, 0); // B-LOCK-LINE
  sim.vmm.linPageUnLock(p, 1, 0);
});

test('FAILS alias-leak: a dead alias left committed', ({ sim }) => {
  const p = page(sim);
  expect(sim.vmm.linPageLock(p, 1, PAGEMAPGLOBAL)).not.toBe(0); // ALIAS-LINE
  // The bug: the original unlocked without PAGEMAPGLOBAL. The alias dies but stays committed.
  sim.vmm.linPageUnLock(p, 1, 0);
});

test('FAILS unasserted violation', async ({ sim }) => {
  await copyIntoUnlocked(sim);
});

test('PASSES asserted violation', async ({ sim }) => {
  await copyIntoUnlocked(sim);
  expect(sim).toHaveDmaViolation('dma-unlocked', { device: { kind: 'copy-engine' } });
});

test('FAILS unmatched device fault', async ({ sim }) => {
  const dev = await sim.attachDevice('test-probe');
  dev.writeReg(TP.REG.CMD, TP.OP.THROW);
  await expect(dev.waitForInterrupt()).rejects.toThrow();
});

test('PASSES matched device fault', async ({ sim }) => {
  const dev = await sim.attachDevice('test-probe');
  dev.writeReg(TP.REG.CMD, TP.OP.THROW);
  await expect(dev.waitForInterrupt()).rejects.toThrow();
  expect(sim).toHaveDeviceFault('threw', { device: { kind: 'test-probe' } });
});

test('FAILS assertion with the seed in its message', ({ sim }) => {
  expect(sim.memory.frames).toBe(-1);
});

test('PASSES a clean test', ({ sim }) => {
  const p = page(sim);
  sim.vmm.linPageLock(p, 1, 0);
  sim.vmm.linPageUnLock(p, 1, 0);
});

test('PASSES commands still running when the test returns', async ({ sim }) => {
  // Eight 4 MiB fills queued and not awaited: 32 MiB of device work is still owed when the test
  // returns, by construction. The teardown lets moving commands finish before it judges leaks.
  const dev = await sim.attachDevice('copy-engine');
  const phys = new Uint32Array(1);
  sim.vmm.pageAllocate(1024, PG_SYS, 0, 0, 0, 0x1000, phys, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED);
  dev.writeReg(CE.REG.DST, phys[0]!);
  dev.writeReg(CE.REG.LENGTH, 4 << 20);
  for (let i = 0; i < 8; i++) dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.FILL);
  expect(sim.leaks().map((l) => l.code)).toContain('dma-in-flight');
});
