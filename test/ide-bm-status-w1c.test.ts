/**
 * The register map and what the driver's accesses do to it: the documented indices, bits and
 * codes; BM_STATUS's write-1-to-clear INTERRUPT / ERROR, read-write DRIVE bits, read-only ACTIVE
 * and SIMPLEX; reserved bits of BM_COMMAND and BM_PRDT that read 0; the read-only ATA and
 * non-standard registers; the power-on state; which writes ring the doorbell.
 */

import { describe, expect, it } from 'vitest';
import { ideBusmaster as IDE, type DeviceHandle } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { pollReg } from './dma-helpers.js';
import { ideRun } from './ide-helpers.js';

const pool = simulatorsClosedAfterEach();
const { REG, BM_STATUS, BM_COMMAND } = IDE;

async function device(): Promise<DeviceHandle> {
  const sim = await pool.make();
  return sim.attachDevice('ide-busmaster', { sectors: 64 });
}

describe('register map', () => {
  it('has the documented indices, bits and codes', () => {
    expect(IDE.REG).toEqual({
      BM_COMMAND: 0, BM_STATUS: 1, BM_PRDT: 2, FEATURES: 3, ERROR: 4, SECTOR_COUNT: 5, LBA_LOW: 6, LBA_MID: 7, LBA_HIGH: 8,
      DEVICE: 9, COMMAND: 10, STATUS: 11, DEVICE_CONTROL: 12, CAPACITY: 13, DIAG: 14,
    });
    expect(IDE.REGISTER_COUNT).toBe(15);
    expect(IDE.BM_COMMAND).toEqual({ START: 0x01, READ_WRITE: 0x08 });
    expect(IDE.BM_STATUS).toEqual({ ACTIVE: 0x01, ERROR: 0x02, INTERRUPT: 0x04, DRIVE0_DMA: 0x20, DRIVE1_DMA: 0x40, SIMPLEX: 0x80 });
    expect(IDE.STATUS).toMatchObject({ BSY: 0x80, DRDY: 0x40, DF: 0x20, DRQ: 0x08, ERR: 0x01 });
    expect(IDE.ERROR).toMatchObject({ ABRT: 0x04, IDNF: 0x10 });
    expect(IDE.DEVICE_CONTROL).toMatchObject({ NIEN: 0x02 });
    expect(IDE.ATA_COMMAND).toEqual({ READ_DMA: 0xc8, WRITE_DMA: 0xca, READ_DMA_EXT: 0x25, WRITE_DMA_EXT: 0x35, FLUSH_CACHE: 0xe7, FLUSH_CACHE_EXT: 0xea });
    expect(IDE.PRD).toMatchObject({ SIZE: 8, EOT: 0x8000_0000, COUNT_MASK: 0xffff });
    expect(IDE.MAX_PRD_ENTRIES).toBe(8192);
    expect(new Set(Object.values(IDE.DIAG)).size).toBe(Object.keys(IDE.DIAG).length);
  });

  it('every BM_COMMAND and COMMAND write rings the doorbell, nothing else does', () => {
    expect(IDE.rings(REG.BM_COMMAND, 0)).toBe(true);
    expect(IDE.rings(REG.BM_COMMAND, BM_COMMAND.START)).toBe(true);
    expect(IDE.rings(REG.COMMAND, 0)).toBe(true);
    expect(IDE.rings(REG.COMMAND, IDE.ATA_COMMAND.READ_DMA)).toBe(true);
    for (let r = 0; r < IDE.REGISTER_COUNT; r++) if (r !== REG.BM_COMMAND && r !== REG.COMMAND) expect(IDE.rings(r, 0xffffffff)).toBe(false);
  });

  it('powers on with the ATA signature, DRDY, CAPACITY, and COMMAND taken', async () => {
    const dev = await device();
    expect(dev.readReg(REG.STATUS)).toBe(IDE.STATUS.DRDY);
    expect(dev.readReg(REG.ERROR)).toBe(0x01);
    expect(dev.readReg(REG.SECTOR_COUNT)).toBe(1);
    expect(dev.readReg(REG.LBA_LOW)).toBe(1);
    expect(dev.readReg(REG.CAPACITY)).toBe(64);
    expect(dev.readReg(REG.DIAG)).toBe(IDE.DIAG.NONE);
    expect(dev.readReg(REG.COMMAND)).toBe(IDE.COMMAND_TAKEN);
    expect(dev.readReg(REG.BM_STATUS)).toBe(0);
  });
});

