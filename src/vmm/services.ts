/**
 * The VMM page services, as a driver calls them: DDK names in camelCase without the underscore,
 * DDK argument order, DDK return conventions (spec §0.1), ULONG results as unsigned 32-bit numbers.
 *
 * Every service validates all of its input before it changes anything, then acts through
 * mechanisms that cannot fail half-way (core.ts): a failure returns the DDK failure value, sets
 * `lastError` to a typed record and leaves every piece of state as it was. Output pointers are typed
 * arrays: the service writes into them only on success (EDX outputs excepted: the DDK defines EDX = 0
 * on failure for the services that return a second value, so that is written).
 *
 * One instance per driver context: hand-outs of physical addresses (copyPageTable, pageAllocate's
 * PhysAddr, pageCommitContig's result) are recorded against that context, and `lastError` is its own.
 *
 * There is no DOS paging (§1.11): the pager never calls MS-DOS or the BIOS, so every …LOCKEDIFDP
 * request (PAGELOCKEDIFDP, PC_LOCKEDIFDP) is validated like any other and then does nothing.
 */

import { LINEAR_PAGES, PAGESIZE, frame, frameBase, frameOf, hex, physAddr, isUlong, linAddr, linPage, nthFrame, nthPage, pageBase, pageOf, pteFrame, type Frame, type LinPage } from '../address.js';
import * as D from '../ddk.js';
import type { VmmError, VmmErrorCode } from '../errors.js';
import { epochOf, recordHandout } from '../frametable.js';
import { ARENA, PERM_MASK, PS, arenaOf, type Arena, type Block, type MemoryCore } from './core.js';

/** The handle of the one simulated VM (the System VM); _PageAllocate(PG_VM) needs it. */
export const SYS_VM_HANDLE = 0xc0fe0000;
/**
 * The nul page handle (§4.8): not a linear address. Not page aligned, so it can never equal a block
 * base, and above 0xFFFFF, so it can never be mistaken for a physical page number.
 */
export const NUL_PAGE_HANDLE = 0x4e554c01;

/** The empty range's start, for frame pre-checks that concern no existing pages. */
const NO_PAGES = 0 as LinPage;

/** Internal: a validation failure, turned into lastError + the DDK failure value at the boundary. */
class Fail {
  constructor(
    readonly code: VmmErrorCode,
    readonly message: string,
    readonly fields: Record<string, unknown> = {},
  ) {}
}

function fail(code: VmmErrorCode, message: string, fields: Record<string, unknown> = {}): never {
  throw new Fail(code, message, fields);
}

function ulong(name: string, v: unknown): number {
  if (!isUlong(v)) fail('invalid-argument', `${name} must be an unsigned 32-bit integer, got ${String(v)}`, { argument: name, value: v });
  return v;
}

function count(name: string, v: unknown): number {
  const n = ulong(name, v);
  if (n === 0) fail('zero-count', `${name} must be nonzero`, { argument: name });
  return n;
}

/**
 * A flag or mask argument. In JavaScript `PAGEMAPGLOBAL | PAGEMARKDIRTY` and `~PC_WRITEABLE` are
 * negative int32 values, so bit patterns are accepted as any 32-bit integer (signed or unsigned) and
 * read as unsigned. Counts, page numbers and addresses stay strictly unsigned (`ulong`).
 */
function bits(name: string, v: unknown): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v < 0) return v >>> 0;
  return ulong(name, v);
}

function flagsIn(name: string, v: unknown, allowed: number): number {
  const f = bits(name, v);
  const extra = (f & ~allowed) >>> 0;
  if (extra !== 0) fail('reserved-flags', `${name} has reserved or unsupported bits ${hex(extra)}`, { argument: name, value: f, reserved: extra });
  return f;
}

function outArray(name: string, v: unknown, min: number, optional: boolean): Uint32Array | undefined {
  if (v === undefined || v === null) {
    if (optional) return undefined;
    fail('invalid-argument', `${name} must be a Uint32Array`, { argument: name });
  }
  if (!(v instanceof Uint32Array)) fail('invalid-argument', `${name} must be a Uint32Array`, { argument: name });
  if (v.length < min) fail('buffer-too-small', `${name} holds ${v.length} entries, ${min} needed`, { argument: name, length: v.length, needed: min });
  return v;
}

/** Align masks the DDK documents (0x00 … 0x1F) and larger powers of two minus one, up to 16 MiB alignment. */
function alignMask(v: unknown): number {
  const m = ulong('AlignMask', v);
  if (m > 0xfff || (m & (m + 1)) !== 0) fail('invalid-align-mask', `AlignMask must be 2^k − 1 (0x00, 0x01, 0x03 … 0x1F), got ${hex(m)}`, { value: m });
  return m;
}

export interface VmmServices {
  /** The most recent failure of a service called on this context, or null after a success. */
  readonly lastError: VmmError | null;
  pageAllocate(nPages: number, pType: number, VM: number, AlignMask: number, minPhys: number, maxPhys: number, PhysAddr: Uint32Array | null, flags: number, edx?: Uint32Array): number;
  pageFree(hMem: number, flags: number): number;
  pageReAllocate(hMem: number, nPages: number, flags: number, edx?: Uint32Array): number;
  pageReserve(page: number, npages: number, flags: number): number;
  pageCommit(page: number, npages: number, hpd: number, pagerdata: number, flags: number): number;
  pageCommitPhys(page: number, npages: number, physpg: number, flags: number): number;
  pageCommitContig(page: number, npages: number, flags: number, alignmask: number, minphys: number, maxphys: number): number;
  pageDecommit(page: number, npages: number, flags: number): number;
  pageLock(hMem: number, nPages: number, PageOff: number, flags: number): number;
  pageUnLock(hMem: number, nPages: number, PageOff: number, flags: number): number;
  linPageLock(page: number, npages: number, flags: number): number;
  linPageUnLock(page: number, npages: number, flags: number): number;
  copyPageTable(LinPgNum: number, nPages: number, PageBuf: Uint32Array, flags: number): number;
  pageQuery(pbase: number, pmbi: Uint32Array, cbmbi: number): number;
  pageModifyPermissions(page: number, npages: number, permand: number, permor: number): number;
  getNulPageHandle(): number;
  getSysVMHandle(): number;
  getFreePageCount(flags: number, edx?: Uint32Array): number;
  pageGetAllocInfo(flags: number, edx?: Uint32Array): number;
  pageGetSizeAddr(hMem: number, flags: number, edx?: Uint32Array): number;
  pageCheckLinRange(page: number, npages: number, flags: number): number;
  mapPhysToLinear(PhysAddr: number, nBytes: number, flags: number): number;
  pageDiscardPages(Page: number, VM: number, nPages: number, flags: number): number;
}

