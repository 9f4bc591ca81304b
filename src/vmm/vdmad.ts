/**
 * VDMAD's DMA-region services (spec §5.5) on a driver context: lock a region for a system (8237)
 * DMA transfer and unlock it, marking it dirty or not; scatter-lock a region for bus-master DMA into
 * an EDDS (§5.2) that the driver keeps in simulated memory, and scatter-unlock it.
 *
 * DDK-faithful in the way the VMM services are (services.ts). The services are register based: each
 * function returns what says success or failure — 0 for carry clear, else the error code VDMAD puts
 * in AL; Scatter_Lock's three outcomes as SCATTER_LOCK.ALL / PARTIAL / NONE — and writes the other
 * output registers into an optional trailing Uint32Array. Every service validates all of its input
 * and decides its outcome from the page tables as they are before it changes anything, then acts
 * through core mechanisms that cannot fail half-way: a failure returns its DDK value, leaves
 * `lastError` as a typed record and changes nothing at all — the simulator's fingerprint (lock
 * counts, epochs, residency, accessed bits, the pager's RNG) included. VDMAD itself has no
 * lastError; like the VMM's, it is the simulator's way of saying why.
 *
 * The physical addresses a service returns (Lock_DMA_Region's EDX, Scatter_Lock's table) are
 * hand-outs of the calling driver context, recorded the way _CopyPageTable records them (Vmm.handout),
 * so a device bound to that driver may DMA to them while the lock lasts, and a report's hand-out stack
 * names the driver's call.
 *
 * Dirty pages: a device's writes never set P_DIRTY, so VDMAD touches every page when it unlocks
 * (Unlock_DMA_Region, Scatter_Unlock without DMA_SL_Dont_Dirty) and the memory manager sees the
 * device's data. Until then the pages are locked and cannot be paged out, so nothing is lost: the
 * locks VDMAD takes carry the frame's MARKDIRTY mark (MemoryCore.dirtiedAtUnlock) and a device may
 * write into them without a 'dma-not-marked-dirty' report. The PTEs stay clean until the unlock, so
 * the `_No_Dirty` / DMA_SL_Dont_Dirty unlocks leave them clean — and a device that wrote into a
 * region its driver then unlocks that way is a loss the simulator cannot see at the access.
 */

import { PAGEMASK, PAGESIZE, frameBase, hex, isUlong, linAddr, nthPage, pageOf, type Frame, type LinPage } from '../address.js';
import * as D from '../ddk.js';
import { PS, type MemoryCore } from './core.js';
import { SYS_VM_HANDLE, type Vmm } from './services.js';

/** What VDMAD_Scatter_Lock returns: the carry and zero flags it leaves (§5.5). */
export const SCATTER_LOCK = {
  /** Carry clear, ZF set: the whole region is locked and described in the EDDS table. */
  ALL: 0,
  /** Carry clear, ZF clear: only a prefix is (DDS_size = the bytes locked, DDS_used = entries filled). */
  PARTIAL: 1,
  /** Carry set: nothing locked, the EDDS left as it was. */
  NONE: 2,
} as const;

export type VdmadService = 'VDMAD_Lock_DMA_Region' | 'VDMAD_Unlock_DMA_Region' | 'VDMAD_Unlock_DMA_Region_No_Dirty' | 'VDMAD_Scatter_Lock' | 'VDMAD_Scatter_Unlock';

/** Stable kebab-case failure codes of the VDMAD services (the DDK value they return is separate). */
export type VdmadErrorCode =
  /** An argument is not an unsigned 32-bit integer, or an output is not a Uint32Array. */
  | 'invalid-argument'
  /** The output Uint32Array has fewer than 2 entries (EDX, ECX / ESI). */
  | 'buffer-too-small'
  /** Lock_DMA_Region's DL is not 0, 1 or 2. */
  | 'invalid-boundary'
  | 'zero-size'
  /** The region runs past 4 GiB. */
  | 'invalid-range'
  /** A page of the region (or of the EDDS) is free or reserved, not committed. */
  | 'not-committed'
  /** A page is a PAGEMAPGLOBAL alias that no longer maps its original (services.ts, core.aliasValid). */
  | 'stale-alias'
  | 'not-contiguous'
  /** The region crosses the 64 KiB / 128 KiB physical boundary DL forbids. */
  | 'crosses-boundary'
  | 'insufficient-memory'
  /** A page to unlock has lock count 0. */
  | 'not-locked'
  /** EBX is not the System VM's handle. */
  | 'invalid-vm'
  | 'reserved-flags'
  /** DMA_SL_Allow_NPs without DMA_SL_Get_PgTable. */
  | 'invalid-flags'
  /** The EDDS header or its DDS_avail-entry table is not all in committed memory, or wraps past 4 GiB. */
  | 'invalid-edds'
  /** DDS_seg is not 0: selectors are not modelled, only flat linear addresses. */
  | 'invalid-selector'
  /** DDS_avail is 0 (nothing fits), or Scatter_Unlock's table is shorter than the region. */
  | 'table-too-small';

