/**
 * A reference model of the VMM page services (../shared/spec/vmm-ddk.md §4 and the choices README
 * "Where the DDK is silent" documents), for the model-based property test
 * (test/vmm-model.property.test.ts). It knows memory blocks, page states, permissions, per-page lock
 * counts and which driver holds each lock, global aliases and how long each of their pages lives,
 * what the CPU wrote, and — where it can be known — residency and the accessed/dirty bits.
 * It knows nothing of frames, epochs, tenures or the pager's choices: where the pager may have acted,
 * the model says "unknown" and the test compares only what is certain.
 *
 * Each service is a function of the model and the raw DDK arguments that returns a Prediction: the
 * failure the DDK (or README) demands — its return value and `lastError` code — or a success with
 * its return value (or a check for a value the model cannot choose, such as the linear address of a
 * new block) and the state change to apply. Validation goes argument by argument, then against the
 * state; the model changes nothing until `apply`.
 *
 * Pure TypeScript, no simulator and no vitest: the test drives it and compares.
 */

import {
  MEM_COMMIT,
  MEM_FREE,
  MEM_PRIVATE,
  MEM_RESERVE,
  MININVALIDPAGE,
  MBI_SIZE,
  NUL_PAGE_HANDLE,
  P_ACC,
  P_DIRTY,
  P_PRES,
  P_USER,
  P_WRITE,
  PAGE_NOACCESS,
  PAGE_READONLY,
  PAGE_READWRITE,
  PAGECONTIG,
  PAGEDISCARD,
  PAGEFIXED,
  PAGELOCKED,
  PAGELOCKEDIFDP,
  PAGEMAPGLOBAL,
  PAGEMARKDIRTY,
  PAGEMARKPAGEOUT,
  PAGENOCOPY,
  PAGEUSEALIGN,
  PAGEZEROINIT,
  PAGEZEROREINIT,
  PC_DIRTY,
  PC_FIXED,
  PC_INCR,
  PC_LOCKED,
  PC_LOCKEDIFDP,
  PC_PRESENT,
  PC_STATIC,
  PC_USER,
  PC_WRITEABLE,
  PCC_NOLIN,
  PCC_ZEROINIT,
  PD_FIXED,
  PD_FIXEDZERO,
  PD_ZEROINIT,
  PG_HOOKED,
  PG_SYS,
  PG_VM,
  PR_4MEG,
  PR_FIXED,
  PR_PRIVATE,
  PR_SHARED,
  PR_STATIC,
  PR_SYSTEM,
  SYS_VM_HANDLE,
  type VmmErrorCode,
} from '../../src/index.js';

export const PAGE = 4096;
export const LINEAR_PAGES = 0x100000;
/** Frames the model's simulators have (1 MiB) and those a driver can ever get (all but the nul page). */
export const FRAMES = 256;
export const USABLE_FRAMES = FRAMES - 1;
/** Swappable commit limit: RAM plus the default swap (3 × RAM). */
export const COMMIT_LIMIT = 4 * FRAMES;
const PERM = PC_WRITEABLE | PC_USER;

/** A fact the model knows, or knows it does not know. */
export type Tri = 'yes' | 'no' | 'unknown';

export type Arena = 'dos' | 'private' | 'shared' | 'system' | 'invalid';

/** DDK arena bounds (spec §1.2), as [first page, last page]. */
export const ARENAS: Record<Exclude<Arena, 'invalid'>, readonly [number, number]> = {
  dos: [0x00000, 0x003ff],
  private: [0x00400, 0x7ffff],
  shared: [0x80000, 0xbffff],
  system: [0xc0000, 0xffbff],
};

export function arenaOf(page: number): Arena {
  if (page <= 0x003ff) return 'dos';
  if (page <= 0x7ffff) return 'private';
  if (page <= 0xbffff) return 'shared';
  if (page < MININVALIDPAGE) return 'system';
  return 'invalid';
}

/** PC_* permissions → the Win32 protection _PageQuery reports (spec §4.6). */
export function protectOf(perm: number): number {
  if (!(perm & PC_USER)) return PAGE_NOACCESS;
  return perm & PC_WRITEABLE ? PAGE_READWRITE : PAGE_READONLY;
}

/** A committed page. */
export interface MPage {
  /** Permanently locked (PAGEFIXED, PC_FIXED, contiguous commits): no lock count, never moves. */
  readonly fixed: boolean;
  /** Comes back as zeros when it has no saved contents (PD_ZEROINIT, or a PAGEZEROINIT discard). */
  zeroInit: boolean | 'maybe';
  /** PC_WRITEABLE | PC_USER. */
  perm: number;
  /** Lock count (swappable pages only). */
  locks: number;
  /**
   * Who took the locks still held, oldest first, as runs of one driver (README, leaks: an unlock
   * consumes the unlocker's own most recent lock, else the most recent lock of another driver).
   */
  holders: { ctx: number; count: number; alias: boolean }[];
  /** The driver whose lock took the count from 0 to 1 (sim.outstandingLocks()' driver). */
  firstLocker: number;
  /**
   * Bumped whenever what a global alias of the page stands for ends: its lock count reaches 0, or it
   * is decommitted or freed (README: an alias lives exactly as long as what it aliases).
   */
  tenure: number;
  /**
   * Bytes written through a global alias while the page was not known dirty: the VMM does not know
   * the page changed (README: writes through the alias dirty the alias, not the original), so once
   * the page is unlocked they may be lost to a page-out — unless something dirties the page first.
   */
  fragile: Uint8Array | null;
  /** Resident. Locked and fixed pages always are. */
  present: Tri;
  /** P_ACC and P_DIRTY as the PTE shows them while the page is present. */
  acc: Tri;
  dirty: Tri;
  /** The frame a fixed page, or a locked page since its count left 0, must keep (learned from a PTE). */
  frame: number | null;
  /** Contents, meaningful where `known` is 1. */
  readonly data: Uint8Array;
  readonly known: Uint8Array;
}

export interface MBlock {
  /** Base linear page (the handle is base × 4096). */
  base: number;
  /** Reserved size in pages. */
  size: number;
  readonly kind: 'allocate' | 'reserve';
  /** PAGEFIXED allocation: its pages are fixed and the block never moves. */
  readonly fixed: boolean;
  /** PAGEUSEALIGN allocation: cannot be reallocated. */
  readonly aligned: boolean;
  /** PR_FIXED | PR_STATIC. */
  readonly prFlags: number;
  /** What pages _PageReAllocate adds get (README: the page type's permissions). */
  readonly typePerm: number;
  /** mbi_AllocationProtect. */
  readonly allocProtect: number;
  /** One entry per reserved page: null while only reserved. */
  pages: (MPage | null)[];
}