export class Vmm implements VmmServices {
  lastError: VmmError | null = null;

  constructor(
    private readonly core: MemoryCore,
    /** Driver context index (hand-out table row). */
    readonly ctx: number,
  ) {}

  /** Runs a service: clears lastError, converts a validation failure into lastError + failure value. */
  private run(service: string, failure: number, body: () => number, edx?: unknown): number {
    this.lastError = null;
    // One call site for every page the call touches: its stack is captured at most once.
    const history = this.core.history;
    history.beginCall();
    try {
      const r = body();
      this.core.tick();
      return r >>> 0;
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      this.lastError = Object.freeze({ ...e.fields, service, code: e.code, message: `${service}: ${e.message}` });
      if (edx instanceof Uint32Array && edx.length > 0) edx[0] = 0;
      return failure;
    } finally {
      history.endCall();
    }
  }

  // ——— shared validation ———

  /** A page range: valid page numbers, nonzero count, not reaching the invalid region. */
  private range(page: unknown, n: unknown, pageName = 'page', countName = 'npages'): [LinPage, number] {
    const p = ulong(pageName, page);
    const c = count(countName, n);
    if (p >= LINEAR_PAGES) fail('invalid-range', `${pageName} ${hex(p)} is not a linear page number (0 … 0xFFFFF)`, { page: p });
    if (p + c > LINEAR_PAGES) fail('invalid-range', `${pageName} ${hex(p)} + ${c} pages runs past the 4 GiB space`, { page: p, npages: c });
    if (arenaOf(p + c - 1) === ARENA.INVALID) fail('invalid-region', `pages ${hex(p)}…${hex(p + c - 1)} reach the invalid region 0xFFC00000–0xFFFFFFFF`, { page: p, npages: c });
    return [linPage(p), c];
  }

  private oneArena(p: LinPage, c: number): Arena {
    const a = arenaOf(p);
    if (arenaOf(p + c - 1) !== a) fail('crosses-arena', `pages ${hex(p)}…${hex(p + c - 1)} cross an arena boundary`, { page: p, npages: c });
    return a;
  }

  /** The range lies inside one memory block; returns it. */
  private inOneBlock(p: LinPage, c: number): Block {
    const b = this.core.blockAt(p);
    if (!b) fail('not-a-block', `page ${hex(p)} is not reserved`, { page: p });
    if (p + c > b.base + b.size) fail('crosses-block', `pages ${hex(p)}…${hex(p + c - 1)} run past the block at ${hex(pageBase(b.base))}`, { page: p, npages: c, block: pageBase(b.base) });
    return b;
  }

  private allCommitted(p: LinPage, c: number): void {
    for (let i = p; i < p + c; i = nthPage(i, 1)) {
      if (this.core.pageState(i) !== PS.COMMITTED) fail('not-committed', `page ${hex(i)} is not committed`, { page: i });
    }
  }

  private noneCommitted(p: LinPage, c: number): void {
    for (let i = p; i < p + c; i = nthPage(i, 1)) {
      if (this.core.pageState(i) === PS.COMMITTED) fail('already-committed', `page ${hex(i)} is already committed`, { page: i });
    }
  }

  /**
   * A memory handle: the base of a block from _PageAllocate, _PageReAllocate or _PageReserve (§4.4,
   * §4.10). A global alias or a _MapPhysToLinear mapping is not one: the handle services would lock,
   * unlock, size or free it as if it were memory of its own, and an alias "released" that way would
   * leak with the lock it stands for. The release services name that mistake with `mappingCode`.
   */
  private handle(name: string, v: unknown, mappingCode: 'not-a-block' | 'not-freeable' = 'not-a-block'): Block {
    const h = ulong(name, v);
    const b = (h & 0xfff) === 0 ? this.core.blockByBase(pageOf(linAddr(h))) : undefined;
    if (!b) fail('not-a-block', `${name} ${hex(h)} is not the base of a memory block`, { value: h });
    if (b.kind === 'alias') fail(mappingCode, `${name} ${hex(h)} is a PAGEMAPGLOBAL alias, not a memory handle: it is released with _LinPageUnLock(…, PAGEMAPGLOBAL)`, { value: h });
    if (b.kind === 'physmap') fail(mappingCode, `${name} ${hex(h)} is a _MapPhysToLinear mapping, not a memory handle: such mappings are permanent`, { value: h });
    return b;
  }

  /** Frames needed to make [p, p+c) present, against what can be had without touching the range. */
  private requireFramesForLock(p: LinPage, c: number, extraFixed = 0): void {
    const core = this.core;
    let needed = extraFixed;
    let pageableInRange = 0;
    for (let i = p; i < p + c; i = nthPage(i, 1)) {
      if (!core.isDemandPaged(i)) continue;
      if (!core.isPresent(i)) needed++;
      else if (!core.isLocked(i)) pageableInRange++;
    }
    const available = core.allocator.freeCount + core.pageableResident - pageableInRange;
    if (needed > available) fail('insufficient-memory', `${needed} frames needed, ${available} obtainable`, { needed, available });
  }

  private requireCommitCharge(n: number): void {
    const core = this.core;
    if (core.swappableCommitted + n > core.commitLimit) {
      fail('insufficient-memory', `committing ${n} swappable pages exceeds the commit limit of ${core.commitLimit}`, { npages: n, limit: core.commitLimit });
    }
  }

