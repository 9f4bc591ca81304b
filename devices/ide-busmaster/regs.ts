/**
 * ide-busmaster register map: one ATA disk (device 0) behind an SFF-8038i bus-master IDE
 * controller (one channel). Names are the standards' (SFF-8038i rev 1.0 "Bus Master Programming
 * Interface for IDE ATA Controllers" §2; ATA/ATAPI-6 §7 for the task file and commands), so a
 * driver written from those documents reads the same here. Fixed, so that tests outside this
 * project can program the device.
 *
 * The register file is 32-bit words, one per index, not byte ports, which forces three choices:
 *  - One index cannot read one thing and write another, so the ATA registers that do (Features /
 *    Error, Command / Status) are split into a written index and a read-only index.
 *  - The 48-bit feature set's "current" and "previous" (HOB) bytes live in one word: bits 7:0 are
 *    the current byte, bits 15:8 the previous one (what a driver writes second and first on a real
 *    task file), bits 31:16 are ignored. 28-bit commands look at bits 7:0 only.
 *  - CAPACITY and DIAG are not standard: read-only windows onto the disk's size and onto why the
 *    last command failed (the standards leave that to a logic analyser).
 */

import type { DeviceDescriptor } from '../../src/device-api.js';
import { rings as ringsBy } from '../../src/descriptor.js';

/** Register indices (SFF-8038i offset or ATA register in each comment). */
export const REG = {
  /** SFF offset 0: Bus Master IDE Command. Every write rings the doorbell. */
  BM_COMMAND: 0,
  /** SFF offset 2: Bus Master IDE Status. ACTIVE / SIMPLEX read-only, ERROR / INTERRUPT write-1-to-clear. */
  BM_STATUS: 1,
  /** SFF offset 4: Descriptor Table Pointer (physical, dword aligned: bits 1:0 read 0, writes to them are dropped). */
  BM_PRDT: 2,
  /** ATA Features (written; no command modelled uses it). Bits 7:0 current, 15:8 previous. */
  FEATURES: 3,
  /** ATA Error (read-only): the ERROR bits of the last command. */
  ERROR: 4,
  /** ATA Sector Count: bits 7:0 current, 15:8 previous (48-bit). 0 means 256 (28-bit) or 65 536 (48-bit). */
  SECTOR_COUNT: 5,
  /** ATA LBA Low (Sector Number): LBA 7:0, previous byte LBA 31:24. */
  LBA_LOW: 6,
  /** ATA LBA Mid (Cylinder Low): LBA 15:8, previous byte LBA 39:32. */
  LBA_MID: 7,
  /** ATA LBA High (Cylinder High): LBA 23:16, previous byte LBA 47:40. */
  LBA_HIGH: 8,
  /** ATA Device (Drive/Head): DEVICE bits; bits 3:0 are LBA 27:24 for 28-bit commands. */
  DEVICE: 9,
  /**
   * ATA Command (written). Every write rings the doorbell. The drive takes the command by setting
   * COMMAND_TAKEN in this register (one atomic OR): it reads back as the last command | TAKEN.
   */
  COMMAND: 10,
  /** ATA Status (read-only; the Alternate Status, too: reading it acknowledges nothing). */
  STATUS: 11,
  /** ATA Device Control. */
  DEVICE_CONTROL: 12,
  /** Not standard, read-only: the disk's size in 512-byte sectors. */
  CAPACITY: 13,
  /** Not standard, read-only: why the last command failed (DIAG), NONE after a success. */
  DIAG: 14,
} as const;
export const REGISTER_COUNT = 15;

/** BM_COMMAND bits (SFF-8038i §2.1.1). Bits 7:4 and 2:1 are reserved: they read 0. */
export const BM_COMMAND = {
  /** Start/Stop Bus Master: 1 enables the engine; 0 stops it (ACTIVE clears). */
  START: 1 << 0,
  /** Read or Write Control: 1 = the bus master WRITES memory (an ATA read), 0 = it reads memory. */
  READ_WRITE: 1 << 3,
} as const;

/** BM_STATUS bits (SFF-8038i §2.1.2). */
export const BM_STATUS = {
  /** Bus Master IDE Active (read-only): set when START is written 1, cleared per the completion table. */
  ACTIVE: 1 << 0,
  /** The engine hit a memory error: a refused access, or a PRD table it would not follow (write 1 to clear). */
  ERROR: 1 << 1,
  /** The drive raised INTRQ (write 1 to clear). Set after every other completion bit. */
  INTERRUPT: 1 << 2,
  /** Drive 0 DMA capable (read/write, for the BIOS / driver; the model does not look at it). */
  DRIVE0_DMA: 1 << 5,
  /** Drive 1 DMA capable (read/write, ditto). */
  DRIVE1_DMA: 1 << 6,
  /** Simplex only (read-only): 0, there is one channel. */
  SIMPLEX: 1 << 7,
} as const;