/** A global alias: pages in the system arena mapping the frames of `origs`, while they last. */
export interface MAlias {
  readonly base: number;
  readonly size: number;
  /** Each original page and the tenure it was in when the alias was made. */
  readonly origs: readonly { readonly pg: MPage; readonly tenure: number }[];
  /** The alias PTEs' own P_ACC / P_DIRTY (the CPU through the alias sets them, not the original's). */
  readonly acc: Tri[];
  readonly dirty: Tri[];
}

export type Prediction = Failure | Success;

export interface Failure {
  readonly ok: false;
  readonly code: VmmErrorCode;
  /** The DDK failure value. */
  readonly value: number;
}

export interface Success {
  readonly ok: true;
  /** The exact return value, when the model can say it. */
  readonly value?: number;
  /** For a value the model cannot choose: null if acceptable, else why not. */
  readonly accept?: (r: number) => string | null;
  /** A failure the DDK allows that the model cannot rule out (a contiguous run may not exist). */
  readonly mayFail?: VmmErrorCode;
  /** Applies the state change, given the real return value. */
  readonly apply: (r: number) => void;
}

class Invalid {
  constructor(readonly code: VmmErrorCode) {}
}

function fail(code: VmmErrorCode): never {
  throw new Invalid(code);
}

const isUlong = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

function ulong(v: unknown): number {
  if (!isUlong(v)) fail('invalid-argument');
  return v;
}

function count(v: unknown): number {
  const n = ulong(v);
  if (n === 0) fail('zero-count');
  return n;
}

/** README: flag and mask arguments are bit patterns, negative int32 values read as unsigned. */
function bits(v: unknown): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v < 0) return v >>> 0;
  return ulong(v);
}

function flagsIn(v: unknown, allowed: number): number {
  const f = bits(v);
  if ((f & ~allowed) >>> 0 !== 0) fail('reserved-flags');
  return f;
}

/** Align masks 2^k − 1 up to 0xFFF (the DDK's 0x00 … 0x1F, and larger ones). */
function alignMask(v: unknown): number {
  const m = ulong(v);
  if (m > 0xfff || (m & (m + 1)) !== 0) fail('invalid-align-mask');
  return m;
}

const ok = (s: Omit<Success, 'ok'>): Success => ({ ok: true, ...s });

function predict(failure: number, body: () => Success): Prediction {
  try {
    return body();
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, code: e.code, value: failure };
    throw e;
  }
}

function newPage(fixed: boolean, perm: number, zero: boolean, present: Tri): MPage {
  return {
    fixed,
    zeroInit: zero,
    perm,
    locks: 0,
    holders: [],
    firstLocker: -1,
    tenure: 0,
    fragile: null,
    present,
    acc: 'no',
    dirty: 'no',
    frame: null,
    data: new Uint8Array(PAGE),
    // Zero-initialised pages are known to read zeros; others hold whatever their frame held.
    known: new Uint8Array(PAGE).fill(zero ? 1 : 0),
  };
}

/** One more lock on a swappable page, taken by driver `ctx`. */
function takeLock(pg: MPage, ctx: number): void {
  if (pg.locks === 0) pg.firstLocker = ctx;
  pg.locks++;
  const last = pg.holders[pg.holders.length - 1];
  if (last?.ctx === ctx && !last.alias) last.count++;
  else pg.holders.push({ ctx, count: 1, alias: false });
}

/**
 * Removes one lock from the holders (README, src/vmm/locks.ts): the dropping driver's most recent lock
 * of that kind (plain, or the one a global alias stands for), else the most recent of that kind
 * whoever took it, else the most recent of any.
 */
function takeHolder(pg: MPage, ctx: number, alias: boolean): void {
  const h = pg.holders;
  let i = h.length - 1;
  while (i >= 0 && !(h[i]!.ctx === ctx && h[i]!.alias === alias)) i--;
  if (i < 0) {
    i = h.length - 1;
    while (i >= 0 && h[i]!.alias !== alias) i--;
  }
  if (i < 0) i = h.length - 1;
  if (i < 0) return;
  if (--h[i]!.count === 0) h.splice(i, 1);
}

/** One lock fewer, dropped by driver `ctx`. At 0 the page's tenure ends: aliases of it die. */
function dropLock(pg: MPage, ctx: number, alias = false): void {
  pg.locks--;
  takeHolder(pg, ctx, alias);
  if (pg.locks > 0) return;
  pg.firstLocker = -1;
  pg.frame = null;
  pg.tenure++;
  // Unlocked and not known dirty: what only an alias wrote may be lost to the next page-out.
  if (pg.fragile && pg.dirty !== 'yes') for (let i = 0; i < PAGE; i++) if (pg.fragile[i]) pg.known[i] = 0;
  pg.fragile = null;
}

/** The page leaves its block (decommitted, freed): its aliases die. */
function retire(pg: MPage | null | undefined): void {
  if (pg) pg.tenure++;
}

/** Something dirtied the page (the CPU through it, PAGEMARKDIRTY): everything in it will be saved. */
function dirtied(pg: MPage): void {
  pg.dirty = 'yes';
  pg.fragile = null;
}

/** Contents reset to what a page with no saved copy reads: zeros, or unknown. */
function resetContents(pg: MPage, zero: boolean | 'maybe'): void {
  if (zero === true) {
    pg.data.fill(0);
    pg.known.fill(1);
  } else pg.known.fill(0);
}

/** The page may or may not have been reset to `zero`: keep only the bytes that read the same either way. */
function maybeResetContents(pg: MPage, zero: boolean | 'maybe'): void {
  for (let i = 0; i < PAGE; i++) if (zero !== true || pg.data[i] !== 0) pg.known[i] = 0;
}

function merge(a: Tri, b: Tri): Tri {
  return a === b ? a : 'unknown';
}

/** A lookup result: the page's block and index, or nothing (a free page). */
export interface At {
  readonly block: MBlock;
  readonly index: number;
  readonly page: MPage | null;
}

