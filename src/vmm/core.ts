/**
 * The memory manager's state and its page-level mechanisms (main thread only): the linear address
 * space (arenas, memory blocks, per-page state, x86 PTEs), the frame allocator, residency (page-in,
 * page-out, move), lock counts through the shared frame table, and the backing store.
 *
 * Page tables are private to this thread: devices never see them (DDK: a virtual device must not
 * modify page tables); the only window is `_CopyPageTable`, which returns a copy.
 *
 * The DDK services (services.ts) validate everything first and then call the mechanisms here, which
 * do not fail half-way: that is how every service is all-or-nothing.
 */

import { createHash } from 'node:crypto';
import { LINEAR_PAGES, PAGESIZE, frameBase, makePte, nthFrame, nthPage, pteFrame, type Frame, type LinPage } from '../address.js';
import {
  MAXDOSPAGE,
  MAXPRIVATEPAGE,
  MAXSHAREDPAGE,
  MAXSYSTEMPAGE,
  MININVALIDPAGE,
  MINPRIVATEPAGE,
  MINSHAREDPAGE,
  MINSYSTEMPAGE,
  P_ACC,
  P_DIRTY,
  P_PRES,
  P_USER,
  P_WRITE,
  PAGE_NOACCESS,
  PC_USER,
  PC_WRITEABLE,
} from '../ddk.js';
import { FrameAllocator, type ContigRequest } from '../allocator.js';
import { FF, H, type SharedViews } from '../layout.js';
import { frameArrived, frameLeft, frameWritten, savedProvenance, setContentsProvenance, stampNow } from '../provenance.js';
import { LockLedger } from './locks.js';
import {
  epochOf,
  fixFrame,
  flagsOf,
  lockCount,
  lockFrame,
  ownerOf,
  retireFrame,
  setFrameFlags,
  setOwner,
  unlockFrame,
} from '../frametable.js';
import { Prng } from '../prng.js';
import type { TraceWriter } from '../trace.js';
import { History, type StackPolicy } from './history.js';

/** Page state (per linear page). */
export const PS = { FREE: 0, RESERVED: 1, COMMITTED: 2 } as const;

/** Per-page information bits kept beside the PTE (never in PTE bits: §2 says they are private). */
const PI = {
  /** Permanently locked (PAGEFIXED, PC_FIXED, contiguous commits). */
  FIXED: 1 << 0,
  /** No pager: _PageCommitPhys, global aliases, _MapPhysToLinear; never paged or moved. */
  NOPAGER: 1 << 1,
  /** Zero-filled on first touch or after a discard (PD_ZEROINIT / PD_FIXEDZERO). */
  ZEROINIT: 1 << 2,
  /** Not written since commit (or since a discard). */
  VIRGIN: 1 << 3,
  /** Page of a PAGEMAPGLOBAL alias. */
  ALIAS: 1 << 4,
  /** The permission bits are stored under their PC_* values. */
  PC_WRITEABLE,
  PC_USER,
} as const;
export const PERM_MASK = PC_WRITEABLE | PC_USER;

export const ARENA = { DOS: 0, PRIVATE: 1, SHARED: 2, SYSTEM: 3, INVALID: 4 } as const;
export type Arena = (typeof ARENA)[keyof typeof ARENA];
const ARENA_BOUNDS: Record<number, readonly [number, number]> = {
  [ARENA.DOS]: [0, MAXDOSPAGE],
  [ARENA.PRIVATE]: [MINPRIVATEPAGE, MAXPRIVATEPAGE],
  [ARENA.SHARED]: [MINSHAREDPAGE, MAXSHAREDPAGE],
  [ARENA.SYSTEM]: [MINSYSTEMPAGE, MAXSYSTEMPAGE],
};

export function arenaOf(page: number): Arena {
  if (page <= MAXDOSPAGE) return ARENA.DOS;
  if (page <= MAXPRIVATEPAGE) return ARENA.PRIVATE;
  if (page <= MAXSHAREDPAGE) return ARENA.SHARED;
  if (page < MININVALIDPAGE) return ARENA.SYSTEM;
  return ARENA.INVALID;
}

export type BlockKind = 'reserve' | 'allocate' | 'alias' | 'physmap';

/**
 * What a global alias maps, per alias page: the original page and the tenure it was in when the
 * alias was made (see MemoryCore.tenure). The arrays change only when _PageReAllocate moves the
 * originals' block and the alias follows it.
 */
export interface AliasMap {
  readonly pages: Int32Array;
  readonly tenures: Uint32Array;
  /** The driver that made the alias, and where (alias-leak blame). */
  readonly ctx: number;
  readonly where: Error | undefined;
}

/** One memory block: the pages of one _PageReserve (or _PageAllocate) call. */
export interface Block {
  readonly base: LinPage;
  /** Reserved size in pages. */
  size: number;
  readonly kind: BlockKind;
  /** PR_FIXED / PR_STATIC bits. */
  readonly prFlags: number;
  /** Allocated with PAGEFIXED (pages fixed, never moved by _PageReAllocate). */
  readonly fixed: boolean;
  /** Allocated with PAGEUSEALIGN. */
  readonly aligned: boolean;
  /** PC_* permissions of the block's page type: what the pages _PageReAllocate adds get. */
  readonly typePerm: number;
  /** mbi_AllocationProtect (§3.7). */
  readonly allocProtect: number;
  readonly alias?: AliasMap;
}

