/**
 * Bad input, for every service: non-ULONG numbers, zero counts, reserved flag bits, ranges that
 * cross blocks or arenas or reach the invalid region, uncommitted pages. Each such call returns the
 * service's DDK failure value (spec §0.1), leaves a typed lastError naming the service with a stable
 * code, and changes no memory-manager state at all (`sim.fingerprint()` is identical before and after).
 *
 * The calls run against a realistic world: locked, swappable (partly paged out), fixed, sparse,
 * static, aligned, shared-arena, private-arena and DOS-arena blocks, a global alias and a physical
 * mapping. A fast-check property then throws random, mostly invalid, call sequences at it.
 */

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
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
  PCC_NOLIN,
  PCC_ZEROINIT,
  PC_FIXED,
  PC_INCR,
  PC_LOCKED,
  PC_STATIC,
  PC_USER,
  PC_WRITEABLE,
  PD_FIXED,
  PD_NOINIT,
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
  MEM_FREE,
  PageFault,
  createSimulator,
  type PagerPolicy,
  type Simulator,
  type VmmErrorCode,
  type VmmServices,
} from '../src/index.js';

const FAIL0 = 0;
const FAILM1 = 0xffffffff;

/** The world every case runs against; built deterministically, so addresses are the same every time. */
interface World {
  sim: Simulator;
  vm: number;
  nul: number;
  /** PAGELOCKED, 4 pages (system arena, first block: page 0xC0000). */
  locked: number;
  /** Swappable, 3 pages, written, then a pager pass: some pages out, some moved. */
  paged: number;
  /** PAGEFIXED, 2 pages, with neighbours on both sides. */
  fixed: number;
  /** Reserved 4 pages; pages 0, 1 and 3 committed (not one run). */
  sparse: number;
  /** PR_STATIC, 2 pages; page 0 committed with PC_STATIC. */
  static_: number;
  /** PAGEUSEALIGN|PAGECONTIG|PAGEFIXED, 2 pages. */
  aligned: number;
  /** 2048 reserved pages: more than RAM + swap when committed swappable. */
  huge: number;
  /** PG_VM, 2 pages (shared arena, first block: page 0x80000). */
  shared: number;
  /** PR_PRIVATE, 2 pages committed. */
  priv: number;
  /** A PAGEMAPGLOBAL alias (1 page) of priv's first page. */
  alias: number;
  /** A _MapPhysToLinear mapping of one page. */
  physmap: number;
  /** The last two pages of the shared arena (0xBFFFE, 0xBFFFF), committed. */
  sharedEnd: number;
  /** The last two pages of the system arena (0xFFBFE, 0xFFBFF), committed. */
  sysEnd: number;
  /** A committed DOS-arena page (0x200: above the V86 space 0 … 0x10F, which is not reservable). */
  dos: number;
  /** A free page inside a slot that has a page table. */
  freePage: number;
}

async function buildWorld(pager: PagerPolicy = 'off'): Promise<World> {
  const sim = await createSimulator({ memory: 1 << 20, pager, seed: 42 });
  const v = sim.vmm;
  const ok = (r: number, what: string): number => {
    if (v.lastError) throw new Error(`world setup: ${what}: ${v.lastError.message}`);
    return r;
  };
  const vm = v.getSysVMHandle();
  const nul = v.getNulPageHandle();
  const locked = ok(v.pageAllocate(4, PG_SYS, 0, 0, 0, 0, null, PAGELOCKED), 'locked');
  const paged = ok(v.pageAllocate(3, PG_SYS, 0, 0, 0, 0, null, 0), 'paged');
  sim.cpu.writeBytes(paged, new Uint8Array(3 * 4096).fill(0x3c));
  const fixed = ok(v.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED), 'fixed');
  const sparse = ok(v.pageReserve(PR_SYSTEM, 4, 0), 'sparse');
  ok(v.pageCommit(sparse >>> 12, 2, PD_ZEROINIT, 0, PC_WRITEABLE), 'sparse commit');
  ok(v.pageCommit((sparse >>> 12) + 3, 1, PD_NOINIT, 0, PC_WRITEABLE), 'sparse commit 3');
  const static_ = ok(v.pageReserve(PR_SYSTEM, 2, PR_STATIC), 'static');
  ok(v.pageCommit(static_ >>> 12, 1, PD_ZEROINIT, 0, PC_STATIC | PC_WRITEABLE), 'static commit');
  const aligned = ok(v.pageAllocate(2, PG_SYS, 0, 0x3, 0, 0x100, null, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED), 'aligned');
  const huge = ok(v.pageReserve(PR_SYSTEM, 2048, 0), 'huge');
  const shared = ok(v.pageAllocate(2, PG_VM, vm, 0, 0, 0, null, 0), 'shared');
  const priv = ok(v.pageReserve(PR_PRIVATE, 2, 0), 'priv');
  ok(v.pageCommit(priv >>> 12, 2, PD_ZEROINIT, 0, PC_WRITEABLE | PC_USER), 'priv commit');
  const alias = ok(v.linPageLock(priv >>> 12, 1, PAGEMAPGLOBAL), 'alias');
  const fixedFrame = new Uint32Array(1);
  ok(v.copyPageTable(fixed >>> 12, 1, fixedFrame, 0), 'fixed pte');
  const physmap = ok(v.mapPhysToLinear(fixedFrame[0]! & ~0xfff, 4096, 0), 'physmap');
  const sharedEnd = ok(v.pageReserve(0xbfffe, 2, 0), 'sharedEnd');
  ok(v.pageCommit(0xbfffe, 2, PD_ZEROINIT, 0, PC_WRITEABLE), 'sharedEnd commit');
  const sysEnd = ok(v.pageReserve(0xffbfe, 2, 0), 'sysEnd');
  ok(v.pageCommit(0xffbfe, 2, PD_FIXED, 0, PC_FIXED | PC_WRITEABLE), 'sysEnd commit');
  const dos = ok(v.pageReserve(0x200, 1, 0), 'dos');
  ok(v.pageCommit(0x200, 1, PD_ZEROINIT, 0, PC_WRITEABLE | PC_USER), 'dos commit');
  sim.cpu.write32(dos, 1);
  sim.pager.pass();
  const freePage = 0xc0a00; // free, inside the slot 0xC0800000 (which holds the end of `huge`, the alias and the mapping)
  const mbi = new Uint32Array(7);
  if (v.pageQuery(freePage * 4096, mbi, 28) === 0 || mbi[4] !== MEM_FREE) throw new Error('world setup: freePage is not free');
  if (v.copyPageTable(freePage, 1, new Uint32Array(1), 0) === 0) throw new Error('world setup: freePage has no page table');
  if (v.copyPageTable(0xc0c00, 1, new Uint32Array(1), 0) !== 0) throw new Error('world setup: slot 0xC0C00000 is not empty');
  return { sim, vm, nul, locked, paged, fixed, sparse, static_, aligned, huge, shared, priv, alias, physmap, sharedEnd, sysEnd, dos, freePage };
}

/** One world shared by the table; rebuilt only after a call that (wrongly) changed it. */
let current: { w: World; baseline: string } | undefined;
async function world(): Promise<{ w: World; baseline: string }> {
  if (!current) {
    const w = await buildWorld();
    current = { w, baseline: w.sim.fingerprint() };
  }
  return current;
}
afterAll(async () => {
  await current?.w.sim.close();
});

/** Runs one call that must fail: failure value, lastError {service, code}, state unchanged. */
async function expectRejected(call: (v: VmmServices, w: World) => number, failure: number, service: string, code: VmmErrorCode): Promise<void> {
  const { w, baseline } = await world();
  const result = call(w.sim.vmm, w);
  const err = w.sim.vmm.lastError;
  const after = w.sim.fingerprint();
  if (after !== baseline) {
    // The call changed the world: later cases get a fresh one.
    await w.sim.close();
    current = undefined;
  }
  expect(result, 'return value').toBe(failure);
  expect(err).toMatchObject({ service, code });
  expect(typeof err?.message).toBe('string');
  expect(after, 'memory-manager state changed').toBe(baseline);
}

const pg = (lin: number): number => lin >>> 12;
/** The page-aligned base of an address, as a ULONG (JS `&` alone yields a signed result). */
const base = (lin: number): number => (lin & ~0xfff) >>> 0;