  /**
   * Records that this driver context was told frame `f`'s physical address (a hand-out: a device
   * bound to the driver may DMA to it while the lock it was given under lasts). Also VDMAD's
   * (vdmad.ts): the addresses its services return are the same driver's hand-outs, made the same way.
   */
  handout(f: Frame, page: LinPage | -1, service: string): void {
    recordHandout(this.core.shared, this.ctx, f);
    this.core.history.record('handout', f, epochOf(this.core.shared, f), this.ctx, page, service);
  }

  // ——— allocation ———

  pageAllocate(nPages: number, pType: number, VM: number, AlignMask: number, minPhys: number, maxPhys: number, PhysAddr: Uint32Array | null, flags: number, edx?: Uint32Array): number {
    return this.run('_PageAllocate', 0, () => {
      const n = count('nPages', nPages);
      const type = ulong('pType', pType);
      const vm = ulong('VM', VM);
      const fl = flagsIn('flags', flags, D.PAGEZEROINIT | D.PAGEUSEALIGN | D.PAGECONTIG | D.PAGEFIXED | D.PAGELOCKED | D.PAGELOCKEDIFDP);
      const out = outArray('PhysAddr', PhysAddr, 1, true);
      const edxOut = outArray('edx', edx, 1, true);
      if (type !== D.PG_SYS && type !== D.PG_VM && type !== D.PG_HOOKED) fail('invalid-page-type', `pType ${type} is not PG_SYS, PG_VM or PG_HOOKED`, { value: type });
      if (type === D.PG_SYS && vm !== 0) fail('invalid-vm', 'VM must be 0 with PG_SYS', { value: vm });
      if (type !== D.PG_SYS && vm !== SYS_VM_HANDLE) fail('invalid-vm', `VM ${hex(vm)} is not a VM handle`, { value: vm });
      if (fl & D.PAGEUSEALIGN && !(fl & D.PAGEFIXED)) fail('invalid-flags', 'PAGEUSEALIGN requires PAGEFIXED', { flags: fl });
      if (fl & D.PAGELOCKED && fl & D.PAGELOCKEDIFDP) fail('invalid-flags', 'PAGELOCKED and PAGELOCKEDIFDP are mutually exclusive', { flags: fl });
      const fixed = (fl & D.PAGEFIXED) !== 0;
      const useAlign = (fl & D.PAGEUSEALIGN) !== 0;
      // Ignored without PAGEUSEALIGN, but they are still ULONG arguments: validated always.
      let mask = ulong('AlignMask', AlignMask);
      let minF = ulong('minPhys', minPhys);
      let maxF = ulong('maxPhys', maxPhys);
      if (useAlign) {
        mask = alignMask(AlignMask);
        // KB Q180579: maxPhys = 0xFFFFFFFF is silently taken as 0x1000 (below 16 MiB); the largest
        // meaningful value is 0x100000 (4 GiB).
        if (maxF === 0xffffffff) maxF = 0x1000;
        else if (maxF > 0x100000) maxF = 0x100000;
        if (minF >= maxF) fail('invalid-phys-range', `minPhys ${hex(minF)} must be below maxPhys ${hex(maxF)}`, { minPhys: minF, maxPhys: maxF });
      }
      const arena = type === D.PG_SYS ? ARENA.SYSTEM : ARENA.SHARED;
      const base = this.core.findFreeRun(arena, n, false);
      if (base === -1) fail('insufficient-memory', `no run of ${n} free linear pages in the ${type === D.PG_SYS ? 'system' : 'shared'} arena`, { npages: n });
      const req = { count: n, alignMask: mask, minFrame: minF, maxFrame: maxF };
      if (useAlign) {
        if (this.core.findContig(req) < 0) fail('insufficient-memory', `no ${n} contiguous frames with mask ${hex(mask, 2)} in [${hex(minF, 5)}, ${hex(maxF, 5)})`, { npages: n });
      } else if (fixed) {
        this.requireFramesForLock(NO_PAGES, 0, n);
      } else {
        this.requireCommitCharge(n);
        if (fl & D.PAGELOCKED) this.requireFramesForLock(NO_PAGES, 0, n);
      }
      // — validated: act —
      const perm = type === D.PG_SYS ? D.PC_WRITEABLE : D.PC_WRITEABLE | D.PC_USER;
      const core = this.core;
      core.reserve(base, n, 'allocate', { fixed, aligned: useAlign, typePerm: perm, allocProtect: permToProtect(perm) });
      const zero = (fl & D.PAGEZEROINIT) !== 0;
      if (useAlign) {
        // PAGEUSEALIGN without PAGECONTIG is served contiguously too: that satisfies every
        // per-page constraint (alignment of the first page, min/max for all) and is simplest.
        const f0 = core.findContig(req) as Frame; // found in validation
        core.takeContig(f0, n);
        for (let i = 0; i < n; i++) core.commitFixed(nthPage(base, i), nthFrame(f0, i), perm, zero);
        if (fl & D.PAGECONTIG && out) {
          out[0] = frameBase(f0);
          for (let i = 0; i < n; i++) this.handout(nthFrame(f0, i), nthPage(base, i), '_PageAllocate');
        }
      } else if (fixed) {
        for (let i = 0; i < n; i++) core.commitFixed(nthPage(base, i), core.takeFrame(), perm, zero);
      } else {
        for (let i = 0; i < n; i++) core.commitSwappable(nthPage(base, i), perm, zero, false);
        if (fl & D.PAGELOCKED) {
          for (let i = 0; i < n; i++) core.lockPage(nthPage(base, i), this.ctx, false, '_PageAllocate');
        }
      }
      if (edxOut) edxOut[0] = pageBase(base);
      return pageBase(base);
    }, edx);
  }

  pageFree(hMem: number, flags: number): number {
    return this.run('_PageFree', 0, () => {
      const b = this.handle('hMem', hMem, 'not-freeable');
      const fl = flagsIn('flags', flags, D.PR_STATIC);
      if (b.prFlags & D.PR_STATIC && !(fl & D.PR_STATIC)) fail('static-block', 'a PR_STATIC block is freed only with PR_STATIC', { hMem: pageBase(b.base) });
      this.core.freeBlock(b, '_PageFree', this.ctx);
      return 1;
    });
  }

