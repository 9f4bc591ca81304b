/**
 * Helpers for the ide-busmaster tests, written the way a bus-master IDE driver is: PRD tables built
 * by the CPU in a locked, handed-out page; the SFF-8038i sequence (clear status, direction, PRDT,
 * task file, command, START; after the interrupt, stop); buffers whose pages are physically
 * scattered. Everything goes through the public API.
 */

import { expect } from 'vitest';
import { PAGEFIXED, PAGEMARKDIRTY, PG_SYS, ideBusmaster as IDE, type DeviceHandle, type DriverContext } from '../src/index.js';
import { firstDiff, handOut, type Buffer } from './dma-helpers.js';

const { REG, BM_COMMAND, BM_STATUS, ATA_COMMAND, DEVICE_BITS } = IDE;

export interface PrdEntry {
  base: number;
  /** Byte count as written (0 means 64 KiB). */
  count: number;
  eot?: boolean;
  /** Dword 1 as written, overriding count / eot (for hostile entries). */
  word?: number;
}

/** Writes PRD entries with the CPU at a linear address (8 bytes each, little-endian). */
export function writePrd(drv: DriverContext, lin: number, entries: readonly PrdEntry[]): void {
  entries.forEach((e, i) => {
    drv.cpu.write32(lin + i * IDE.PRD.SIZE + IDE.PRD.BASE, e.base >>> 0);
    drv.cpu.write32(lin + i * IDE.PRD.SIZE + IDE.PRD.COUNT, (e.word ?? ((e.count & IDE.PRD.COUNT_MASK) | (e.eot ? IDE.PRD.EOT : 0))) >>> 0);
  });
}

/** One PRD entry per page of `buf` (whole pages), EOT on the last: the usual table for a page list. */
export function pagesPrd(buf: Buffer, bytes = buf.npages * 4096): PrdEntry[] {
  const out: PrdEntry[] = [];
  for (let i = 0, left = bytes; left > 0; i++) {
    const n = Math.min(4096, left);
    out.push({ base: buf.phys[i]!, count: n, eot: left === n });
    left -= n;
  }
  return out;
}

/**
 * A swappable buffer whose pages get non-adjacent frames: each page is first touched (frames are
 * assigned then) between two fixed spacer allocations, then locked (PAGEMARKDIRTY) and handed out.
 */
export function scatteredPages(drv: DriverContext, npages: number): Buffer {
  const lin = drv.vmm.pageAllocate(npages, PG_SYS, 0, 0, 0, 0, null, 0);
  expect(drv.vmm.lastError).toBeNull();
  for (let i = 0; i < npages; i++) {
    drv.cpu.write8(lin + i * 4096, 0);
    expect(drv.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED)).not.toBe(0);
  }
  const page = lin >>> 12;
  expect(drv.vmm.linPageLock(page, npages, PAGEMARKDIRTY)).toBe(1);
  const phys = handOut(drv, page, npages);
  for (let i = 1; i < npages; i++) expect(Math.abs(phys[i]! - phys[i - 1]!)).toBeGreaterThan(4096);
  return { lin, page, npages, phys };
}

export interface IdeCommand {
  command: number;
  lba: number;
  sectors: number;
  /** Physical address of the PRD table. */
  prdt: number;
  /** BM_COMMAND.READ_WRITE (default: what the command needs). */
  toMemory?: boolean;
  /** Write BM_COMMAND.START after the command (default true). */
  start?: boolean;
  /** DEVICE register (default LBA, plus LBA 27:24 for 28-bit commands). */
  device?: number;
  /** ORed into SECTOR_COUNT and the LBA registers (e.g. HOB bytes a 28-bit command must ignore). */
  orBits?: number;
}

const EXT = new Set<number>([ATA_COMMAND.READ_DMA_EXT, ATA_COMMAND.WRITE_DMA_EXT]);
const READS = new Set<number>([ATA_COMMAND.READ_DMA, ATA_COMMAND.READ_DMA_EXT]);

