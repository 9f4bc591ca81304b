// A bus-master IDE driver's test in the fixture style: a READ DMA through a two-entry PRD table over
// pages the aggressive pager scattered, verified against the disk image; and the bug its class is
// known for — the data page unlocked before the command ran — claimed with its code.
import { ideBusmaster as IDE, PAGEMARKDIRTY, PG_SYS, type DeviceHandle, type Simulator } from 'dmasim';
import { expect, test } from 'dmasim/vitest';

const { REG } = IDE;

/** Two data pages and a PRD page, locked and handed out; the table describes the two data pages. */
function buffers(sim: Simulator) {
  const lin = sim.vmm.pageAllocate(3, PG_SYS, 0, 0, 0, 0, null, 0);
  sim.vmm.linPageLock(lin >>> 12, 3, PAGEMARKDIRTY);
  const pte = new Uint32Array(3);
  sim.vmm.copyPageTable(lin >>> 12, 3, pte, 0);
  const [a, b, prdt] = [...pte].map((e) => (e & ~0xfff) >>> 0) as [number, number, number];
  sim.cpu.write32(lin + 0x2000, a);
  sim.cpu.write32(lin + 0x2004, 4096);
  sim.cpu.write32(lin + 0x2008, b);
  sim.cpu.write32(lin + 0x200c, (4096 | IDE.PRD.EOT) >>> 0);
  return { lin, prdt, unlock: (n = 3) => sim.vmm.linPageUnLock(lin >>> 12, n, 0) };
}

async function readDma(dev: DeviceHandle, prdt: number, lba: number, sectors: number) {
  dev.writeReg(REG.BM_STATUS, dev.readReg(REG.BM_STATUS)); // write-1-to-clear INTERRUPT / ERROR
  dev.writeReg(REG.BM_COMMAND, IDE.BM_COMMAND.READ_WRITE);
  dev.writeReg(REG.BM_PRDT, prdt);
  dev.writeReg(REG.SECTOR_COUNT, sectors);
  dev.writeReg(REG.LBA_LOW, lba);
  dev.writeReg(REG.DEVICE, IDE.DEVICE_BITS.LBA);
  dev.writeReg(REG.COMMAND, IDE.ATA_COMMAND.READ_DMA);
  dev.writeReg(REG.BM_COMMAND, IDE.BM_COMMAND.READ_WRITE | IDE.BM_COMMAND.START);
  await dev.waitForInterrupt();
  dev.ackInterrupt();
  dev.writeReg(REG.BM_COMMAND, IDE.BM_COMMAND.READ_WRITE); // stop the engine
  return dev.readReg(REG.BM_STATUS);
}

test('READ DMA of 16 sectors through a two-entry PRD table lands byte for byte', async ({ sim }) => {
  const image = new SharedArrayBuffer(2048 * 512);
  const disk = new Uint8Array(image);
  for (let i = 0; i < disk.length; i++) disk[i] = (i * 7 + 3) & 0xff;
  const dev = await sim.attachDevice('ide-busmaster', { image });
  const buf = buffers(sim);
  expect(await readDma(dev, buf.prdt, 100, 16)).toBe(IDE.BM_STATUS.INTERRUPT);
  buf.unlock();
  expect(sim.cpu.readBytes(buf.lin, 8192)).toEqual(disk.subarray(100 * 512, 116 * 512));
  expect(sim).toHaveNoDmaViolations();
});

test('a data page unlocked before the command is caught (dma-unlocked), and the command fails', async ({ sim }) => {
  const dev = await sim.attachDevice('ide-busmaster', { sectors: 2048 });
  const buf = buffers(sim);
  buf.unlock(2); // the bug: the data pages go before the I/O is done (the PRD page stays locked)
  const status = await readDma(dev, buf.prdt, 0, 16);
  expect(status & IDE.BM_STATUS.ERROR).toBe(IDE.BM_STATUS.ERROR);
  sim.vmm.linPageUnLock((buf.lin >>> 12) + 2, 1, 0);
  expect(sim).toHaveDmaViolation('dma-unlocked', { device: { kind: 'ide-busmaster' }, access: { direction: 'write' } });
});
