/**
 * SFF-8038i's Interrupt / Active table, row by row: PRD total equal to the transfer (INTERRUPT,
 * ACTIVE clear), longer (INTERRUPT, ACTIVE set — valid), shorter (neither, and no interrupt: the
 * error case, with nothing moved), and a memory error (ERROR too). nIEN keeps the drive's INTRQ
 * released, so the line and INTERRUPT stay clear while the rest completes as usual.
 */

import { describe, expect, it } from 'vitest';
import { ideBusmaster as IDE } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { bytes, lockedPages } from './dma-helpers.js';
import { OK, expectBytes, expectNoInterrupt, ideResult, ideRun, ideStart, ideStop, memoryError, scatteredPages, sharedImage, writePrd } from './ide-helpers.js';

const pool = simulatorsClosedAfterEach();
const { ATA_COMMAND: CMD, DIAG, BM_STATUS, STATUS, REG } = IDE;

async function rig() {
  const sim = await pool.make({ pager: 'off' });
  const disk = sharedImage(256, (n) => bytes(8, n));
  const buf = scatteredPages(sim, 2);
  sim.cpu.writeBytes(buf.lin, new Uint8Array(8192).fill(0xee));
  const table = lockedPages(sim, 1);
  const dev = await sim.attachDevice('ide-busmaster', { image: disk.sab });
  return { sim, disk, buf, table, dev, prdt: table.phys[0]! };
}

describe('the Interrupt / Active table', () => {
  it('PRD total == transfer, ending at EOT: INTERRUPT=1 ACTIVE=0', async () => {
    const { sim, disk, buf, table, dev, prdt } = await rig();
    writePrd(sim, table.lin, [
      { base: buf.phys[0]!, count: 1024 },
      { base: buf.phys[1]!, count: 1024, eot: true },
    ]);
    expect(await ideRun(dev, { command: CMD.READ_DMA, lba: 0, sectors: 4, prdt })).toEqual(OK);
    expectBytes(sim.cpu.readBytes(buf.lin, 1024), disk.bytes.subarray(0, 1024));
    expectBytes(sim.cpu.readBytes(buf.lin + 4096, 1024), disk.bytes.subarray(1024, 2048));
  });

  it('PRD longer (the EOT entry not used up): INTERRUPT=1 ACTIVE=1; only the transfer moves', async () => {
    const { sim, disk, buf, table, dev, prdt } = await rig();
    writePrd(sim, table.lin, [
      { base: buf.phys[0]!, count: 1024 },
      { base: buf.phys[1]!, count: 4096, eot: true },
    ]);
    expect(await ideRun(dev, { command: CMD.READ_DMA, lba: 0, sectors: 4, prdt })).toEqual({ ...OK, bmStatus: BM_STATUS.INTERRUPT | BM_STATUS.ACTIVE });
    expectBytes(sim.cpu.readBytes(buf.lin + 4096, 4096), Uint8Array.from([...disk.bytes.subarray(1024, 2048), ...new Uint8Array(3072).fill(0xee)]));
  });

  it('PRD longer (the transfer ends on an entry without EOT): ACTIVE stays set, and the next entry is never read', async () => {
    const { sim, buf, table, dev, prdt } = await rig();
    writePrd(sim, table.lin, [
      { base: buf.phys[0]!, count: 2048 },
      // Never reached, so never judged (it would be PRD_MISALIGNED).
      { base: 0xffff_ffff, count: 7, eot: true },
    ]);
    expect(await ideRun(dev, { command: CMD.READ_DMA, lba: 0, sectors: 4, prdt })).toEqual({ ...OK, bmStatus: BM_STATUS.INTERRUPT | BM_STATUS.ACTIVE });
    expect(await dev.stats()).toMatchObject({ prdEntries: 1, errors: 0 });
  });

  it('PRD shorter: no interrupt, INTERRUPT=0 ACTIVE=0, DIAG PRD_SHORT, nothing moved', async () => {
    const { sim, disk, buf, table, dev, prdt } = await rig();
    const image = disk.bytes.slice();
    writePrd(sim, table.lin, [
      { base: buf.phys[0]!, count: 1024 },
      { base: buf.phys[1]!, count: 512, eot: true },
    ]);
    sim.cpu.writeBytes(buf.lin, bytes(1, 8192));
    for (const command of [CMD.READ_DMA, CMD.WRITE_DMA]) {
      ideStart(dev, { command, lba: 0, sectors: 4, prdt });
      await expectNoInterrupt(dev);
      // The drive's command is over (no DRQ), without an error: only DIAG says why.
      expect(ideResult(dev)).toEqual({ bmStatus: 0, status: STATUS.DRDY, error: 0, diag: DIAG.PRD_SHORT });
      ideStop(dev);
    }
    expectBytes(sim.cpu.readBytes(buf.lin, 8192), bytes(1, 8192));
    expectBytes(disk.bytes, image);
    expect(await dev.stats()).toMatchObject({ 'errors.PRD_SHORT': 2, sectorsRead: 0, sectorsWritten: 0, interrupts: 0 });
    // The next, correct command works.
    writePrd(sim, table.lin, [{ base: buf.phys[0]!, count: 2048, eot: true }]);
    expect(await ideRun(dev, { command: CMD.READ_DMA, lba: 0, sectors: 4, prdt })).toEqual(OK);
  });

  it('a memory error: ERROR=1 INTERRUPT=1 ACTIVE=0, the drive aborts', async () => {
    const { sim, table, dev, prdt } = await rig();
    writePrd(sim, table.lin, [{ base: 0x10001, count: 2048, eot: true }]);
    expect(await ideRun(dev, { command: CMD.READ_DMA, lba: 0, sectors: 4, prdt })).toEqual(memoryError(DIAG.PRD_MISALIGNED));
  });
});

describe('nIEN', () => {
  it('keeps INTRQ released: no interrupt and no INTERRUPT bit, the rest completes as usual', async () => {
    const { sim, disk, buf, table, dev, prdt } = await rig();
    dev.writeReg(REG.DEVICE_CONTROL, IDE.DEVICE_CONTROL.NIEN);
    writePrd(sim, table.lin, [{ base: buf.phys[0]!, count: 2048, eot: true }]);
    ideStart(dev, { command: CMD.READ_DMA, lba: 8, sectors: 4, prdt });
    await expectNoInterrupt(dev);
    expect(ideResult(dev)).toEqual({ bmStatus: 0, status: STATUS.DRDY, error: 0, diag: DIAG.NONE });
    expectBytes(sim.cpu.readBytes(buf.lin, 2048), disk.bytes.subarray(8 * 512, 12 * 512));
    ideStop(dev);

    writePrd(sim, table.lin, [{ base: buf.phys[0]! + 1, count: 2048, eot: true }]);
    ideStart(dev, { command: CMD.READ_DMA, lba: 8, sectors: 4, prdt });
    await expectNoInterrupt(dev);
    expect(ideResult(dev)).toEqual({ ...memoryError(DIAG.PRD_MISALIGNED), bmStatus: BM_STATUS.ERROR });
    ideStop(dev);

    // Interrupts enabled again: the next completion raises the line.
    dev.writeReg(REG.DEVICE_CONTROL, 0);
    writePrd(sim, table.lin, [{ base: buf.phys[0]!, count: 2048, eot: true }]);
    expect(await ideRun(dev, { command: CMD.READ_DMA, lba: 8, sectors: 4, prdt })).toEqual(OK);
  });
});