/** A block's attributes other than its place; reserve() defaults each one. */
export type BlockAttrs = Pick<Block, 'prFlags' | 'fixed' | 'aligned' | 'typePerm' | 'allocProtect'>;

/** PS values. */
export type PageState = (typeof PS)[keyof typeof PS];

export type PagerPolicy = 'off' | 'random' | 'aggressive';

export interface CoreOptions {
  seed: number;
  pager: PagerPolicy;
  /** Frames held in quarantine after release; default: 0 for 'off'/'random', frames/32 (≥ 8) for 'aggressive'. */
  quarantine?: number;
  /** Swappable commit limit in pages beyond RAM (the swap file). Default 3 × RAM. */
  swapPages?: number;
  /** Which events capture call-site stacks (history.ts StackPolicy). */
  stacks: StackPolicy;
  /** The main thread's trace writer (events of the VMM and the pager). */
  trace?: TraceWriter;
  /** Probability that a 'random' pager acts after a successful call or CPU access. */
  randomRate?: number;
}

/** Something that receives unlock-during-DMA findings (the report sink). */
export interface UnlockObserver {
  /** An unlock or free of `frame` took effect while the device slots `inflight` had an access to it in flight. */
  unlockDuringDma(frame: Frame, page: number, ctx: number, epoch: number, inflight: readonly number[], service: string): void;
}

export interface PagerStats {
  pageIns: number;
  pageOuts: number;
  discards: number;
  moves: number;
  zeroFills: number;
}

export class MemoryCore {
  private readonly pte = new Uint32Array(LINEAR_PAGES);
  private readonly pstate = new Uint8Array(LINEAR_PAGES);
  private readonly pinfo = new Uint32Array(LINEAR_PAGES);
  /** Base page of the owning block (valid when pstate ≠ FREE). */
  private readonly pblock = new Uint32Array(LINEAR_PAGES);
  /** Non-free pages per 4 MiB slot: a slot with none has no page table (§4.1). */
  private readonly slotUse = new Uint32Array(1024);
  private readonly blocks = new Map<LinPage, Block>();
  /** Block bases in ascending order (first-fit placement, _PageQuery). */
  private readonly sortedBases: LinPage[] = [];
  /** Saved contents of committed pages that were paged out (or written out and paged back in). */
  private readonly backing = new Map<number, Uint8Array>();
  /** The provenance of each saved copy's contents (provenance.ts contentsProvenance), restored at page-in. */
  private readonly backingProvenance = new Map<number, number>();
  /**
   * Each page's tenure: a fresh number, from one counter, whenever the page's commit, frame or lock
   * ends — decommit or free, page-out, move to another frame, unlock to 0, a block move. A global
   * alias records its originals' tenures while they are locked for it; it stands for that lock and
   * is alive only while they are unchanged, so neither address reuse nor someone else's lock on the
   * same page can bring it back. Uint32: two tenures 2^32 ends apart compare equal (ABA window).
   */
  private readonly tenure = new Uint32Array(LINEAR_PAGES);
  private tenureSeq = 0;
  readonly allocator: FrameAllocator;
  readonly rng: Prng;
  readonly history: History;
  /** Which driver holds each lock still held (lock-leak blame). */
  readonly locks = new LockLedger();
  readonly nulFrame: Frame;
  readonly stats: PagerStats = { pageIns: 0, pageOuts: 0, discards: 0, moves: 0, zeroFills: 0 };

  /** Resident, unlocked, swappable pages: the pager's candidates. O(1) add/remove/random pick. */
  private readonly pageable: Int32Array;
  private readonly pageablePos = new Int32Array(LINEAR_PAGES).fill(-1);
  private pageableCount = 0;

  /** Committed swappable pages (the commit charge against RAM + swap). */
  swappableCommitted = 0;
  readonly commitLimit: number;
  policy: PagerPolicy;
  randomRate: number;
  observer: UnlockObserver | undefined;
  /** Re-entrancy guard: the pager never runs inside one of its own operations. */
  private inPager = false;

  constructor(
    readonly shared: SharedViews,
    opts: CoreOptions,
    nextSeq: () => number,
  ) {
    this.policy = opts.pager;
    this.rng = new Prng(opts.seed);
    this.randomRate = opts.randomRate ?? 0.125;
    this.history = new History(opts.stacks, shared.frames, nextSeq, opts.trace);
    const frames = shared.frames;
    this.pageable = new Int32Array(frames);
    this.commitLimit = frames + (opts.swapPages ?? frames * 3);
    this.allocator = new FrameAllocator(shared, opts.quarantine ?? defaultQuarantine(opts.pager, frames));
    // The system nul page (§1.9): one fixed frame with no pager, mapped wherever "something
    // harmless" is needed. Taken first, so it is the lowest free frame.
    this.nulFrame = this.allocator.alloc() as Frame;
    fixFrame(shared, this.nulFrame);
    setFrameFlags(shared, this.nulFrame, FF.NOPAGER);
  }

  // ——— reading the linear space ———

  pageState(page: LinPage): PageState {
    return this.pstate[page] as PageState;
  }

  /** The page's PI bits and PC_* permissions. */
  pageInfo(page: LinPage): number {
    return this.pinfo[page]!;
  }

  /** The page's x86 PTE; 0 unless committed. */
  pteOf(page: LinPage): number {
    return this.pte[page]!;
  }

  /** Paged by the memory manager: neither fixed nor without a pager (so it has a lock count). */
  isDemandPaged(page: LinPage): boolean {
    return (this.pinfo[page]! & (PI.FIXED | PI.NOPAGER)) === 0;
  }