// ——— non-ULONG numbers in every numeric argument ———

/** Values no ULONG argument may take (they cannot exist in a 32-bit register). */
const NOT_ULONG: readonly [string, number][] = [
  ['NaN', Number.NaN],
  ['1.5', 1.5],
  ['-1', -1],
  ['2^32', 2 ** 32],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-2^31', -(2 ** 31)],
  ['undefined', undefined as unknown as number],
  ['"1"', '1' as unknown as number],
];

/**
 * Flag and mask arguments are bit patterns: any 32-bit integer, signed or unsigned, is accepted and
 * read as unsigned (so `PAGEMAPGLOBAL | PAGEMARKDIRTY`, negative in JavaScript, works). Everything
 * else that is not a ULONG is still rejected.
 */
const NOT_BITS: readonly [string, number][] = [
  ['NaN', Number.NaN],
  ['1.5', 1.5],
  ['-2^31 - 1', -(2 ** 31) - 1],
  ['2^32', 2 ** 32],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['undefined', undefined as unknown as number],
  ['"1"', '1' as unknown as number],
];
const isBits = (name: string): boolean => name === 'flags' || name === 'permand' || name === 'permor';

interface Shape {
  service: string;
  failure: number;
  /** Arguments of a call that would succeed against the world. */
  args: (w: World) => number[];
  names: readonly string[];
  call: (v: VmmServices, a: readonly number[]) => number;
}

const a = (xs: readonly number[], i: number): number => xs[i] as number;

const SHAPES: readonly Shape[] = [
  {
    service: '_PageAllocate',
    failure: FAIL0,
    args: () => [1, PG_SYS, 0, 0x3, 0, 0x100, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED],
    names: ['nPages', 'pType', 'VM', 'AlignMask', 'minPhys', 'maxPhys', 'flags'],
    call: (v, x) => v.pageAllocate(a(x, 0), a(x, 1), a(x, 2), a(x, 3), a(x, 4), a(x, 5), new Uint32Array(1), a(x, 6)),
  },
  { service: '_PageFree', failure: FAIL0, args: (w) => [w.paged, 0], names: ['hMem', 'flags'], call: (v, x) => v.pageFree(a(x, 0), a(x, 1)) },
  { service: '_PageReAllocate', failure: FAIL0, args: (w) => [w.paged, 3, 0], names: ['hMem', 'nPages', 'flags'], call: (v, x) => v.pageReAllocate(a(x, 0), a(x, 1), a(x, 2)) },
  { service: '_PageReserve', failure: FAILM1, args: () => [PR_SYSTEM, 1, 0], names: ['page', 'npages', 'flags'], call: (v, x) => v.pageReserve(a(x, 0), a(x, 1), a(x, 2)) },
  {
    service: '_PageCommit',
    failure: FAIL0,
    args: (w) => [pg(w.sparse) + 2, 1, PD_ZEROINIT, 0, PC_WRITEABLE],
    names: ['page', 'npages', 'hpd', 'pagerdata', 'flags'],
    call: (v, x) => v.pageCommit(a(x, 0), a(x, 1), a(x, 2), a(x, 3), a(x, 4)),
  },
  {
    service: '_PageCommitPhys',
    failure: FAIL0,
    args: (w) => [pg(w.sparse) + 2, 1, 0x40, PC_WRITEABLE],
    names: ['page', 'npages', 'physpg', 'flags'],
    call: (v, x) => v.pageCommitPhys(a(x, 0), a(x, 1), a(x, 2), a(x, 3)),
  },
  {
    service: '_PageCommitContig',
    failure: FAILM1,
    args: (w) => [pg(w.sparse) + 2, 1, 0, 0, 0, 0x100],
    names: ['page', 'npages', 'flags', 'alignmask', 'minphys', 'maxphys'],
    call: (v, x) => v.pageCommitContig(a(x, 0), a(x, 1), a(x, 2), a(x, 3), a(x, 4), a(x, 5)),
  },
  {
    service: '_PageCommitContig',
    failure: FAILM1,
    args: () => [0, 1, PCC_NOLIN, 0, 0, 0x100],
    names: ['page (ignored with PCC_NOLIN)', 'npages', 'flags', 'alignmask', 'minphys', 'maxphys'],
    call: (v, x) => v.pageCommitContig(a(x, 0), a(x, 1), a(x, 2), a(x, 3), a(x, 4), a(x, 5)),
  },
  { service: '_PageDecommit', failure: FAIL0, args: (w) => [pg(w.sparse), 1, 0], names: ['page', 'npages', 'flags'], call: (v, x) => v.pageDecommit(a(x, 0), a(x, 1), a(x, 2)) },
  {
    service: '_PageLock',
    failure: FAIL0,
    args: (w) => [w.paged, 1, 0, 0],
    names: ['hMem', 'nPages', 'PageOff', 'flags'],
    call: (v, x) => v.pageLock(a(x, 0), a(x, 1), a(x, 2), a(x, 3)),
  },
  {
    service: '_PageUnLock',
    failure: FAIL0,
    args: (w) => [w.locked, 1, 0, 0],
    names: ['hMem', 'nPages', 'PageOff', 'flags'],
    call: (v, x) => v.pageUnLock(a(x, 0), a(x, 1), a(x, 2), a(x, 3)),
  },
  { service: '_LinPageLock', failure: FAIL0, args: (w) => [pg(w.paged), 1, 0], names: ['page', 'npages', 'flags'], call: (v, x) => v.linPageLock(a(x, 0), a(x, 1), a(x, 2)) },
  { service: '_LinPageUnLock', failure: FAIL0, args: (w) => [pg(w.locked), 1, 0], names: ['page', 'npages', 'flags'], call: (v, x) => v.linPageUnLock(a(x, 0), a(x, 1), a(x, 2)) },
  {
    service: '_CopyPageTable',
    failure: FAIL0,
    args: (w) => [pg(w.paged), 1, 0],
    names: ['LinPgNum', 'nPages', 'flags'],
    call: (v, x) => v.copyPageTable(a(x, 0), a(x, 1), new Uint32Array(4), a(x, 2)),
  },
  { service: '_PageQuery', failure: FAIL0, args: (w) => [w.paged, 28], names: ['pbase', 'cbmbi'], call: (v, x) => v.pageQuery(a(x, 0), new Uint32Array(7), a(x, 1)) },
  {
    service: '_PageModifyPermissions',
    failure: FAILM1,
    args: (w) => [pg(w.paged), 1, 0xffffffff, 0],
    names: ['page', 'npages', 'permand', 'permor'],
    call: (v, x) => v.pageModifyPermissions(a(x, 0), a(x, 1), a(x, 2), a(x, 3)),
  },
  { service: '_GetFreePageCount', failure: FAIL0, args: () => [0], names: ['flags'], call: (v, x) => v.getFreePageCount(a(x, 0), new Uint32Array(1)) },
  { service: '_PageGetAllocInfo', failure: FAIL0, args: () => [0], names: ['flags'], call: (v, x) => v.pageGetAllocInfo(a(x, 0), new Uint32Array(1)) },
  { service: '_PageGetSizeAddr', failure: FAIL0, args: (w) => [w.paged, 0], names: ['hMem', 'flags'], call: (v, x) => v.pageGetSizeAddr(a(x, 0), a(x, 1), new Uint32Array(1)) },
  { service: '_PageCheckLinRange', failure: FAIL0, args: (w) => [pg(w.paged), 3, 0], names: ['page', 'npages', 'flags'], call: (v, x) => v.pageCheckLinRange(a(x, 0), a(x, 1), a(x, 2)) },
  { service: '_MapPhysToLinear', failure: FAILM1, args: () => [0x1000, 16, 0], names: ['PhysAddr', 'nBytes', 'flags'], call: (v, x) => v.mapPhysToLinear(a(x, 0), a(x, 1), a(x, 2)) },
  {
    service: '_PageDiscardPages',
    failure: FAIL0,
    args: (w) => [pg(w.paged), 0, 1, 0],
    names: ['Page', 'VM', 'nPages', 'flags'],
    call: (v, x) => v.pageDiscardPages(a(x, 0), a(x, 1), a(x, 2), a(x, 3)),
  },
];