  pageReAllocate(hMem: number, nPages: number, flags: number, edx?: Uint32Array): number {
    return this.run('_PageReAllocate', 0, () => {
      const core = this.core;
      const b = this.handle('hMem', hMem, 'not-freeable');
      const n = count('nPages', nPages);
      const fl = flagsIn('flags', flags, D.PAGELOCKED | D.PAGELOCKEDIFDP | D.PAGENOCOPY | D.PAGEZEROINIT | D.PAGEZEROREINIT);
      const edxOut = outArray('edx', edx, 1, true);
      if (fl & D.PAGELOCKED && fl & D.PAGELOCKEDIFDP) fail('invalid-flags', 'PAGELOCKED and PAGELOCKEDIFDP are mutually exclusive', { flags: fl });
      if (b.aligned) fail('aligned-block', 'PAGEUSEALIGN blocks cannot be reallocated', { hMem: pageBase(b.base) });
      if (b.prFlags & D.PR_STATIC) fail('static-block', 'PR_STATIC blocks cannot be reallocated', { hMem: pageBase(b.base) });
      // Committed pages must be one run from the base (§4.11).
      let run = 0;
      while (run < b.size && core.pageState(nthPage(b.base, run)) === PS.COMMITTED) run++;
      for (let i = run; i < b.size; i++) {
        if (core.pageState(nthPage(b.base, i)) === PS.COMMITTED) fail('not-contiguous', 'the committed pages of the block are not one run from its base', { page: b.base + i });
      }
      const fixedPages = b.fixed;
      const grow = Math.max(0, n - run);
      const inPlace = n <= b.size || (arenaOf(b.base + n - 1) === arenaOf(b.base) && arenaOf(b.base + n - 1) !== ARENA.INVALID && core.rangeFree(nthPage(b.base, b.size), n - b.size));
      let newBase: LinPage | -1 = b.base;
      if (!inPlace) {
        if (fixedPages || b.prFlags & D.PR_FIXED) fail('fixed-block', 'the block cannot grow in place and fixed blocks never move', { hMem: pageBase(b.base) });
        newBase = core.findFreeRun(arenaOf(b.base), n, false);
        if (newBase === -1) fail('insufficient-memory', `no run of ${n} free linear pages`, { npages: n });
      }
      if (fixedPages) this.requireFramesForLock(NO_PAGES, 0, grow);
      else {
        this.requireCommitCharge(grow);
        if (fl & D.PAGELOCKED) this.requireFramesForLock(NO_PAGES, 0, grow);
      }
      // — validated: act —
      let blk = b;
      if (!inPlace) blk = core.relocateBlock(b, newBase as LinPage, n, run, '_PageReAllocate', this.ctx);
      else if (n > b.size) core.extendBlock(b, n);
      const base = blk.base;
      if (n < run) for (let p = nthPage(base, n); p < base + run; p = nthPage(p, 1)) core.decommitPage(p, '_PageReAllocate', this.ctx);
      const zeroNew = (fl & (D.PAGEZEROINIT | D.PAGEZEROREINIT)) !== 0;
      // New pages get the page type's permissions, not page 0's: _PageModifyPermissions may have
      // changed those, and what it granted one page is no grant for pages that did not exist yet.
      for (let p = nthPage(base, run); p < base + n; p = nthPage(p, 1)) {
        if (fixedPages) core.commitFixed(p, core.takeFrame(), b.typePerm, zeroNew);
        else core.commitSwappable(p, b.typePerm, zeroNew, false);
        if (!fixedPages && fl & D.PAGELOCKED) core.lockPage(p, this.ctx, false, '_PageReAllocate');
      }
      if (fl & D.PAGEZEROREINIT) for (let p = base; p < base + Math.min(run, n); p = nthPage(p, 1)) core.zeroContents(p);
      if (edxOut) edxOut[0] = pageBase(base);
      return pageBase(base);
    }, edx);
  }

  pageReserve(page: number, npages: number, flags: number): number {
    return this.run('_PageReserve', D.RESERVE_FAILED, () => {
      const pg = ulong('page', page);
      const n = count('npages', npages);
      const fl = flagsIn('flags', flags, D.PR_FIXED | D.PR_STATIC | D.PR_4MEG);
      let base: LinPage | -1;
      if (pg === D.PR_PRIVATE || pg === D.PR_SHARED || pg === D.PR_SYSTEM) {
        const arena = pg === D.PR_PRIVATE ? ARENA.PRIVATE : pg === D.PR_SHARED ? ARENA.SHARED : ARENA.SYSTEM;
        base = this.core.findFreeRun(arena, n, (fl & D.PR_4MEG) !== 0);
        if (base === -1) fail('insufficient-memory', `no run of ${n} free linear pages in the arena`, { npages: n });
      } else {
        const [p, c] = this.range(pg, n);
        this.oneArena(p, c);
        // Pages 0 … 0x10F are the current VM's V86 address space (1 MiB + HMA, §1.4), owned by
        // V86MMGR, not VxD reservations; refusing them also keeps address 0 from ever being a
        // block handle (0 is _PageReAllocate's failure value).
        if (p < 0x110) fail('address-in-use', `pages below 0x110 are the V86 address space of the current VM`, { page: p, npages: c });
        if (!this.core.rangeFree(p, c)) fail('address-in-use', `pages ${hex(p)}…${hex(p + c - 1)} are not all free`, { page: p, npages: c });
        base = p;
      }
      this.core.reserve(base, n, 'reserve', { prFlags: fl & (D.PR_FIXED | D.PR_STATIC) });
      return pageBase(base);
    });
  }