export interface VdmadError {
  readonly service: VdmadService;
  readonly code: VdmadErrorCode;
  readonly message: string;
  /** Code-specific fields (the offending argument, page, the bytes that could be locked …). */
  readonly [field: string]: unknown;
}

export interface VdmadServices {
  /** The most recent failure of a VDMAD service called on this context, or null after a success. */
  readonly lastError: VdmadError | null;
  /**
   * VDMAD_Lock_DMA_Region: ESI = `linear`, ECX = `size`, DL = `boundary` (0 none, 1 must not cross a
   * 64 KiB physical boundary, 2 nor a 128 KiB one). Returns 0 (carry clear; every page's lock count
   * raised by one) or DMA_Not_Contiguous / DMA_Not_Aligned / DMA_Lock_Failed, with nothing locked.
   * `out[0]` = EDX, the physical address of the first byte (0 on failure); `out[1]` = ECX: on
   * failure the bytes from `linear` that could have been locked, on success `size`.
   */
  lockDMARegion(linear: number, size: number, boundary: number, out?: Uint32Array): number;
  /** VDMAD_Unlock_DMA_Region: marks every page dirty, then unlocks it. 0, or DMA_Invalid_Region / DMA_Region_Not_Locked with nothing changed. */
  unlockDMARegion(linear: number, size: number): number;
  /** VDMAD_Unlock_DMA_Region_No_Dirty: unlocks without marking dirty (memory → device transfers). Returns as unlockDMARegion. */
  unlockDMARegionNoDirty(linear: number, size: number): number;
  /**
   * VDMAD_Scatter_Lock: EBX = `vm` (the System VM), AL = `flags` (0 region list; DMA_SL_Get_PgTable,
   * optionally with DMA_SL_Allow_NPs), EDI = `edds`, the linear address of an EDDS whose DDS_size,
   * DDS_linear, DDS_seg (0) and DDS_avail the caller filled. Returns SCATTER_LOCK.ALL, PARTIAL or
   * NONE; on ALL and PARTIAL writes DDS_size (bytes locked), DDS_used (entries filled) and the table.
   * `out[0]` = EDX, the entries the whole region needs; `out[1]` = ESI, the region's offset in its
   * first page (also on NONE, when the EDDS describes a region; else 0).
   */
  scatterLock(vm: number, flags: number, edds: number, out?: Uint32Array): number;
  /**
   * VDMAD_Scatter_Unlock: the same `vm`, `flags` (plus DMA_SL_Dont_Dirty) and EDDS. Unlocks the pages
   * of DDS_linear / DDS_size — skipping the table's holes when DMA_SL_Get_PgTable | DMA_SL_Allow_NPs —
   * marking them dirty first unless DMA_SL_Dont_Dirty. 0, or DMA_Invalid_Region /
   * DMA_Region_Not_Locked / DMA_NonZero_Reserved_Flags with nothing changed.
   */
  scatterUnlock(vm: number, flags: number, edds: number): number;
}

/** Internal: a refusal, turned into lastError + the DDK value `value` at the boundary. */
class Refusal {
  constructor(
    readonly value: number,
    readonly code: VdmadErrorCode,
    readonly message: string,
    readonly fields: Record<string, unknown>,
  ) {}
}

function refuse(value: number, code: VdmadErrorCode, message: string, fields: Record<string, unknown> = {}): never {
  throw new Refusal(value, code, message, fields);
}

function ulong(value: number, name: string, v: unknown): number {
  if (!isUlong(v)) refuse(value, 'invalid-argument', `${name} must be an unsigned 32-bit integer, got ${String(v)}`, { argument: name, value: v });
  return v;
}