describe('every numeric argument of every service must be a ULONG', () => {
  // One test per argument; every non-ULONG value is tried, each must fail on its own, and the state
  // digest must be the baseline after all of them (a change by any one would show).
  const cases = SHAPES.flatMap((s) => s.names.map((name, i) => ({ s, name, i })));
  it.each(cases.map((c) => [`${c.s.service} ${c.name}`, c] as const))('%s: NaN, fractions, out-of-range integers, non-numbers → failure value, invalid-argument, no change', async (_title, c) => {
    const { w, baseline } = await world();
    try {
      for (const [label, value] of isBits(c.name) ? NOT_BITS : NOT_ULONG) {
        const args = c.s.args(w);
        args[c.i] = value;
        const r = c.s.call(w.sim.vmm, args);
        expect(r, `${c.name} = ${label}`).toBe(c.s.failure);
        expect(w.sim.vmm.lastError, `${c.name} = ${label}`).toMatchObject({ service: c.s.service, code: 'invalid-argument' });
      }
    } finally {
      const after = w.sim.fingerprint();
      if (after !== baseline) {
        await w.sim.close();
        current = undefined;
      }
      expect(after, 'memory-manager state changed').toBe(baseline);
    }
  });

  it('the base calls of the table really succeed (so each failure above is the bad argument\'s doing)', async () => {
    for (const s of SHAPES) {
      const w = await buildWorld();
      const r = s.call(w.sim.vmm, s.args(w));
      expect(w.sim.vmm.lastError, s.service).toBeNull();
      expect(r, s.service).not.toBe(s.failure);
      await w.sim.close();
    }
  });

  // AlignMask, minPhys and maxPhys mean something only with PAGEUSEALIGN, but like every ignored
  // argument (the page of _PageCommitContig(PCC_NOLIN), the VM of _PageDiscardPages above page 0x10F)
  // they are still ULONGs: a value no register can hold is a caller bug and must be reported.
  it.each([
    ['AlignMask', 3],
    ['minPhys', 4],
    ['maxPhys', 5],
  ] as const)('_PageAllocate without PAGEUSEALIGN still rejects a non-ULONG %s (NaN, 1.5, 2^32, undefined …)', async (_name, i) => {
    for (const [, value] of NOT_BITS) {
      await expectRejected(
        (v) => {
          const args = [1, PG_SYS, 0, 0, 0, 0];
          args[i] = value;
          return v.pageAllocate(a(args, 0), a(args, 1), a(args, 2), a(args, 3), a(args, 4), a(args, 5), null, 0);
        },
        FAIL0,
        '_PageAllocate',
        'invalid-argument',
      );
    }
  });
});

describe('flag arguments are 32-bit patterns, signed or unsigned', () => {
  it('-1 in a flags argument is 0xFFFFFFFF: rejected for its reserved bits, not as a non-ULONG', async () => {
    await expectRejected((v, w) => v.pageFree(w.paged, -1), FAIL0, '_PageFree', 'reserved-flags');
    await expectRejected((v, w) => v.linPageLock(pg(w.paged), 1, -1), FAIL0, '_LinPageLock', 'reserved-flags');
    await expectRejected((v) => v.getFreePageCount(-(2 ** 31)), FAIL0, '_GetFreePageCount', 'reserved-flags');
  });

  it('a negative int32 spelling of legal flags is accepted (PAGEMAPGLOBAL | PAGEMARKDIRTY is negative in JavaScript)', async () => {
    const w = await buildWorld();
    try {
      const flags = PAGEMAPGLOBAL | PAGEMARKDIRTY;
      expect(flags).toBeLessThan(0);
      const alias = w.sim.vmm.linPageLock(pg(w.priv) + 1, 1, flags);
      expect(w.sim.vmm.lastError).toBeNull();
      expect(alias).toBeGreaterThan(1);
      // permand = ~PC_USER is negative too; it revokes only PC_USER.
      expect(w.sim.vmm.pageModifyPermissions(pg(w.priv), 1, ~PC_USER, 0)).toBe(PC_USER | PC_WRITEABLE);
      expect(w.sim.vmm.pageModifyPermissions(pg(w.priv), 1, -1, 0)).toBe(PC_WRITEABLE);
    } finally {
      await w.sim.close();
    }
  });
});

// ——— semantic bad input, service by service ———

type Case = readonly [title: string, call: (v: VmmServices, w: World) => number, code: VmmErrorCode];

function table(service: string, failure: number, cases: readonly Case[]): void {
  describe(service, () => {
    it.each(cases.map((c) => [c[0], c] as const))('%s', async (_t, c) => {
      await expectRejected(c[1], failure, service, c[2]);
    });
  });
}

table('_PageAllocate', FAIL0, [
  ['nPages = 0', (v) => v.pageAllocate(0, PG_SYS, 0, 0, 0, 0, null, 0), 'zero-count'],
  ['reserved flag bit 0x200', (v) => v.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0x200), 'reserved-flags'],
  ['PAGEZEROREINIT is a _PageReAllocate flag', (v) => v.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGEZEROREINIT), 'reserved-flags'],
  ['pType PG_RESERVED1', (v) => v.pageAllocate(1, 2, 0, 0, 0, 0, null, 0), 'invalid-page-type'],
  ['PG_SYS with a VM handle', (v, w) => v.pageAllocate(1, PG_SYS, w.vm, 0, 0, 0, null, 0), 'invalid-vm'],
  ['PG_HOOKED without a VM handle', (v) => v.pageAllocate(1, PG_HOOKED, 0, 0, 0, 0, null, 0), 'invalid-vm'],
  ['PAGEUSEALIGN without PAGEFIXED', (v) => v.pageAllocate(1, PG_SYS, 0, 0, 0, 0x100, null, PAGEUSEALIGN), 'invalid-flags'],
  ['PAGELOCKED|PAGELOCKEDIFDP', (v) => v.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGELOCKED | PAGELOCKEDIFDP), 'invalid-flags'],
  ['align mask 0x06', (v) => v.pageAllocate(1, PG_SYS, 0, 0x06, 0, 0x100, null, PAGEUSEALIGN | PAGEFIXED), 'invalid-align-mask'],
  ['minPhys = maxPhys', (v) => v.pageAllocate(1, PG_SYS, 0, 0, 0x80, 0x80, null, PAGEUSEALIGN | PAGEFIXED), 'invalid-phys-range'],
  ['more contiguous frames than RAM', (v) => v.pageAllocate(0x200, PG_SYS, 0, 0, 0, 0x100, null, PAGEUSEALIGN | PAGEFIXED), 'insufficient-memory'],
  ['more fixed pages than RAM', (v) => v.pageAllocate(0x200, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED), 'insufficient-memory'],
  ['more locked pages than RAM', (v) => v.pageAllocate(0x200, PG_SYS, 0, 0, 0, 0, null, PAGELOCKED), 'insufficient-memory'],
  ['more swappable pages than RAM + swap', (v) => v.pageAllocate(0x1000, PG_SYS, 0, 0, 0, 0, null, 0), 'insufficient-memory'],
  ['more pages than the system arena holds', (v) => v.pageAllocate(0x40000, PG_SYS, 0, 0, 0, 0, null, 0), 'insufficient-memory'],
  ['PhysAddr not a Uint32Array', (v) => v.pageAllocate(1, PG_SYS, 0, 0, 0, 0x100, [0] as unknown as Uint32Array, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED), 'invalid-argument'],
  ['PhysAddr of length 0', (v) => v.pageAllocate(1, PG_SYS, 0, 0, 0, 0x100, new Uint32Array(0), PAGEUSEALIGN | PAGECONTIG | PAGEFIXED), 'buffer-too-small'],
]);

table('_PageFree', FAIL0, [
  ['an interior page of a block', (v, w) => v.pageFree(w.paged + 4096, 0), 'not-a-block'],
  ['an unaligned address inside a block', (v, w) => v.pageFree(w.paged + 1, 0), 'not-a-block'],
  ['a page number instead of an address', (v, w) => v.pageFree(pg(w.paged), 0), 'not-a-block'],
  ['a free address', (v, w) => v.pageFree(w.freePage * 4096, 0), 'not-a-block'],
  ['an address in the invalid region', (v) => v.pageFree(0xffc00000, 0), 'not-a-block'],
  ['the nul page handle', (v, w) => v.pageFree(w.nul, 0), 'not-a-block'],
  ['a PR_STATIC block without PR_STATIC', (v, w) => v.pageFree(w.static_, 0), 'static-block'],
  ['a global alias', (v, w) => v.pageFree(w.alias, 0), 'not-freeable'],
  ['a _MapPhysToLinear mapping', (v, w) => v.pageFree(base(w.physmap), 0), 'not-freeable'],
  ['reserved flag bit 0x1', (v, w) => v.pageFree(w.paged, 1), 'reserved-flags'],
  ['PAGEFIXED as a flag', (v, w) => v.pageFree(w.paged, PAGEFIXED), 'reserved-flags'],
]);

