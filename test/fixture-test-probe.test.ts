// The misbehaving test-probe in the fixture style: a device fault is a test failure unless the
// test expects it with toHaveDeviceFault; a refused access is a violation it must claim.
import { PAGEMARKDIRTY, PG_SYS, testProbe as TP } from 'dmasim';
import { expect, test } from 'dmasim/vitest';

test('a device that throws is a fault the test expects', async ({ sim }) => {
  const dev = await sim.attachDevice('test-probe');
  dev.writeReg(TP.REG.CMD, TP.OP.THROW);
  await expect(dev.waitForInterrupt()).rejects.toMatchObject({ code: 'device-fault' });
  expect(sim).toHaveDeviceFault('threw', { device: { kind: 'test-probe' } });
});

test('a read of a page never handed out is refused and claimed', async ({ sim }) => {
  const dev = await sim.attachDevice('test-probe');
  const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
  sim.vmm.linPageLock(lin >>> 12, 1, PAGEMARKDIRTY);
  // The driver guessed the frame instead of asking _CopyPageTable: never handed out to it.
  const pte = new Uint32Array(1);
  sim.createDriver('other').vmm.copyPageTable(lin >>> 12, 1, pte, 0);
  dev.writeReg(TP.REG.ADDR, pte[0]! & ~0xfff);
  dev.writeReg(TP.REG.LEN, 16);
  dev.writeReg(TP.REG.CMD, TP.OP.READ);
  await expect.poll(() => dev.readReg(TP.REG.STATUS), { timeout: 10_000 }).toBe(TP.STATUS.DONE | TP.STATUS.REFUSED);
  sim.vmm.linPageUnLock(lin >>> 12, 1, 0);
  expect(sim).toHaveDmaViolation('dma-not-handed-out', { driver: 'default' });
});