  isAliasPage(page: LinPage): boolean {
    return (this.pinfo[page]! & PI.ALIAS) !== 0;
  }

  /** Does the 4 MiB slot `slot` (linear address >> 22) have a page table (§4.1)? */
  hasPageTable(slot: number): boolean {
    return this.slotUse[slot]! !== 0;
  }

  /** The block whose base page is `base`, if any (a memory handle, when its kind is a DDK block). */
  blockByBase(base: LinPage): Block | undefined {
    return this.blocks.get(base);
  }

  blockAt(page: LinPage): Block | undefined {
    return this.pstate[page] === PS.FREE ? undefined : this.blocks.get(this.pblock[page]! as LinPage);
  }

  /** First free run of `n` pages in an arena (first fit), optionally 4 MiB aligned; -1 if none. */
  findFreeRun(arena: Arena, n: number, align4M: boolean): LinPage | -1 {
    const [lo, hi] = ARENA_BOUNDS[arena]!;
    const align = (p: number) => (align4M ? Math.ceil(p / 1024) * 1024 : p);
    let cand = align(lo);
    for (const base of this.sortedBases) {
      const b = this.blocks.get(base)!;
      if (base + b.size <= cand) continue;
      if (base > hi) break;
      if (base >= cand + n) break;
      cand = align(base + b.size);
    }
    return cand + n - 1 <= hi ? (cand as LinPage) : -1;
  }

  /** True if every page in [page, page+n) is free. */
  rangeFree(page: LinPage, n: number): boolean {
    // Blocks, not pages: stays cheap for huge ranges.
    if (this.pstate[page] !== PS.FREE) return false;
    const i = this.upperBound(page);
    const next = this.sortedBases[i];
    return next === undefined || next >= page + n;
  }

  /** The first block base strictly greater than `page`, or undefined. */
  nextBlockAfter(page: LinPage): LinPage | undefined {
    return this.sortedBases[this.upperBound(page)];
  }

  private upperBound(page: number): number {
    let lo = 0;
    let hi = this.sortedBases.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sortedBases[mid]! <= page) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // ——— blocks ———

  /**
   * Creates a block of reserved pages. The caller has checked the range is free. Unless told
   * otherwise a block is ring-0 read/write (as PG_SYS pages), unaligned, movable, not static.
   */
  reserve(base: LinPage, size: number, kind: BlockKind, attrs: Partial<BlockAttrs> = {}, alias?: AliasMap): Block {
    const b: Block = {
      base,
      size,
      kind,
      prFlags: attrs.prFlags ?? 0,
      fixed: attrs.fixed ?? false,
      aligned: attrs.aligned ?? false,
      typePerm: attrs.typePerm ?? PC_WRITEABLE,
      allocProtect: attrs.allocProtect ?? PAGE_NOACCESS,
      ...(alias ? { alias } : {}),
    };
    this.blocks.set(base, b);
    this.sortedBases.splice(this.upperBound(base), 0, base);
    this.markReserved(base, size, base);
    return b;
  }

  /** Grows a block in place; the caller has checked the pages after it are free. */
  extendBlock(b: Block, newSize: number): void {
    this.markReserved(b.base + b.size, newSize - b.size, b.base);
    b.size = newSize;
  }

  private markReserved(from: number, n: number, base: number): void {
    for (let p = from; p < from + n; p++) {
      this.pstate[p] = PS.RESERVED;
      this.pblock[p] = base;
      this.pte[p] = 0;
      this.pinfo[p] = 0;
      this.slotUse[p >>> 10]!++;
    }
  }

  /** Decommits every page and removes the block. */
  freeBlock(b: Block, service: string, ctx: number): void {
    for (let p = b.base; p < b.base + b.size; p++) {
      if (this.pstate[p] === PS.COMMITTED) this.decommitPage(p, service, ctx);
      this.pstate[p] = PS.FREE;
      this.pblock[p] = 0;
      this.slotUse[p >>> 10]!--;
    }
    this.blocks.delete(b.base);
    this.sortedBases.splice(this.upperBound(b.base) - 1, 1);
  }

  /**
   * Moves a block to a free run at `newBase` (`n` pages reserved there; the caller has checked it is
   * free and in the same arena) and frees the old one. The first `run` pages — the block's committed
   * pages — travel with their mappings: frames, locks, backing copies and pager candidacy stay, so
   * a locked page keeps its physical address (§1.8). Global aliases of the moved pages follow them,
   * which keeps the lock each alias stands for releasable through it.
   */
  relocateBlock(b: Block, newBase: LinPage, n: number, run: number, service: string, ctx: number): Block {
    const nb = this.reserve(newBase, n, b.kind, b);
    const followers = this.liveAliasesOf(b.base, run);
    for (let i = 0; i < run; i++) {
      const from = nthPage(b.base, i);
      const to = nthPage(newBase, i);
      this.pstate[to] = PS.COMMITTED;
      this.pinfo[to] = this.pinfo[from]!;
      this.pte[to] = this.pte[from]!;
      const saved = this.backing.get(from);
      if (saved) {
        this.backing.set(to, saved);
        this.backing.delete(from);
        const p = this.backingProvenance.get(from);
        this.backingProvenance.delete(from);
        if (p !== undefined) this.backingProvenance.set(to, p);
      }
      if (this.isPresent(from)) {
        const f = this.frameOfPage(from);
        const wasPageable = !this.isLocked(from) && this.isDemandPaged(from);
        this.removePageable(from);
        if (wasPageable) this.addPageable(to);
        // No-pager pages map frames the memory manager does not own: their owner stays as it is.
        if (!(this.pinfo[from]! & PI.NOPAGER)) setOwner(this.shared, f, to);
      }
      this.endTenure(from);
      this.endTenure(to);
      this.pstate[from] = PS.RESERVED;
      this.pinfo[from] = 0;
      this.pte[from] = 0;
    }
    for (const { map, i } of followers) {
      const to = nthPage(newBase, map.pages[i]! - b.base);
      map.pages[i] = to;
      map.tenures[i] = this.tenure[to]!;
    }
    this.freeBlock(b, service, ctx);
    return nb;
  }