table('_PageReAllocate', FAIL0, [
  ['nPages = 0', (v, w) => v.pageReAllocate(w.paged, 0, 0), 'zero-count'],
  ['an interior page', (v, w) => v.pageReAllocate(w.paged + 4096, 4, 0), 'not-a-block'],
  ['the nul page handle', (v, w) => v.pageReAllocate(w.nul, 1, 0), 'not-a-block'],
  ['a fixed block that cannot grow in place', (v, w) => v.pageReAllocate(w.fixed, 3, 0), 'fixed-block'],
  ['an aligned block', (v, w) => v.pageReAllocate(w.aligned, 1, 0), 'aligned-block'],
  ['a PR_STATIC block', (v, w) => v.pageReAllocate(w.static_, 1, 0), 'static-block'],
  ['committed pages not one run from the base', (v, w) => v.pageReAllocate(w.sparse, 4, 0), 'not-contiguous'],
  ['a global alias', (v, w) => v.pageReAllocate(w.alias, 2, 0), 'not-freeable'],
  ['a _MapPhysToLinear mapping', (v, w) => v.pageReAllocate(base(w.physmap), 2, 0), 'not-freeable'],
  ['PAGELOCKED|PAGELOCKEDIFDP', (v, w) => v.pageReAllocate(w.paged, 4, PAGELOCKED | PAGELOCKEDIFDP), 'invalid-flags'],
  ['PAGEFIXED is not a _PageReAllocate flag', (v, w) => v.pageReAllocate(w.paged, 4, PAGEFIXED), 'reserved-flags'],
  ['PAGEUSEALIGN is not a _PageReAllocate flag', (v, w) => v.pageReAllocate(w.paged, 4, PAGEUSEALIGN), 'reserved-flags'],
  ['more pages than the arena holds', (v, w) => v.pageReAllocate(w.paged, 0x40000, 0), 'insufficient-memory'],
  ['more swappable pages than RAM + swap', (v, w) => v.pageReAllocate(w.paged, 0x1000, 0), 'insufficient-memory'],
  ['more locked pages than RAM', (v, w) => v.pageReAllocate(w.paged, 0x200, PAGELOCKED), 'insufficient-memory'],
  ['edx not a Uint32Array', (v, w) => v.pageReAllocate(w.paged, 4, 0, [0] as unknown as Uint32Array), 'invalid-argument'],
]);

table('_PageReserve', FAILM1, [
  ['npages = 0', (v) => v.pageReserve(PR_SYSTEM, 0, 0), 'zero-count'],
  ['reserved flag bit 0x2', (v) => v.pageReserve(PR_SYSTEM, 1, 0x2), 'reserved-flags'],
  ['PC_STATIC is not a PR_ flag', (v) => v.pageReserve(PR_SYSTEM, 1, PC_STATIC), 'reserved-flags'],
  ['an explicit page in use', (v, w) => v.pageReserve(pg(w.paged) + 1, 1, 0), 'address-in-use'],
  ['an explicit range overlapping a block', (v, w) => v.pageReserve(pg(w.paged) - 1, 3, 0), 'address-in-use'],
  ['an explicit range crossing private → shared', (v) => v.pageReserve(0x7ffff, 2, 0), 'crosses-arena'],
  ['an explicit range crossing DOS → private', (v) => v.pageReserve(0x3ff, 2, 0), 'crosses-arena'],
  ['an explicit range in the V86 space of the current VM (pages 0 … 0x10F)', (v) => v.pageReserve(0x20, 1, 0), 'address-in-use'],
  ['page 0 (would make 0 a block handle)', (v) => v.pageReserve(0, 1, 0), 'address-in-use'],
  ['an explicit page in the invalid region', (v) => v.pageReserve(0xffc00, 1, 0), 'invalid-region'],
  ['an explicit range reaching the invalid region', (v) => v.pageReserve(0xffbf0, 0x20, 0), 'invalid-region'],
  ['page 0x100000', (v) => v.pageReserve(0x100000, 1, 0), 'invalid-range'],
  ['a bit-31 value that is no selector', (v) => v.pageReserve(0x80000001, 1, 0), 'invalid-range'],
  ['more pages than the system arena has free', (v) => v.pageReserve(PR_SYSTEM, 0x3fc00, 0), 'insufficient-memory'],
  ['more pages than the shared arena has free', (v) => v.pageReserve(PR_SHARED, 0x40000, PR_4MEG), 'insufficient-memory'],
]);

table('_PageCommit', FAIL0, [
  ['npages = 0', (v, w) => v.pageCommit(pg(w.sparse) + 2, 0, PD_ZEROINIT, 0, 0), 'zero-count'],
  ['reserved flag bit 0x1', (v, w) => v.pageCommit(pg(w.sparse) + 2, 1, PD_ZEROINIT, 0, 0x1), 'reserved-flags'],
  ['hpd 0', (v, w) => v.pageCommit(pg(w.sparse) + 2, 1, 0, 0, 0), 'invalid-pager'],
  ['hpd 5', (v, w) => v.pageCommit(pg(w.sparse) + 2, 1, 5, 0, 0), 'invalid-pager'],
  ['pagerdata ≠ 0 for a built-in pager', (v, w) => v.pageCommit(pg(w.sparse) + 2, 1, PD_ZEROINIT, 1, 0), 'invalid-argument'],
  ['PD_FIXED without PC_FIXED', (v, w) => v.pageCommit(pg(w.sparse) + 2, 1, PD_FIXED, 0, 0), 'invalid-flags'],
  ['a free page', (v, w) => v.pageCommit(w.freePage, 1, PD_ZEROINIT, 0, 0), 'not-a-block'],
  ['a range running past its block', (v, w) => v.pageCommit(pg(w.sparse) + 2, 3, PD_ZEROINIT, 0, 0), 'crosses-block'],
  ['a range crossing shared → system', (v) => v.pageCommit(0xbffff, 2, PD_ZEROINIT, 0, 0), 'crosses-block'],
  ['a PR_STATIC block without PC_STATIC', (v, w) => v.pageCommit(pg(w.static_) + 1, 1, PD_ZEROINIT, 0, 0), 'static-block'],
  ['PC_LOCKED over committed pages', (v, w) => v.pageCommit(pg(w.sparse) + 1, 2, PD_ZEROINIT, 0, PC_LOCKED), 'already-committed'],
  ['PC_FIXED over committed pages', (v, w) => v.pageCommit(pg(w.paged), 1, PD_FIXED, 0, PC_FIXED), 'already-committed'],
  ['a range reaching the invalid region', (v) => v.pageCommit(0xffbff, 2, PD_ZEROINIT, 0, 0), 'invalid-region'],
  ['a page in the invalid region', (v) => v.pageCommit(0xfffe0, 1, PD_ZEROINIT, 0, 0), 'invalid-region'],
  ['page 0x100000', (v) => v.pageCommit(0x100000, 1, PD_ZEROINIT, 0, 0), 'invalid-range'],
  ['more swappable pages than RAM + swap', (v, w) => v.pageCommit(pg(w.huge), 2048, PD_ZEROINIT, 0, 0), 'insufficient-memory'],
  ['more fixed pages than RAM', (v, w) => v.pageCommit(pg(w.huge), 0x200, PD_FIXED, 0, PC_FIXED), 'insufficient-memory'],
  ['into a global alias', (v, w) => v.pageCommit(pg(w.alias), 1, PD_ZEROINIT, 0, 0), 'not-freeable'],
]);

