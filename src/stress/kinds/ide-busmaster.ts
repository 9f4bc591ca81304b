/**
 * Stress kind `ide-busmaster`: a bus-master IDE disk driver (SFF-8038i + ATA). Each transfer is a
 * READ DMA or a WRITE DMA — 28-bit or 48-bit (READ/WRITE DMA EXT), a seeded choice — of 1 … 256
 * sectors at a random LBA, through a PRD table over the pages of a swappable buffer, at a random
 * even offset, whatever frames the pager left them in: one region per page piece (a region never
 * leaves its page, so it never crosses 64 KiB), some pieces split again, EOT on the last. The PRD
 * table sits at a random offset in a page locked and handed out for the driver's life. The disk
 * image is a SharedArrayBuffer the driver owns (the `image` attach option), seeded at set-up.
 * Per transfer: lock the pages the transfer covers (PAGEMARKDIRTY for a READ: the device writes
 * them) → _CopyPageTable → poison (a READ: memory gets the complement of the image's sectors; a
 * WRITE: the image's sectors get the complement of what the CPU writes) → PRD table → the
 * SFF-8038i sequence (clear status, direction, PRDT, task file, command, START) → interrupt →
 * stop the engine → check the status → compare every byte (a READ: memory against the image; a
 * WRITE: the image against what the CPU wrote) → unlock.
 *
 * How each injection is made certain to bite (the loop runs a DMA bug alone, so nothing else moves):
 *  - unlock-early: the buffer is unlocked after the command is written, before BM_COMMAND.START;
 *    the engine moves data only once START is set, into or out of unlocked frames (`dma-unlocked`);
 *  - no-lock: with the pager paused, the buffer is touched in by the CPU (the poison or the payload)
 *    and _CopyPageTable'd without a lock (`dma-unlocked`);
 *  - stale-address: with the pager paused, the buffer is locked, its PTEs copied, then unlocked and
 *    locked again (same frames, a new lock epoch) and the old addresses put in the PRD table
 *    (`dma-stale-address`);
 *  - short-buffer: a one-region table from inside the guard DMA page that runs 2 … 4094 bytes (PRD
 *    counts are even) into the guard page after it, never handed out (`dma-not-handed-out`);
 *  - no-markdirty: a READ into a fresh allocation (never written: clean) locked without
 *    PAGEMARKDIRTY (`dma-not-marked-dirty`);
 *  - cross-driver: a one-region table inside the page another driver was handed
 *    (`dma-not-handed-out`);
 *  - double-unlock / leak-lock: a correct, verified transfer, then one buffer page unlocked a
 *    second time / a page of its own locked and never unlocked.
 * A refused access ends the command with a memory error (BM_STATUS ERROR | INTERRUPT), so every
 * transfer, injected or not, ends with its interrupt. A DMA bug settles before and after (every
 * doorbell rung before is served), so every access it causes carries its own command numbers.
 */

import { ideBusmaster as IDE, PAGEMARKDIRTY, PG_SYS, type DeviceHandle } from '../../index.js';
import type { Prng } from '../../prng.js';
import { diffBytes, HeldLocks, KindError, PAGE, pagesSpanned, patternWindow, physOf, sameBytes } from './common.js';
import type { KindEnv, KindInstance, StressKind, TransferResult, TransferSpec } from './types.js';

const { REG, BM_COMMAND, BM_STATUS, ATA_COMMAND, DEVICE_BITS, PRD, SECTOR_SIZE } = IDE;

/** 28-bit READ/WRITE DMA take at most 256 sectors (a count of 0): the largest transfer either form can make. */
const MAX_SECTORS = 256;
const MAX_TRANSFER = MAX_SECTORS * SECTOR_SIZE;
/** A transfer at an offset inside its first page covers one page more than its length alone. */
const BUF_PAGES = MAX_TRANSFER / PAGE + 1;
/** The disk: 1 MiB, seeded at set-up. */
const DISK_SECTORS = 2048;
/** Regions in one table at most: a piece per page, each split in two at most. */
const MAX_REGIONS = 2 * BUF_PAGES;

export const ideBusmasterKind: StressKind = {
  name: 'ide-busmaster',
  maxInstances: 64,
  maxTransfer: MAX_TRANSFER,
  // The buffer + a fresh no-markdirty destination + the PRD table page.
  framesNeeded: 2 * BUF_PAGES + 1,
  injections: ['unlock-early', 'no-lock', 'stale-address', 'short-buffer', 'double-unlock', 'no-markdirty', 'cross-driver', 'leak-lock'],
  setUp: (env) => IdeDriver.create(env),
};

/** One PRD region: physical base and byte count (even, ≤ 4096: it never leaves its page). */
interface Region {
  base: number;
  len: number;
}

