/**
 * ide-busmaster: an ATA disk (device 0) behind an SFF-8038i bus-master IDE controller. Depends only
 * on the device contract (src/device-api.ts), physAddr, and node:fs for the image file (threadId
 * from node:worker_threads keeps two workers saving one file from sharing a temporary name).
 *
 * The driver's sequence, as on the hardware: write BM_PRDT and BM_COMMAND.READ_WRITE, the task file,
 * the ATA command, then BM_COMMAND.START. A data command runs when the drive holds it and START is
 * set, in either order. Doorbells say only that something rang, and those rung while the device is
 * busy arrive together; so the model looks at levels, not at writes: the drive takes a command when
 * COMMAND holds one it has not taken (COMMAND_TAKEN), and the engine moves it whenever START reads 1.
 * A START 1 → 0 → 1 written before the device looks is one level, not two edges — which is why a
 * pending command runs on START's level, not on an edge (QEMU needs the edge; an edge missed here
 * would stall the driver for good). Edges seen only drive ACTIVE: set when START is seen rising,
 * cleared when it is seen falling. START cleared while a command waits stops the engine: the command
 * waits (DRQ) until START is set again or the device is reset.
 *
 * The PRD table is driver memory, read by DMA (its page must be locked and handed out like any
 * buffer), and hostile: every entry the transfer will use is read and checked before the first data
 * byte moves, the walk never passes the 64 KiB boundary above BM_PRDT (at most 8192 entries; a
 * linear table cannot loop), and it reads no entry past the one that covers the transfer or ends the
 * table. Then the data moves with scatter / gather, at most 256 regions per access. A WRITE moves
 * memory into a staging buffer first, so a refused access leaves the disk image as it was; a READ
 * scatters straight from the image, so an access refused after earlier ones succeeded leaves those
 * bytes in memory (as a master abort midway would) — with one access per 256 regions, a table of
 * ≤ 256 entries is all-or-nothing.
 *
 * Completion (SFF-8038i §3.1, the Interrupt / Active table), with every status word written before
 * BM_STATUS.INTERRUPT and the line:
 *  - PRD total == transfer, ending at an EOT entry: INTERRUPT, ACTIVE clear.
 *  - PRD longer (the transfer ended before the end of the EOT entry): INTERRUPT, ACTIVE set.
 *  - PRD shorter: nothing moves, ACTIVE clear, no interrupt (QEMU: "the PRDs were too short").
 *  - A memory error (refused access, bad entry, unterminated table, direction mismatch): ERROR,
 *    INTERRUPT, ACTIVE clear; ATA ERR with ABRT.
 * Provenance (src/provenance.ts): the table's address comes from BM_PRDT (its register source, read
 * with it), each region's address from its PRD entry (the source of the table page it was read
 * from, taken right after the read).
 *
 * DIAG says which. nIEN keeps INTRQ released: then neither the line nor INTERRUPT is set (SFF:
 * INTERRUPT is set by the rising edge of INTRQ; QEMU's bmdma_irq agrees).
 */

import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { physAddr } from '../../src/address.js';
import type { DeviceContext, DeviceModel, SgElement } from '../../src/device-api.js';
import {
  ATA_COMMAND,
  BM_COMMAND,
  BM_STATUS,
  BOUNDARY,
  COMMAND_TAKEN,
  DEFAULT_SECTORS,
  DEVICE_BITS,
  DEVICE_CONTROL,
  DIAG,
  ERROR,
  MAX_SECTORS,
  PRD,
  REG,
  SECTOR_SIZE,
  STATUS,
  type DiagCode,
} from './regs.js';

/** DmaPort.gather / scatter take at most this many elements per call (device-api.ts). */
const SPANS_PER_ACCESS = 256;
const PAGE = 4096;

type Op = { readonly kind: 'dma'; readonly toMemory: boolean; readonly ext: boolean } | { readonly kind: 'flush' };

