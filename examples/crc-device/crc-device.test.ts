// The custom-device example's own test, written as a user would: attach the module by path, drive
// the device as a driver does, check the result and what the checker saw.
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { createSimulator, PAGECONTIG, PAGEFIXED, PAGEMARKDIRTY, PAGEUSEALIGN, PG_SYS, type DeviceHandle, type Simulator } from 'dmasim';
import { CONTROL, REG, STATUS } from './crc-device.js';

let sim: Simulator;
let crc: DeviceHandle;
beforeEach(async () => {
  sim = await createSimulator({ pager: 'aggressive' });
  crc = await sim.attachDevice('./examples/crc-device/crc-device.ts');
});
afterEach(() => sim.close());

async function checksum(phys: number, length: number): Promise<number> {
  crc.writeReg(REG.ADDR, phys);
  crc.writeReg(REG.LENGTH, length);
  crc.writeReg(REG.CONTROL, CONTROL.START);
  await crc.waitForInterrupt();
  crc.ackInterrupt();
  return crc.readReg(REG.STATUS);
}

test('checksums a physically contiguous buffer by DMA', async () => {
  const { vmm, cpu } = sim;
  // A one-address device needs contiguous memory: _PageAllocate with PAGECONTIG hands out its address.
  const phys = new Uint32Array(1);
  const lin = vmm.pageAllocate(4, PG_SYS, 0, 0, 0, 0x1000, phys, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED);
  const data = Uint8Array.from({ length: 4 * 4096 }, (_, i) => (i * 7) & 0xff);
  cpu.writeBytes(lin, data);

  expect(await checksum(phys[0]!, data.length)).toBe(STATUS.DONE);
  expect(crc.readReg(REG.RESULT)).toBe(crc32(data));
  crc.writeReg(REG.STATUS, STATUS.DONE); // write-1-to-clear
  expect(crc.readReg(REG.STATUS)).toBe(0);
  expect(sim.violations()).toEqual([]);
});

test('a buffer the driver unlocked before the DMA is refused and reported', async () => {
  const { vmm } = sim;
  const lin = vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
  vmm.linPageLock(lin >>> 12, 1, PAGEMARKDIRTY);
  const pte = new Uint32Array(1);
  vmm.copyPageTable(lin >>> 12, 1, pte, 0);
  vmm.linPageUnLock(lin >>> 12, 1, 0); // the bug: unlocked before the device ran

  expect(await checksum(pte[0]! & ~0xfff, 4096)).toBe(STATUS.ERROR);
  expect(sim.violations().map((v) => [v.code, v.device?.kind])).toEqual([['dma-unlocked', 'crc32']]);
});