/** ATA Status bits (ATA/ATAPI-6 §7.15.6). */
export const STATUS = {
  /** Error: the ERROR register says what. */
  ERR: 1 << 0,
  /** Obsolete (Index); reads 0. */
  IDX: 1 << 1,
  /** Obsolete (Corrected data); reads 0. */
  CORR: 1 << 2,
  /** Data request: the drive is ready to move data (a DMA command waiting for the bus master). */
  DRQ: 1 << 3,
  /** Obsolete (Device Seek Complete) / Service; reads 0. */
  DSC: 1 << 4,
  /** Device fault; never set by this model. */
  DF: 1 << 5,
  /** Device ready. */
  DRDY: 1 << 6,
  /** Busy; never visible here (a command is either waiting with DRQ or done). */
  BSY: 1 << 7,
} as const;

/** ATA Error bits (ATA/ATAPI-6 §7.9). */
export const ERROR = {
  /** Obsolete (Address mark not found). */
  AMNF: 1 << 0,
  /** Obsolete (Track 0 not found). */
  TK0NF: 1 << 1,
  /** Command aborted: not supported, bad parameters, or the DMA could not be done. */
  ABRT: 1 << 2,
  /** Media change request (removable media; never set). */
  MCR: 1 << 3,
  /** ID not found: the LBA range is outside the disk. */
  IDNF: 1 << 4,
  /** Media changed (never set). */
  MC: 1 << 5,
  /** Uncorrectable data (never set). */
  UNC: 1 << 6,
  /** Interface CRC error (never set). */
  ICRC: 1 << 7,
} as const;

/** ATA Device register bits. */
export const DEVICE_BITS = {
  /** Bits 3:0: LBA 27:24 for 28-bit commands (reserved for 48-bit ones). */
  LBA_27_24: 0x0f,
  /** Device select: 1 = device 1, which is absent here (commands to it are aborted, DIAG NO_DEVICE). */
  DEV: 1 << 4,
  /** Obsolete, traditionally written 1. */
  OBS5: 1 << 5,
  /** LBA addressing; required (CHS is not modelled: DIAG NOT_LBA). */
  LBA: 1 << 6,
  /** Obsolete, traditionally written 1. */
  OBS7: 1 << 7,
} as const;

/** ATA Device Control bits (ATA/ATAPI-6 §7.8). */
export const DEVICE_CONTROL = {
  /** nIEN: 1 = the drive keeps INTRQ released, so neither the line nor BM_STATUS.INTERRUPT is set. */
  NIEN: 1 << 1,
  /** Software reset: not modelled (writing it does nothing; the reset is DeviceHandle.reset()). */
  SRST: 1 << 2,
  /** High order byte: not needed, both bytes are always visible (bits 15:8). */
  HOB: 1 << 7,
} as const;

/**
 * COMMAND bit 31: set by the drive when it takes the command just written (the driver's store
 * clears it). A doorbell tells the device that *some* register rang, and doorbells rung while it is
 * busy arrive together; the bit tells it whether COMMAND holds a command it has not yet taken —
 * including 0x00 — without losing one written meanwhile (the take is one atomic OR). A write with
 * bit 31 set is therefore not a command; no ATA command has bits above 7.
 */
export const COMMAND_TAKEN = 0x8000_0000;

/** The ATA commands modelled; anything else is aborted (ERR, ERROR = ABRT, DIAG BAD_COMMAND). */
export const ATA_COMMAND = {
  /** READ DMA: 28-bit LBA, count 1…256. */
  READ_DMA: 0xc8,
  /** WRITE DMA: 28-bit LBA. */
  WRITE_DMA: 0xca,
  /** READ DMA EXT: 48-bit LBA, count 1…65 536. */
  READ_DMA_EXT: 0x25,
  /** WRITE DMA EXT: 48-bit LBA. */
  WRITE_DMA_EXT: 0x35,
  /** FLUSH CACHE: writes the image to its file (attach option save), else completes at once. */
  FLUSH_CACHE: 0xe7,
  /** FLUSH CACHE EXT: the same. */
  FLUSH_CACHE_EXT: 0xea,
} as const;