table('_PageCommitPhys', FAIL0, [
  ['npages = 0', (v, w) => v.pageCommitPhys(pg(w.sparse) + 2, 0, 0x40, 0), 'zero-count'],
  ['PC_FIXED is not accepted', (v, w) => v.pageCommitPhys(pg(w.sparse) + 2, 1, 0x40, PC_FIXED), 'reserved-flags'],
  ['a committed page', (v, w) => v.pageCommitPhys(pg(w.sparse) + 1, 2, 0x40, PC_INCR), 'already-committed'],
  ['a range running past its block', (v, w) => v.pageCommitPhys(pg(w.sparse) + 2, 3, 0x40, PC_INCR), 'crosses-block'],
  ['a free page', (v, w) => v.pageCommitPhys(w.freePage, 1, 0x40, 0), 'not-a-block'],
  ['a physical page outside RAM', (v, w) => v.pageCommitPhys(pg(w.sparse) + 2, 1, 0x100, 0), 'invalid-phys-range'],
  ['PC_INCR running out of RAM', (v, w) => v.pageCommitPhys(pg(w.huge), 2, 0xff, PC_INCR), 'invalid-phys-range'],
  ['PC_INCR with the nul page handle', (v, w) => v.pageCommitPhys(pg(w.huge), 2, w.nul, PC_INCR), 'invalid-flags'],
  ['a PR_STATIC block without PC_STATIC', (v, w) => v.pageCommitPhys(pg(w.static_) + 1, 1, 0x40, 0), 'static-block'],
  ['a range reaching the invalid region', (v) => v.pageCommitPhys(0xffbff, 2, 0x40, 0), 'invalid-region'],
  ['into a _MapPhysToLinear mapping', (v, w) => v.pageCommitPhys(pg(w.physmap), 1, 0x40, 0), 'not-freeable'],
]);

table('_PageCommitContig', FAILM1, [
  ['npages = 0', (v, w) => v.pageCommitContig(pg(w.sparse) + 2, 0, 0, 0, 0, 0x100), 'zero-count'],
  ['npages = 0 with PCC_NOLIN', (v) => v.pageCommitContig(0, 0, PCC_NOLIN, 0, 0, 0x100), 'zero-count'],
  ['PC_FIXED is not accepted', (v, w) => v.pageCommitContig(pg(w.sparse) + 2, 1, PC_FIXED, 0, 0, 0x100), 'reserved-flags'],
  ['PCC_NOLIN|PCC_ZEROINIT', (v) => v.pageCommitContig(0, 1, PCC_NOLIN | PCC_ZEROINIT, 0, 0, 0x100), 'invalid-flags'],
  ['align mask 0x05', (v, w) => v.pageCommitContig(pg(w.sparse) + 2, 1, 0, 0x05, 0, 0x100), 'invalid-align-mask'],
  ['minphys > maxphys', (v, w) => v.pageCommitContig(pg(w.sparse) + 2, 1, 0, 0, 0x90, 0x10), 'invalid-phys-range'],
  ['a committed page', (v, w) => v.pageCommitContig(pg(w.sparse) + 1, 2, 0, 0, 0, 0x100), 'already-committed'],
  ['a range running past its block', (v, w) => v.pageCommitContig(pg(w.sparse) + 2, 3, 0, 0, 0, 0x100), 'crosses-block'],
  ['a free page', (v, w) => v.pageCommitContig(w.freePage, 1, 0, 0, 0, 0x100), 'not-a-block'],
  ['a PR_STATIC block without PC_STATIC', (v, w) => v.pageCommitContig(pg(w.static_) + 1, 1, 0, 0, 0, 0x100), 'static-block'],
  ['no run in the window', (v, w) => v.pageCommitContig(pg(w.huge), 0x100, 0, 0, 0, 0x100), 'insufficient-memory'],
  ['no aligned run in a narrow window', (v, w) => v.pageCommitContig(pg(w.huge), 2, 0, 0x1f, 0x1, 0x20), 'insufficient-memory'],
  ['no run for PCC_NOLIN', (v) => v.pageCommitContig(0, 0x200, PCC_NOLIN, 0, 0, 0xffffffff), 'insufficient-memory'],
  ['a range reaching the invalid region', (v) => v.pageCommitContig(0xffbff, 2, 0, 0, 0, 0x100), 'invalid-region'],
]);

table('_PageDecommit', FAIL0, [
  ['npages = 0', (v, w) => v.pageDecommit(pg(w.sparse), 0, 0), 'zero-count'],
  ['reserved flag bit 0x1', (v, w) => v.pageDecommit(pg(w.sparse), 1, 1), 'reserved-flags'],
  ['PR_STATIC is not the key (PC_STATIC is)', (v, w) => v.pageDecommit(pg(w.static_), 1, PR_STATIC), 'reserved-flags'],
  ['a range running past its block', (v, w) => v.pageDecommit(pg(w.sparse) + 3, 2, 0), 'crosses-block'],
  ['a range crossing shared → system', (v) => v.pageDecommit(0xbffff, 2, 0), 'crosses-block'],
  ['a free page', (v, w) => v.pageDecommit(w.freePage, 1, 0), 'not-a-block'],
  ['a PR_STATIC block without PC_STATIC', (v, w) => v.pageDecommit(pg(w.static_), 1, 0), 'static-block'],
  ['a global alias', (v, w) => v.pageDecommit(pg(w.alias), 1, 0), 'not-freeable'],
  ['a _MapPhysToLinear mapping', (v, w) => v.pageDecommit(pg(w.physmap), 1, 0), 'not-freeable'],
  ['a range reaching the invalid region', (v) => v.pageDecommit(0xffbff, 2, 0), 'invalid-region'],
]);

table('_PageLock', FAIL0, [
  ['nPages = 0', (v, w) => v.pageLock(w.paged, 0, 0, 0), 'zero-count'],
  ['not a block base', (v, w) => v.pageLock(w.paged + 4096, 1, 0, 0), 'not-a-block'],
  ['PageOff + nPages past the block', (v, w) => v.pageLock(w.paged, 2, 2, 0), 'invalid-range'],
  ['PageOff far past the block', (v, w) => v.pageLock(w.paged, 1, 0xffffffff, 0), 'invalid-range'],
  ['an uncommitted page', (v, w) => v.pageLock(w.sparse, 4, 0, 0), 'not-committed'],
  ['a reserve-only block', (v, w) => v.pageLock(w.huge, 1, 0, 0), 'not-committed'],
  ['PAGEMAPGLOBAL is a _LinPageLock flag', (v, w) => v.pageLock(w.paged, 1, 0, PAGEMAPGLOBAL), 'reserved-flags'],
  ['PAGEMARKPAGEOUT is an unlock flag', (v, w) => v.pageLock(w.paged, 1, 0, PAGEMARKPAGEOUT), 'reserved-flags'],
]);

table('_PageUnLock', FAIL0, [
  ['a page that is not locked', (v, w) => v.pageUnLock(w.paged, 1, 0, 0), 'not-locked'],
  ['a range with one page not locked', (v, w) => v.pageUnLock(w.sparse, 2, 0, 0), 'not-locked'],
  ['nPages = 0', (v, w) => v.pageUnLock(w.locked, 0, 0, 0), 'zero-count'],
  ['not a block base', (v, w) => v.pageUnLock(w.locked + 4096, 1, 0, 0), 'not-a-block'],
  ['PageOff + nPages past the block', (v, w) => v.pageUnLock(w.locked, 4, 1, 0), 'invalid-range'],
  ['an uncommitted page', (v, w) => v.pageUnLock(w.sparse, 1, 2, 0), 'not-committed'],
  ['PAGEMAPGLOBAL is a _LinPageUnLock flag', (v, w) => v.pageUnLock(w.locked, 1, 0, PAGEMAPGLOBAL), 'reserved-flags'],
]);

table('_LinPageLock', FAIL0, [
  ['npages = 0', (v, w) => v.linPageLock(pg(w.paged), 0, 0), 'zero-count'],
  ['reserved flag bit 0x1', (v, w) => v.linPageLock(pg(w.paged), 1, 0x1), 'reserved-flags'],
  ['PAGEMAPGLOBAL|PAGELOCKEDIFDP', (v, w) => v.linPageLock(pg(w.priv), 1, PAGEMAPGLOBAL | PAGELOCKEDIFDP), 'invalid-flags'],
  ['a range crossing shared → system (all committed)', (v) => v.linPageLock(0xbffff, 2, 0), 'crosses-arena'],
  ['a reserved page', (v, w) => v.linPageLock(pg(w.sparse), 3, 0), 'not-committed'],
  ['a free page', (v, w) => v.linPageLock(w.freePage, 1, 0), 'not-committed'],
  ['a range reaching the invalid region', (v) => v.linPageLock(0xffbff, 2, 0), 'invalid-region'],
  ['a page in the invalid region', (v) => v.linPageLock(0xffc00, 1, 0), 'invalid-region'],
  ['page 0x100000', (v) => v.linPageLock(0x100000, 1, 0), 'invalid-range'],
  ['a range past 4 GiB', (v) => v.linPageLock(0xfffff, 2, 0), 'invalid-range'],
]);