/** The command decoder, as a table. */
const COMMANDS: ReadonlyMap<number, Op> = new Map<number, Op>([
  [ATA_COMMAND.READ_DMA, { kind: 'dma', toMemory: true, ext: false }],
  [ATA_COMMAND.WRITE_DMA, { kind: 'dma', toMemory: false, ext: false }],
  [ATA_COMMAND.READ_DMA_EXT, { kind: 'dma', toMemory: true, ext: true }],
  [ATA_COMMAND.WRITE_DMA_EXT, { kind: 'dma', toMemory: false, ext: true }],
  [ATA_COMMAND.FLUSH_CACHE, { kind: 'flush' }],
  [ATA_COMMAND.FLUSH_CACHE_EXT, { kind: 'flush' }],
]);

/** A data command the drive holds, waiting for the bus master. */
interface Pending {
  readonly toMemory: boolean;
  readonly lba: number;
  readonly sectors: number;
}

/**
 * How the bus-master side ends a command: 'none' for one that never reached it (a drive error, a
 * non-data command: ACTIVE as it was), else a row of the completion table.
 */
type BmEnd = 'none' | 'exact' | 'longer' | 'short' | 'memory-error';

/** The PRD walk: the regions the transfer uses, or why there are none. */
type Walk = { readonly list: SgElement[]; readonly exhausted: boolean } | { readonly diag: DiagCode };

const DIAG_NAMES = Object.keys(DIAG) as (keyof typeof DIAG)[];

interface Disk {
  readonly image: Uint8Array;
  readonly sectors: number;
  readonly file: string | undefined;
  readonly save: boolean;
}

/** Checks the attach options and builds the image; throws a clear message (a load failure). */
function openDisk(o: Readonly<Record<string, unknown>>): Disk {
  const bad = (why: string): never => {
    throw new Error(`ide-busmaster: ${why}`);
  };
  const { sectors, image, imageFile, save } = o;
  if (sectors !== undefined && (!Number.isInteger(sectors) || (sectors as number) < 1 || (sectors as number) > MAX_SECTORS)) {
    bad(`sectors must be an integer in 1…${MAX_SECTORS}, got ${String(sectors)}`);
  }
  if (image !== undefined) {
    if (!(image instanceof SharedArrayBuffer)) bad('image must be a SharedArrayBuffer');
    const n = (image as SharedArrayBuffer).byteLength;
    if (n === 0 || n % SECTOR_SIZE !== 0 || n / SECTOR_SIZE > MAX_SECTORS) bad(`image must be a positive multiple of ${SECTOR_SIZE} bytes, at most ${MAX_SECTORS} sectors; got ${n} bytes`);
    if (sectors !== undefined && sectors !== n / SECTOR_SIZE) bad(`sectors (${String(sectors)}) disagrees with the image (${n / SECTOR_SIZE} sectors)`);
  }
  if (imageFile !== undefined && (typeof imageFile !== 'string' || imageFile === '')) bad('imageFile must be a non-empty path');
  if (save !== undefined && typeof save !== 'boolean') bad('save must be a boolean');
  if (save === true && imageFile === undefined) bad('save needs an imageFile to save to');
  const file = imageFile as string | undefined;

  let fileBytes: Uint8Array | undefined;
  if (file !== undefined) {
    if (existsSync(file)) {
      const size = statSync(file).size;
      if (size === 0 || size % SECTOR_SIZE !== 0 || size / SECTOR_SIZE > MAX_SECTORS) bad(`${file}: ${size} bytes is not a positive multiple of ${SECTOR_SIZE} (at most ${MAX_SECTORS} sectors)`);
      fileBytes = readFileSync(file);
    } else if (save !== true) {
      bad(`${file} does not exist (with save: true it would be created)`);
    }
  }
  const count = image !== undefined ? (image as SharedArrayBuffer).byteLength / SECTOR_SIZE : ((sectors as number | undefined) ?? (fileBytes ? fileBytes.length / SECTOR_SIZE : DEFAULT_SECTORS));
  if (fileBytes && fileBytes.length !== count * SECTOR_SIZE) bad(`${file} holds ${fileBytes.length / SECTOR_SIZE} sectors, the disk ${count}`);
  const bytes = image !== undefined ? new Uint8Array(image as SharedArrayBuffer) : new Uint8Array(count * SECTOR_SIZE);
  if (fileBytes) bytes.set(fileBytes);
  return { image: bytes, sectors: count, file, save: save === true };
}