/** The optional output registers: a Uint32Array of at least 2 entries, or nothing. */
function registers(value: number, v: unknown): Uint32Array | undefined {
  if (v === undefined) return undefined;
  if (!(v instanceof Uint32Array)) refuse(value, 'invalid-argument', 'out must be a Uint32Array', { argument: 'out' });
  if (v.length < 2) refuse(value, 'buffer-too-small', `out holds ${v.length} entries, 2 needed`, { argument: 'out', length: v.length, needed: 2 });
  return v;
}

/** Writes the output registers of a failed call, if the caller passed a usable array. */
function failureRegisters(out: unknown, edx: number, second: number): void {
  if (out instanceof Uint32Array && out.length >= 2) {
    out[0] = edx;
    out[1] = second;
  }
}

/**
 * AL of Scatter_Lock / Scatter_Unlock: only the DMA_SL_* bits the service knows; Allow_NPs has a
 * meaning only with Get_PgTable (§6.2 item 23) and is refused alone rather than guessed at.
 */
function slFlags(reservedValue: number, comboValue: number, v: unknown, allowed: number): number {
  const fl = ulong(reservedValue, 'flags', v);
  const extra = (fl & ~allowed) >>> 0;
  if (extra !== 0) refuse(reservedValue, 'reserved-flags', `flags has reserved or unsupported bits ${hex(extra, 2)}`, { argument: 'flags', value: fl, reserved: extra });
  if (fl & D.DMA_SL_Allow_NPs && !(fl & D.DMA_SL_Get_PgTable)) refuse(comboValue, 'invalid-flags', 'DMA_SL_Allow_NPs needs DMA_SL_Get_PgTable', { flags: fl });
  return fl;
}

/** A byte range of the linear space as VDMAD walks it, page by page. */
interface Region {
  readonly linear: number;
  readonly size: number;
  readonly first: LinPage;
  readonly pages: number;
  /** Offset of the first byte in the first page. */
  readonly offset: number;
}

/**
 * The region of `size` bytes at `linear`. Size 0 and a range wrapping past 4 GiB describe no pages:
 * Win95's VDMAD locks nothing for them (§5.5 Scatter_Lock), and Lock_DMA_Region is built on it.
 */
function region(value: number, linear: number, size: number): Region {
  if (size === 0) refuse(value, 'zero-size', 'the region is 0 bytes long', { linear, lockable: 0 });
  if (linear + size > 0x100000000) refuse(value, 'invalid-range', `${hex(linear)} + ${size} bytes runs past 4 GiB`, { linear, size, lockable: 0 });
  const offset = linear & PAGEMASK;
  return { linear, size, first: pageOf(linAddr(linear)), pages: (offset + size + PAGEMASK) >>> 12, offset };
}

/** The region's bytes before its page `i`: what a failure at page i leaves lockable (ECX). */
function bytesBefore(r: Region, i: number): number {
  return i === 0 ? 0 : Math.min(r.size, i * PAGESIZE - r.offset);
}

/** The region's bytes in its page `i`. */
function bytesIn(r: Region, i: number): number {
  return Math.min(r.size, (i + 1) * PAGESIZE - r.offset) - bytesBefore(r, i);
}

/** An EDDS header's inputs (§5.2). */
interface EddsHeader {
  readonly at: number;
  readonly size: number;
  readonly linear: number;
  readonly avail: number;
}

export class Vdmad implements VdmadServices {
  lastError: VdmadError | null = null;

  constructor(
    protected readonly core: MemoryCore,
    /** The same context's VMM facade: VDMAD's hand-outs are recorded through it. */
    protected readonly vmm: Vmm,
    /** Driver context index. */
    protected readonly ctx: number,
  ) {}

  /**
   * Runs a service as Vmm.run does: clears lastError; one call site (one stack) for every page the
   * call touches; a pager step after a success only; a refusal becomes lastError, `onFailure`
   * writes the output registers, and its DDK value is returned.
   */
  private run(service: VdmadService, body: () => number, onFailure?: (r: Refusal) => void): number {
    this.lastError = null;
    const history = this.core.history;
    history.beginCall();
    try {
      const v = body();
      this.core.tick();
      return v >>> 0;
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      this.lastError = Object.freeze({ ...e.fields, service, code: e.code, message: `${service}: ${e.message}` });
      onFailure?.(e);
      return e.value;
    } finally {
      history.endCall();
    }
  }