table('_LinPageUnLock', FAIL0, [
  ['a page that is not locked', (v, w) => v.linPageUnLock(pg(w.paged), 1, 0), 'not-locked'],
  ['npages = 0', (v, w) => v.linPageUnLock(pg(w.locked), 0, 0), 'zero-count'],
  ['reserved flag bit 0x1', (v, w) => v.linPageUnLock(pg(w.locked), 1, 0x1), 'reserved-flags'],
  ['PAGEMARKDIRTY is a lock flag', (v, w) => v.linPageUnLock(pg(w.locked), 1, PAGEMARKDIRTY), 'reserved-flags'],
  ['PAGEMAPGLOBAL|PAGELOCKEDIFDP', (v, w) => v.linPageUnLock(pg(w.alias), 1, PAGEMAPGLOBAL | PAGELOCKEDIFDP), 'invalid-flags'],
  ['alias pages without PAGEMAPGLOBAL', (v, w) => v.linPageUnLock(pg(w.alias), 1, 0), 'alias-needs-mapglobal'],
  ['PAGEMAPGLOBAL on the original pages', (v, w) => v.linPageUnLock(pg(w.priv), 1, PAGEMAPGLOBAL), 'not-an-alias'],
  ['PAGEMAPGLOBAL with the wrong alias length', (v, w) => v.linPageUnLock(pg(w.alias), 2, PAGEMAPGLOBAL), 'not-an-alias'],
  ['a range crossing shared → system', (v) => v.linPageUnLock(0xbffff, 2, 0), 'crosses-arena'],
  ['a reserved page', (v, w) => v.linPageUnLock(pg(w.sparse) + 2, 1, 0), 'not-committed'],
  ['a range reaching the invalid region', (v) => v.linPageUnLock(0xffbff, 2, 0), 'invalid-region'],
]);

table('_CopyPageTable', FAIL0, [
  ['nPages = 0', (v, w) => v.copyPageTable(pg(w.paged), 0, new Uint32Array(1), 0), 'zero-count'],
  ['flags ≠ 0', (v, w) => v.copyPageTable(pg(w.paged), 1, new Uint32Array(1), 1), 'reserved-flags'],
  ['5 entries into a 3-entry buffer', (v, w) => v.copyPageTable(pg(w.locked), 5, new Uint32Array(3), 0), 'buffer-too-small'],
  ['PageBuf not a Uint32Array', (v, w) => v.copyPageTable(pg(w.paged), 1, new Int32Array(1) as unknown as Uint32Array, 0), 'invalid-argument'],
  ['an empty 4 MiB slot', (v) => v.copyPageTable(0x1000, 1, new Uint32Array(1), 0), 'no-page-table'],
  ['a free page, then an empty slot', (v, w) => v.copyPageTable(w.freePage + 0x1ff, 2, new Uint32Array(2), 0), 'no-page-table'],
  ['a range from the shared arena into an empty system slot', (v) => v.copyPageTable(0xbffff, 0xc02, new Uint32Array(0xc02), 0), 'no-page-table'],
  ['the invalid region', (v) => v.copyPageTable(0xffc00, 1, new Uint32Array(1), 0), 'no-page-table'],
  ['page 0x100000', (v) => v.copyPageTable(0x100000, 1, new Uint32Array(1), 0), 'invalid-range'],
  ['a range past 4 GiB', (v) => v.copyPageTable(0xfffff, 2, new Uint32Array(2), 0), 'invalid-range'],
]);

table('_PageQuery', FAIL0, [
  ['cbmbi smaller than 28', (v, w) => v.pageQuery(w.paged, new Uint32Array(7), 27), 'buffer-too-small'],
  ['pmbi shorter than 7 DWORDs', (v, w) => v.pageQuery(w.paged, new Uint32Array(6), 28), 'buffer-too-small'],
  ['pmbi not a Uint32Array', (v, w) => v.pageQuery(w.paged, {} as unknown as Uint32Array, 28), 'invalid-argument'],
  ['an address in the invalid region', (v) => v.pageQuery(0xffc00000, new Uint32Array(7), 28), 'invalid-region'],
  ['the last byte of the 4 GiB space', (v) => v.pageQuery(0xffffffff, new Uint32Array(7), 28), 'invalid-region'],
]);

table('_PageModifyPermissions', FAILM1, [
  ['npages = 0', (v, w) => v.pageModifyPermissions(pg(w.paged), 0, 0xffffffff, 0), 'zero-count'],
  ['permor with a bit that is no permission', (v, w) => v.pageModifyPermissions(pg(w.paged), 1, 0xffffffff, PC_FIXED), 'reserved-flags'],
  ['a reserved page', (v, w) => v.pageModifyPermissions(pg(w.sparse), 3, 0xffffffff, PC_USER), 'not-committed'],
  ['a free page', (v, w) => v.pageModifyPermissions(w.freePage, 1, 0xffffffff, PC_USER), 'not-committed'],
  ['a range crossing shared → system', (v) => v.pageModifyPermissions(0xbffff, 2, 0xffffffff, PC_USER), 'crosses-arena'],
  ['a PR_STATIC block without PC_STATIC', (v, w) => v.pageModifyPermissions(pg(w.static_), 1, 0xffffffff, PC_USER), 'static-block'],
  ['a range reaching the invalid region', (v) => v.pageModifyPermissions(0xffbff, 2, 0xffffffff, 0), 'invalid-region'],
]);

table('_GetFreePageCount', FAIL0, [
  ['flags ≠ 0', (v) => v.getFreePageCount(1, new Uint32Array(1)), 'reserved-flags'],
  ['edx not a Uint32Array', (v) => v.getFreePageCount(0, [0] as unknown as Uint32Array), 'invalid-argument'],
]);

table('_PageGetAllocInfo', FAIL0, [
  ['flags ≠ 0', (v) => v.pageGetAllocInfo(0x80000000, new Uint32Array(1)), 'reserved-flags'],
  ['edx of length 0', (v) => v.pageGetAllocInfo(0, new Uint32Array(0)), 'buffer-too-small'],
]);

table('_PageGetSizeAddr', FAIL0, [
  ['an interior page', (v, w) => v.pageGetSizeAddr(w.paged + 4096, 0), 'not-a-block'],
  ['a free address', (v, w) => v.pageGetSizeAddr(w.freePage * 4096, 0), 'not-a-block'],
  ['flags ≠ 0', (v, w) => v.pageGetSizeAddr(w.paged, 1), 'reserved-flags'],
  ['edx not a Uint32Array', (v, w) => v.pageGetSizeAddr(w.paged, 0, 7 as unknown as Uint32Array), 'invalid-argument'],
]);

table('_PageCheckLinRange', FAIL0, [
  ['npages = 0', (v, w) => v.pageCheckLinRange(pg(w.paged), 0, 0), 'zero-count'],
  ['flags ≠ 0', (v, w) => v.pageCheckLinRange(pg(w.paged), 1, 1), 'reserved-flags'],
  ['a page in the invalid region', (v) => v.pageCheckLinRange(0xffc00, 1, 0), 'invalid-region'],
  ['a range reaching the invalid region', (v) => v.pageCheckLinRange(0xffbff, 2, 0), 'invalid-region'],
  ['page 0x100000', (v) => v.pageCheckLinRange(0x100000, 1, 0), 'invalid-range'],
]);

table('_MapPhysToLinear', FAILM1, [
  ['nBytes = 0', (v) => v.mapPhysToLinear(0x1000, 0, 0), 'zero-count'],
  ['flags ≠ 0', (v) => v.mapPhysToLinear(0x1000, 16, 1), 'reserved-flags'],
  ['an address past RAM', (v, w) => v.mapPhysToLinear(w.sim.memory.bytes, 1, 0), 'invalid-phys-range'],
  ['a range running past RAM', (v, w) => v.mapPhysToLinear(w.sim.memory.bytes - 8, 9, 0), 'invalid-phys-range'],
  ['a 4 GiB range', (v) => v.mapPhysToLinear(0, 0xffffffff, 0), 'invalid-phys-range'],
]);