  pageCommit(page: number, npages: number, hpd: number, pagerdata: number, flags: number): number {
    return this.run('_PageCommit', 0, () => {
      const [p, c] = this.range(page, npages);
      const pd = ulong('hpd', hpd);
      const data = ulong('pagerdata', pagerdata);
      const fl = flagsIn('flags', flags, D.PC_FIXED | D.PC_LOCKED | D.PC_LOCKEDIFDP | D.PC_STATIC | D.PC_USER | D.PC_WRITEABLE | D.PC_INCR | D.PC_PRESENT | D.PC_DIRTY);
      const b = this.inOneBlock(p, c);
      if (pd < D.PD_ZEROINIT || pd > D.PD_FIXED) fail('invalid-pager', `hpd ${pd} is not a built-in pager (registered pagers are not modelled)`, { value: pd });
      if (data !== 0) fail('invalid-argument', 'pagerdata must be 0 for the built-in pagers', { argument: 'pagerdata', value: data });
      if ((pd === D.PD_FIXED || pd === D.PD_FIXEDZERO) && !(fl & D.PC_FIXED)) fail('invalid-flags', 'PD_FIXED and PD_FIXEDZERO require PC_FIXED', { flags: fl });
      if (b.kind === 'alias' || b.kind === 'physmap') fail('not-freeable', 'aliases and physical mappings cannot be committed into', { page: p });
      if (b.prFlags & D.PR_STATIC && !(fl & D.PC_STATIC)) fail('static-block', 'committing into a PR_STATIC block needs PC_STATIC', { page: p });
      const fixed = (fl & D.PC_FIXED) !== 0;
      const locked = (fl & D.PC_LOCKED) !== 0;
      if (fl & (D.PC_FIXED | D.PC_LOCKED | D.PC_LOCKEDIFDP)) this.noneCommitted(p, c);
      const core = this.core;
      let fresh = 0;
      for (let i = p; i < p + c; i = nthPage(i, 1)) if (core.pageState(i) !== PS.COMMITTED) fresh++;
      if (fixed) this.requireFramesForLock(NO_PAGES, 0, fresh);
      else {
        this.requireCommitCharge(fresh);
        if (locked || fl & D.PC_PRESENT) this.requireFramesForLock(NO_PAGES, 0, fresh);
      }
      // — validated: act —
      const perm = fl & PERM_MASK;
      const zero = pd === D.PD_ZEROINIT || pd === D.PD_FIXEDZERO;
      for (let i = p; i < p + c; i = nthPage(i, 1)) {
        if (core.pageState(i) === PS.COMMITTED) continue; // recommitting is legal and changes nothing
        if (fixed) {
          core.commitFixed(i, core.takeFrame(), perm, zero);
          continue;
        }
        core.commitSwappable(i, perm, zero, (fl & D.PC_DIRTY) !== 0);
        if (locked) core.lockPage(i, this.ctx, false, '_PageCommit');
        else if (fl & D.PC_PRESENT) core.pageIn(i);
      }
      return 1;
    });
  }

  pageCommitPhys(page: number, npages: number, physpg: number, flags: number): number {
    return this.run('_PageCommitPhys', 0, () => {
      const [p, c] = this.range(page, npages);
      const phys = ulong('physpg', physpg);
      const fl = flagsIn('flags', flags, D.PC_INCR | D.PC_USER | D.PC_WRITEABLE | D.PC_STATIC);
      const b = this.inOneBlock(p, c);
      if (b.kind === 'alias' || b.kind === 'physmap') fail('not-freeable', 'aliases and physical mappings cannot be committed into', { page: p });
      if (b.prFlags & D.PR_STATIC && !(fl & D.PC_STATIC)) fail('static-block', 'committing into a PR_STATIC block needs PC_STATIC', { page: p });
      this.noneCommitted(p, c);
      const nul = phys === NUL_PAGE_HANDLE;
      if (nul && fl & D.PC_INCR) fail('invalid-flags', 'PC_INCR makes no sense with the nul page handle', { flags: fl });
      const frames = this.core.shared.frames;
      const last = nul ? 0 : phys + (fl & D.PC_INCR ? c - 1 : 0);
      // Memory outside RAM (device memory) is not modelled: the physical pages must be in RAM.
      if (!nul && last >= frames) fail('invalid-phys-range', `physical pages ${hex(phys, 5)}…${hex(last, 5)} are outside simulated RAM (${frames} frames)`, { physpg: phys, frames });
      for (let i = 0; i < c; i++) {
        const f = nul ? this.core.nulFrame : frame(phys + (fl & D.PC_INCR ? i : 0));
        this.core.commitNoPager(nthPage(p, i), f, fl & PERM_MASK, 0);
      }
      return 1;
    });
  }

  pageCommitContig(page: number, npages: number, flags: number, alignmask: number, minphys: number, maxphys: number): number {
    return this.run('_PageCommitContig', D.COMMITCONTIG_FAILED, () => {
      const fl = flagsIn('flags', flags, D.PC_USER | D.PC_WRITEABLE | D.PCC_ZEROINIT | D.PCC_NOLIN | D.PC_STATIC);
      const nolin = (fl & D.PCC_NOLIN) !== 0;
      if (nolin && fl !== D.PCC_NOLIN) fail('invalid-flags', 'PCC_NOLIN may not be combined with any other flag', { flags: fl });
      const mask = alignMask(alignmask);
      const minF = ulong('minphys', minphys);
      let maxF = ulong('maxphys', maxphys);
      // Unlike _PageAllocate (KB Q180579), the _PageCommitContig page recommends 0xFFFFFFFF for
      // "anywhere"; we take it at its word: no upper limit (spec §6.2 item 1).
      if (maxF > 0x100000) maxF = 0x100000;
      if (minF >= maxF) fail('invalid-phys-range', `minphys ${hex(minF)} must be below maxphys ${hex(maxF)}`, { minphys: minF, maxphys: maxF });
      let p = NO_PAGES;
      let c: number;
      if (nolin) {
        c = count('npages', npages);
        ulong('page', page); // ignored with PCC_NOLIN, but still a ULONG
      } else {
        [p, c] = this.range(page, npages);
        const b = this.inOneBlock(p, c);
        if (b.kind === 'alias' || b.kind === 'physmap') fail('not-freeable', 'aliases and physical mappings cannot be committed into', { page: p });
        if (b.prFlags & D.PR_STATIC && !(fl & D.PC_STATIC)) fail('static-block', 'committing into a PR_STATIC block needs PC_STATIC', { page: p });
        this.noneCommitted(p, c);
      }
      const req = { count: c, alignMask: mask, minFrame: minF, maxFrame: maxF };
      if (this.core.findContig(req) < 0) fail('insufficient-memory', `no ${c} contiguous frames with mask ${hex(mask, 2)} in [${hex(minF, 5)}, ${hex(maxF, 5)})`, { npages: c });
      // — validated: act —
      const core = this.core;
      const f0 = core.findContig(req) as Frame; // found in validation
      core.takeContig(f0, c);
      const zero = (fl & D.PCC_ZEROINIT) !== 0;
      for (let i = 0; i < c; i++) {
        if (nolin) {
          // Raw physical pages, mapped nowhere, the caller's forever (§4.15): fixed, no owner page.
          core.fixNoLinFrame(nthFrame(f0, i));
        } else core.commitFixed(nthPage(p, i), nthFrame(f0, i), fl & PERM_MASK, zero);
        this.handout(nthFrame(f0, i), nolin ? -1 : nthPage(p, i), '_PageCommitContig');
      }
      return frameBase(f0);
    });
  }