export class VmmModel {
  readonly blocks: MBlock[] = [];
  /** Handles of freed blocks (for "free twice", "lock a freed block" …). */
  readonly freed: number[] = [];
  /** Global aliases made by _LinPageLock(PAGEMAPGLOBAL), alive or dead, until torn down. */
  readonly aliases: MAlias[] = [];
  /** The driver context making the next call (0: the simulator's own, 'default'). */
  ctx = 0;

  constructor(
    /** 'off': the model knows residency; otherwise the pager may move or page out any unlocked page at any call. */
    readonly pager: 'off' | 'random' | 'aggressive',
  ) {}

  // ——— reading the model ———

  blockAt(page: number): MBlock | undefined {
    return this.blocks.find((b) => page >= b.base && page < b.base + b.size);
  }

  at(page: number): At | undefined {
    const block = this.blockAt(page);
    return block ? { block, index: page - block.base, page: block.pages[page - block.base]! } : undefined;
  }

  blockByHandle(h: number): MBlock | undefined {
    return (h & 0xfff) === 0 ? this.blocks.find((b) => b.base * PAGE === h) : undefined;
  }

  *committed(): Generator<{ block: MBlock; index: number; page: MPage }> {
    for (const block of this.blocks) {
      for (let index = 0; index < block.size; index++) {
        const page = block.pages[index];
        if (page) yield { block, index, page };
      }
    }
  }

  /** Pages holding a frame for good: fixed pages. */
  get fixedPages(): number {
    let n = 0;
    for (const { page } of this.committed()) if (page.fixed) n++;
    return n;
  }

  get lockedPages(): number {
    let n = 0;
    for (const { page } of this.committed()) if (!page.fixed && page.locks > 0) n++;
    return n;
  }

  get swappablePages(): number {
    let n = 0;
    for (const { page } of this.committed()) if (!page.fixed) n++;
    return n;
  }

  get committedPages(): number {
    let n = 0;
    for (const _ of this.committed()) n++;
    return n;
  }

  /** Frames that can be had for a lock or a fixed page now (_GetFreePageCount's EDX): all but the fixed and the locked. */
  get obtainable(): number {
    return USABLE_FRAMES - this.fixedPages - this.lockedPages;
  }

  /** _GetFreePageCount's EAX (frames nobody holds), as [least, most]: unknown residency widens it. */
  freeRange(): [number, number] {
    let present = 0;
    let maybe = 0;
    for (const { page } of this.committed()) {
      const known = this.presence(page);
      if (known === 'yes') present++;
      else if (known === 'unknown') maybe++;
    }
    return [USABLE_FRAMES - present - maybe, USABLE_FRAMES - present];
  }

  /** Is every page of [p, p+n) free? */
  /** Every range of the linear space in use: blocks and global aliases. */
  private get taken(): readonly { base: number; size: number }[] {
    return this.aliases.length ? [...this.blocks, ...this.aliases] : this.blocks;
  }

  aliasAt(page: number): MAlias | undefined {
    return this.aliases.find((a) => page >= a.base && page < a.base + a.size);
  }

  /** Is alias page i alive: is its original still in the tenure the alias was made in? */
  aliasAlive(a: MAlias, i: number): boolean {
    const o = a.origs[i]!;
    return o.pg.tenure === o.tenure;
  }

  rangeFree(p: number, n: number): boolean {
    return this.taken.every((b) => b.base + b.size <= p || b.base >= p + n);
  }

  /** Is there a run of n free pages in the arena (anywhere — where exactly is the VMM's choice)? */
  hasFreeRun(arena: Exclude<Arena, 'invalid'>, n: number, align4M = false): boolean {
    const [lo, hi] = ARENAS[arena];
    const inside = this.taken.filter((b) => b.base <= hi && b.base + b.size > lo).sort((x, y) => x.base - y.base);
    const align = (p: number) => (align4M ? Math.ceil(p / 1024) * 1024 : p);
    let cand = align(lo);
    for (const b of inside) {
      if (b.base >= cand + n) break;
      cand = Math.max(cand, align(b.base + b.size));
    }
    return cand + n - 1 <= hi;
  }

  /** Has the 4 MiB slot a page table: does any reserved or committed page lie in it (§4.1)? */
  slotHasTable(slot: number): boolean {
    return slot < 0x3ff && this.taken.some((b) => b.base >>> 10 <= slot && (b.base + b.size - 1) >>> 10 >= slot);
  }

  /** _PageQuery's MEMORY_BASIC_INFORMATION for the page `p` (spec §4.6, §3.7). */
  mbi(p: number): number[] {
    const alias = this.aliasAt(p);
    // An alias is one committed region, ring-0 read/write (PAGE_NOACCESS to ring 3), dead or alive.
    if (alias) return [p * PAGE, alias.base * PAGE, PAGE_NOACCESS, (alias.base + alias.size - p) * PAGE, MEM_COMMIT, PAGE_NOACCESS, MEM_PRIVATE];
    const at = this.at(p);
    if (!at) {
      const next = this.taken.filter((b) => b.base > p).reduce((m, b) => Math.min(m, b.base), MININVALIDPAGE);
      return [p * PAGE, 0, 0, (Math.min(next, MININVALIDPAGE) - p) * PAGE, MEM_FREE, PAGE_NOACCESS, 0];
    }
    const { block } = at;
    const key = (pg: MPage | null) => (pg ? protectOf(pg.perm) : -1);
    const k = key(at.page);
    let end = at.index + 1;
    while (end < block.size && key(block.pages[end]!) === k) end++;
    return [p * PAGE, block.base * PAGE, block.allocProtect, (end - at.index) * PAGE, at.page ? MEM_COMMIT : MEM_RESERVE, at.page ? k : 0, MEM_PRIVATE];
  }

  /**
   * What _CopyPageTable may show for a committed page: the PTE bits the model knows ('yes'/'no'
   * for P_PRES, and P_WRITE/P_USER/P_ACC/P_DIRTY of a present page), and the frame it must map.
   */
  pteFacts(pg: MPage): { present: Tri; write: boolean; user: boolean; acc: Tri; dirty: Tri; frame: number | null } {
    return { present: this.presence(pg), write: (pg.perm & PC_WRITEABLE) !== 0, user: (pg.perm & PC_USER) !== 0, acc: pg.acc, dirty: pg.dirty, frame: pg.frame };
  }

  presence(pg: MPage): Tri {
    if (pg.fixed || pg.locks > 0) return 'yes';
    return this.pager === 'off' ? pg.present : 'unknown';
  }

  // ——— events the model cannot see into ———