table('_PageDiscardPages', FAIL0, [
  ['nPages = 0', (v, w) => v.pageDiscardPages(pg(w.paged), 0, 0, 0), 'zero-count'],
  ['reserved flag bit 0x2', (v, w) => v.pageDiscardPages(pg(w.paged), 0, 1, 0x2), 'reserved-flags'],
  ['a reserved page', (v, w) => v.pageDiscardPages(pg(w.sparse), 0, 3, PAGEDISCARD), 'not-committed'],
  ['a free page', (v, w) => v.pageDiscardPages(w.freePage, 0, 1, 0), 'not-committed'],
  ['a V86 page (below 0x110) without a VM handle', (v) => v.pageDiscardPages(0x20, 0, 1, 0), 'invalid-vm'],
  ['PAGEDISCARD|PAGEZEROINIT on fixed pages', (v, w) => v.pageDiscardPages(pg(w.fixed), 0, 1, PAGEDISCARD | PAGEZEROINIT), 'invalid-pager'],
  ['PAGEDISCARD|PAGEZEROINIT on a range holding a fixed page', (v, w) => v.pageDiscardPages(pg(w.paged), 0, 4, PAGEDISCARD | PAGEZEROINIT), 'invalid-pager'],
  ['a range crossing shared → system', (v) => v.pageDiscardPages(0xbffff, 0, 2, 0), 'crosses-arena'],
  ['a range reaching the invalid region', (v) => v.pageDiscardPages(0xffbff, 0, 2, 0), 'invalid-region'],
]);

describe('services without arguments', () => {
  it('_GetNulPageHandle and Get_Sys_VM_Handle succeed, clear lastError and change nothing', async () => {
    const { w, baseline } = await world();
    w.sim.vmm.pageFree(1, 0);
    expect(w.sim.vmm.lastError).not.toBeNull();
    expect(w.sim.vmm.getNulPageHandle()).toBe(w.nul);
    expect(w.sim.vmm.lastError).toBeNull();
    w.sim.vmm.pageFree(1, 0);
    expect(w.sim.vmm.getSysVMHandle()).toBe(w.vm);
    expect(w.sim.vmm.lastError).toBeNull();
    expect(w.sim.fingerprint()).toBe(baseline);
  });
});

describe('lastError', () => {
  it('is null after a success that follows a failure', async () => {
    const w = await buildWorld();
    expect(w.sim.vmm.pageReserve(PR_SYSTEM, 0, 0)).toBe(FAILM1);
    expect(w.sim.vmm.lastError?.code).toBe('zero-count');
    expect(w.sim.vmm.pageCheckLinRange(pg(w.paged), 1, 0)).toBe(1);
    expect(w.sim.vmm.lastError).toBeNull();
    await w.sim.close();
  });

  it('is frozen data: a caller cannot rewrite it', async () => {
    const { w } = await world();
    w.sim.vmm.pageFree(1, 0);
    const e = w.sim.vmm.lastError;
    expect(Object.isFrozen(e)).toBe(true);
  });
});

// ——— property: a failing call never changes anything ———

/** A symbolic argument, resolved against the world (and the blocks made so far) when the call runs. */
type Sym = { k: 'num'; v: number } | { k: 'page' | 'addr'; slot: number; off: number } | { k: 'vm' } | { k: 'nul' };

const num = (v: number): Sym => ({ k: 'num', v });
const JUNK = [Number.NaN, -1, 1.5, 2 ** 32, Number.POSITIVE_INFINITY, 0xffffffff, 0x80000000];
const junkArb: fc.Arbitrary<Sym> = fc.oneof(fc.constantFrom(...JUNK), fc.integer({ min: 0, max: 0xffffffff })).map(num);
/** Mostly well-formed values from `good`, sometimes junk. */
const mostly = (good: fc.Arbitrary<Sym>): fc.Arbitrary<Sym> => fc.oneof({ weight: 8, arbitrary: good }, { weight: 1, arbitrary: junkArb });
const near = (k: 'page' | 'addr'): fc.Arbitrary<Sym> => fc.record({ k: fc.constant(k), slot: fc.nat({ max: 255 }), off: fc.integer({ min: -2, max: 5 }) });
const pageArb = mostly(fc.oneof({ weight: 6, arbitrary: near('page') }, { weight: 1, arbitrary: fc.constantFrom(0xffc00, 0xbffff, 0xffbff, 0x20, 0x100000).map(num) }));
const addrArb = mostly(fc.oneof({ weight: 6, arbitrary: near('addr') }, { weight: 1, arbitrary: fc.constant<Sym>({ k: 'nul' }) }));
const countArb = mostly(fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 6 }) }, { weight: 1, arbitrary: fc.constantFrom(0x100, 0x800, 0x40000) }).map(num));
const flagsArb = (legal: readonly number[]): fc.Arbitrary<Sym> =>
  mostly(fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 6, arbitrary: fc.subarray([...legal], { maxLength: Math.min(3, legal.length) }).map((fs) => fs.reduce((x, y) => (x | y) >>> 0, 0)) }).map(num));
const zeroFlags = flagsArb([]);
const physArb = mostly(fc.oneof(fc.integer({ min: 0, max: 0x120 }), fc.constantFrom(0x1000, 0x100000, 0xffffffff)).map(num));
const maskArb = mostly(fc.constantFrom(0, 1, 3, 0xf, 0x1f, 5, 0x1000).map(num));
const vmArb = mostly(fc.oneof(fc.constant<Sym>({ k: 'vm' }), fc.constant(num(0))));

type ServiceName = Exclude<keyof VmmServices, 'lastError' | 'getNulPageHandle' | 'getSysVMHandle'>;
interface SymCall {
  svc: ServiceName | 'pager.pass' | 'cpu.write';
  args: Sym[];
  buf: number;
}
const call = (svc: SymCall['svc'], ...args: fc.Arbitrary<Sym>[]): fc.Arbitrary<SymCall> =>
  fc.record({ svc: fc.constant(svc), args: fc.tuple(...args), buf: fc.oneof(fc.constant(1), fc.constant(7), fc.integer({ min: 0, max: 8 })) });

const callArb: fc.Arbitrary<SymCall> = fc.oneof(
  call('pageAllocate', countArb, mostly(fc.constantFrom(PG_SYS, PG_VM, PG_HOOKED, 2, 3).map(num)), vmArb, maskArb, physArb, physArb, flagsArb([PAGEZEROINIT, PAGEUSEALIGN, PAGECONTIG, PAGEFIXED, PAGELOCKED, PAGELOCKEDIFDP])),
  call('pageFree', addrArb, flagsArb([PR_STATIC])),
  call('pageReAllocate', addrArb, countArb, flagsArb([PAGELOCKED, PAGELOCKEDIFDP, PAGENOCOPY, PAGEZEROINIT, PAGEZEROREINIT])),
  call('pageReserve', fc.oneof(pageArb, fc.constantFrom(PR_PRIVATE, PR_SHARED, PR_SYSTEM).map(num)), countArb, flagsArb([PR_FIXED, PR_STATIC, PR_4MEG])),
  call('pageCommit', pageArb, countArb, mostly(fc.integer({ min: 0, max: 5 }).map(num)), mostly(fc.constant(num(0))), flagsArb([PC_FIXED, PC_LOCKED, PAGELOCKEDIFDP, PC_STATIC, PC_USER, PC_WRITEABLE, PC_INCR])),
  call('pageCommitPhys', pageArb, countArb, fc.oneof(physArb, fc.constant<Sym>({ k: 'nul' })), flagsArb([PC_INCR, PC_USER, PC_WRITEABLE, PC_STATIC])),
  call('pageCommitContig', pageArb, countArb, flagsArb([PC_USER, PC_WRITEABLE, PCC_ZEROINIT, PCC_NOLIN, PC_STATIC]), maskArb, physArb, physArb),
  call('pageDecommit', pageArb, countArb, flagsArb([PC_STATIC])),
  call('pageLock', addrArb, countArb, countArb, flagsArb([PAGELOCKEDIFDP])),
  call('pageUnLock', addrArb, countArb, countArb, flagsArb([PAGELOCKEDIFDP, PAGEMARKPAGEOUT])),
  call('linPageLock', pageArb, countArb, flagsArb([PAGELOCKEDIFDP, PAGEMAPGLOBAL, PAGEMARKDIRTY])),
  call('linPageUnLock', pageArb, countArb, flagsArb([PAGELOCKEDIFDP, PAGEMAPGLOBAL, PAGEMARKPAGEOUT])),
  call('copyPageTable', pageArb, countArb, zeroFlags),
  call('pageQuery', addrArb, mostly(fc.constantFrom(28, 27, 0, 64).map(num))),
  call('pageModifyPermissions', pageArb, countArb, mostly(fc.constantFrom(0xffffffff, ~PC_USER >>> 0, ~PC_WRITEABLE >>> 0, 0).map(num)), flagsArb([PC_USER, PC_WRITEABLE, PC_STATIC])),
  call('getFreePageCount', zeroFlags),
  call('pageGetAllocInfo', zeroFlags),
  call('pageGetSizeAddr', addrArb, zeroFlags),
  call('pageCheckLinRange', pageArb, countArb, zeroFlags),
  call('mapPhysToLinear', mostly(fc.integer({ min: 0, max: 0x110000 }).map(num)), mostly(fc.integer({ min: 0, max: 0x3000 }).map(num)), zeroFlags),
  call('pageDiscardPages', pageArb, vmArb, countArb, flagsArb([PAGEDISCARD, PAGEZEROINIT])),
  call('pager.pass'),
  call('cpu.write', addrArb),
);