  // ——— VDMAD_Lock_DMA_Region / VDMAD_Unlock_DMA_Region(_No_Dirty) ———

  lockDMARegion(linear: number, size: number, boundary: number, out?: Uint32Array): number {
    const service = 'VDMAD_Lock_DMA_Region';
    // Only the three documented codes come back (§5.3); anything that keeps the pages from being
    // locked — bad arguments included — is DMA_Lock_Failed, and lastError says which.
    const FAILED = D.DMA_Lock_Failed;
    return this.run(
      service,
      () => {
        const regs = registers(FAILED, out);
        const lin = ulong(FAILED, 'linear', linear);
        const n = ulong(FAILED, 'size', size);
        if (!isUlong(boundary) || boundary > 2) refuse(FAILED, 'invalid-boundary', `boundary (DL) must be 0, 1 (64 KiB) or 2 (128 KiB), got ${String(boundary)}`, { argument: 'boundary', value: boundary, lockable: 0 });
        // The 8237 page register does not carry: a transfer must stay in one 64 KiB bank (channels
        // 0–3) or 128 KiB bank (5–7), §5.4 rule 2. The hardware rule, on the real bank bits (as the
        // 3.1 VDMAD checks them) — not Win95's 16-bit test that lets some 128 KiB crossings by
        // (§6.2 item 19).
        const bankFrames = boundary === 0 ? 0 : boundary === 1 ? 0x10000 / PAGESIZE : 0x20000 / PAGESIZE;
        const r = region(FAILED, lin, n);
        const core = this.core;
        // Decided from the page tables before anything is locked, as the 3.1 VDMAD does (it copies
        // the PTEs first [S]): a failure must change nothing, and locking pages that are present
        // does not move them, so once this walk passes the lock cannot fail half-way. Pages are
        // checked in address order; the first that fails names the error, and ECX is the prefix
        // before it — the bytes that could be locked as one contiguous, non-crossing piece.
        let prev: Frame | -1 = -1;
        for (let i = 0; i < r.pages; i++) {
          const page = nthPage(r.first, i);
          const lockable = bytesBefore(r, i);
          const why = this.lockRefusal(page);
          if (why) refuse(FAILED, why, `page ${hex(page, 5)} of the region cannot be locked (${why})`, { page, lockable });
          const f = this.knownFrame(page);
          if (i > 0) {
            // A page that is not present has no frame until it is paged in, and a page-in lands
            // wherever the allocator says: nothing shows the region contiguous without paging it
            // in, and a failed call may not page anything in. So a not-present page (or one after
            // a not-present first page) ends the contiguous prefix. A one-page region is always
            // contiguous: that one is paged in (below) when it must be.
            if (f === -1 || prev === -1 || f !== prev + 1) {
              refuse(D.DMA_Not_Contiguous, 'not-contiguous', `page ${hex(page, 5)} ${f === -1 || prev === -1 ? 'is not present (or follows one that is not): its frame is unknown' : `maps frame ${hex(f, 5)}, not ${hex(prev + 1, 5)}`}`, { page, lockable });
            }
            if (bankFrames !== 0 && f % bankFrames === 0) {
              refuse(D.DMA_Not_Aligned, 'crosses-boundary', `the region crosses the ${bankFrames * 4} KiB physical boundary at ${hex(frameBase(f))}`, { page, lockable, boundary: bankFrames * PAGESIZE, at: frameBase(f) });
            }
          }
          prev = f;
        }
        // Only a one-page region can be not present here; paging it in takes a frame.
        if (!core.isPresent(r.first) && core.obtainableFrames < 1) refuse(FAILED, 'insufficient-memory', 'no frame can be had to page the region in', { page: r.first, lockable: 0 });
        // — decided: act —
        for (let i = 0; i < r.pages; i++) this.lock(nthPage(r.first, i), service);
        if (regs) {
          // Hand-outs only when the address is returned to the driver, as _PageAllocate's PhysAddr.
          // The driver programs EDX and a length, so every frame of the region is handed out.
          for (let i = 0; i < r.pages; i++) {
            const page = nthPage(r.first, i);
            this.vmm.handout(core.frameOfPage(page), page, service);
          }
          regs[0] = frameBase(core.frameOfPage(r.first)) + r.offset;
          // ECX is "used" on success; we leave the bytes locked there, all of them.
          regs[1] = n;
        }
        return 0;
      },
      (f) => failureRegisters(out, 0, typeof f.fields['lockable'] === 'number' ? f.fields['lockable'] : 0),
    );
  }

