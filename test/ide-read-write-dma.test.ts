/**
 * READ DMA and WRITE DMA, 28-bit and 48-bit, through multi-entry PRD tables whose regions lie in
 * physically scattered pages, checked byte for byte against the disk image the test shares with
 * the device — and nothing outside the regions touched.
 */

import { describe, expect, it } from 'vitest';
import { ideBusmaster as IDE } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { bytes, contiguous, lockedPages } from './dma-helpers.js';
import { OK, expectBytes, ideRun, scatteredPages, sharedImage, writePrd, type PrdEntry } from './ide-helpers.js';

const pool = simulatorsClosedAfterEach();
const { ATA_COMMAND: CMD, SECTOR_SIZE } = IDE;
const SECTORS = 2048;

async function rig(pages: number) {
  const sim = await pool.make({ pager: 'off' });
  const disk = sharedImage(SECTORS, (n) => bytes(42, n));
  const buf = scatteredPages(sim, pages);
  sim.cpu.writeBytes(buf.lin, new Uint8Array(pages * 4096).fill(0xee));
  const table = lockedPages(sim, 1);
  const dev = await sim.attachDevice('ide-busmaster', { image: disk.sab });
  return { sim, disk, buf, table, dev };
}

/** What a buffer holds after `entries` moved `data` into it (regions in order), over a 0xEE fill. */
function scattered(phys: readonly number[], entries: readonly PrdEntry[], data: Uint8Array, size: number): Uint8Array {
  const want = new Uint8Array(size).fill(0xee);
  let off = 0;
  for (const e of entries) {
    const page = phys.findIndex((p) => e.base >= p && e.base < p + 4096);
    const at = page * 4096 + (e.base - phys[page]!);
    want.set(data.subarray(off, off + e.count), at);
    off += e.count;
  }
  return want;
}

/** Four regions in four non-adjacent pages, at odd (even-aligned) offsets: 24 sectors. */
function irregular(phys: readonly number[]): PrdEntry[] {
  return [
    { base: phys[0]! + 512, count: 3584 },
    { base: phys[1]!, count: 4096 },
    { base: phys[2]! + 2, count: 2046 },
    { base: phys[3]! + 1000, count: 2562, eot: true },
  ];
}

describe('READ DMA / WRITE DMA (28-bit)', () => {
  it('READ DMA scatters sectors into four non-contiguous pages, exactly where the PRDs say', async () => {
    const { sim, disk, buf, table, dev } = await rig(4);
    const prd = irregular(buf.phys);
    writePrd(sim, table.lin, prd);
    expect(await ideRun(dev, { command: CMD.READ_DMA, lba: 100, sectors: 24, prdt: table.phys[0]! })).toEqual(OK);
    const data = disk.bytes.subarray(100 * SECTOR_SIZE, 124 * SECTOR_SIZE);
    expectBytes(sim.cpu.readBytes(buf.lin, 4 * 4096), scattered(buf.phys, prd, data, 4 * 4096));
    expect(sim.violations()).toEqual([]);
    expect(await dev.stats()).toMatchObject({ commands: 1, sectorsRead: 24, sectorsWritten: 0, prdEntries: 4, errors: 0 });
  });

  it('WRITE DMA gathers the regions, in order, into the image; neighbouring sectors keep their bytes', async () => {
    const { sim, disk, buf, table, dev } = await rig(4);
    const before = disk.bytes.slice();
    const data = bytes(7, 4 * 4096);
    sim.cpu.writeBytes(buf.lin, data);
    const prd = irregular(buf.phys);
    writePrd(sim, table.lin, prd);
    expect(await ideRun(dev, { command: CMD.WRITE_DMA, lba: 1000, sectors: 24, prdt: table.phys[0]! })).toEqual(OK);
    const gathered = new Uint8Array(24 * SECTOR_SIZE);
    let off = 0;
    for (const [i, e] of prd.entries()) {
      const at = i * 4096 + (e.base - buf.phys[i]!);
      gathered.set(data.subarray(at, at + e.count), off);
      off += e.count;
    }
    const want = before.slice();
    want.set(gathered, 1000 * SECTOR_SIZE);
    expectBytes(disk.bytes, want);
    expect(sim.violations()).toEqual([]);
    expect(await dev.stats()).toMatchObject({ sectorsWritten: 24, sectorsRead: 0 });
  });

  it('LBA 27:24 come from DEVICE bits 3:0; the HOB bytes (bits 15:8) are ignored by 28-bit commands', async () => {
    const { sim, disk, buf, table, dev } = await rig(1);
    writePrd(sim, table.lin, [{ base: buf.phys[0]!, count: 1024, eot: true }]);
    const dv = IDE.DEVICE_BITS;
    // HOB garbage (bits 15:8, and above) in the count and LBA registers: READ DMA looks at bits 7:0.
    expect(await ideRun(dev, { command: CMD.READ_DMA, lba: 5, sectors: 2, prdt: table.phys[0]!, device: dv.LBA | dv.OBS5 | dv.OBS7, orBits: 0xffab00 })).toEqual(OK);
    expectBytes(sim.cpu.readBytes(buf.lin, 1024), disk.bytes.subarray(5 * 512, 7 * 512));
    // LBA 27:24 = 1: sector 2^24 + 5, beyond the disk.
    const r = await ideRun(dev, { command: CMD.READ_DMA, lba: 5, sectors: 2, prdt: table.phys[0]!, device: dv.LBA | 1, start: false });
    expect(r).toMatchObject({ error: IDE.ERROR.IDNF, diag: IDE.DIAG.LBA_OUT_OF_RANGE });
  });

  it('SECTOR_COUNT 0 means 256 sectors; a PRD count of 0 means 64 KiB', async () => {
    const sim = await pool.make({ pager: 'off' });
    const disk = sharedImage(SECTORS, (n) => bytes(3, n));
    // Two 64 KiB-aligned blocks of 16 contiguous frames: one 64 KiB region each.
    const a = contiguous(sim, 16, 0x100, 0x110);
    const b = contiguous(sim, 16, 0x120, 0x130);
    const table = lockedPages(sim, 1);
    writePrd(sim, table.lin, [
      { base: b.phys[0]!, count: 0 },
      { base: a.phys[0]!, count: 0, eot: true },
    ]);
    const dev = await sim.attachDevice('ide-busmaster', { image: disk.sab });
    expect(await ideRun(dev, { command: CMD.READ_DMA, lba: 256, sectors: 0, prdt: table.phys[0]! })).toEqual(OK);
    expectBytes(sim.cpu.readBytes(b.lin, 0x10000), disk.bytes.subarray(256 * 512, 384 * 512));
    expectBytes(sim.cpu.readBytes(a.lin, 0x10000), disk.bytes.subarray(384 * 512, 512 * 512));
    expect(await dev.stats()).toMatchObject({ sectorsRead: 256, prdEntries: 2 });
  });
});

