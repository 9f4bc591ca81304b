/**
 * PRD tables and commands as hostile input. Every structure the bus master would not follow is
 * refused before the first data byte moves — memory and image unchanged — with SFF-8038i's memory
 * error status (ERROR, INTERRUPT, ACTIVE clear; the drive aborts) and a DIAG that says which rule.
 * Accesses the DMA port refuses (outside RAM, unlocked, never handed out) are violations recorded
 * with the usual codes and the device named. Drive-side errors (range, command, addressing) end the
 * command at once with the ATA error bits.
 */

import { describe, expect, it } from 'vitest';
import { ideBusmaster as IDE, type DeviceHandle, type Simulator } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { bytes, contiguous, lockedPages, type Buffer } from './dma-helpers.js';
import { expectBytes, ideRun, memoryError, scatteredPages, sharedImage, writePrd, type PrdEntry } from './ide-helpers.js';

const pool = simulatorsClosedAfterEach();
const { ATA_COMMAND: CMD, DIAG, BM_STATUS, STATUS, ERROR } = IDE;
const FILL = 0xee;

interface Rig {
  sim: Simulator;
  dev: DeviceHandle;
  disk: { sab: SharedArrayBuffer; bytes: Uint8Array };
  buf: Buffer;
  table: Buffer;
  /** Asserts memory (the buffer and any extra buffers) and the image are as they were. */
  untouched(...more: Buffer[]): void;
}

async function rig(opts: { memory?: number; table?: (sim: Simulator) => Buffer } = {}): Promise<Rig> {
  const sim = await pool.make({ pager: 'off', ...(opts.memory ? { memory: opts.memory } : {}) });
  // A table with a chosen address first, while those frames are free.
  const table = opts.table ? opts.table(sim) : lockedPages(sim, 1);
  const disk = sharedImage(2048, (n) => bytes(5, n));
  const image = disk.bytes.slice();
  const buf = scatteredPages(sim, 2);
  sim.cpu.writeBytes(buf.lin, new Uint8Array(8192).fill(FILL));
  const dev = await sim.attachDevice('ide-busmaster', { image: disk.sab, name: 'disk0' });
  const untouched = (...more: Buffer[]) => {
    for (const b of [buf, ...more]) expectBytes(sim.cpu.readBytes(b.lin, b.npages * 4096), new Uint8Array(b.npages * 4096).fill(FILL));
    expectBytes(disk.bytes, image);
  };
  return { sim, dev, disk, buf, table, untouched };
}

const read = (prdt: number, sectors = 4) => ({ command: CMD.READ_DMA, lba: 10, sectors, prdt });
const write = (prdt: number, sectors = 4) => ({ command: CMD.WRITE_DMA, lba: 10, sectors, prdt });

describe('PRD entries the bus master refuses (checked before any byte moves)', () => {
  const cases: [string, (r: Rig) => PrdEntry[], number][] = [
    ['an odd base address', (r) => [{ base: r.buf.phys[0]! + 1, count: 2048, eot: true }], DIAG.PRD_MISALIGNED],
    ['an odd byte count', (r) => [{ base: r.buf.phys[0]!, count: 2047, eot: true }], DIAG.PRD_ODD_LENGTH],
    ['a count of 0x10000 written into the reserved bits (64 KiB is written as 0)', (r) => [{ base: r.buf.phys[0]!, count: 0, word: 0x10000 | IDE.PRD.EOT }], DIAG.PRD_RESERVED_BITS],
    ['a bad entry after a good one: the good region is not moved either', (r) => [
      { base: r.buf.phys[0]!, count: 1024 },
      { base: r.buf.phys[1]! + 3, count: 1024, eot: true },
    ], DIAG.PRD_MISALIGNED],
  ];
  for (const [what, entries, diag] of cases) {
    it(`${what}: DIAG ${Object.entries(DIAG).find(([, v]) => v === diag)![0]}, nothing moved, either direction`, async () => {
      const r = await rig();
      writePrd(r.sim, r.table.lin, entries(r));
      expect(await ideRun(r.dev, read(r.table.phys[0]!))).toEqual(memoryError(diag));
      expect(await ideRun(r.dev, write(r.table.phys[0]!))).toEqual(memoryError(diag));
      r.untouched();
      expect(r.sim.violations()).toEqual([]);
      expect(await r.dev.stats()).toMatchObject({ errors: 2, sectorsRead: 0, sectorsWritten: 0 });
    });
  }

  it('a region crossing a 64 KiB boundary (in memory the driver holds) is PRD_CROSSES_64K', async () => {
    const r = await rig();
    // Frames 0x10F and 0x110: contiguous, straddling 0x110000.
    const straddle = contiguous(r.sim, 2, 0x10f, 0x111);
    r.sim.cpu.writeBytes(straddle.lin, new Uint8Array(8192).fill(FILL));
    expect(straddle.phys[1]).toBe(0x110000);
    writePrd(r.sim, r.table.lin, [{ base: 0x110000 - 1024, count: 2048, eot: true }]);
    expect(await ideRun(r.dev, read(r.table.phys[0]!))).toEqual(memoryError(DIAG.PRD_CROSSES_64K));
    r.untouched(straddle);
    expect(r.sim.violations()).toEqual([]);
  });

  it('BM_COMMAND.READ_WRITE against the command is DIRECTION_MISMATCH', async () => {
    const r = await rig();
    writePrd(r.sim, r.table.lin, [{ base: r.buf.phys[0]!, count: 2048, eot: true }]);
    expect(await ideRun(r.dev, { ...read(r.table.phys[0]!), toMemory: false })).toEqual(memoryError(DIAG.DIRECTION_MISMATCH));
    expect(await ideRun(r.dev, { ...write(r.table.phys[0]!), toMemory: true })).toEqual(memoryError(DIAG.DIRECTION_MISMATCH));
    r.untouched();
  });
});