  /** The alias pages still alive whose originals lie in [first, first+n). */
  private liveAliasesOf(first: LinPage, n: number): { map: AliasMap; i: number }[] {
    const out: { map: AliasMap; i: number }[] = [];
    for (const a of this.blocks.values()) {
      if (!a.alias) continue;
      for (let i = 0; i < a.size; i++) {
        const o = a.alias.pages[i]!;
        if (o >= first && o < first + n && this.aliasValid(nthPage(a.base, i))) out.push({ map: a.alias, i });
      }
    }
    return out;
  }

  /**
   * Maps a global alias of the `n` pages from `orig` at `base` (a free system-arena run the caller
   * found), after the caller locked them: the alias stands for that lock, in the originals' current
   * tenures. The alias pages have no pager and map the same frames; CPU writes through them dirty
   * the alias PTE only — the reason PAGEMARKDIRTY exists.
   */
  mapAlias(orig: LinPage, n: number, base: LinPage, ctx: number): void {
    const pages = new Int32Array(n);
    const tenures = new Uint32Array(n);
    const where = this.history.currentStack();
    for (let i = 0; i < n; i++) {
      pages[i] = orig + i;
      tenures[i] = this.tenure[orig + i]!;
      // The lock this call just took on the original now stands for the alias (alias-leak, not lock-leak).
      if (!(this.pinfo[orig + i]! & (PI.FIXED | PI.NOPAGER))) this.locks.toAlias(this.frameOfPage(nthPage(orig, i)), ctx, where);
    }
    this.reserve(base, n, 'alias', {}, { pages, tenures, ctx, where });
    for (let i = 0; i < n; i++) this.commitNoPager(nthPage(base, i), this.frameOfPage(nthPage(orig, i)), PC_WRITEABLE, PI.ALIAS);
  }

  /**
   * Tears a global alias down and frees it. Each original page still in the tenure the alias was
   * made in loses the lock the alias stands for. Where the alias is dead, that lock already ended
   * with the original's tenure (unlocked to 0, paged out, decommitted, freed), so nothing is
   * unlocked: above all not a lock that a later owner of the same page or frame took.
   */
  releaseAlias(b: Block, markPageOut: boolean, service: string, ctx: number): void {
    const map = b.alias!;
    for (let i = 0; i < b.size; i++) {
      if (this.aliasValid(nthPage(b.base, i))) this.unlockPage(map.pages[i]! as LinPage, ctx, markPageOut, service, true);
    }
    this.freeBlock(b, service, ctx);
  }

  /** Maps `n` physical frames from `first` at `base` (a free system-arena run): _MapPhysToLinear. */
  mapPhysical(base: LinPage, first: Frame, n: number): void {
    this.reserve(base, n, 'physmap');
    for (let i = 0; i < n; i++) this.commitNoPager(nthPage(base, i), nthFrame(first, i), PC_WRITEABLE, 0);
  }

  private endTenure(page: number): void {
    this.tenure[page] = ++this.tenureSeq;
  }

  // ——— commit / decommit ———

  /** Commits a reserved page as swappable (not present until touched or locked). */
  commitSwappable(page: LinPage, perm: number, zeroInit: boolean, dirty: boolean): void {
    this.pstate[page] = PS.COMMITTED;
    this.pinfo[page] = perm | PI.VIRGIN | (zeroInit ? PI.ZEROINIT : 0);
    this.pte[page] = permToPte(perm) & ~P_PRES;
    this.swappableCommitted++;
    if (dirty) this.pinfo[page]! &= ~PI.VIRGIN;
  }

  /** Commits a reserved page onto frame `f` as a fixed page (frame already allocated). */
  commitFixed(page: LinPage, f: Frame, perm: number, zero: boolean): void {
    // Device findings already published become records first, from the facts as they are.
    this.history.beforeChange();
    this.pstate[page] = PS.COMMITTED;
    this.pinfo[page] = perm | PI.FIXED;
    this.pte[page] = makePte(f, permToPte(perm) | P_PRES);
    frameArrived(this.shared, f, page);
    fixFrame(this.shared, f);
    setOwner(this.shared, f, page);
    if (zero) {
      frameWritten(this.shared, f);
      this.shared.ram.fill(0, frameBase(f), frameBase(f) + PAGESIZE);
    }
    this.history.record('alloc', f, epochOf(this.shared, f), -1, page, 'commit');
  }

  /** A PCC_NOLIN frame: fixed, mapped nowhere, the caller's forever. */
  fixNoLinFrame(f: Frame): void {
    // Device findings already published become records first, from the facts as they are.
    this.history.beforeChange();
    frameArrived(this.shared, f, -1);
    fixFrame(this.shared, f);
    this.history.record('alloc', f, epochOf(this.shared, f), -1, -1, '_PageCommitContig');
  }

