/**
 * When a data command runs: when the drive holds it and START is set, in either order. START
 * cleared while the command waits stops the engine (the command waits, moving nothing); set again,
 * it runs. A command written while one waits is ignored (ATA: the host may not write COMMAND while
 * DRQ is set). reset() drops a waiting command. A driver that leaves START set between commands is
 * not stalled.
 */

import { describe, expect, it } from 'vitest';
import { ideBusmaster as IDE } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { bytes, lockedPages, pollReg } from './dma-helpers.js';
import { OK, expectBytes, expectNoInterrupt, ideResult, ideStart, ideStop, ideTaskFile, scatteredPages, sharedImage, writePrd } from './ide-helpers.js';

const pool = simulatorsClosedAfterEach();
const { ATA_COMMAND: CMD, REG, BM_COMMAND, BM_STATUS, STATUS } = IDE;
const RW = BM_COMMAND.READ_WRITE;

async function rig() {
  const sim = await pool.make({ pager: 'off' });
  const disk = sharedImage(128, (n) => bytes(21, n));
  const buf = scatteredPages(sim, 2);
  const table = lockedPages(sim, 1);
  writePrd(sim, table.lin, [
    { base: buf.phys[1]!, count: 1024 },
    { base: buf.phys[0]!, count: 1024, eot: true },
  ]);
  const dev = await sim.attachDevice('ide-busmaster', { image: disk.sab });
  const blank = () => sim.cpu.writeBytes(buf.lin, new Uint8Array(8192));
  /** The four sectors at `lba` landed: two in page 1, two in page 0. */
  const landed = (lba: number) => {
    expectBytes(sim.cpu.readBytes(buf.lin + 4096, 1024), disk.bytes.subarray(lba * 512, lba * 512 + 1024));
    expectBytes(sim.cpu.readBytes(buf.lin, 1024), disk.bytes.subarray(lba * 512 + 1024, lba * 512 + 2048));
  };
  const nothing = () => expectBytes(sim.cpu.readBytes(buf.lin, 8192), new Uint8Array(8192));
  return { sim, disk, buf, dev, prdt: table.phys[0]!, blank, landed, nothing };
}

describe('command and START, in either order', () => {
  it('START first, then the command', async () => {
    const { dev, prdt, landed } = await rig();
    dev.writeReg(REG.BM_PRDT, prdt);
    dev.writeReg(REG.BM_COMMAND, RW | BM_COMMAND.START);
    await pollReg(dev, REG.BM_STATUS, BM_STATUS.ACTIVE, BM_STATUS.ACTIVE);
    ideTaskFile(dev, { command: CMD.READ_DMA, lba: 3, sectors: 4 });
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(ideResult(dev)).toEqual(OK);
    landed(3);
  });

  it('the command first: it waits with DRQ, moving nothing, until START', async () => {
    const { dev, prdt, landed, nothing } = await rig();
    ideStart(dev, { command: CMD.READ_DMA, lba: 9, sectors: 4, prdt, start: false });
    await pollReg(dev, REG.STATUS, STATUS.DRQ, STATUS.DRQ);
    await expectNoInterrupt(dev);
    nothing();
    dev.writeReg(REG.BM_COMMAND, RW | BM_COMMAND.START);
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(ideResult(dev)).toEqual(OK);
    landed(9);
  });
});

describe('START cleared', () => {
  it('while the command waits, stops the engine: nothing moves until START is set again', async () => {
    const { dev, prdt, landed, nothing } = await rig();
    dev.writeReg(REG.BM_PRDT, prdt);
    dev.writeReg(REG.BM_COMMAND, RW | BM_COMMAND.START);
    await pollReg(dev, REG.BM_STATUS, BM_STATUS.ACTIVE, BM_STATUS.ACTIVE);
    dev.writeReg(REG.BM_COMMAND, RW);
    await pollReg(dev, REG.BM_STATUS, BM_STATUS.ACTIVE, 0);
    ideStart(dev, { command: CMD.READ_DMA, lba: 20, sectors: 4, prdt, start: false });
    await pollReg(dev, REG.STATUS, STATUS.DRQ, STATUS.DRQ);
    await expectNoInterrupt(dev);
    nothing();
    expect(dev.readReg(REG.BM_STATUS) & BM_STATUS.ACTIVE).toBe(0);
    dev.writeReg(REG.BM_COMMAND, RW | BM_COMMAND.START);
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(ideResult(dev)).toEqual(OK);
    landed(20);
  });
});

describe('a command while one waits', () => {
  it('is ignored; the waiting one runs', async () => {
    const { disk, dev, prdt, landed } = await rig();
    const image = disk.bytes.slice();
    ideStart(dev, { command: CMD.READ_DMA, lba: 40, sectors: 4, prdt, start: false });
    await pollReg(dev, REG.STATUS, STATUS.DRQ, STATUS.DRQ);
    // A WRITE DMA to sector 0 while the READ waits: the drive does not take it.
    dev.writeReg(REG.LBA_LOW, 0);
    dev.writeReg(REG.COMMAND, CMD.WRITE_DMA);
    dev.writeReg(REG.BM_COMMAND, RW | BM_COMMAND.START);
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(ideResult(dev)).toEqual(OK);
    expectBytes(disk.bytes, image);
    expect(await dev.stats()).toMatchObject({ commands: 1, ignoredWhileBusy: 1, sectorsRead: 4, sectorsWritten: 0 });
    // The READ read sector 40 (its task file), not the LBA written afterwards.
    landed(40);
  });
});

describe('reset()', () => {
  it('drops a waiting command and restores the power-on registers', async () => {
    const { dev, prdt, landed, nothing } = await rig();
    ideStart(dev, { command: CMD.READ_DMA, lba: 50, sectors: 4, prdt, start: false });
    await pollReg(dev, REG.STATUS, STATUS.DRQ, STATUS.DRQ);
    await dev.reset();
    expect(dev.readReg(REG.STATUS)).toBe(STATUS.DRDY);
    expect(dev.readReg(REG.BM_PRDT)).toBe(0);
    dev.writeReg(REG.BM_PRDT, prdt);
    dev.writeReg(REG.BM_COMMAND, RW | BM_COMMAND.START);
    await expectNoInterrupt(dev);
    nothing();
    ideStop(dev);
    ideStart(dev, { command: CMD.READ_DMA, lba: 60, sectors: 4, prdt });
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(ideResult(dev)).toEqual(OK);
    landed(60);
  });
});

describe('START left set between commands', () => {
  it('each command still runs (the model needs START set, not a fresh 0 → 1 write)', async () => {
    const { dev, prdt, blank, landed } = await rig();
    for (const lba of [0, 4, 8, 100]) {
      blank();
      dev.ackInterrupt();
      dev.writeReg(REG.BM_STATUS, dev.readReg(REG.BM_STATUS));
      dev.writeReg(REG.BM_PRDT, prdt);
      dev.writeReg(REG.BM_COMMAND, RW | BM_COMMAND.START);
      ideTaskFile(dev, { command: CMD.READ_DMA, lba, sectors: 4 });
      await dev.waitForInterrupt({ timeoutMs: 10_000 });
      expect(ideResult(dev)).toEqual(OK);
      landed(lba);
    }
  });
});