  unlockDMARegion(linear: number, size: number): number {
    return this.unlockRegion('VDMAD_Unlock_DMA_Region', linear, size, true);
  }

  unlockDMARegionNoDirty(linear: number, size: number): number {
    return this.unlockRegion('VDMAD_Unlock_DMA_Region_No_Dirty', linear, size, false);
  }

  /**
   * The DDK documents only carry for these (§5.5); the code returned is from the VDS list (§5.3):
   * DMA_Invalid_Region for arguments that describe no region VDMAD could have locked (bad values,
   * size 0, a range past 4 GiB, pages not committed), DMA_Region_Not_Locked for a page whose lock
   * count is 0 — as _LinPageUnLock refuses it (README: unlocking at 0 is an error).
   */
  private unlockRegion(service: VdmadService, linear: number, size: number, dirty: boolean): number {
    const INVALID = D.DMA_Invalid_Region;
    return this.run(service, () => {
      const r = region(INVALID, ulong(INVALID, 'linear', linear), ulong(INVALID, 'size', size));
      const pages: LinPage[] = [];
      for (let i = 0; i < r.pages; i++) pages.push(nthPage(r.first, i));
      this.requireUnlockable(pages);
      this.release(pages, dirty, service);
      return 0;
    });
  }

  // ——— VDMAD_Scatter_Lock / VDMAD_Scatter_Unlock ———