describe('PRD tables the walk will not follow', () => {
  /** 512 entries of 2 bytes, none with EOT: one page of table that never covers 4 sectors. */
  const unterminated = (r: Rig): PrdEntry[] => Array.from({ length: 512 }, () => ({ base: r.buf.phys[0]!, count: 2 }));

  it('no EOT before the 64 KiB boundary is PRD_UNTERMINATED, and the walk does not read past it', async () => {
    // The table in frame 0xF: its last entry ends at 0x10000.
    const r = await rig({ table: (sim) => contiguous(sim, 1, 0x0f, 0x10) });
    expect(r.table.phys[0]).toBe(0xf000);
    writePrd(r.sim, r.table.lin, unterminated(r));
    expect(await ideRun(r.dev, read(r.table.phys[0]!))).toEqual(memoryError(DIAG.PRD_UNTERMINATED));
    r.untouched();
    // Frame 0x10 was never read: no violation, although the driver holds nothing there.
    expect(r.sim.violations()).toEqual([]);
    expect(await r.dev.stats()).toMatchObject({ prdEntries: 512, 'errors.PRD_UNTERMINATED': 1 });
  });

  it('a table running off the end of RAM is PRD_TABLE_REFUSED, a dma-outside-memory violation', async () => {
    // RAM of 4 MiB + 12 KiB: the last frame's 64 KiB block goes on past the end of RAM.
    const memory = (4 << 20) + 0x3000;
    const last = memory / 4096 - 1;
    const r = await rig({ memory, table: (sim) => contiguous(sim, 1, last, last + 1) });
    writePrd(r.sim, r.table.lin, unterminated(r));
    expect(await ideRun(r.dev, read(r.table.phys[0]!))).toEqual(memoryError(DIAG.PRD_TABLE_REFUSED));
    r.untouched();
    const vs = r.sim.violations();
    expect(vs.map((v) => [v.code, v.physAddr, v.access?.direction])).toEqual([['dma-outside-memory', memory, 'read']]);
    expect(vs[0]!.device).toMatchObject({ id: r.dev.id, attachment: r.dev.attachment, kind: 'ide-busmaster', name: 'disk0' });
  });

  it('BM_PRDT outside RAM is PRD_TABLE_REFUSED (dma-outside-memory)', async () => {
    const r = await rig();
    expect(await ideRun(r.dev, read(0x8000_0000))).toEqual(memoryError(DIAG.PRD_TABLE_REFUSED));
    expect(r.sim.violations().map((v) => v.code)).toEqual(['dma-outside-memory']);
    r.untouched();
  });

  it('a table in a page the driver unlocked is PRD_TABLE_REFUSED (dma-unlocked at the table)', async () => {
    const r = await rig();
    writePrd(r.sim, r.table.lin, [{ base: r.buf.phys[0]!, count: 2048, eot: true }]);
    expect(r.sim.vmm.linPageUnLock(r.table.page, 1, 0)).toBe(1);
    expect(await ideRun(r.dev, read(r.table.phys[0]!))).toEqual(memoryError(DIAG.PRD_TABLE_REFUSED));
    expect(r.sim.violations().map((v) => [v.code, v.physAddr, v.access?.direction])).toEqual([['dma-unlocked', r.table.phys[0]!, 'read']]);
    r.untouched();
  });
});