  /** The pager may have moved or paged out any unlocked swappable page (pager.pass/step, a contiguous take). */
  pagerMayHaveRun(): void {
    for (const { page } of this.committed()) if (!page.fixed && page.locks === 0) page.present = 'unknown';
  }

  /** A page the CPU or a lock needs present: paged in if it was not (a page-in clears P_ACC and P_DIRTY). */
  private makePresent(pg: MPage): void {
    const was = this.presence(pg);
    if (was === 'no') {
      pg.acc = 'no';
      pg.dirty = 'no';
    } else if (was === 'unknown') {
      pg.acc = merge(pg.acc, 'no');
      pg.dirty = merge(pg.dirty, 'no');
    }
    // Contents need nothing: the known bytes are exactly those that survive a page-out and page-in
    // (written ones are saved, zero-init pages come back zero); the model never learns bytes it did not write.
    pg.present = 'yes';
  }

  // ——— CPU access ———

  /** The fault a CPU access of [lin, lin+len) takes first, or null if every page is committed. */
  cpuFault(lin: number, len: number): 'invalid-region' | 'free' | 'reserved' | 'stale-alias' | null {
    for (let p = Math.floor(lin / PAGE); p <= Math.floor((lin + len - 1) / PAGE); p++) {
      if (arenaOf(p) === 'invalid') return 'invalid-region';
      const alias = this.aliasAt(p);
      if (alias) {
        if (!this.aliasAlive(alias, p - alias.base)) return 'stale-alias';
        continue;
      }
      const at = this.at(p);
      if (!at) return 'free';
      if (!at.page) return 'reserved';
    }
    return null;
  }

  cpuAccess(lin: number, data: Uint8Array | null, len: number, visit?: (pg: MPage, off: number, at: number, n: number) => void): void {
    let done = 0;
    while (done < len) {
      const a = lin + done;
      const off = a % PAGE;
      const n = Math.min(PAGE - off, len - done);
      const alias = this.aliasAt(Math.floor(a / PAGE));
      if (alias) {
        // Through a live alias: the original's frame (locked, present); the alias PTE takes the marks.
        const i = Math.floor(a / PAGE) - alias.base;
        const pg = alias.origs[i]!.pg;
        alias.acc[i] = 'yes';
        if (data) {
          pg.data.set(data.subarray(done, done + n), off);
          pg.known.fill(1, off, off + n);
          alias.dirty[i] = 'yes';
          if (!pg.fixed && pg.dirty !== 'yes') (pg.fragile ??= new Uint8Array(PAGE)).fill(1, off, off + n);
        }
        visit?.(pg, off, done, n);
        done += n;
        continue;
      }
      const pg = this.at(Math.floor(a / PAGE))!.page!;
      this.makePresent(pg);
      pg.acc = 'yes';
      if (data) {
        pg.data.set(data.subarray(done, done + n), off);
        pg.known.fill(1, off, off + n);
        dirtied(pg);
      }
      visit?.(pg, off, done, n);
      done += n;
    }
  }

  // ——— allocation ———

  pageAllocate(nPages: number, pType: number, VM: number, AlignMask: number, minPhys: number, maxPhys: number, PhysAddr: unknown, flags: number, edx?: unknown): Prediction {
    return predict(0, () => {
      const n = count(nPages);
      const type = ulong(pType);
      const vm = ulong(VM);
      const fl = flagsIn(flags, PAGEZEROINIT | PAGEUSEALIGN | PAGECONTIG | PAGEFIXED | PAGELOCKED | PAGELOCKEDIFDP);
      outArray(PhysAddr, 1);
      outArray(edx, 1);
      if (type !== PG_SYS && type !== PG_VM && type !== PG_HOOKED) fail('invalid-page-type');
      if (type === PG_SYS && vm !== 0) fail('invalid-vm');
      if (type !== PG_SYS && vm !== SYS_VM_HANDLE) fail('invalid-vm');
      if (fl & PAGEUSEALIGN && !(fl & PAGEFIXED)) fail('invalid-flags');
      if (fl & PAGELOCKED && fl & PAGELOCKEDIFDP) fail('invalid-flags');
      const useAlign = (fl & PAGEUSEALIGN) !== 0;
      const fixed = (fl & PAGEFIXED) !== 0;
      ulong(AlignMask);
      const minF = ulong(minPhys);
      let maxF = ulong(maxPhys);
      let mask = 0;
      if (useAlign) {
        mask = alignMask(AlignMask);
        // KB Q180579: 0xFFFFFFFF means 0x1000; nothing above 4 GiB.
        if (maxF === 0xffffffff) maxF = 0x1000;
        else if (maxF > 0x100000) maxF = 0x100000;
        if (minF >= maxF) fail('invalid-phys-range');
      }
      const arena = type === PG_SYS ? 'system' : 'shared';
      if (!this.hasFreeRun(arena, n)) fail('insufficient-memory');
      if (fixed && n > this.obtainable) fail('insufficient-memory');
      if (!fixed && this.swappablePages + n > COMMIT_LIMIT) fail('insufficient-memory');
      if (!fixed && fl & PAGELOCKED && n > this.obtainable) fail('insufficient-memory');
      const perm = type === PG_SYS ? PC_WRITEABLE : PC_WRITEABLE | PC_USER;
      const zero = (fl & PAGEZEROINIT) !== 0;
      const contigOut = useAlign && fl & PAGECONTIG && PhysAddr instanceof Uint32Array;
      return ok({
        // With PAGECONTIG the run's physical address comes back in PhysAddr, honouring mask and bounds.
        accept: (r) => this.acceptNewBlock(r, n, arena, false) ?? (contigOut ? contigOk((PhysAddr as Uint32Array)[0]!, n, mask, minF, maxF) : null),
        ...(useAlign ? { mayFail: 'insufficient-memory' as const } : {}),
        apply: (r) => {
          // A contiguous run may take frames from unlocked pages (paged out to make room).
          if (useAlign) this.pagerMayHaveRun();
          const pages: MPage[] = [];
          for (let i = 0; i < n; i++) {
            const pg = newPage(fixed, perm, zero, fixed ? 'yes' : 'no');
            if (!fixed && fl & PAGELOCKED) {
              takeLock(pg, this.ctx);
              pg.present = 'yes';
            }
            if (contigOut) pg.frame = (PhysAddr as Uint32Array)[0]! / PAGE + i;
            pages.push(pg);
          }
          this.blocks.push({ base: r / PAGE, size: n, kind: 'allocate', fixed, aligned: useAlign, prFlags: 0, typePerm: perm, allocProtect: protectOf(perm), pages });
        },
      });
    });
  }