  scatterLock(vm: number, flags: number, edds: number, out?: Uint32Array): number {
    const service = 'VDMAD_Scatter_Lock';
    const NONE = SCATTER_LOCK.NONE;
    // EDX and ESI of a failure: the entries the region needs and its offset, once the EDDS is known
    // to describe one (a caller may size its table from a call with DDS_avail = 0).
    let failEdx = 0;
    let failEsi = 0;
    return this.run(
      service,
      () => {
        const core = this.core;
        const regs = registers(NONE, out);
        if (ulong(NONE, 'vm', vm) !== SYS_VM_HANDLE) refuse(NONE, 'invalid-vm', `vm ${hex(vm)} is not a VM handle (the System VM is ${hex(SYS_VM_HANDLE)})`, { value: vm });
        const fl = slFlags(NONE, NONE, flags, D.DMA_SL_Get_PgTable | D.DMA_SL_Allow_NPs);
        const pteList = (fl & D.DMA_SL_Get_PgTable) !== 0;
        const holes = (fl & D.DMA_SL_Allow_NPs) !== 0;
        const entrySize = pteList ? 4 : 8;
        const hdr = this.readHeader(NONE, ulong(NONE, 'edds', edds));
        const table = hdr.at + D.EDDS.table;
        // The table the caller says it provided (DDS_avail "in: number of table entries the caller
        // provided", §5.2) must all be there: checked whole, before anything is locked, rather than
        // entry by entry as VDMAD writes them — an overstated DDS_avail is a bad EDDS.
        if (!this.guestReadable(table, hdr.avail * entrySize)) {
          refuse(NONE, 'invalid-edds', `the EDDS table (${hdr.avail} entries of ${entrySize} bytes at ${hex(table)}) is not all in committed memory`, { edds: hdr.at, avail: hdr.avail });
        }
        const r = region(NONE, hdr.linear, hdr.size);
        failEdx = this.entriesNeeded(r, pteList, []);
        failEsi = r.offset;
        if (hdr.avail === 0) refuse(NONE, 'table-too-small', `DDS_avail is 0: not one entry fits (the region needs ${failEdx})`, { avail: 0, needed: failEdx });
        // Writing the results pages the EDDS in if it is out; keep a frame for that. One suffices:
        // a page-in turns one obtainable frame into a pageable page, which is obtainable again.
        const reserve = this.guestDemandPaged(hdr.at, D.EDDS.table + Math.min(hdr.avail, r.pages) * entrySize) ? 1 : 0;
        // The only way to lock nothing once the EDDS is good: the first page cannot be described.
        if (!(holes && this.isHole(r.first))) {
          const why = this.lockRefusal(r.first);
          if (why) refuse(NONE, why, `the region's first page ${hex(r.first, 5)} cannot be locked (${why})`, { page: r.first, needed: failEdx });
          if (core.obtainableFrames - this.lockCost(r.first) < reserve) refuse(NONE, 'insufficient-memory', 'no frame can be had to lock the first page', { page: r.first, needed: failEdx });
        }
        // — decided: the first page will be described; lock page by page, as VDMAD does with
        // _LinPageLock(page, 1, 0) and _CopyPageTable(page, 1) [S], until the region, the table, the
        // committed pages or the frames run out —
        const entries: number[] = [];
        const frames: (Frame | -1)[] = [];
        let used = 0;
        let last: Frame | -1 = -1;
        for (let i = 0; i < r.pages; i++) {
          const page = nthPage(r.first, i);
          if (holes && this.isHole(page)) {
            // A not-present page left out: entry 0, nothing locked, nothing paged in.
            if (used === hdr.avail) break;
            entries.push(0);
            used++;
            frames.push(-1);
            last = -1;
            continue;
          }
          // An uncommitted page ends the lock where _LinPageLock(page, 1, 0) would fail: a prefix.
          if (this.lockRefusal(page) !== null) break;
          if (core.obtainableFrames - this.lockCost(page) < reserve) break;
          if (used === hdr.avail) {
            // The table is full: only a page that extends the last region still fits. VDMAD locks
            // the page, looks, and unlocks it again if not [S]; we look first, so a full table never
            // locks (or pages in) a page it cannot describe — a not-present page's frame is unknown
            // until it is paged in, so it never fits a full table.
            if (pteList) break;
            const f = this.knownFrame(page);
            if (f === -1 || last === -1 || f !== last + 1) break;
          }
          const f = this.lock(page, service);
          this.vmm.handout(f, page, service);
          if (pteList) {
            entries.push((frameBase(f) | D.P_PRES) >>> 0);
            used++;
          } else if (last !== -1 && f === last + 1) {
            entries[entries.length - 1]! += bytesIn(r, i);
          } else {
            // The first entry's address includes the region's offset in its page (§5.2).
            entries.push(frameBase(f) + (i === 0 ? r.offset : 0), bytesIn(r, i));
            used++;
          }
          frames.push(f);
          last = f;
        }
        const described = frames.length;
        const bytes = Math.min(r.size, described * PAGESIZE - r.offset);
        // Results into the EDDS, as ring-0 writes: DDS_size out = the bytes locked (holes included:
        // the table describes them), DDS_used = the entries filled, then the table.
        this.guestWrite(hdr.at + D.EDDS.DDS_size, dwords([bytes]));
        this.guestWrite(hdr.at + D.EDDS.DDS_used, Uint8Array.of(used & 0xff, used >>> 8));
        this.guestWrite(table, dwords(entries));
        if (regs) {
          regs[0] = this.entriesNeeded(r, pteList, frames);
          regs[1] = r.offset;
        }
        return described === r.pages ? SCATTER_LOCK.ALL : SCATTER_LOCK.PARTIAL;
      },
      () => failureRegisters(out, failEdx, failEsi),
    );
  }