describe('regions the DMA port refuses: DMA_REFUSED, a violation, nothing moved', () => {
  it('a region outside RAM, above 2 GiB (dma-outside-memory)', async () => {
    const r = await rig();
    writePrd(r.sim, r.table.lin, [
      { base: r.buf.phys[0]!, count: 1024 },
      { base: 0xf000_0000, count: 1024, eot: true },
    ]);
    expect(await ideRun(r.dev, read(r.table.phys[0]!))).toEqual(memoryError(DIAG.DMA_REFUSED));
    expect(r.sim.violations().map((v) => [v.code, v.physAddr, v.access?.direction])).toEqual([['dma-outside-memory', 0xf000_0000, 'write']]);
    r.untouched();
  });

  it('a region in a page the driver unlocked (dma-unlocked), READ and WRITE', async () => {
    const r = await rig();
    const gone = lockedPages(r.sim, 1);
    r.sim.cpu.writeBytes(gone.lin, new Uint8Array(4096).fill(FILL));
    expect(r.sim.vmm.linPageUnLock(gone.page, 1, 0)).toBe(1);
    writePrd(r.sim, r.table.lin, [
      { base: r.buf.phys[1]!, count: 1024 },
      { base: gone.phys[0]!, count: 1024, eot: true },
    ]);
    expect(await ideRun(r.dev, read(r.table.phys[0]!))).toEqual(memoryError(DIAG.DMA_REFUSED));
    expect(await ideRun(r.dev, write(r.table.phys[0]!))).toEqual(memoryError(DIAG.DMA_REFUSED));
    const vs = r.sim.violations();
    expect(vs.map((v) => [v.code, v.physAddr, v.access?.direction])).toEqual([
      ['dma-unlocked', gone.phys[0]!, 'write'],
      ['dma-unlocked', gone.phys[0]!, 'read'],
    ]);
    for (const v of vs) expect(v.device).toMatchObject({ kind: 'ide-busmaster', name: 'disk0' });
    r.untouched(gone);
    expect(await r.dev.stats()).toMatchObject({ 'errors.DMA_REFUSED': 2, violations: 2 });
  });

  it("a region in a page this driver never obtained (another driver's) is dma-not-handed-out", async () => {
    const r = await rig();
    const other = lockedPages(r.sim.createDriver('other'), 1);
    r.sim.cpu.writeBytes(other.lin, new Uint8Array(4096).fill(FILL));
    writePrd(r.sim, r.table.lin, [{ base: other.phys[0]!, count: 2048, eot: true }]);
    expect(await ideRun(r.dev, read(r.table.phys[0]!))).toEqual(memoryError(DIAG.DMA_REFUSED));
    expect(r.sim.violations().map((v) => v.code)).toEqual(['dma-not-handed-out']);
    r.untouched(other);
  });
});

describe('drive-side errors end the command at once (no DMA)', () => {
  const driveError = (error: number, diag: number) => ({ bmStatus: BM_STATUS.INTERRUPT, status: STATUS.DRDY | STATUS.ERR, error, diag });

  it('LBA + count beyond CAPACITY is IDNF / LBA_OUT_OF_RANGE', async () => {
    const r = await rig();
    writePrd(r.sim, r.table.lin, [{ base: r.buf.phys[0]!, count: 2048, eot: true }]);
    expect(r.dev.readReg(IDE.REG.CAPACITY)).toBe(2048);
    expect(await ideRun(r.dev, { command: CMD.READ_DMA, lba: 2045, sectors: 4, prdt: r.table.phys[0]!, start: false })).toEqual(driveError(ERROR.IDNF, DIAG.LBA_OUT_OF_RANGE));
    expect(await ideRun(r.dev, { command: CMD.WRITE_DMA_EXT, lba: 2048, sectors: 1, prdt: r.table.phys[0]!, start: false })).toEqual(driveError(ERROR.IDNF, DIAG.LBA_OUT_OF_RANGE));
    r.untouched();
    expect(await r.dev.stats()).toMatchObject({ prdEntries: 0, 'errors.LBA_OUT_OF_RANGE': 2 });
  });

  it('an unknown command (or bits above 7) is ABRT / BAD_COMMAND', async () => {
    const r = await rig();
    for (const command of [0x20 /* READ SECTORS (PIO) */, 0xec /* IDENTIFY DEVICE */, 0x00 /* NOP */, 0x1c8]) {
      expect(await ideRun(r.dev, { command, lba: 0, sectors: 1, prdt: r.table.phys[0]!, start: false })).toEqual(driveError(ERROR.ABRT, DIAG.BAD_COMMAND));
    }
    expect(await r.dev.stats()).toMatchObject({ commands: 4, 'errors.BAD_COMMAND': 4 });
  });

  it('CHS addressing (DEVICE.LBA clear) is NOT_LBA; device 1 selected is NO_DEVICE', async () => {
    const r = await rig();
    expect(await ideRun(r.dev, { ...read(r.table.phys[0]!), device: 0, start: false })).toEqual(driveError(ERROR.ABRT, DIAG.NOT_LBA));
    expect(await ideRun(r.dev, { ...read(r.table.phys[0]!), device: IDE.DEVICE_BITS.LBA | IDE.DEVICE_BITS.DEV, start: false })).toEqual(driveError(ERROR.ABRT, DIAG.NO_DEVICE));
    r.untouched();
  });
});