  /** Checks a new block's address: page aligned, in its arena, on pages that were free. */
  private acceptNewBlock(r: number, n: number, arena: Arena, align4M: boolean): string | null {
    if (r % PAGE !== 0) return `${hex(r)} is not page aligned`;
    const p = r / PAGE;
    if (arenaOf(p) !== arena || arenaOf(p + n - 1) !== arena) return `${hex(r)} + ${n} pages is not inside the ${arena} arena`;
    if (!this.rangeFree(p, n)) return `${hex(r)} + ${n} pages overlaps a block`;
    if (align4M && p % 1024 !== 0) return `${hex(r)} is not 4 MiB aligned (PR_4MEG)`;
    return null;
  }

  pageFree(hMem: number, flags: number): Prediction {
    return predict(0, () => {
      const b = this.handle(hMem, 'not-freeable');
      const fl = flagsIn(flags, PR_STATIC);
      if (b.prFlags & PR_STATIC && !(fl & PR_STATIC)) fail('static-block');
      return ok({ value: 1, apply: () => this.removeBlock(b) });
    });
  }

  private removeBlock(b: MBlock): void {
    b.pages.forEach(retire);
    this.blocks.splice(this.blocks.indexOf(b), 1);
    this.freed.push(b.base * PAGE);
  }

  /** A memory handle: the base address of a block (spec §0: the handle is the address). */
  private handle(v: unknown, aliasCode: 'not-a-block' | 'not-freeable' = 'not-a-block'): MBlock {
    const h = ulong(v);
    const b = this.blockByHandle(h);
    // README: an alias is not a memory handle; the release services name that mistake not-freeable.
    if (!b && (h & 0xfff) === 0 && this.aliases.some((a) => a.base * PAGE === h)) fail(aliasCode);
    if (!b) fail('not-a-block');
    return b;
  }

  pageReAllocate(hMem: number, nPages: number, flags: number, edx?: unknown): Prediction {
    return predict(0, () => {
      const b = this.handle(hMem, 'not-freeable');
      const n = count(nPages);
      const fl = flagsIn(flags, PAGELOCKED | PAGELOCKEDIFDP | PAGENOCOPY | PAGEZEROINIT | PAGEZEROREINIT);
      outArray(edx, 1);
      if (fl & PAGELOCKED && fl & PAGELOCKEDIFDP) fail('invalid-flags');
      if (b.aligned) fail('aligned-block');
      if (b.prFlags & PR_STATIC) fail('static-block');
      // §4.11: the committed pages must be one run from the base.
      let run = 0;
      while (run < b.size && b.pages[run]) run++;
      if (b.pages.slice(run).some((pg) => pg)) fail('not-contiguous');
      const arena = arenaOf(b.base) as Exclude<Arena, 'invalid'>;
      const inPlace = n <= b.size || (arenaOf(b.base + n - 1) === arena && this.rangeFree(b.base + b.size, n - b.size));
      if (!inPlace) {
        if (b.fixed || b.prFlags & PR_FIXED) fail('fixed-block');
        if (!this.hasFreeRun(arena, n)) fail('insufficient-memory');
      }
      const grow = Math.max(0, n - run);
      if (b.fixed && grow > this.obtainable) fail('insufficient-memory');
      if (!b.fixed && this.swappablePages + grow > COMMIT_LIMIT) fail('insufficient-memory');
      if (!b.fixed && fl & PAGELOCKED && grow > this.obtainable) fail('insufficient-memory');
      return ok({
        ...(inPlace ? { value: b.base * PAGE } : { accept: (r: number) => (r === b.base * PAGE ? 'the block was moved in place?' : this.acceptNewBlock(r, n, arena, false)) }),
        apply: (r) => {
          if (!inPlace) {
            // The block moves: its committed pages go with it (contents, locks, frames); its reserved tail does not.
            b.base = r / PAGE;
            b.pages = b.pages.slice(0, run);
            b.size = n;
            for (const pg of b.pages) if (pg && !pg.fixed && pg.locks === 0) pg.present = 'unknown';
          } else if (n > b.size) b.size = n;
          while (b.pages.length < b.size) b.pages.push(null);
          // Shrinking decommits the pages past n; the reservation keeps its size (§4.11, §4.21).
          for (let i = n; i < run; i++) {
            retire(b.pages[i]);
            b.pages[i] = null;
          }
          const zeroNew = (fl & (PAGEZEROINIT | PAGEZEROREINIT)) !== 0;
          for (let i = run; i < n; i++) {
            const pg = newPage(b.fixed, b.typePerm, zeroNew, b.fixed ? 'yes' : 'no');
            if (!b.fixed && fl & PAGELOCKED) {
              takeLock(pg, this.ctx);
              pg.present = 'yes';
            }
            b.pages[i] = pg;
          }
          for (let i = 0; i < Math.min(run, n); i++) {
            const pg = b.pages[i]!;
            if (fl & PAGEZEROREINIT) this.zeroPage(pg);
            // PAGENOCOPY: "do not preserve old contents" — whatever the VMM does, they are not promised.
            else if (fl & PAGENOCOPY) pg.known.fill(0);
          }
        },
      });
    });
  }

  /** PAGEZEROREINIT on an existing page: zeros now; a present page is written (dirty), an absent one drops its copy. */
  private zeroPage(pg: MPage): void {
    pg.data.fill(0);
    pg.known.fill(1);
    const present = this.presence(pg);
    if (present !== 'no') {
      pg.acc = present === 'yes' ? 'yes' : merge(pg.acc, 'yes');
      pg.dirty = present === 'yes' ? 'yes' : merge(pg.dirty, 'yes');
    }
    pg.fragile = null;
    if (present !== 'yes') pg.zeroInit = present === 'no' ? true : pg.zeroInit === true ? true : 'maybe';
  }