  pageDecommit(page: number, npages: number, flags: number): number {
    return this.run('_PageDecommit', 0, () => {
      const [p, c] = this.range(page, npages);
      // The DDK says flags must be 0 yet PR_STATIC blocks refuse decommit without a static flag
      // (spec §6.2 item 8): we accept PC_STATIC as that key and nothing else.
      const fl = flagsIn('flags', flags, D.PC_STATIC);
      const b = this.inOneBlock(p, c);
      if (b.kind === 'alias' || b.kind === 'physmap') fail('not-freeable', 'aliases and physical mappings cannot be decommitted', { page: p });
      if (b.prFlags & D.PR_STATIC && !(fl & D.PC_STATIC)) fail('static-block', 'decommitting in a PR_STATIC block needs PC_STATIC', { page: p });
      // Already-decommitted pages in the range are allowed (not recommended) and skipped. Locked
      // pages are decommitted like _PageFree frees locked memory; a DMA still in flight is reported.
      for (let i = p; i < p + c; i = nthPage(i, 1)) if (this.core.pageState(i) === PS.COMMITTED) this.core.decommitPage(i, '_PageDecommit', this.ctx);
      return 1;
    });
  }

  // ——— locking ———

  pageLock(hMem: number, nPages: number, PageOff: number, flags: number): number {
    return this.run('_PageLock', 0, () => {
      const b = this.handle('hMem', hMem);
      const n = count('nPages', nPages);
      const off = ulong('PageOff', PageOff);
      const fl = flagsIn('flags', flags, D.PAGELOCKEDIFDP);
      if (off + n > b.size) fail('invalid-range', `PageOff + nPages (${off + n}) exceeds the block's ${b.size} pages`, { PageOff: off, nPages: n, size: b.size });
      const p = nthPage(b.base, off);
      this.allCommitted(p, n);
      if (fl & D.PAGELOCKEDIFDP) return 1;
      this.requireFramesForLock(p, n);
      for (let i = p; i < p + n; i = nthPage(i, 1)) this.core.lockPage(i, this.ctx, false, '_PageLock');
      return 1;
    });
  }

  pageUnLock(hMem: number, nPages: number, PageOff: number, flags: number): number {
    return this.run('_PageUnLock', 0, () => {
      const b = this.handle('hMem', hMem);
      const n = count('nPages', nPages);
      const off = ulong('PageOff', PageOff);
      const fl = flagsIn('flags', flags, D.PAGELOCKEDIFDP | D.PAGEMARKPAGEOUT);
      if (off + n > b.size) fail('invalid-range', `PageOff + nPages (${off + n}) exceeds the block's ${b.size} pages`, { PageOff: off, nPages: n, size: b.size });
      const p = nthPage(b.base, off);
      this.allCommitted(p, n);
      if (fl & D.PAGELOCKEDIFDP) return 1;
      this.requireUnlockable(p, n);
      for (let i = p; i < p + n; i = nthPage(i, 1)) this.core.unlockPage(i, this.ctx, (fl & D.PAGEMARKPAGEOUT) !== 0, '_PageUnLock');
      return 1;
    });
  }

  private requireUnlockable(p: LinPage, c: number): void {
    for (let i = p; i < p + c; i = nthPage(i, 1)) {
      if (!this.core.isUnlockable(i)) fail('not-locked', `page ${hex(i)} is not locked (its lock count is 0)`, { page: i });
    }
  }

  linPageLock(page: number, npages: number, flags: number): number {
    return this.run('_LinPageLock', 0, () => {
      const [p, c] = this.range(page, npages);
      const fl = flagsIn('flags', flags, D.PAGELOCKEDIFDP | D.PAGEMAPGLOBAL | D.PAGEMARKDIRTY);
      // "Zero or one of" the flags, yet PAGEMARKDIRTY is explained for the alias: MAPGLOBAL|MARKDIRTY
      // is legal, MAPGLOBAL|LOCKEDIFDP is not (spec §6.2 item 5).
      if (fl & D.PAGEMAPGLOBAL && fl & D.PAGELOCKEDIFDP) fail('invalid-flags', 'PAGEMAPGLOBAL may not be combined with PAGELOCKEDIFDP', { flags: fl });
      // A lock may span memory blocks (the DDK only requires every page committed) but not arenas.
      this.oneArena(p, c);
      this.allCommitted(p, c);
      if (fl & D.PAGELOCKEDIFDP) return 1;
      this.requireFramesForLock(p, c);
      const global = (fl & D.PAGEMAPGLOBAL) !== 0;
      const core = this.core;
      let aliasBase: LinPage | -1 = -1;
      if (global) {
        aliasBase = core.findFreeRun(ARENA.SYSTEM, c, false);
        if (aliasBase === -1) fail('insufficient-memory', `no run of ${c} free system-arena pages for the alias`, { npages: c });
      }
      // — validated: act —
      const markDirty = (fl & D.PAGEMARKDIRTY) !== 0;
      for (let i = p; i < p + c; i = nthPage(i, 1)) core.lockPage(i, this.ctx, markDirty, '_LinPageLock');
      if (!global) return 1;
      const alias = aliasBase as LinPage; // found in validation
      core.mapAlias(p, c, alias, this.ctx);
      return pageBase(alias);
    });
  }