export function createIdeBusmaster({ dma, regs, irq, options }: DeviceContext): DeviceModel {
  const disk = openDisk(options);
  const counters = { commands: 0, sectorsRead: 0, sectorsWritten: 0, prdEntries: 0, flushes: 0, ignoredWhileBusy: 0, errors: 0 };
  const errorsBy = new Map<DiagCode, number>();

  /** The PRD table is read a page (at most) at a time: never a frame the table does not reach into. */
  const table = new Uint8Array(PAGE);
  const tv = new DataView(table.buffer);
  /** WRITE data lands here before the image (see the module comment); grown on demand. */
  let staging = new Uint8Array(0);

  let pending: Pending | null = null;
  /** START as last seen (for ACTIVE's edges only). */
  let started = false;

  function powerOn(): void {
    pending = null;
    started = false;
    for (const r of [REG.BM_COMMAND, REG.BM_STATUS, REG.BM_PRDT, REG.FEATURES, REG.DEVICE, REG.DEVICE_CONTROL, REG.LBA_MID, REG.LBA_HIGH]) regs.write(r, 0);
    // The ATA signature of a disk after power-on (ATA/ATAPI-6 §9.12): count 1, LBA low 1, and ERROR
    // 0x01 (diagnostics passed — the value, not AMNF).
    regs.write(REG.SECTOR_COUNT, 1);
    regs.write(REG.LBA_LOW, 1);
    regs.write(REG.ERROR, 0x01);
    regs.write(REG.STATUS, STATUS.DRDY);
    regs.write(REG.COMMAND, COMMAND_TAKEN);
    regs.write(REG.CAPACITY, disk.sectors);
    regs.write(REG.DIAG, DIAG.NONE);
  }

  function saveImage(): void {
    if (!disk.save || disk.file === undefined) return;
    // Write then rename: a worker ended mid-write leaves the old file, not half an image.
    const tmp = `${disk.file}.${process.pid}.${threadId}.tmp`;
    writeFileSync(tmp, disk.image);
    renameSync(tmp, disk.file);
  }

  /**
   * Ends the command: DIAG, ERROR, BM_STATUS's ACTIVE / ERROR, ATA STATUS, and only then INTERRUPT
   * and the line — so a driver that polls INTERRUPT, or takes the interrupt, finds the rest final.
   * BM_STATUS changes are atomic RMWs: the driver may be clearing bits with write-1-to-clear.
   */
  function complete(diag: DiagCode, ataError: number, bm: BmEnd): void {
    pending = null;
    if (diag !== DIAG.NONE) {
      counters.errors++;
      errorsBy.set(diag, (errorsBy.get(diag) ?? 0) + 1);
    }
    regs.write(REG.DIAG, diag);
    regs.write(REG.ERROR, ataError);
    if (bm === 'longer') regs.set(REG.BM_STATUS, BM_STATUS.ACTIVE);
    else if (bm !== 'none') regs.clear(REG.BM_STATUS, BM_STATUS.ACTIVE);
    if (bm === 'memory-error') regs.set(REG.BM_STATUS, BM_STATUS.ERROR);
    regs.write(REG.STATUS, STATUS.DRDY | (ataError !== 0 ? STATUS.ERR : 0));
    // PRD too short: the drive never gets its data, so it raises no INTRQ (SFF-8038i table, QEMU).
    if (bm === 'short') return;
    if ((regs.read(REG.DEVICE_CONTROL) & DEVICE_CONTROL.NIEN) !== 0) return;
    regs.set(REG.BM_STATUS, BM_STATUS.INTERRUPT);
    irq.raise();
  }

  /** The drive takes a command from COMMAND (its low byte; anything above is not a command). */
  function accept(value: number): void {
    // ATA: the host may not write COMMAND while BSY or DRQ is set; a drive ignores it.
    if (pending) {
      counters.ignoredWhileBusy++;
      return;
    }
    counters.commands++;
    const device = regs.read(REG.DEVICE);
    if ((device & DEVICE_BITS.DEV) !== 0) return complete(DIAG.NO_DEVICE, ERROR.ABRT, 'none');
    const op = value >>> 8 === 0 ? COMMANDS.get(value) : undefined;
    if (op === undefined) return complete(DIAG.BAD_COMMAND, ERROR.ABRT, 'none');
    if (op.kind === 'flush') {
      counters.flushes++;
      try {
        saveImage();
      } catch {
        return complete(DIAG.FLUSH_FAILED, ERROR.ABRT, 'none');
      }
      return complete(DIAG.NONE, 0, 'none');
    }
    if ((device & DEVICE_BITS.LBA) === 0) return complete(DIAG.NOT_LBA, ERROR.ABRT, 'none');
    const lo = (r: number) => regs.read(r) & 0xff;
    const hi = (r: number) => (regs.read(r) >>> 8) & 0xff;
    const low24 = (lo(REG.LBA_HIGH) << 16) | (lo(REG.LBA_MID) << 8) | lo(REG.LBA_LOW);
    const lba = op.ext ? hi(REG.LBA_HIGH) * 2 ** 40 + hi(REG.LBA_MID) * 2 ** 32 + hi(REG.LBA_LOW) * 2 ** 24 + low24 : (device & DEVICE_BITS.LBA_27_24) * 2 ** 24 + low24;
    const sectors = op.ext ? (regs.read(REG.SECTOR_COUNT) & 0xffff) || 0x10000 : lo(REG.SECTOR_COUNT) || 0x100;
    // The drive checks the range before it asks for DMA: no data moves, whatever the engine does.
    if (lba + sectors > disk.sectors) return complete(DIAG.LBA_OUT_OF_RANGE, ERROR.IDNF, 'none');
    pending = { toMemory: op.toMemory, lba, sectors };
    regs.write(REG.DIAG, DIAG.NONE);
    regs.write(REG.ERROR, 0);
    regs.write(REG.STATUS, STATUS.DRDY | STATUS.DRQ);
  }

  /**
   * Reads and checks the PRD entries that cover `need` bytes (module comment). `exhausted`: the
   * transfer ends exactly at the end of the EOT entry (ACTIVE then clears).
   */
  function walk(need: number): Walk {
    // >>> 0: a table at or above 2 GiB stays an unsigned address.
    let at = (regs.read(REG.BM_PRDT) & ~3) >>> 0;
    const tableFrom = regs.source(REG.BM_PRDT);
    let entriesFrom = tableFrom;
    const limit = (Math.floor(at / BOUNDARY) + 1) * BOUNDARY;
    const list: SgElement[] = [];
    let covered = 0;
    let fetched = at;
    let fetchedEnd = at;
    for (;;) {
      if (at >= limit) return { diag: DIAG.PRD_UNTERMINATED };
      if (at >= fetchedEnd) {
        // The rest of this page: a frame the table reaches into anyway, so no access the walk makes
        // can blame the driver for memory its table does not use.
        const end = Math.min(limit, (Math.floor(at / PAGE) + 1) * PAGE);
        const r = dma.read(physAddr(at), table.subarray(0, end - at), { from: tableFrom });
        // Refused means no byte moved; under onViolation 'allow' a violating read still lands.
        if (!r.ok && r.bytesRead === 0) return { diag: DIAG.PRD_TABLE_REFUSED };
        entriesFrom = dma.sourceOf(physAddr(at), end - at);
        fetched = at;
        fetchedEnd = end;
      }
      const base = tv.getUint32(at - fetched + PRD.BASE, true);
      const word = tv.getUint32(at - fetched + PRD.COUNT, true);
      counters.prdEntries++;
      if ((word & PRD.RESERVED) !== 0) return { diag: DIAG.PRD_RESERVED_BITS };
      if ((base & 1) !== 0) return { diag: DIAG.PRD_MISALIGNED };
      const length = (word & PRD.COUNT_MASK) || PRD.COUNT_ZERO_MEANS;
      if ((length & 1) !== 0) return { diag: DIAG.PRD_ODD_LENGTH };
      // Also catches a region past 4 GiB: 2^32 is a 64 KiB boundary.
      if (Math.floor(base / BOUNDARY) !== Math.floor((base + length - 1) / BOUNDARY)) return { diag: DIAG.PRD_CROSSES_64K };
      const eot = (word & PRD.EOT) !== 0;
      const use = Math.min(length, need - covered);
      list.push({ phys: physAddr(base), length: use, from: entriesFrom });
      covered += use;
      if (covered === need) return { list, exhausted: eot && use === length };
      if (eot) return { diag: DIAG.PRD_SHORT };
      at += PRD.SIZE;
    }
  }

  /** Moves the data of `p` through the regions of `list`; false if an access was refused. */
  function move(p: Pending, list: readonly SgElement[]): boolean {
    const at = p.lba * SECTOR_SIZE;
    const bytes = p.sectors * SECTOR_SIZE;
    if (!p.toMemory && staging.length < bytes) staging = new Uint8Array(bytes);
    for (let i = 0, off = 0; i < list.length; i += SPANS_PER_ACCESS) {
      const batch = list.slice(i, i + SPANS_PER_ACCESS);
      const n = batch.reduce((s, e) => s + e.length, 0);
      const r = p.toMemory ? dma.scatter(batch, disk.image.subarray(at + off, at + off + n)) : dma.gather(batch, staging.subarray(off, off + n));
      // Refused means no byte moved; under onViolation 'allow' a violating access still lands.
      if (!r.ok && r.bytesRead + r.bytesWritten === 0) return false;
      off += n;
    }
    if (!p.toMemory) disk.image.set(staging.subarray(0, bytes), at);
    return true;
  }

  /** The bus master runs the pending command: validate everything, then move, then complete. */
  function transfer(p: Pending): void {
    regs.set(REG.BM_STATUS, BM_STATUS.ACTIVE);
    const toMemory = (regs.read(REG.BM_COMMAND) & BM_COMMAND.READ_WRITE) !== 0;
    if (toMemory !== p.toMemory) return complete(DIAG.DIRECTION_MISMATCH, ERROR.ABRT, 'memory-error');
    const w = walk(p.sectors * SECTOR_SIZE);
    if ('diag' in w) return w.diag === DIAG.PRD_SHORT ? complete(DIAG.PRD_SHORT, 0, 'short') : complete(w.diag, ERROR.ABRT, 'memory-error');
    if (!move(p, w.list)) return complete(DIAG.DMA_REFUSED, ERROR.ABRT, 'memory-error');
    if (p.toMemory) counters.sectorsRead += p.sectors;
    else counters.sectorsWritten += p.sectors;
    complete(DIAG.NONE, 0, w.exhausted ? 'exact' : 'longer');
  }

  powerOn();

  return {
    onDoorbell() {
      const start = (regs.read(REG.BM_COMMAND) & BM_COMMAND.START) !== 0;
      if (start !== started) {
        started = start;
        if (start) regs.set(REG.BM_STATUS, BM_STATUS.ACTIVE);
        else regs.clear(REG.BM_STATUS, BM_STATUS.ACTIVE);
      }
      // One atomic take: a command the driver stores after it is seen by the next doorbell.
      const command = regs.set(REG.COMMAND, COMMAND_TAKEN);
      if ((command & COMMAND_TAKEN) === 0) accept(command);
      if (pending && start) transfer(pending);
    },
    reset() {
      powerOn();
    },
    stats() {
      const out: Record<string, number> = { ...counters };
      for (const name of DIAG_NAMES) if (DIAG[name] !== DIAG.NONE) out[`errors.${name}`] = errorsBy.get(DIAG[name]) ?? 0;
      return out;
    },
    close() {
      saveImage();
    },
  };
}