/** What one command asks of the drive. */
interface Command {
  readonly write: boolean;
  readonly ext: boolean;
  readonly lba: number;
  readonly sectors: number;
}

class IdeDriver implements KindInstance {
  private readonly scratch = new Uint32Array(BUF_PAGES);
  private readonly table = new Uint8Array(PRD.SIZE * MAX_REGIONS);
  private readonly tableView = new DataView(this.table.buffer);

  private constructor(
    private readonly env: KindEnv,
    readonly device: DeviceHandle,
    private readonly locks: HeldLocks,
    /** The disk image, shared with the device's worker. */
    private readonly image: Uint8Array,
    private readonly buf: number,
    private readonly prd: { readonly lin: number; readonly phys: number },
  ) {}

  static async create(env: KindEnv): Promise<IdeDriver> {
    const drv = env.driver;
    const alloc = (n: number): number => {
      const lin = drv.vmm.pageAllocate(n, PG_SYS, 0, 0, 0, 0, null, 0);
      if (lin === 0) throw new KindError(`_PageAllocate(${n}) failed: ${drv.vmm.lastError?.message ?? '?'}`);
      return lin;
    };
    const buf = alloc(BUF_PAGES);
    const prdLin = alloc(1);
    const locks = new HeldLocks(drv);
    // The bus master reads its PRD table by DMA on every command: locked and handed out for good.
    locks.lock(prdLin >>> 12, 1, 0);
    const prdPhys = physOf(drv, prdLin >>> 12, 1, new Uint32Array(1))[0]!;
    const sab = new SharedArrayBuffer(DISK_SECTORS * SECTOR_SIZE);
    const words = new Uint32Array(sab);
    for (let i = 0; i < words.length; i++) words[i] = env.rng.u32();
    const device = await env.attach('ide-busmaster', IDE.rings, { image: sab });
    return new IdeDriver(env, device, locks, new Uint8Array(sab), buf, { lin: prdLin, phys: prdPhys });
  }

  async transfer(spec: TransferSpec): Promise<TransferResult> {
    const inj = spec.injection;
    if (inj === null || inj === 'double-unlock' || inj === 'leak-lock') return this.buffered(spec);
    // A DMA bug's accesses must carry its own command numbers (see settle), before and after it.
    await this.settle();
    const r = await (inj === 'short-buffer' || inj === 'cross-driver' ? this.outside(spec) : this.buffered(spec));
    await this.settle();
    return r;
  }

  /**
   * Resolves once the device has served every doorbell rung so far: a control request (stats) is
   * answered by the device loop only between commands, after every doorbell rung before it. The
   * drive runs a command in the first doorbell's service that finds it and START both set, so the
   * doorbells rung after that one (and the stop) may still be waiting when the interrupt comes; if
   * the next transfer's command were written before they were served, one of them would run it,
   * under the previous transfer's command number.
   */
  private async settle(): Promise<void> {
    await this.env.control(() => this.device.stats());
  }