  pageReserve(page: number, npages: number, flags: number): Prediction {
    return predict(0xffffffff, () => {
      const pg = ulong(page);
      const n = count(npages);
      const fl = flagsIn(flags, PR_FIXED | PR_STATIC | PR_4MEG);
      let accept: (r: number) => string | null;
      let value: number | undefined;
      if (pg === PR_PRIVATE || pg === PR_SHARED || pg === PR_SYSTEM) {
        const arena = pg === PR_PRIVATE ? 'private' : pg === PR_SHARED ? 'shared' : 'system';
        const align4M = (fl & PR_4MEG) !== 0;
        if (!this.hasFreeRun(arena, n, align4M)) fail('insufficient-memory');
        accept = (r) => this.acceptNewBlock(r, n, arena, align4M);
      } else {
        const p = this.range(pg, n);
        this.oneArena(p, n);
        // README: pages 0 … 0x10F are the current VM's V86 space.
        if (p < 0x110) fail('address-in-use');
        if (!this.rangeFree(p, n)) fail('address-in-use');
        value = p * PAGE;
        accept = () => null;
      }
      return ok({
        ...(value !== undefined ? { value } : { accept }),
        apply: (r) => {
          this.blocks.push({ base: r / PAGE, size: n, kind: 'reserve', fixed: false, aligned: false, prFlags: fl & (PR_FIXED | PR_STATIC), typePerm: PC_WRITEABLE, allocProtect: PAGE_NOACCESS, pages: new Array<MPage | null>(n).fill(null) });
        },
      });
    });
  }

  /** A page range: valid numbers, nonzero count, inside the 4 GiB space, not reaching the invalid region. */
  private range(page: unknown, n: unknown): number {
    const p = ulong(page);
    const c = count(n);
    if (p >= LINEAR_PAGES || p + c > LINEAR_PAGES) fail('invalid-range');
    if (arenaOf(p + c - 1) === 'invalid') fail('invalid-region');
    return p;
  }

  private oneArena(p: number, n: number): void {
    if (arenaOf(p) !== arenaOf(p + n - 1)) fail('crosses-arena');
  }

  /** The block the range lies in — or the alias: a block too, one nothing may be committed into or decommitted from. */
  private inOneBlock(p: number, n: number): MBlock | MAlias {
    const b = this.blockAt(p) ?? this.aliasAt(p);
    if (!b) fail('not-a-block');
    if (p + n > b.base + b.size) fail('crosses-block');
    return b;
  }

  /** An ordinary block, once the checks that come first have passed: an alias is not-freeable (README). */
  private notAlias(b: MBlock | MAlias): MBlock {
    if (!('pages' in b)) fail('not-freeable');
    return b;
  }

  private allCommitted(p: number, n: number): MPage[] {
    const out: MPage[] = [];
    for (let i = p; i < p + n; i++) {
      const pg = this.at(i)?.page;
      if (!pg) fail('not-committed');
      out.push(pg);
    }
    return out;
  }

  pageCommit(page: number, npages: number, hpd: number, pagerdata: number, flags: number): Prediction {
    return predict(0, () => {
      const p = this.range(page, npages);
      const n = npages;
      const pd = ulong(hpd);
      const data = ulong(pagerdata);
      const fl = flagsIn(flags, PC_FIXED | PC_LOCKED | PC_LOCKEDIFDP | PC_STATIC | PC_USER | PC_WRITEABLE | PC_INCR | PC_PRESENT | PC_DIRTY);
      const found = this.inOneBlock(p, n);
      if (pd < PD_ZEROINIT || pd > PD_FIXED) fail('invalid-pager');
      if (data !== 0) fail('invalid-argument');
      if ((pd === PD_FIXED || pd === PD_FIXEDZERO) && !(fl & PC_FIXED)) fail('invalid-flags');
      const b = this.notAlias(found);
      if (b.prFlags & PR_STATIC && !(fl & PC_STATIC)) fail('static-block');
      const first = p - b.base;
      const pages = b.pages.slice(first, first + n);
      if (fl & (PC_FIXED | PC_LOCKED | PC_LOCKEDIFDP) && pages.some((pg) => pg)) fail('already-committed');
      const fresh = pages.filter((pg) => !pg).length;
      const fixed = (fl & PC_FIXED) !== 0;
      if (fixed && fresh > this.obtainable) fail('insufficient-memory');
      if (!fixed && this.swappablePages + fresh > COMMIT_LIMIT) fail('insufficient-memory');
      if (!fixed && fl & (PC_LOCKED | PC_PRESENT) && fresh > this.obtainable) fail('insufficient-memory');
      const zero = pd === PD_ZEROINIT || pd === PD_FIXEDZERO;
      return ok({
        value: 1,
        apply: () => {
          for (let i = first; i < first + n; i++) {
            // Recommitting a committed page is legal and changes nothing (§4.13).
            if (b.pages[i]) continue;
            const pg = newPage(fixed, fl & PERM, zero, fixed || fl & PC_PRESENT ? 'yes' : 'no');
            if (!fixed && fl & PC_LOCKED) {
              takeLock(pg, this.ctx);
              pg.present = 'yes';
            }
            b.pages[i] = pg;
          }
        },
      });
    });
  }

  pageCommitContig(page: number, npages: number, flags: number, alignmask: number, minphys: number, maxphys: number): Prediction {
    return predict(0xffffffff, () => {
      const fl = flagsIn(flags, PC_USER | PC_WRITEABLE | PCC_ZEROINIT | PCC_NOLIN | PC_STATIC);
      if (fl & PCC_NOLIN && fl !== PCC_NOLIN) fail('invalid-flags');
      if (fl & PCC_NOLIN) throw new Error('model: PCC_NOLIN commits are not modelled');
      const mask = alignMask(alignmask);
      const minF = ulong(minphys);
      let maxF = ulong(maxphys);
      // README: _PageCommitContig takes 0xFFFFFFFF at its word (no limit).
      if (maxF > 0x100000) maxF = 0x100000;
      if (minF >= maxF) fail('invalid-phys-range');
      const p = this.range(page, npages);
      const n = npages;
      const b = this.notAlias(this.inOneBlock(p, n));
      if (b.prFlags & PR_STATIC && !(fl & PC_STATIC)) fail('static-block');
      const first = p - b.base;
      if (b.pages.slice(first, first + n).some((pg) => pg)) fail('already-committed');
      return ok({
        mayFail: 'insufficient-memory',
        accept: (r) => contigOk(r, n, mask, minF, maxF),
        apply: (r) => {
          this.pagerMayHaveRun();
          for (let i = 0; i < n; i++) {
            const pg = newPage(true, fl & PERM, (fl & PCC_ZEROINIT) !== 0, 'yes');
            pg.frame = r / PAGE + i;
            b.pages[first + i] = pg;
          }
        },
      });
    });
  }