  scatterUnlock(vm: number, flags: number, edds: number): number {
    const service = 'VDMAD_Scatter_Unlock';
    const INVALID = D.DMA_Invalid_Region;
    // Carry only in the DDK (§5.5); the codes as for Unlock_DMA_Region, and reserved flag bits are
    // the VDS list's DMA_NonZero_Reserved_Flags.
    return this.run(service, () => {
      if (ulong(INVALID, 'vm', vm) !== SYS_VM_HANDLE) refuse(INVALID, 'invalid-vm', `vm ${hex(vm)} is not a VM handle (the System VM is ${hex(SYS_VM_HANDLE)})`, { value: vm });
      const fl = slFlags(D.DMA_NonZero_Reserved_Flags, D.DMA_NonZero_Reserved_Flags, flags, D.DMA_SL_Get_PgTable | D.DMA_SL_Allow_NPs | D.DMA_SL_Dont_Dirty);
      const hdr = this.readHeader(INVALID, ulong(INVALID, 'edds', edds));
      // The page range is recomputed from DDS_linear and DDS_size (Scatter_Lock's bytes locked).
      const r = region(INVALID, hdr.linear, hdr.size);
      // Only with holes allowed does the table matter (§5.5): a 0 entry was never locked.
      const skipHoles = (fl & (D.DMA_SL_Get_PgTable | D.DMA_SL_Allow_NPs)) === (D.DMA_SL_Get_PgTable | D.DMA_SL_Allow_NPs);
      let table: DataView | null = null;
      if (skipHoles) {
        if (hdr.avail < r.pages) refuse(INVALID, 'table-too-small', `DDS_avail (${hdr.avail}) is less than the region's ${r.pages} pages`, { avail: hdr.avail, needed: r.pages });
        const at = hdr.at + D.EDDS.table;
        if (!this.guestReadable(at, r.pages * 4)) refuse(INVALID, 'invalid-edds', `the EDDS table at ${hex(at)} is not all in committed memory`, { edds: hdr.at });
        const b = this.guestRead(at, r.pages * 4);
        table = new DataView(b.buffer, b.byteOffset, b.byteLength);
      }
      const pages: LinPage[] = [];
      for (let i = 0; i < r.pages; i++) {
        if (table && (table.getUint32(i * 4, true) & D.P_PRES) === 0) continue;
        pages.push(nthPage(r.first, i));
      }
      this.requireUnlockable(pages);
      this.release(pages, (fl & D.DMA_SL_Dont_Dirty) === 0, service);
      return 0;
    });
  }

  // ——— pages ———

  /** Why `page` cannot be locked (or be part of a described region), or null if it can. */
  private lockRefusal(page: LinPage): 'not-committed' | 'stale-alias' | null {
    const core = this.core;
    if (core.pageState(page) !== PS.COMMITTED) return 'not-committed';
    // A dead alias maps a frame no longer its original's: _CopyPageTable shows it not present.
    if (core.isAliasPage(page) && !core.aliasValid(page)) return 'stale-alias';
    return null;
  }

  /** The frame `page` maps now if it is committed, present and alive; -1 if its frame is not known. */
  private knownFrame(page: LinPage): Frame | -1 {
    return this.lockRefusal(page) === null && this.core.isPresent(page) ? this.core.frameOfPage(page) : -1;
  }

  /** A committed page that is not present: what DMA_SL_Allow_NPs leaves as a hole. */
  private isHole(page: LinPage): boolean {
    return this.lockRefusal(page) === null && !this.core.isPresent(page);
  }

  /**
   * What locking `page` takes from the frames obtainable (free + pageable): 1 for a demand-paged page
   * not locked yet — paged in, or taken off the pager's list — else 0.
   */
  private lockCost(page: LinPage): number {
    return this.core.isDemandPaged(page) && !this.core.isLocked(page) ? 1 : 0;
  }

  /** Locks a page (checked lockable, frames pre-checked) for a VDMAD unlock to dirty; its frame. */
  private lock(page: LinPage, service: VdmadService): Frame {
    this.core.lockPage(page, this.ctx, false, service);
    this.core.dirtiedAtUnlock(page);
    return this.core.frameOfPage(page);
  }

  private requireUnlockable(pages: readonly LinPage[]): void {
    for (const page of pages) {
      const why = this.lockRefusal(page);
      if (why) refuse(D.DMA_Invalid_Region, why, `page ${hex(page, 5)} of the region is not lockable memory (${why})`, { page });
    }
    for (const page of pages) {
      if (!this.core.isUnlockable(page)) refuse(D.DMA_Region_Not_Locked, 'not-locked', `page ${hex(page, 5)} is not locked (its lock count is 0)`, { page });
    }
  }

  /**
   * Unlocks checked pages. VDMAD touches every page first (a read and a write back [S]) unless told
   * not to, so that the memory manager sees what the device wrote: DMA never sets P_DIRTY.
   */
  private release(pages: readonly LinPage[], dirty: boolean, service: VdmadService): void {
    if (dirty) for (const page of pages) this.core.cpuWrote(page);
    for (const page of pages) this.core.unlockPage(page, this.ctx, false, service);
  }