  /** A command whose sectors go through the driver's own buffer (every transfer but two injections). */
  private async buffered(spec: TransferSpec): Promise<TransferResult> {
    const { env, locks } = this;
    const { rng } = spec;
    const inj = spec.injection;
    const { vmm, cpu } = env.driver;
    const sectors = Math.min(MAX_SECTORS, Math.max(1, Math.ceil(spec.size / SECTOR_SIZE)));
    const bytes = sectors * SECTOR_SIZE;
    const cmd: Command = { write: inj !== 'no-markdirty' && rng.chance(0.5), ext: rng.chance(0.5), lba: rng.below(DISK_SECTORS - sectors + 1), sectors };
    // PRD bases must be even.
    const off = spec.aligned ? 0 : 2 * rng.below(PAGE / 2);
    const split = !spec.aligned && rng.chance(0.5);
    const n = pagesSpanned(off, bytes);
    const fresh = inj === 'no-markdirty' ? vmm.pageAllocate(n, PG_SYS, 0, 0, 0, 0, null, 0) : 0;
    if (inj === 'no-markdirty' && fresh === 0) throw new KindError(`_PageAllocate(${n}) failed: ${vmm.lastError?.message ?? '?'}`);
    const lin = fresh || this.buf;
    const page = lin >>> 12;
    const at = cmd.lba * SECTOR_SIZE;
    const sectorsOnDisk = this.image.subarray(at, at + bytes);
    // A WRITE: the CPU writes the pattern, the image's sectors get its complement first. A READ:
    // what must land is the image's sectors as they are now; memory gets their complement first.
    // Either way every byte the device does not move differs.
    const win = patternWindow(env.patterns, rng.below(env.patterns.span), bytes);
    const expected = cmd.write ? win.payload : sectorsOnDisk.slice();
    const fill = cmd.write ? win.payload : complement(expected);
    if (cmd.write) this.image.set(win.poison, at);
    let locked = false;

    const program = (): void => {
      let phys: number[];
      if (inj === 'no-lock') {
        // Touched in (present: the pager is paused), never locked.
        cpu.writeBytes(lin + off, fill);
        phys = physOf(env.driver, page, n, this.scratch);
      } else {
        locks.lock(page, n, cmd.write || inj === 'no-markdirty' ? 0 : PAGEMARKDIRTY);
        locked = true;
        phys = physOf(env.driver, page, n, this.scratch);
        // A fresh no-markdirty destination stays clean: no CPU write may dirty it.
        if (inj !== 'no-markdirty') cpu.writeBytes(lin + off, fill);
        if (inj === 'stale-address') {
          // The same frames (the pager is paused), a new tenure: the addresses kept are stale.
          locks.unlock(page, n);
          locks.lock(page, n, cmd.write ? 0 : PAGEMARKDIRTY);
        }
      }
      this.start(cmd, regionsOf(phys, off, bytes, split ? rng : null), rng, () => {
        if (inj !== 'unlock-early') return;
        locks.unlock(page, n);
        locked = false;
      });
    };
    if (inj === 'no-lock' || inj === 'stale-address') env.withPagerPaused(program);
    else program();

    const end = await this.finish();
    let lostBytes = 0;
    let detail: string | undefined;
    const verified = inj === null || inj === 'double-unlock' || inj === 'leak-lock';
    if (verified) {
      if (!end.ok) {
        lostBytes = bytes;
        detail = `${describe(cmd)}: the command failed; ${end.registers}`;
      } else {
        const got = cmd.write ? this.image.subarray(at, at + bytes) : cpu.readBytes(lin + off, bytes);
        if (!sameBytes(got, expected)) {
          const d = diffBytes(got, expected);
          lostBytes = d.count;
          detail = `${describe(cmd)}: ${d.count} of ${bytes} bytes differ ${cmd.write ? 'on the disk' : 'in memory'}, the first at +${d.first}; ${end.registers}`;
        }
      }
    }
    if (locked) locks.unlock(page, n);
    if (fresh) vmm.pageFree(fresh, 0);
    const result = { bytes, lostBytes, injected: inj !== null, ...(detail ? { detail } : {}) };
    if (inj === 'double-unlock') return { ...result, ddkError: vmm.linPageUnLock(page, 1, 0) === 0 ? (vmm.lastError?.code ?? 'failed') : null };
    if (inj === 'leak-lock') return { ...result, injected: env.leakLock() };
    return result;
  }

  /**
   * short-buffer: one region from inside the guard DMA page running past its end into the guard page
   * (the block is 8 KiB-aligned: one 64 KiB bank, as a region must be). cross-driver: one region
   * inside another driver's page. Either direction; the PRD table is the driver's own.
   */
  private async outside(spec: TransferSpec): Promise<TransferResult> {
    const { rng } = spec;
    const sectors = 1 + rng.below(PAGE / SECTOR_SIZE);
    const bytes = sectors * SECTOR_SIZE;
    const cmd: Command = { write: rng.chance(0.5), ext: rng.chance(0.5), lba: rng.below(DISK_SECTORS - sectors + 1), sectors };
    let base: number;
    if (spec.injection === 'short-buffer') {
      // `past` bytes land beyond the handed-out page; at least 2 stay inside it.
      const past = 2 * (1 + rng.below(bytes / 2 - 1));
      base = this.env.guard.phys + PAGE - bytes + past;
    } else {
      base = this.env.foreign + 2 * rng.below((PAGE - bytes) / 2 + 1);
    }
    this.start(cmd, [{ base, len: bytes }], rng, noop);
    await this.finish();
    return { bytes, lostBytes: 0, injected: true };
  }