/** DDK failure value per service (§0.1). */
const FAILURE_OF: Partial<Record<ServiceName, number>> = { pageReserve: FAILM1, pageCommitContig: FAILM1, pageModifyPermissions: FAILM1, mapPhysToLinear: FAILM1 };

const DDK_NAME: Record<ServiceName, string> = {
  pageAllocate: '_PageAllocate',
  pageFree: '_PageFree',
  pageReAllocate: '_PageReAllocate',
  pageReserve: '_PageReserve',
  pageCommit: '_PageCommit',
  pageCommitPhys: '_PageCommitPhys',
  pageCommitContig: '_PageCommitContig',
  pageDecommit: '_PageDecommit',
  pageLock: '_PageLock',
  pageUnLock: '_PageUnLock',
  linPageLock: '_LinPageLock',
  linPageUnLock: '_LinPageUnLock',
  copyPageTable: '_CopyPageTable',
  pageQuery: '_PageQuery',
  pageModifyPermissions: '_PageModifyPermissions',
  getFreePageCount: '_GetFreePageCount',
  pageGetAllocInfo: '_PageGetAllocInfo',
  pageGetSizeAddr: '_PageGetSizeAddr',
  pageCheckLinRange: '_PageCheckLinRange',
  mapPhysToLinear: '_MapPhysToLinear',
  pageDiscardPages: '_PageDiscardPages',
};

function invoke(v: VmmServices, svc: ServiceName, n: readonly number[], buf: Uint32Array): number {
  const x = (i: number): number => n[i] as number;
  const edx = buf.length === 0 ? undefined : buf;
  switch (svc) {
    case 'pageAllocate':
      return v.pageAllocate(x(0), x(1), x(2), x(3), x(4), x(5), buf.length === 0 ? null : buf, x(6));
    case 'pageFree':
      return v.pageFree(x(0), x(1));
    case 'pageReAllocate':
      return v.pageReAllocate(x(0), x(1), x(2), edx);
    case 'pageReserve':
      return v.pageReserve(x(0), x(1), x(2));
    case 'pageCommit':
      return v.pageCommit(x(0), x(1), x(2), x(3), x(4));
    case 'pageCommitPhys':
      return v.pageCommitPhys(x(0), x(1), x(2), x(3));
    case 'pageCommitContig':
      return v.pageCommitContig(x(0), x(1), x(2), x(3), x(4), x(5));
    case 'pageDecommit':
      return v.pageDecommit(x(0), x(1), x(2));
    case 'pageLock':
      return v.pageLock(x(0), x(1), x(2), x(3));
    case 'pageUnLock':
      return v.pageUnLock(x(0), x(1), x(2), x(3));
    case 'linPageLock':
      return v.linPageLock(x(0), x(1), x(2));
    case 'linPageUnLock':
      return v.linPageUnLock(x(0), x(1), x(2));
    case 'copyPageTable':
      return v.copyPageTable(x(0), x(1), buf, x(2));
    case 'pageQuery':
      return v.pageQuery(x(0), buf, x(1));
    case 'pageModifyPermissions':
      return v.pageModifyPermissions(x(0), x(1), x(2), x(3));
    case 'getFreePageCount':
      return v.getFreePageCount(x(0), edx);
    case 'pageGetAllocInfo':
      return v.pageGetAllocInfo(x(0), edx);
    case 'pageGetSizeAddr':
      return v.pageGetSizeAddr(x(0), x(1), edx);
    case 'pageCheckLinRange':
      return v.pageCheckLinRange(x(0), x(1), x(2));
    case 'mapPhysToLinear':
      return v.mapPhysToLinear(x(0), x(1), x(2));
    case 'pageDiscardPages':
      return v.pageDiscardPages(x(0), x(1), x(2), x(3));
  }
}

describe('property: random call sequences', () => {
  // With the 'random' pager, successful calls and CPU accesses also move and page out pages in the
  // background, so failures meet a wider variety of states; a failing call must not run the pager.
  it.each(['off', 'random'] as const)('pager %s: whenever a call fails it returns the DDK failure value, names the service, and the fingerprint is unchanged', async (pager) => {
    await fc.assert(
      fc.asyncProperty(fc.array(callArb, { minLength: 1, maxLength: 12 }), async (calls) => {
        const w = await buildWorld(pager);
        try {
          const v = w.sim.vmm;
          // Block bases and other interesting addresses; successful calls add the blocks they make.
          const anchors = [w.locked, w.paged, w.fixed, w.sparse, w.static_, w.aligned, w.huge, w.shared, w.priv, base(w.alias), base(w.physmap), w.sharedEnd, w.sysEnd, w.dos, w.freePage * 4096, 0xffc00000];
          const resolve = (x: Sym): number => {
            switch (x.k) {
              case 'num':
                return x.v;
              case 'vm':
                return w.vm;
              case 'nul':
                return w.nul;
              default: {
                const lin = Math.min(Math.max(anchors[x.slot % anchors.length]! + x.off * 4096, 0), 0xfffff000);
                return x.k === 'page' ? lin >>> 12 : lin;
              }
            }
          };
          let fp = w.sim.fingerprint();
          for (const c of calls) {
            const n = c.args.map(resolve);
            if (c.svc === 'pager.pass') {
              w.sim.pager.pass();
              fp = w.sim.fingerprint();
            } else if (c.svc === 'cpu.write') {
              try {
                w.sim.cpu.write32(n[0]!, 0x5a5a5a5a);
              } catch (e) {
                if (!(e instanceof PageFault || e instanceof TypeError)) throw e;
              }
              fp = w.sim.fingerprint();
            } else {
              const before = fp;
              const r = invoke(v, c.svc, n, new Uint32Array(c.buf));
              const what = `${DDK_NAME[c.svc]}(${n.map((k) => (typeof k === 'number' ? '0x' + (k >>> 0).toString(16) : String(k))).join(', ')})`;
              expect(Number.isInteger(r) && r >= 0 && r <= 0xffffffff, `${what} returns a ULONG`).toBe(true);
              const err = v.lastError;
              fp = w.sim.fingerprint();
              if (err) {
                expect(fp, `${what} failed with ${err.code} but changed state`).toBe(before);
                expect(err.service, what).toBe(DDK_NAME[c.svc]);
                expect(r, `${what} failure value`).toBe(FAILURE_OF[c.svc] ?? FAIL0);
              } else if (['pageAllocate', 'pageReAllocate', 'pageReserve', 'linPageLock', 'mapPhysToLinear'].includes(c.svc) && r > 1) {
                anchors.push(base(r));
              }
            }
          }
        } finally {
          await w.sim.close();
        }
      }),
      { numRuns: Number(process.env.VMM_PROPERTY_RUNS ?? 15), seed: Number(process.env.VMM_PROPERTY_SEED ?? 20240607) },
    );
  });
});