  /** Commits a reserved page onto a frame the memory manager does not own (no pager, no frame-table change). */
  commitNoPager(page: LinPage, f: Frame, perm: number, extra: number): void {
    this.pstate[page] = PS.COMMITTED;
    this.pinfo[page] = perm | PI.NOPAGER | extra;
    this.pte[page] = makePte(f, permToPte(perm) | P_PRES);
  }

  /** Back to "reserved": frame and backing copy released, locks dropped (with the in-flight check). */
  decommitPage(page: LinPage, service: string, ctx: number): void {
    const info = this.pinfo[page]!;
    const pte = this.pte[page]!;
    if (!(info & (PI.NOPAGER | PI.FIXED))) this.swappableCommitted--;
    if (pte & P_PRES && !(info & PI.NOPAGER)) {
      const f = pteFrame(pte);
      this.removePageable(page);
      this.releaseFrame(f, page, service, ctx, 'free');
    }
    this.backing.delete(page);
    this.backingProvenance.delete(page);
    this.endTenure(page);
    this.pstate[page] = PS.RESERVED;
    this.pinfo[page] = 0;
    this.pte[page] = 0;
  }

  /** Retires a frame from its page and returns it to the allocator; reports a DMA still in flight. */
  private releaseFrame(f: Frame, page: LinPage, service: string, ctx: number, kind: 'free' | 'page-out' | 'move'): void {
    // Device findings already published become records first, from the facts as they are.
    this.history.beforeChange();
    const wasLocked = lockCount(this.shared, f) > 0 || (flagsOf(this.shared, f) & FF.FIXED) !== 0;
    const r = retireFrame(this.shared, f);
    frameLeft(this.shared, f, page, kind !== 'free');
    this.locks.clear(f);
    this.history.record(kind, f, r.epoch, ctx, page, service);
    if (r.inflight && wasLocked) this.observer?.unlockDuringDma(f, page, ctx, r.epoch, r.inflight, service);
    this.allocator.release(f);
  }

  // ——— residency ———

  isPresent(page: LinPage): boolean {
    return (this.pte[page]! & P_PRES) !== 0;
  }

  /** The frame a present page maps (meaningless when not present). */
  frameOfPage(page: LinPage): Frame {
    return pteFrame(this.pte[page]!);
  }

  get pageableResident(): number {
    return this.pageableCount;
  }

  /** Frames that could be made available for a lock or page-in right now. */
  get obtainableFrames(): number {
    return this.allocator.freeCount + this.pageableCount;
  }

  /** Makes a committed swappable page present. False if no frame can be found. */
  pageIn(page: LinPage): boolean {
    // Device findings already published become records first, from the facts as they are.
    this.history.beforeChange();
    const f = this.obtainFrame();
    if (f === -1) return false;
    const ram = this.shared.ram;
    const saved = this.backing.get(page);
    const info = this.pinfo[page]!;
    // Provenance (provenance.ts): the frame takes a page now; its contents' stamp is set before the
    // bytes are stored — the saved copy's own, or now for a zero fill.
    frameArrived(this.shared, f, page);
    if (saved) {
      setContentsProvenance(this.shared, f, this.backingProvenance.get(page) ?? stampNow(this.shared));
      ram.set(saved, frameBase(f));
    } else if (info & PI.ZEROINIT) {
      frameWritten(this.shared, f);
      ram.fill(0, frameBase(f), frameBase(f) + PAGESIZE);
      this.stats.zeroFills++;
    }
    // PD_NOINIT with no saved copy: contents undefined — whatever the frame held stays there (with
    // the provenance it had).
    this.pte[page] = makePte(f, permToPte(info) | P_PRES);
    setOwner(this.shared, f, page);
    this.history.record('alloc', f, epochOf(this.shared, f), -1, page, 'page-in');
    this.addPageable(page);
    this.stats.pageIns++;
    return true;
  }

  /**
   * Pages out an unlocked swappable page. Dirty pages (or pages with no copy that are not virgin)
   * are written to the backing store; a clean page with a backing copy is simply dropped, as is a
   * virgin one — which is exactly why a device write into a page nobody marked dirty is lost.
   */
  private pageOut(page: LinPage, ctx = -1): void {
    const pte = this.pte[page]!;
    const f = pteFrame(pte);
    const info = this.pinfo[page]!;
    const mustWrite = (pte & P_DIRTY) !== 0 || (!this.backing.has(page) && !(info & PI.VIRGIN));
    if (mustWrite) {
      this.backing.set(page, this.shared.ram.slice(frameBase(f), frameBase(f) + PAGESIZE));
      this.pinfo[page] = info & ~PI.VIRGIN;
      this.stats.pageOuts++;
    } else {
      this.stats.discards++;
    }
    // The saved copy is the frame's contents (written now, or clean since it was saved): so is
    // their provenance.
    if (this.backing.has(page)) this.backingProvenance.set(page, savedProvenance(this.shared, f));
    this.removePageable(page);
    this.pte[page] = pte & (P_WRITE | P_USER);
    this.endTenure(page);
    this.releaseFrame(f, page, 'pager', ctx, 'page-out');
  }