  pageDecommit(page: number, npages: number, flags: number): Prediction {
    return predict(0, () => {
      const p = this.range(page, npages);
      const n = npages;
      const fl = flagsIn(flags, PC_STATIC);
      const b = this.notAlias(this.inOneBlock(p, n));
      if (b.prFlags & PR_STATIC && !(fl & PC_STATIC)) fail('static-block');
      // Already-decommitted pages in the range are allowed (§4.16) and skipped; locked pages go too.
      return ok({
        value: 1,
        apply: () => {
          for (let i = p - b.base; i < p - b.base + n; i++) {
            retire(b.pages[i]);
            b.pages[i] = null;
          }
        },
      });
    });
  }

  // ——— locking ———

  pageLock(hMem: number, nPages: number, PageOff: number, flags: number): Prediction {
    return predict(0, () => {
      const b = this.handle(hMem);
      const n = count(nPages);
      const off = ulong(PageOff);
      const fl = flagsIn(flags, PAGELOCKEDIFDP);
      if (off + n > b.size) fail('invalid-range');
      const pages = this.allCommitted(b.base + off, n);
      if (fl & PAGELOCKEDIFDP) return ok({ value: 1, apply: () => {} });
      return this.lock(pages, false);
    });
  }

  pageUnLock(hMem: number, nPages: number, PageOff: number, flags: number): Prediction {
    return predict(0, () => {
      const b = this.handle(hMem);
      const n = count(nPages);
      const off = ulong(PageOff);
      const fl = flagsIn(flags, PAGELOCKEDIFDP | PAGEMARKPAGEOUT);
      if (off + n > b.size) fail('invalid-range');
      const pages = this.allCommitted(b.base + off, n);
      if (fl & PAGELOCKEDIFDP) return ok({ value: 1, apply: () => {} });
      return this.unlock(pages, (fl & PAGEMARKPAGEOUT) !== 0);
    });
  }

  linPageLock(page: number, npages: number, flags: number): Prediction {
    return predict(0, () => {
      const p = this.range(page, npages);
      const fl = flagsIn(flags, PAGELOCKEDIFDP | PAGEMAPGLOBAL | PAGEMARKDIRTY);
      if (fl & PAGEMAPGLOBAL && fl & PAGELOCKEDIFDP) fail('invalid-flags');
      this.oneArena(p, npages);
      const pages = this.allCommitted(p, npages);
      if (fl & PAGELOCKEDIFDP) return ok({ value: 1, apply: () => {} });
      const lock = this.lock(pages, (fl & PAGEMARKDIRTY) !== 0);
      if (!(fl & PAGEMAPGLOBAL)) return lock;
      // §4.2: also a global alias of the range, in the system arena; the call returns its address.
      if (!this.hasFreeRun('system', npages)) fail('insufficient-memory');
      return ok({
        ...(lock.mayFail ? { mayFail: lock.mayFail } : {}),
        accept: (r) => this.acceptNewBlock(r, npages, 'system', false),
        apply: (r) => {
          lock.apply(1);
          // The lock just taken now stands for the alias (alias-leak, not lock-leak).
          for (const pg of pages) {
            if (pg.fixed) continue;
            takeHolder(pg, this.ctx, false);
            pg.holders.push({ ctx: this.ctx, count: 1, alias: true });
          }
          this.aliases.push({ base: r / PAGE, size: npages, origs: pages.map((pg) => ({ pg, tenure: pg.tenure })), acc: pages.map(() => 'no'), dirty: pages.map(() => 'no') });
        },
      });
    });
  }

  linPageUnLock(page: number, npages: number, flags: number): Prediction {
    return predict(0, () => {
      const p = this.range(page, npages);
      const fl = flagsIn(flags, PAGELOCKEDIFDP | PAGEMAPGLOBAL | PAGEMARKPAGEOUT);
      if (fl & PAGEMAPGLOBAL && fl & PAGELOCKEDIFDP) fail('invalid-flags');
      if (fl & PAGEMAPGLOBAL) {
        // §4.3: page and npages describe the alias exactly. A dead alias is torn down too (README).
        const a = this.aliases.find((x) => x.base === p && x.size === npages);
        if (!a) fail('not-an-alias');
        const markOut = (fl & PAGEMARKPAGEOUT) !== 0;
        return ok({
          value: 1,
          apply: () => {
            a.origs.forEach(({ pg }, i) => {
              if (!this.aliasAlive(a, i) || pg.fixed) return;
              dropLock(pg, this.ctx, true);
              if (pg.locks === 0 && markOut) pg.acc = 'no';
            });
            this.aliases.splice(this.aliases.indexOf(a), 1);
          },
        });
      }
      this.oneArena(p, npages);
      // Alias pages are committed, but only a PAGEMAPGLOBAL unlock of the whole alias releases them.
      let aliasPage = false;
      for (let i = p; i < p + npages; i++) {
        if (this.aliasAt(i)) aliasPage = true;
        else if (!this.at(i)?.page) fail('not-committed');
      }
      if (aliasPage) fail('alias-needs-mapglobal');
      const pages = this.allCommitted(p, npages);
      if (fl & PAGELOCKEDIFDP) return ok({ value: 1, apply: () => {} });
      return this.unlock(pages, (fl & PAGEMARKPAGEOUT) !== 0);
    });
  }

  private lock(pages: MPage[], markDirty: boolean): Success {
    // Frames needed: at worst every unlocked swappable page of the range is absent.
    const unlocked = new Set(pages.filter((pg) => !pg.fixed && pg.locks === 0)).size;
    return ok({
      value: 1,
      ...(unlocked > this.obtainable ? { mayFail: 'insufficient-memory' as const } : {}),
      apply: () => {
        for (const pg of pages) {
          if (!pg.fixed) {
            this.makePresent(pg);
            takeLock(pg, this.ctx);
          }
          if (markDirty) dirtied(pg);
        }
      },
    });
  }

  private unlock(pages: MPage[], markPageOut: boolean): Success {
    // A page listed k times takes k unlocks in one call (its count must hold them all).
    const need = new Map<MPage, number>();
    for (const pg of pages) if (!pg.fixed) need.set(pg, (need.get(pg) ?? 0) + 1);
    for (const [pg] of need) if (pg.locks === 0) fail('not-locked');
    return ok({
      value: 1,
      apply: () => {
        for (const pg of pages) {
          if (pg.fixed) continue;
          dropLock(pg, this.ctx);
          if (pg.locks === 0 && markPageOut) pg.acc = 'no';
        }
      },
    });
  }