  linPageUnLock(page: number, npages: number, flags: number): number {
    return this.run('_LinPageUnLock', 0, () => {
      const [p, c] = this.range(page, npages);
      const fl = flagsIn('flags', flags, D.PAGELOCKEDIFDP | D.PAGEMAPGLOBAL | D.PAGEMARKPAGEOUT);
      if (fl & D.PAGEMAPGLOBAL && fl & D.PAGELOCKEDIFDP) fail('invalid-flags', 'PAGEMAPGLOBAL may not be combined with PAGELOCKEDIFDP', { flags: fl });
      const core = this.core;
      const markOut = (fl & D.PAGEMARKPAGEOUT) !== 0;
      if (fl & D.PAGEMAPGLOBAL) {
        // Tearing down an alias: page/npages must describe the alias exactly (§4.3).
        const b = core.blockAt(p);
        if (!b?.alias || b.base !== p || b.size !== c) fail('not-an-alias', `pages ${hex(p)}…${hex(p + c - 1)} are not a global alias made by _LinPageLock(PAGEMAPGLOBAL)`, { page: p, npages: c });
        // — act — A dead alias (its original freed, decommitted or unlocked to 0 without it) is
        // torn down too and the call succeeds: it still holds system memory only this call can
        // release (§4.3: a forgotten alias leaks), while its lock already ended with the original,
        // so no lock count is touched for it. Failing would leave the mapping unreleasable forever.
        core.releaseAlias(b, markOut, '_LinPageUnLock', this.ctx);
        return 1;
      }
      this.oneArena(p, c);
      this.allCommitted(p, c);
      for (let i = p; i < p + c; i = nthPage(i, 1)) {
        if (core.isAliasPage(i)) fail('alias-needs-mapglobal', `page ${hex(i)} belongs to a global alias: unlock it with PAGEMAPGLOBAL and the alias range`, { page: i });
      }
      if (fl & D.PAGELOCKEDIFDP) return 1;
      this.requireUnlockable(p, c);
      for (let i = p; i < p + c; i = nthPage(i, 1)) core.unlockPage(i, this.ctx, markOut, '_LinPageUnLock');
      return 1;
    });
  }

  // ——— queries ———

  copyPageTable(LinPgNum: number, nPages: number, PageBuf: Uint32Array, flags: number): number {
    return this.run('_CopyPageTable', 0, () => {
      const p = ulong('LinPgNum', LinPgNum);
      const c = count('nPages', nPages);
      flagsIn('flags', flags, 0);
      if (p >= LINEAR_PAGES || p + c > LINEAR_PAGES) fail('invalid-range', `LinPgNum ${hex(p)} + ${c} entries is outside the linear space`, { page: p, npages: c });
      // The DDK's own sample asks for 5 entries into a 3-entry buffer (spec §6.1); real hardware
      // would overwrite the caller's stack. Here the short buffer is an error and nothing is written.
      if (!(PageBuf instanceof Uint32Array)) fail('invalid-argument', 'PageBuf must be a Uint32Array', { argument: 'PageBuf' });
      if (PageBuf.length < c) {
        fail('buffer-too-small', `PageBuf holds ${PageBuf.length} entries but nPages is ${c}: ${c - PageBuf.length} entries (${(c - PageBuf.length) * 4} bytes) would be written past its end`, { length: PageBuf.length, nPages: c });
      }
      const core = this.core;
      for (let slot = p >>> 10; slot <= (p + c - 1) >>> 10; slot++) {
        if (!core.hasPageTable(slot) || slot >= 0x3ff) fail('no-page-table', `no page table exists for the 4 MiB slot at ${hex(slot << 22)}`, { slot: slot << 22 });
      }
      for (let i = 0; i < c; i++) {
        const pg = linPage(p + i);
        let pte = core.pageState(pg) === PS.COMMITTED ? core.pteOf(pg) : 0;
        // A dead alias (its original unlocked without it, paged out, or freed) maps a frame that is
        // not locked for it, maybe someone else's: report it not present and hand nothing out.
        if (pte & D.P_PRES && core.isAliasPage(pg) && !core.aliasValid(pg)) pte &= ~D.P_PRES & 0xfff;
        PageBuf[i] = pte;
        if (pte & D.P_PRES) this.handout(pteFrame(pte), pg, '_CopyPageTable');
      }
      return 1;
    });
  }

  pageQuery(pbase: number, pmbi: Uint32Array, cbmbi: number): number {
    return this.run('_PageQuery', 0, () => {
      const a = ulong('pbase', pbase);
      const cb = ulong('cbmbi', cbmbi);
      if (cb < D.MBI_SIZE) fail('buffer-too-small', `cbmbi is ${cb}, MEMORY_BASIC_INFORMATION needs ${D.MBI_SIZE}`, { cbmbi: cb });
      const out = outArray('pmbi', pmbi, 7, false)!;
      const p0 = pageOf(linAddr(a));
      if (arenaOf(p0) === ARENA.INVALID) fail('invalid-region', `${hex(a)} lies in the invalid region`, { pbase: a });
      const core = this.core;
      const state = core.pageState(p0);
      let end: number;
      let allocBase = 0;
      let allocProtect = 0;
      let protect = 0;
      let type = 0;
      let memState: number;
      if (state === PS.FREE) {
        end = Math.min(core.nextBlockAfter(p0) ?? D.MININVALIDPAGE, D.MININVALIDPAGE);
        memState = D.MEM_FREE;
        protect = D.PAGE_NOACCESS;
      } else {
        const b = core.blockAt(p0)!;
        const prot = state === PS.COMMITTED ? permToProtect(core.pageInfo(p0)) : 0;
        const alike = (q: LinPage) => core.pageState(q) === state && (state !== PS.COMMITTED || permToProtect(core.pageInfo(q)) === prot);
        end = p0 + 1;
        while (end < b.base + b.size && alike(linPage(end))) end++;
        allocBase = pageBase(b.base);
        allocProtect = b.allocProtect;
        protect = prot;
        type = D.MEM_PRIVATE;
        memState = state === PS.COMMITTED ? D.MEM_COMMIT : D.MEM_RESERVE;
      }
      out[0] = pageBase(p0);
      out[1] = allocBase;
      out[2] = allocProtect;
      out[3] = (end - p0) * PAGESIZE;
      out[4] = memState;
      out[5] = protect;
      out[6] = type;
      return D.MBI_SIZE;
    });
  }