/** DIAG codes: why the last command failed (not standard). */
export const DIAG = {
  NONE: 0,
  /** The PRD table ends (EOT) before the transfer does: no IRQ, INTERRUPT = ACTIVE = 0, nothing moved. */
  PRD_SHORT: 1,
  /** A PRD entry's base address is odd. */
  PRD_MISALIGNED: 2,
  /** A PRD entry's byte count is odd. */
  PRD_ODD_LENGTH: 3,
  /** A PRD entry's region crosses a 64 KiB boundary. */
  PRD_CROSSES_64K: 4,
  /** A PRD entry has reserved bits set (dword 1 bits 30:16: e.g. a count of 0x10000 instead of 0). */
  PRD_RESERVED_BITS: 5,
  /** No EOT before the 64 KiB boundary above BM_PRDT: the table may not cross it (at most 8192 entries). */
  PRD_UNTERMINATED: 6,
  /** Reading the PRD table was refused by the DMA port (a violation: see sim.violations()). */
  PRD_TABLE_REFUSED: 7,
  /** Moving the data was refused by the DMA port (a violation). */
  DMA_REFUSED: 8,
  /** BM_COMMAND.READ_WRITE does not match the command's direction. */
  DIRECTION_MISMATCH: 9,
  /** LBA + count is beyond CAPACITY (ERROR = IDNF). */
  LBA_OUT_OF_RANGE: 10,
  /** Not a command this drive knows (ERROR = ABRT). */
  BAD_COMMAND: 11,
  /** DEVICE.LBA clear: CHS addressing is not modelled (ERROR = ABRT). */
  NOT_LBA: 12,
  /** DEVICE.DEV selects device 1, which is absent (ERROR = ABRT). */
  NO_DEVICE: 13,
  /** FLUSH CACHE could not write the image file (ERROR = ABRT). */
  FLUSH_FAILED: 14,
} as const;
export type DiagCode = (typeof DIAG)[keyof typeof DIAG];

export const SECTOR_SIZE = 512;

/**
 * A Physical Region Descriptor (SFF-8038i §1.2): two little-endian dwords, 8 bytes. Dword 0 is the
 * region's physical base (bit 0 must be 0); dword 1 bits 15:0 the byte count (even; 0 = 64 KiB),
 * bit 31 EOT, bits 30:16 reserved (must be 0). A region may not cross a 64 KiB boundary.
 */
export const PRD = {
  SIZE: 8,
  BASE: 0,
  COUNT: 4,
  COUNT_MASK: 0xffff,
  EOT: 0x8000_0000,
  RESERVED: 0x7fff_0000,
  /** Byte count 0 means this many bytes. */
  COUNT_ZERO_MEANS: 0x10000,
} as const;

/** The no-crossing boundary of a region and of the table itself. */
export const BOUNDARY = 0x10000;
/** The table may not cross 64 KiB, so a walk reads at most this many entries (a linear table cannot loop). */
export const MAX_PRD_ENTRIES = BOUNDARY / PRD.SIZE;

/** Attach options of the kind (sim.attachDevice('ide-busmaster', { … })). */
export interface IdeBusmasterOptions {
  /** Disk size in sectors when no image is given (default DEFAULT_SECTORS; 1 … MAX_SECTORS). */
  sectors?: number;
  /** The disk image, shared with the caller: a positive multiple of 512 bytes, at most MAX_SECTORS sectors. */
  image?: SharedArrayBuffer;
  /** A file whose bytes the image starts with (read when the device loads). */
  imageFile?: string;
  /** Write the image back to imageFile on FLUSH CACHE and on a graceful detach. */
  save?: boolean;
}
export const DEFAULT_SECTORS = 2048;
/** 2 GiB: a bound on what one worker allocates. */
export const MAX_SECTORS = 1 << 22;

/**
 * What the host needs to know about the kind. Doorbells: every COMMAND write and every BM_COMMAND
 * write (a START written 0 stops the engine, so it rings too). Rules make the hardware's
 * read-only, write-1-to-clear and reserved-reads-0 bits true for the driver's accesses.
 */
export const DEVICE: DeviceDescriptor = {
  kind: 'ide-busmaster',
  registers: REGISTER_COUNT,
  doorbells: [{ register: REG.BM_COMMAND }, { register: REG.COMMAND }],
  rules: {
    [REG.BM_COMMAND]: { write: { w1c: 0, rw: BM_COMMAND.START | BM_COMMAND.READ_WRITE } },
    [REG.BM_STATUS]: { write: { w1c: BM_STATUS.ERROR | BM_STATUS.INTERRUPT, rw: BM_STATUS.DRIVE0_DMA | BM_STATUS.DRIVE1_DMA } },
    [REG.BM_PRDT]: { write: { w1c: 0, rw: 0xffff_fffc } },
    [REG.ERROR]: { write: 'read-only' },
    [REG.STATUS]: { write: 'read-only' },
    [REG.CAPACITY]: { write: 'read-only' },
    [REG.DIAG]: { write: 'read-only' },
  },
};

/** Does a write of `value` to register `index` ring the doorbell? */
export function rings(index: number, value: number): boolean {
  return ringsBy(DEVICE.doorbells, index, value);
}