  /** Moves a resident unlocked page to another frame (contents copied). Falls back to page-out. */
  private movePage(page: LinPage): void {
    this.history.beforeChange();
    const nf = this.allocator.alloc();
    if (nf === -1) {
      this.pageOut(page);
      return;
    }
    const pte = this.pte[page]!;
    const f = pteFrame(pte);
    // The new frame takes the page, and the contents keep their provenance (provenance.ts).
    frameArrived(this.shared, nf, page);
    setContentsProvenance(this.shared, nf, savedProvenance(this.shared, f));
    this.shared.ram.copyWithin(frameBase(nf), frameBase(f), frameBase(f) + PAGESIZE);
    this.pte[page] = makePte(nf, pte);
    this.endTenure(page);
    setOwner(this.shared, nf, page);
    if (pte & P_DIRTY) setFrameFlags(this.shared, nf, FF.PTE_DIRTY);
    this.history.record('alloc', nf, epochOf(this.shared, nf), -1, page, 'move');
    this.releaseFrame(f, page, 'pager', -1, 'move');
    this.stats.moves++;
  }

  /** A free frame, evicting a pager candidate if the free list is empty; -1 if neither. */
  private obtainFrame(): Frame | -1 {
    const f = this.allocator.alloc();
    if (f !== -1 || this.pageableCount === 0) return f;
    this.pageOut(this.pageable[this.rng.below(this.pageableCount)]! as LinPage);
    return this.allocator.alloc();
  }

  /** A frame for a fixed page: like obtainFrame, for callers that pre-checked obtainableFrames. */
  takeFrame(): Frame {
    const f = this.obtainFrame();
    if (f === -1) throw new Error('dmasim internal: takeFrame without a frame (the caller must pre-check)');
    return f;
  }

  /**
   * A contiguous run for a fixed allocation: frames that are free, quarantined, or held by an
   * unlocked swappable page (which the pager may evict at any moment, §1.8). Pure; -1 if none.
   */
  findContig(req: ContigRequest): Frame | -1 {
    const a = this.allocator;
    // Prefer a run that leaves the quarantine alone; reach into it only when nothing else fits.
    const run = a.findContig(req, (f) => a.isFree(f) || this.isEvictableFrame(f));
    return run !== -1 ? run : a.findContig(req, (f) => a.isFree(f) || a.isQuarantined(f) || this.isEvictableFrame(f));
  }

  /** Takes the run found by findContig, paging out the swappable pages that hold any of it. */
  takeContig(start: Frame, count: number): void {
    for (let f = start; f < start + count; f++) {
      if (this.isEvictableFrame(f)) this.pageOut(ownerOf(this.shared, f) as LinPage);
    }
    this.allocator.takeRun(start, count);
  }

  private isEvictableFrame(f: number): boolean {
    const page = ownerOf(this.shared, f as Frame);
    return page >= 0 && this.pageablePos[page]! >= 0 && this.frameOfPage(page as LinPage) === f;
  }

  private addPageable(page: LinPage): void {
    if (this.pageablePos[page]! >= 0) return;
    this.pageablePos[page] = this.pageableCount;
    this.pageable[this.pageableCount++] = page;
  }

  private removePageable(page: LinPage): void {
    const i = this.pageablePos[page]!;
    if (i < 0) return;
    const last = this.pageable[--this.pageableCount]!;
    this.pageable[i] = last;
    this.pageablePos[last] = i;
    this.pageablePos[page] = -1;
  }

  // ——— locks ———

  /**
   * Adds one lock to a committed page, paging it in first. Fixed and no-pager pages are permanently
   * locked: the call changes nothing but the dirty mark. The caller pre-checked frames.
   */
  lockPage(page: LinPage, ctx: number, markDirty: boolean, service: string): void {
    // Device findings already published become records first, from the facts as they are.
    this.history.beforeChange();
    const info = this.pinfo[page]!;
    if (!(info & (PI.FIXED | PI.NOPAGER))) {
      if (!this.isPresent(page)) this.pageIn(page);
      const f = this.frameOfPage(page);
      const count = lockFrame(this.shared, f, ctx);
      this.locks.lock(f, ctx, this.history.currentStack());
      if (count === 1) {
        this.removePageable(page);
        this.history.record('lock', f, epochOf(this.shared, f), ctx, page, service);
      }
    }
    if (markDirty && this.isPresent(page)) {
      this.pte[page]! |= P_DIRTY;
      // As in cpuWrote: only a frame the page owns gets the mark; MARKDIRTY only while locked.
      if (!(info & PI.NOPAGER)) setFrameFlags(this.shared, this.frameOfPage(page), FF.PTE_DIRTY | (info & PI.FIXED ? 0 : FF.MARKDIRTY));
    }
  }

  /** Can `page` take one more unlock? Fixed / no-pager pages always can (no effect). */
  isUnlockable(page: LinPage): boolean {
    if (this.pinfo[page]! & (PI.FIXED | PI.NOPAGER)) return true;
    return this.isPresent(page) && lockCount(this.shared, this.frameOfPage(page)) > 0;
  }

  isLocked(page: LinPage): boolean {
    return this.isPresent(page) && lockCount(this.shared, this.frameOfPage(page)) > 0;
  }

  /** Drops one lock (checked by the caller). At zero the page becomes a pager candidate again. */
  unlockPage(page: LinPage, ctx: number, markPageOut: boolean, service: string, forAlias = false): void {
    // Device findings already published become records first, from the facts as they are.
    this.history.beforeChange();
    if (this.pinfo[page]! & (PI.FIXED | PI.NOPAGER)) return;
    const f = this.frameOfPage(page);
    const r = unlockFrame(this.shared, f);
    this.locks.unlock(f, ctx, forAlias);
    if (r.count !== 0) return;
    this.endTenure(page);
    this.history.record('unlock', f, r.epoch, ctx, page, service);
    if (r.inflight) this.observer?.unlockDuringDma(f, page, ctx, r.epoch, r.inflight, service);
    if (markPageOut) this.pte[page]! &= ~P_ACC;
    this.addPageable(page);
    if (this.policy === 'aggressive') this.evictNow(page);
  }