  // ——— queries and attributes ———

  copyPageTable(LinPgNum: number, nPages: number, PageBuf: unknown, flags: number): Prediction {
    return predict(0, () => {
      const p = ulong(LinPgNum);
      const c = count(nPages);
      flagsIn(flags, 0);
      if (p >= LINEAR_PAGES || p + c > LINEAR_PAGES) fail('invalid-range');
      if (!(PageBuf instanceof Uint32Array)) fail('invalid-argument');
      // README: a buffer shorter than nPages is an error, and nothing is written.
      if (PageBuf.length < c) fail('buffer-too-small');
      for (let slot = p >>> 10; slot <= (p + c - 1) >>> 10; slot++) if (!this.slotHasTable(slot)) fail('no-page-table');
      return ok({ value: 1, apply: () => {} });
    });
  }

  pageQuery(pbase: number, pmbi: unknown, cbmbi: number): Prediction {
    return predict(0, () => {
      const a = ulong(pbase);
      const cb = ulong(cbmbi);
      if (cb < MBI_SIZE) fail('buffer-too-small');
      if (!(pmbi instanceof Uint32Array)) fail('invalid-argument');
      if (pmbi.length < 7) fail('buffer-too-small');
      if (arenaOf(Math.floor(a / PAGE)) === 'invalid') fail('invalid-region');
      return ok({ value: MBI_SIZE, apply: () => {} });
    });
  }

  pageModifyPermissions(page: number, npages: number, permand: number, permor: number): Prediction {
    return predict(0xffffffff, () => {
      const p = this.range(page, npages);
      const and = bits(permand);
      const or = flagsIn(permor, PC_USER | PC_WRITEABLE | PC_STATIC);
      this.oneArena(p, npages);
      const pages = this.allCommitted(p, npages);
      for (let i = p; i < p + npages; i++) if (this.blockAt(i)!.prFlags & PR_STATIC && !(or & PC_STATIC)) fail('static-block');
      // §4.7: the previous permissions of the first page; PC_STATIC is a key, not a permission.
      return ok({
        value: pages[0]!.perm,
        apply: () => {
          for (const pg of new Set(pages)) pg.perm = (pg.perm & and & PERM) | (or & PERM);
        },
      });
    });
  }

  getFreePageCount(flags: number, edx?: unknown): Prediction {
    return predict(0, () => {
      flagsIn(flags, 0);
      outArray(edx, 1);
      const [lo, hi] = this.freeRange();
      return ok({ ...(lo === hi ? { value: lo } : { accept: (r: number) => (r >= lo && r <= hi ? null : `free count ${r} outside [${lo}, ${hi}]`) }), apply: () => {} });
    });
  }

  pageGetSizeAddr(hMem: number, flags: number, edx?: unknown): Prediction {
    return predict(0, () => {
      const h = ulong(hMem);
      flagsIn(flags, 0);
      outArray(edx, 1);
      // §4.8: the nul page handle is one page at no linear address.
      if (h === NUL_PAGE_HANDLE) return ok({ value: 1, apply: () => {} });
      const b = this.handle(h);
      return ok({ value: b.size, apply: () => {} });
    });
  }

  pageCheckLinRange(page: number, npages: number, flags: number): Prediction {
    return predict(0, () => {
      const p = this.range(page, npages);
      flagsIn(flags, 0);
      let n = 0;
      while (n < npages && (this.at(p + n)?.page || this.aliasAt(p + n))) n++;
      return ok({ value: n, apply: () => {} });
    });
  }

  pageDiscardPages(Page: number, VM: number, nPages: number, flags: number): Prediction {
    return predict(0, () => {
      const p = this.range(Page, nPages);
      const vm = ulong(VM);
      const fl = flagsIn(flags, PAGEDISCARD | PAGEZEROINIT);
      if (p < 0x110 && vm !== SYS_VM_HANDLE) fail('invalid-vm');
      this.oneArena(p, nPages);
      const pages = this.allCommitted(p, nPages);
      const discard = (fl & PAGEDISCARD) !== 0;
      const zeroInit = discard && (fl & PAGEZEROINIT) !== 0;
      if (zeroInit && pages.some((pg) => pg.fixed)) fail('invalid-pager');
      return ok({
        value: 1,
        apply: () => {
          // §4.22: only unlocked, present, demand-paged pages are affected; the rest are skipped.
          for (const pg of new Set(pages)) {
            if (pg.fixed || pg.locks > 0) continue;
            const present = this.presence(pg);
            if (!discard) {
              // The accessed bit only matters while present; an absent page comes back without it.
              pg.acc = 'no';
              continue;
            }
            if (present === 'no') continue;
            const zero = zeroInit ? true : pg.zeroInit;
            if (present === 'yes') {
              resetContents(pg, zero);
              if (zeroInit) pg.zeroInit = true;
              pg.present = 'no';
            } else {
              maybeResetContents(pg, zero);
              if (zeroInit && pg.zeroInit !== true) pg.zeroInit = 'maybe';
            }
          }
        },
      });
    });
  }
}

/** A contiguous run's physical address honours the alignment and the bounds (spec §4.9, §4.15). */
export function contigOk(r: number, n: number, mask: number, minF: number, maxF: number): string | null {
  if (r % PAGE !== 0) return `physical address ${hex(r)} is not page aligned`;
  const f = r / PAGE;
  if ((f & mask) !== 0) return `frame ${hex(f)} does not honour the align mask ${hex(mask)}`;
  if (f < minF || f + n > maxF || f + n > FRAMES) return `frames ${hex(f)}…${hex(f + n - 1)} are outside [${hex(minF)}, ${hex(Math.min(maxF, FRAMES))})`;
  if (f === 0) return 'frame 0 is the nul page';
  return null;
}

/** An optional output array: absent, or a Uint32Array of at least `min` entries. */
function outArray(v: unknown, min: number): void {
  if (v === undefined || v === null) return;
  if (!(v instanceof Uint32Array)) fail('invalid-argument');
  if (v.length < min) fail('buffer-too-small');
}

export function hex(n: number): string {
  return `0x${n.toString(16).toUpperCase()}`;
}

/** PTE bits for messages. */
export const PTE_BITS = { P_PRES, P_WRITE, P_USER, P_ACC, P_DIRTY } as const;