  pageModifyPermissions(page: number, npages: number, permand: number, permor: number): number {
    return this.run('_PageModifyPermissions', D.MODIFYPERM_FAILED, () => {
      const [p, c] = this.range(page, npages);
      const and = bits('permand', permand);
      const or = flagsIn('permor', permor, D.PC_USER | D.PC_WRITEABLE | D.PC_STATIC);
      // Like _LinPageLock: a range may span blocks (every page committed) but not arenas — an arena
      // boundary inside one request is always a caller's arithmetic error.
      this.oneArena(p, c);
      this.allCommitted(p, c);
      const core = this.core;
      for (let i = p; i < p + c; i = nthPage(i, 1)) {
        const b = core.blockAt(i)!;
        if (b.prFlags & D.PR_STATIC && !(or & D.PC_STATIC)) fail('static-block', `page ${hex(i)} is in a PR_STATIC block: permor must include PC_STATIC`, { page: i });
      }
      // — act — PC_STATIC is a key, not a stored permission: modifyPermissions keeps PC_USER and
      // PC_WRITEABLE of `or` only.
      return core.modifyPermissions(p, c, and, or);
    });
  }

  getNulPageHandle(): number {
    return this.run('_GetNulPageHandle', 0, () => NUL_PAGE_HANDLE);
  }

  /** Get_Sys_VM_Handle: the VM handle _PageAllocate(PG_VM / PG_HOOKED) expects. */
  getSysVMHandle(): number {
    return this.run('Get_Sys_VM_Handle', 0, () => SYS_VM_HANDLE);
  }

  getFreePageCount(flags: number, edx?: Uint32Array): number {
    return this.run('_GetFreePageCount', 0, () => {
      flagsIn('flags', flags, 0);
      const out = outArray('edx', edx, 1, true);
      if (out) out[0] = this.core.obtainableFrames;
      return this.core.allocator.freeCount;
    }, edx);
  }

  pageGetAllocInfo(flags: number, edx?: Uint32Array): number {
    return this.run('_PageGetAllocInfo', 0, () => {
      flagsIn('flags', flags, 0);
      const out = outArray('edx', edx, 1, true);
      if (out) out[0] = this.core.obtainableFrames;
      // EAX is undefined in Windows 95; we return the 3.1 meaning (free pages) rather than noise.
      return this.core.allocator.freeCount;
    }, edx);
  }

  pageGetSizeAddr(hMem: number, flags: number, edx?: Uint32Array): number {
    return this.run('_PageGetSizeAddr', 0, () => {
      const h = ulong('hMem', hMem);
      flagsIn('flags', flags, 0);
      const out = outArray('edx', edx, 1, true);
      if (h === NUL_PAGE_HANDLE) {
        // "Not entirely meaningful" (§4.8): one page, at no linear address.
        if (out) out[0] = 0;
        return 1;
      }
      const b = this.handle('hMem', h);
      if (out) out[0] = pageBase(b.base);
      return b.size;
    }, edx);
  }

  pageCheckLinRange(page: number, npages: number, flags: number): number {
    return this.run('_PageCheckLinRange', 0, () => {
      const [p, c] = this.range(page, npages);
      flagsIn('flags', flags, 0);
      let n = 0;
      while (n < c && this.core.pageState(nthPage(p, n)) === PS.COMMITTED) n++;
      return n;
    });
  }

  mapPhysToLinear(PhysAddr: number, nBytes: number, flags: number): number {
    return this.run('_MapPhysToLinear', D.MAPPHYS_FAILED, () => {
      const pa = ulong('PhysAddr', PhysAddr);
      const nb = count('nBytes', nBytes);
      flagsIn('flags', flags, 0);
      const ramBytes = this.core.shared.frames * PAGESIZE;
      if (pa + nb > ramBytes) fail('invalid-phys-range', `${hex(pa)} + ${nb} bytes is outside simulated RAM (${hex(ramBytes)} bytes)`, { PhysAddr: pa, nBytes: nb });
      const first = frameOf(physAddr(pa));
      const n = ((pa & 0xfff) + nb + 0xfff) >>> 12;
      const base = this.core.findFreeRun(ARENA.SYSTEM, n, false);
      if (base === -1) fail('insufficient-memory', `no run of ${n} free system-arena pages`, { npages: n });
      this.core.mapPhysical(base, first, n);
      return pageBase(base) + (pa & 0xfff);
    });
  }

  pageDiscardPages(Page: number, VM: number, nPages: number, flags: number): number {
    return this.run('_PageDiscardPages', 0, () => {
      const [p, c] = this.range(Page, nPages, 'Page', 'nPages');
      const vm = ulong('VM', VM);
      const fl = flagsIn('flags', flags, D.PAGEDISCARD | D.PAGEZEROINIT);
      if (p < 0x110 && vm !== SYS_VM_HANDLE) fail('invalid-vm', `VM ${hex(vm)} is not a VM handle (needed for pages below 0x110)`, { value: vm });
      // One arena per request, as for _LinPageLock and _PageModifyPermissions.
      this.oneArena(p, c);
      this.allCommitted(p, c);
      const core = this.core;
      const discard = (fl & D.PAGEDISCARD) !== 0;
      if (discard && fl & D.PAGEZEROINIT) {
        for (let i = p; i < p + c; i = nthPage(i, 1)) {
          if (!core.isDemandPaged(i)) fail('invalid-pager', `PAGEZEROINIT needs PD_ZEROINIT/PD_NOINIT pages; page ${hex(i)} is not one`, { page: i });
        }
      }
      // — act — locked, fixed, not-present and pager-less pages are silently skipped (§4.22).
      if (discard) core.discardPages(p, c, (fl & D.PAGEZEROINIT) !== 0, this.ctx);
      else core.clearAccessed(p, c);
      return 1;
    });
  }
}

/** PC_* permissions → the Win32 protection _PageQuery reports (spec §4.6). */
export function permToProtect(perm: number): number {
  if (!(perm & D.PC_USER)) return D.PAGE_NOACCESS;
  return perm & D.PC_WRITEABLE ? D.PAGE_READWRITE : D.PAGE_READONLY;
}