describe('READ DMA EXT / WRITE DMA EXT (48-bit)', () => {
  it('a 300-sector transfer through 300 one-sector PRDs (more regions than one DMA access carries), both ways', async () => {
    const pages = 38; // 300 × 512 bytes = 37.5 pages
    const { sim, disk, buf, table, dev } = await rig(pages);
    const prd: PrdEntry[] = Array.from({ length: 300 }, (_, i) => ({ base: buf.phys[Math.floor(i / 8)]! + (i % 8) * 512, count: 512, eot: i === 299 }));
    writePrd(sim, table.lin, prd);
    // Count 300 = 0x012C: the previous byte (bits 15:8) is 0x01.
    expect(await ideRun(dev, { command: CMD.READ_DMA_EXT, lba: 700, sectors: 300, prdt: table.phys[0]! })).toEqual(OK);
    expectBytes(sim.cpu.readBytes(buf.lin, 300 * 512), disk.bytes.subarray(700 * 512, 1000 * 512));

    const data = bytes(99, 300 * 512);
    sim.cpu.writeBytes(buf.lin, data);
    expect(await ideRun(dev, { command: CMD.WRITE_DMA_EXT, lba: 1500, sectors: 300, prdt: table.phys[0]! })).toEqual(OK);
    expectBytes(disk.bytes.subarray(1500 * 512, 1800 * 512), data);
    expect(sim.violations()).toEqual([]);
    expect(await dev.stats()).toMatchObject({ commands: 2, sectorsRead: 300, sectorsWritten: 300, prdEntries: 600 });
  });

  it('48-bit SECTOR_COUNT 0 means 65 536; the HOB LBA bytes count (LBA 31:24 set is beyond this disk)', async () => {
    const { sim, disk, buf, table, dev } = await rig(1);
    writePrd(sim, table.lin, [{ base: buf.phys[0]!, count: 512, eot: true }]);
    expect(await ideRun(dev, { command: CMD.READ_DMA_EXT, lba: 0, sectors: 0, prdt: table.phys[0]!, start: false })).toMatchObject({ error: IDE.ERROR.IDNF, diag: IDE.DIAG.LBA_OUT_OF_RANGE });
    expect(await ideRun(dev, { command: CMD.READ_DMA_EXT, lba: 2 ** 24, sectors: 1, prdt: table.phys[0]!, start: false })).toMatchObject({ error: IDE.ERROR.IDNF, diag: IDE.DIAG.LBA_OUT_OF_RANGE });
    expect(await ideRun(dev, { command: CMD.READ_DMA_EXT, lba: 2 ** 40, sectors: 1, prdt: table.phys[0]!, start: false })).toMatchObject({ error: IDE.ERROR.IDNF, diag: IDE.DIAG.LBA_OUT_OF_RANGE });
    // The last sector is in range.
    expect(await ideRun(dev, { command: CMD.READ_DMA_EXT, lba: SECTORS - 1, sectors: 1, prdt: table.phys[0]! })).toEqual(OK);
    expectBytes(sim.cpu.readBytes(buf.lin, 512), disk.bytes.subarray((SECTORS - 1) * 512));
    expect(sim.violations()).toEqual([]);
  });
});