describe('driver accesses under the register rules', () => {
  it('BM_STATUS: writing 1 clears INTERRUPT and ERROR (each alone), writing 0 keeps them', async () => {
    const dev = await device();
    // A direction mismatch: a memory error, so INTERRUPT and ERROR are both set.
    expect((await ideRun(dev, { command: IDE.ATA_COMMAND.READ_DMA, lba: 0, sectors: 1, prdt: 0, toMemory: false })).bmStatus).toBe(BM_STATUS.INTERRUPT | BM_STATUS.ERROR);
    dev.writeReg(REG.BM_STATUS, 0);
    expect(dev.readReg(REG.BM_STATUS)).toBe(BM_STATUS.INTERRUPT | BM_STATUS.ERROR);
    dev.writeReg(REG.BM_STATUS, BM_STATUS.INTERRUPT);
    expect(dev.readReg(REG.BM_STATUS)).toBe(BM_STATUS.ERROR);
    dev.writeReg(REG.BM_STATUS, BM_STATUS.ERROR);
    expect(dev.readReg(REG.BM_STATUS)).toBe(0);
  });

  it('BM_STATUS: DRIVE0_DMA / DRIVE1_DMA read back what was written, alongside a write-1-to-clear', async () => {
    const dev = await device();
    dev.writeReg(REG.BM_STATUS, BM_STATUS.DRIVE0_DMA | BM_STATUS.DRIVE1_DMA);
    expect(dev.readReg(REG.BM_STATUS)).toBe(BM_STATUS.DRIVE0_DMA | BM_STATUS.DRIVE1_DMA);
    expect((await ideRun(dev, { command: 0x20, lba: 0, sectors: 1, prdt: 0, start: false })).bmStatus).toBe(BM_STATUS.INTERRUPT | BM_STATUS.DRIVE0_DMA | BM_STATUS.DRIVE1_DMA);
    dev.writeReg(REG.BM_STATUS, BM_STATUS.INTERRUPT | BM_STATUS.DRIVE0_DMA);
    expect(dev.readReg(REG.BM_STATUS)).toBe(BM_STATUS.DRIVE0_DMA);
    dev.writeReg(REG.BM_STATUS, 0);
    expect(dev.readReg(REG.BM_STATUS)).toBe(0);
  });

  it('BM_STATUS: ACTIVE and SIMPLEX are read-only; ACTIVE follows START', async () => {
    const dev = await device();
    dev.writeReg(REG.BM_STATUS, BM_STATUS.ACTIVE | BM_STATUS.SIMPLEX);
    expect(dev.readReg(REG.BM_STATUS)).toBe(0);
    dev.writeReg(REG.BM_COMMAND, BM_COMMAND.START);
    await pollReg(dev, REG.BM_STATUS, BM_STATUS.ACTIVE, BM_STATUS.ACTIVE);
    dev.writeReg(REG.BM_STATUS, 0);
    dev.writeReg(REG.BM_STATUS, 0xff & ~BM_STATUS.DRIVE0_DMA & ~BM_STATUS.DRIVE1_DMA);
    expect(dev.readReg(REG.BM_STATUS)).toBe(BM_STATUS.ACTIVE);
    dev.writeReg(REG.BM_COMMAND, 0);
    await pollReg(dev, REG.BM_STATUS, BM_STATUS.ACTIVE, 0);
  });

  it('BM_COMMAND keeps START and READ_WRITE only; BM_PRDT drops bits 1:0 (dword aligned)', async () => {
    const dev = await device();
    dev.writeReg(REG.BM_COMMAND, 0xf6);
    expect(dev.readReg(REG.BM_COMMAND)).toBe(0);
    dev.writeReg(REG.BM_COMMAND, 0xff & ~BM_COMMAND.START);
    expect(dev.readReg(REG.BM_COMMAND)).toBe(BM_COMMAND.READ_WRITE);
    dev.writeReg(REG.BM_PRDT, 0x8001_2347);
    expect(dev.readReg(REG.BM_PRDT)).toBe(0x8001_2344);
  });

  it('ERROR, STATUS, CAPACITY and DIAG ignore writes', async () => {
    const dev = await device();
    for (const r of [REG.ERROR, REG.STATUS, REG.CAPACITY, REG.DIAG]) {
      const before = dev.readReg(r);
      dev.writeReg(r, 0x5a5a5a5a);
      expect(dev.readReg(r)).toBe(before);
    }
  });
});