  /**
   * Writes the PRD table (at a random 8-byte-aligned offset in its page) and runs the SFF-8038i
   * sequence up to START. `beforeStart` runs after the command is written, before START (where
   * unlock-early strikes: the drive holds the command, the engine has not moved a byte).
   */
  private start(cmd: Command, regions: readonly Region[], rng: Prng, beforeStart: () => void): void {
    if (regions.length > MAX_REGIONS) throw new KindError(`dmasim stress internal: ${regions.length} PRD regions`);
    const v = this.tableView;
    regions.forEach((r, i) => {
      v.setUint32(i * PRD.SIZE + PRD.BASE, r.base >>> 0, true);
      // A count of 4096 fits in bits 15:0 (only 64 KiB is written as 0).
      v.setUint32(i * PRD.SIZE + PRD.COUNT, (r.len | (i === regions.length - 1 ? PRD.EOT : 0)) >>> 0, true);
    });
    const size = regions.length * PRD.SIZE;
    const tableOff = 8 * rng.below((PAGE - size) / 8 + 1);
    this.env.driver.cpu.writeBytes(this.prd.lin + tableOff, this.table.subarray(0, size));

    const dev = this.device;
    const dir = cmd.write ? 0 : BM_COMMAND.READ_WRITE;
    dev.ackInterrupt();
    // INTERRUPT and ERROR are write-1-to-clear: writing back what was read clears them.
    dev.writeReg(REG.BM_STATUS, dev.readReg(REG.BM_STATUS));
    dev.writeReg(REG.BM_COMMAND, dir);
    dev.writeReg(REG.BM_PRDT, this.prd.phys + tableOff);
    // The task file: a 48-bit register holds the current byte in bits 7:0, the previous in 15:8.
    const byte = (k: number) => Math.floor(cmd.lba / 2 ** k) & 0xff;
    dev.writeReg(REG.SECTOR_COUNT, cmd.ext ? cmd.sectors & 0xffff : cmd.sectors & 0xff);
    dev.writeReg(REG.LBA_LOW, byte(0) | (cmd.ext ? byte(24) << 8 : 0));
    dev.writeReg(REG.LBA_MID, byte(8) | (cmd.ext ? byte(32) << 8 : 0));
    dev.writeReg(REG.LBA_HIGH, byte(16) | (cmd.ext ? byte(40) << 8 : 0));
    dev.writeReg(REG.DEVICE, DEVICE_BITS.LBA | (cmd.ext ? 0 : byte(24) & DEVICE_BITS.LBA_27_24));
    dev.writeReg(REG.COMMAND, cmd.write ? (cmd.ext ? ATA_COMMAND.WRITE_DMA_EXT : ATA_COMMAND.WRITE_DMA) : cmd.ext ? ATA_COMMAND.READ_DMA_EXT : ATA_COMMAND.READ_DMA);
    beforeStart();
    dev.writeReg(REG.BM_COMMAND, dir | BM_COMMAND.START);
  }

  /** Waits for the command's interrupt, stops the engine (START = 0), and reads how it ended. */
  private async finish(): Promise<{ ok: boolean; registers: string }> {
    const dev = this.device;
    await this.env.wait(() => dev.waitForInterrupt({ timeoutMs: this.env.timeoutMs }));
    dev.ackInterrupt();
    const bm = dev.readReg(REG.BM_STATUS);
    const status = dev.readReg(REG.STATUS);
    const diag = dev.readReg(REG.DIAG);
    dev.writeReg(REG.BM_COMMAND, dev.readReg(REG.BM_COMMAND) & ~BM_COMMAND.START);
    // The table covers the transfer exactly and ends at EOT: INTERRUPT alone, DRDY alone (SFF-8038i).
    const ok = bm === BM_STATUS.INTERRUPT && status === IDE.STATUS.DRDY && diag === IDE.DIAG.NONE;
    return { ok, registers: `BM_STATUS ${hex(bm)} STATUS ${hex(status)} ERROR ${hex(dev.readReg(REG.ERROR))} DIAG ${diag}` };
  }

  async tearDown(): Promise<void> {
    const vmm = this.env.driver.vmm;
    this.locks.releaseAll();
    vmm.pageFree(this.buf, 0);
    vmm.pageFree(this.prd.lin, 0);
    await this.device.detach();
  }
}

const noop = (): void => undefined;
const hex = (n: number) => `0x${n.toString(16)}`;

function describe(c: Command): string {
  return `${c.write ? 'WRITE' : 'READ'} DMA${c.ext ? ' EXT' : ''} of ${c.sectors} sectors at LBA ${c.lba}`;
}

/** The complement of every byte (the poison of a READ's destination). */
function complement(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = ~b[i]! & 0xff;
  return out;
}

/**
 * The PRD regions of `bytes` bytes starting `off` bytes into pages at `phys`: one per page piece
 * (physically contiguous only within a page, so a region never crosses 64 KiB), and with `rng`
 * some pieces split once more at an even point (more entries, the same bytes).
 */
function regionsOf(phys: readonly number[], off: number, bytes: number, rng: Prng | null): Region[] {
  const out: Region[] = [];
  for (let i = 0; i < bytes; ) {
    const at = off + i;
    const len = Math.min(bytes - i, PAGE - (at % PAGE));
    const base = phys[Math.floor(at / PAGE)]! + (at % PAGE);
    if (rng && len >= 4 && rng.chance(0.3)) {
      const first = 2 * (1 + rng.below(len / 2 - 1));
      out.push({ base, len: first }, { base: base + first, len: len - first });
    } else out.push({ base, len });
    i += len;
  }
  return out;
}