  // ——— the pager ———

  /** Aggressive policy: a page unlocked to zero is moved or paged out at once (seeded choice). */
  private evictNow(page: LinPage): void {
    if (this.inPager) return;
    this.inPager = true;
    try {
      if (this.rng.chance(0.5)) this.movePage(page);
      else this.pageOut(page);
    } finally {
      this.inPager = false;
    }
  }

  /** One pager decision on a random candidate (move or page out). False if there is none. */
  pagerStep(): boolean {
    if (this.pageableCount === 0 || this.inPager) return false;
    this.inPager = true;
    try {
      const page = this.pageable[this.rng.below(this.pageableCount)]! as LinPage;
      if (this.rng.chance(0.5)) this.movePage(page);
      else this.pageOut(page);
      return true;
    } finally {
      this.inPager = false;
    }
  }

  /** A full pass: every current candidate is moved or paged out. Returns how many were touched. */
  pagerPass(): number {
    if (this.inPager) return 0;
    const victims = Array.from(this.pageable.subarray(0, this.pageableCount)) as LinPage[];
    this.inPager = true;
    try {
      for (const page of victims) {
        if (this.pageablePos[page]! < 0) continue;
        if (this.rng.chance(0.5)) this.movePage(page);
        else this.pageOut(page);
      }
    } finally {
      this.inPager = false;
    }
    return victims.length;
  }

  /** Called after every successful service call and CPU access: background paging per policy. */
  tick(): void {
    if (this.policy === 'off') return;
    if (this.policy === 'aggressive' || this.rng.chance(this.randomRate)) this.pagerStep();
  }

  // ——— CPU dirty tracking ———

  /** The CPU wrote through `page` (whose PTE maps frame f): set P_DIRTY|P_ACC and mirror the dirty bit. */
  cpuWrote(page: LinPage): void {
    const pte = this.pte[page]!;
    if ((pte & (P_DIRTY | P_ACC)) === (P_DIRTY | P_ACC) && !(this.pinfo[page]! & PI.VIRGIN)) return;
    this.pte[page] = pte | P_DIRTY | P_ACC;
    this.pinfo[page]! &= ~PI.VIRGIN;
    // The frame's dirty mirror belongs to the page that owns the frame; aliases, physical mappings
    // and _PageCommitPhys pages map frames they do not own (and a dirty alias is the DDK's point).
    if (!(this.pinfo[page]! & PI.NOPAGER)) setFrameFlags(this.shared, pteFrame(pte), FF.PTE_DIRTY);
  }

  /**
   * The main thread is about to write frame `f`'s contents (a CPU write through any mapping, VDMAD's
   * EDDS): stamps them (provenance.ts). Before the bytes, so a device that reads them reads the stamp.
   */
  contentWritten(f: Frame, t = stampNow(this.shared)): void {
    if (f < this.shared.frames) frameWritten(this.shared, f, t);
  }

  /** A stamp for contentWritten, taken once before a multi-page write begins. */
  stampNow(): number {
    return stampNow(this.shared);
  }

  cpuRead(page: LinPage): void {
    this.pte[page]! |= P_ACC;
  }

  /**
   * `n` bytes of a committed page from offset `off` (within the page), as a CPU read would see them,
   * changing nothing — no page-in, no P_ACC, no pager step: from the frame when present, else from
   * the saved copy, else zeros (a page never written; a PD_NOINIT one's contents are undefined, and
   * zeros are as good as any). For a service that must decide from guest memory before it acts and
   * change nothing if it fails: VDMAD reads an EDDS (vdmad.ts).
   */
  peekBytes(page: LinPage, off: number, n: number): Uint8Array {
    if (off < 0 || n < 0 || off + n > PAGESIZE) throw new RangeError(`dmasim internal: peekBytes(${off}, ${n}) leaves the page`);
    if (this.isPresent(page)) {
      const at = frameBase(this.frameOfPage(page)) + off;
      return this.shared.ram.slice(at, at + n);
    }
    const saved = this.backing.get(page);
    return saved ? saved.slice(off, off + n) : new Uint8Array(n);
  }

  /**
   * The lock just taken on `page` will be released by a service that dirties the page first: VDMAD's
   * Unlock_DMA_Region and Scatter_Unlock touch every page before _LinPageUnLock (§5.5), because a
   * device's writes never set P_DIRTY. A device may therefore write into the page meanwhile without
   * the pager losing the write, and the frame carries FF.MARKDIRTY for as long as it stays locked
   * (unlockFrame clears it at count 0) — the PTE stays clean until the unlock dirties it, so
   * `_No_Dirty` / DMA_SL_Dont_Dirty unlocks leave it clean. Fixed and no-pager frames need no mark.
   */
  dirtiedAtUnlock(page: LinPage): void {
    if (this.pinfo[page]! & (PI.FIXED | PI.NOPAGER) || !this.isLocked(page)) return;
    setFrameFlags(this.shared, this.frameOfPage(page), FF.MARKDIRTY);
  }