/** Writes the task file and the command (rings it); touches no bus-master register. */
export function ideTaskFile(dev: DeviceHandle, c: Omit<IdeCommand, 'prdt' | 'toMemory' | 'start'>): void {
  const ext = EXT.has(c.command);
  const count = ext ? c.sectors & 0xffff : c.sectors & 0xff;
  const byte = (n: number) => Math.floor(c.lba / 2 ** n) & 0xff;
  const or = c.orBits ?? 0;
  // 48-bit: bits 15:8 hold the "previous" byte (regs.ts).
  dev.writeReg(REG.SECTOR_COUNT, count | or);
  dev.writeReg(REG.LBA_LOW, byte(0) | (ext ? byte(24) << 8 : 0) | or);
  dev.writeReg(REG.LBA_MID, byte(8) | (ext ? byte(32) << 8 : 0) | or);
  dev.writeReg(REG.LBA_HIGH, byte(16) | (ext ? byte(40) << 8 : 0) | or);
  dev.writeReg(REG.DEVICE, c.device ?? (DEVICE_BITS.LBA | (ext ? 0 : byte(24) & 0x0f)));
  dev.writeReg(REG.COMMAND, c.command);
}

/** Programs one command in the SFF-8038i order and rings it; does not wait. */
export function ideStart(dev: DeviceHandle, c: IdeCommand): void {
  const dir = (c.toMemory ?? READS.has(c.command)) ? BM_COMMAND.READ_WRITE : 0;
  dev.ackInterrupt();
  // Write back what was read: INTERRUPT and ERROR are write-1-to-clear, the DRIVE bits keep.
  dev.writeReg(REG.BM_STATUS, dev.readReg(REG.BM_STATUS));
  dev.writeReg(REG.BM_COMMAND, dir);
  dev.writeReg(REG.BM_PRDT, c.prdt);
  ideTaskFile(dev, c);
  if (c.start ?? true) dev.writeReg(REG.BM_COMMAND, dir | BM_COMMAND.START);
}

export interface IdeResult {
  bmStatus: number;
  status: number;
  error: number;
  diag: number;
}

export function ideResult(dev: DeviceHandle): IdeResult {
  return { bmStatus: dev.readReg(REG.BM_STATUS), status: dev.readReg(REG.STATUS), error: dev.readReg(REG.ERROR), diag: dev.readReg(REG.DIAG) };
}

/** Runs one command, waits for its interrupt, reads the result, then stops the engine (START = 0). */
export async function ideRun(dev: DeviceHandle, c: IdeCommand): Promise<IdeResult> {
  ideStart(dev, c);
  await dev.waitForInterrupt({ timeoutMs: 10_000 });
  const r = ideResult(dev);
  ideStop(dev);
  return r;
}

/** Stops the engine, as a driver does after each transfer: START = 0, direction kept. */
export function ideStop(dev: DeviceHandle): void {
  dev.writeReg(REG.BM_COMMAND, dev.readReg(REG.BM_COMMAND) & ~BM_COMMAND.START);
}

/** No interrupt comes: the device finishes in microseconds, so 500 ms is a certainty. */
export async function expectNoInterrupt(dev: DeviceHandle): Promise<void> {
  await expect(dev.waitForInterrupt({ timeoutMs: 500 })).rejects.toMatchObject({ name: 'DeviceError', code: 'timeout' });
}

/** The result of a command that completed normally (PRD size equal to the transfer). */
export const OK: IdeResult = { bmStatus: BM_STATUS.INTERRUPT, status: IDE.STATUS.DRDY, error: 0, diag: IDE.DIAG.NONE };

/** The result of a memory error (SFF-8038i: ERROR, INTERRUPT, ACTIVE clear; the drive aborts). */
export const memoryError = (diag: number): IdeResult => ({ bmStatus: BM_STATUS.INTERRUPT | BM_STATUS.ERROR, status: IDE.STATUS.DRDY | IDE.STATUS.ERR, error: IDE.ERROR.ABRT, diag });

/** A disk image shared with the device, filled with a seeded pattern. */
export function sharedImage(sectors: number, fill: (n: number) => Uint8Array): { sab: SharedArrayBuffer; bytes: Uint8Array } {
  const sab = new SharedArrayBuffer(sectors * IDE.SECTOR_SIZE);
  const bytes = new Uint8Array(sab);
  bytes.set(fill(bytes.length));
  return { sab, bytes };
}

/** Byte-for-byte equality of large arrays (a deep toEqual of a MiB is slow); reports the first difference. */
export function expectBytes(got: Uint8Array, want: Uint8Array): void {
  const at = firstDiff(got, want);
  expect(at, `first difference at byte ${at} (lengths ${got.length} / ${want.length})`).toBe(-1);
}