  /**
   * EDX: the entries the whole region needs. A PTE list needs one per page. A region list needs one
   * per physically contiguous run: `frames` are the frames of the pages just described; the rest are
   * read from the page tables as they are, and a page that is not present (its frame unknown until
   * it is paged in) counts as a run of its own — an upper bound, which is what sizing a table needs.
   */
  private entriesNeeded(r: Region, pteList: boolean, frames: readonly (Frame | -1)[]): number {
    if (pteList) return r.pages;
    let n = 0;
    let prev: Frame | -1 = -1;
    for (let i = 0; i < r.pages; i++) {
      const f = i < frames.length ? frames[i]! : this.knownFrame(nthPage(r.first, i));
      if (f === -1 || prev === -1 || f !== prev + 1) n++;
      prev = f;
    }
    return n;
  }

  // ——— the EDDS in guest memory ———

  /**
   * Reads an EDDS header at `at`. The EDDS is the driver's memory, hostile input: its pages must be
   * committed; it is read without side effects (core.peekBytes), so a refused call leaves even the
   * accessed bits alone.
   */
  private readHeader(value: number, at: number): EddsHeader {
    if (!this.guestReadable(at, D.EDDS.table)) refuse(value, 'invalid-edds', `the EDDS header at ${hex(at)} is not in committed memory`, { edds: at });
    const b = this.guestRead(at, D.EDDS.table);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const seg = dv.getUint16(D.EDDS.DDS_seg, true);
    // §5.2: with DDS_seg ≠ 0 VDMAD converts the selector (_SelectorMapFlat); there are no
    // selectors here, and a bad selector locks nothing (§5.5).
    if (seg !== 0) refuse(value, 'invalid-selector', `DDS_seg is ${hex(seg, 4)}: selectors are not modelled, DDS_linear must be a flat address with DDS_seg = 0`, { edds: at, seg });
    return { at, size: dv.getUint32(D.EDDS.DDS_size, true), linear: dv.getUint32(D.EDDS.DDS_linear, true), avail: dv.getUint16(D.EDDS.DDS_avail, true) };
  }

  /** Every page of [lin, lin + len) is committed memory (a dead alias is not), without wrapping. */
  private guestReadable(lin: number, len: number): boolean {
    if (len === 0) return true;
    if (lin + len > 0x100000000) return false;
    const last = pageOf(linAddr(lin + len - 1));
    for (let p = pageOf(linAddr(lin)); p <= last; p = nthPage(p, 1)) {
      if (this.lockRefusal(p) !== null) return false;
      if (p === last) break;
    }
    return true;
  }

  /** Some page of [lin, lin + len) is demand-paged (a write there may have to page it in). */
  private guestDemandPaged(lin: number, len: number): boolean {
    const last = pageOf(linAddr(lin + len - 1));
    for (let p = pageOf(linAddr(lin)); p <= last; p = nthPage(p, 1)) {
      if (this.core.isDemandPaged(p)) return true;
      if (p === last) break;
    }
    return false;
  }

  /** The bytes of a readable range, changing nothing. */
  private guestRead(lin: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let off = 0; off < len; ) {
      const a = lin + off;
      const n = Math.min(PAGESIZE - (a & PAGEMASK), len - off);
      out.set(this.core.peekBytes(pageOf(linAddr(a)), a & PAGEMASK, n), off);
      off += n;
    }
    return out;
  }

  /**
   * Writes into a readable range as ring-0 code does: a page that is not present is paged in first,
   * and the write sets P_DIRTY and P_ACC. The caller kept a frame for the page-ins (see scatterLock).
   */
  private guestWrite(lin: number, bytes: Uint8Array): void {
    const core = this.core;
    const ram = core.shared.ram;
    for (let off = 0; off < bytes.length; ) {
      const a = lin + off;
      const page = pageOf(linAddr(a));
      const n = Math.min(PAGESIZE - (a & PAGEMASK), bytes.length - off);
      if (!core.isPresent(page) && !core.pageIn(page)) throw new Error('dmasim internal: no frame to write the EDDS (the reserve was not kept)');
      core.contentWritten(core.frameOfPage(page));
      ram.set(bytes.subarray(off, off + n), frameBase(core.frameOfPage(page)) + (a & PAGEMASK));
      core.cpuWrote(page);
      off += n;
    }
  }
}

/** Little-endian DWORDs, as the EDDS holds them. */
function dwords(values: readonly number[]): Uint8Array {
  const b = new Uint8Array(values.length * 4);
  const dv = new DataView(b.buffer);
  values.forEach((v, i) => dv.setUint32(i * 4, v >>> 0, true));
  return b;
}