  /**
   * Is an alias page alive: is its original still in the tenure the alias was made in — and, for an
   * alias of an alias, is that one alive too? A dead alias maps a frame that is no longer its
   * original's (or no longer locked for it): it must not be read, written, handed out or unlocked.
   */
  aliasValid(aliasPage: LinPage): boolean {
    let page = aliasPage;
    for (;;) {
      const b = this.blockAt(page);
      if (!b?.alias) return false;
      const i = page - b.base;
      const orig = b.alias.pages[i]! as LinPage;
      if (this.tenure[orig] !== b.alias.tenures[i]) return false;
      // Acyclic: an alias only ever maps pages that existed, in their current tenure, before it.
      if (!(this.pinfo[orig]! & PI.ALIAS)) return true;
      page = orig;
    }
  }

  // ——— contents and attributes ———

  /**
   * Zeroes a committed page's contents: a present page in its frame (dirty now: the new contents
   * must be written at the next page-out), an absent one by dropping its saved copy so that it
   * reads back as zeros.
   */
  zeroContents(p: LinPage): void {
    this.backing.delete(p);
    this.backingProvenance.delete(p);
    if (this.isPresent(p)) {
      const f = this.frameOfPage(p);
      frameWritten(this.shared, f);
      this.shared.ram.fill(0, frameBase(f), frameBase(f) + PAGESIZE);
      this.cpuWrote(p);
    } else {
      this.pinfo[p]! |= PI.ZEROINIT | PI.VIRGIN;
    }
  }

  /**
   * _PageModifyPermissions on committed pages: new = (old & and) | (or & PERM_MASK), in the page
   * information and the PTE. Returns the first page's previous permissions.
   */
  modifyPermissions(p: LinPage, n: number, and: number, or: number): number {
    const old = this.pinfo[p]! & PERM_MASK;
    for (let i = p; i < p + n; i++) {
      const info = this.pinfo[i]!;
      const perm = (info & PERM_MASK & and) | (or & PERM_MASK);
      this.pinfo[i] = (info & ~PERM_MASK) | perm;
      this.pte[i] = (this.pte[i]! & ~(P_WRITE | P_USER)) | permToPte(perm);
    }
    return old;
  }

  /** Committed pages that _PageDiscardPages acts on: demand-paged, present and unlocked (§4.22). */
  private discardable(p: LinPage): boolean {
    return this.isDemandPaged(p) && this.isPresent(p) && !this.isLocked(p);
  }

  /** _PageDiscardPages without PAGEDISCARD: discardable pages become preferred page-out victims. */
  clearAccessed(p: LinPage, n: number): void {
    for (let i = p; i < p + n; i = nthPage(i, 1)) if (this.discardable(i)) this.pte[i]! &= ~P_ACC;
  }

  /**
   * _PageDiscardPages with PAGEDISCARD: discardable pages lose their contents without being written
   * and go back to virgin, not present; `zeroInit` makes them read back as zeros even if they are
   * PD_NOINIT pages. Other committed pages are skipped.
   */
  discardPages(p: LinPage, n: number, zeroInit: boolean, ctx: number): void {
    for (let i = p; i < p + n; i = nthPage(i, 1)) {
      if (!this.discardable(i)) continue;
      this.backing.delete(i);
      this.backingProvenance.delete(i);
      this.pinfo[i]! |= PI.VIRGIN | (zeroInit ? PI.ZEROINIT : 0);
      this.pte[i]! &= ~(P_DIRTY | P_ACC);
      this.pageOut(i, ctx);
    }
  }

  // ——— snapshots ———

  /** A digest of every piece of state, for all-or-nothing tests: equal digests, equal state. */
  fingerprint(): string {
    const h = createHash('sha256');
    // The control buffer without H.INSTANCE: that word tells simulators apart, it is not state.
    const c = this.shared.control;
    for (const a of [this.pte, this.pstate, this.pinfo, this.pblock, this.slotUse, this.tenure, c.subarray(0, H.INSTANCE), c.subarray(H.INSTANCE + 1), this.shared.ram]) {
      h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    }
    for (const [base, b] of [...this.blocks].sort((x, y) => x[0] - y[0])) {
      h.update(`${base}:${b.size}:${b.kind}:${b.prFlags};`);
      if (b.alias) h.update(`${b.alias.pages.join(',')}@${b.alias.tenures.join(',')};`);
    }
    for (const [p, d] of [...this.backing].sort((x, y) => x[0] - y[0])) h.update(`${p}`).update(d);
    h.update(this.allocator.fingerprint());
    h.update(this.rng.state());
    h.update(`${this.pageableCount}:${this.swappableCommitted}:${JSON.stringify(this.stats)}`);
    return h.digest('hex');
  }

  /** Every global alias block still mapped (alive or dead), for alias-leak. */
  aliasBlocks(): Block[] {
    return [...this.blocks.values()].filter((b) => b.alias !== undefined);
  }

  /** The frame's DMA-visible state, for reports. */
  frameState(f: Frame): { lock: number; epoch: number; flags: number; owner: number } {
    return { lock: lockCount(this.shared, f), epoch: epochOf(this.shared, f), flags: flagsOf(this.shared, f), owner: ownerOf(this.shared, f) };
  }

}

/** PC_* permission bits → PTE bits (ring 0 writes regardless: Windows 95 runs with CR0.WP clear). */
function permToPte(perm: number): number {
  return (perm & PC_WRITEABLE ? P_WRITE : 0) | (perm & PC_USER ? P_USER : 0);
}

function defaultQuarantine(policy: PagerPolicy, frames: number): number {
  return policy === 'aggressive' ? Math.max(8, Math.floor(frames / 32)) : 0;
}
