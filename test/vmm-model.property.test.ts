/**
 * Model-based property test of the VMM page services (spec §4; the reference model is
 * test/model/vmm-model.ts). Random sequences of allocations, reservations, commits, decommits,
 * reallocations, frees, locks and unlocks (by handle and by linear range), global aliases
 * (PAGEMAPGLOBAL), permission changes, discards, page-table copies, queries, CPU writes and reads
 * and pager passes — about a third of the calls invalid: bad handles, freed handles, aliases used
 * as handles, reserved flags, zero and non-integer counts, ranges out of the linear space or across
 * arenas and blocks, unlocks of unlocked pages, commits over committed pages, short buffers — made
 * by two driver contexts ('default' and 'B', one command in four), run against a real simulator and
 * against the model, with the pager 'off', 'random' and 'aggressive'.
 *
 * After every command the simulator's public observations must equal the model's:
 *   - each call's return value, `lastError` (service and code; null after a success; the other
 *     driver's left alone), and its output arrays (written on success only, EDX zeroed on failure);
 *   - every block's size and address (_PageGetSizeAddr), its regions (_PageQuery: state, protection,
 *     allocation base and protection, region size), its committed prefix (_PageCheckLinRange);
 *   - every committed page's PTE (_CopyPageTable): P_PRES where residency is certain (locked and
 *     fixed pages always; every page with the pager off), P_WRITE/P_USER always, P_ACC/P_DIRTY where
 *     certain, the frame of a locked or fixed page unchanged, no two resident pages on one frame;
 *     reserved pages read 0; every alias page present exactly while it is alive, on its original's
 *     frame, with its own P_ACC/P_DIRTY;
 *   - lock counts and their first locker (sim.outstandingLocks()), lock-leak counts per driver and
 *     alias-leak records with their live pages (sim.leaks()), _GetFreePageCount's EDX exactly and
 *     its EAX exactly where residency is certain (else within bounds);
 *   - memory contents as the CPU wrote them (reads, through aliases too, and a full check at the
 *     end), whatever the pager did in between.
 * At the end everything is torn down, unlocked and freed; the free counts are back at their start
 * values and sim.leaks() is empty.
 *
 * An invalid call must also change nothing: in the fingerprint properties every failing call is
 * bracketed by sim.fingerprint() (a digest of all memory-manager state; it costs ~30 ms here, so
 * those properties run few sequences); elsewhere the full observation above stands in for it.
 *
 * Runs: DMASIM_MODEL_RUNS sequences in total (default 1000) over the three pagers, plus
 * DMASIM_MODEL_FP_RUNS fingerprinted ones (default 9); DMASIM_MODEL_COMMANDS commands at most per
 * sequence (default 32). Sequences share an emptied simulator; a failure is confirmed on a fresh one
 * (class Pool), shrunk to a minimal sequence, and printed with the replay line:
 * DMASIM_MODEL_SEED=… DMASIM_MODEL_PATH=… DMASIM_MODEL_REPLAY=… npx vitest run … -t "<property>".
 * DMASIM_MODEL_VERBOSE=1 prints each property's runs, calls and share of failing calls.
 */

import fc from 'fast-check';
import { describe, it } from 'vitest';
import {
  NUL_PAGE_HANDLE,
  P_ACC,
  P_DIRTY,
  P_PRES,
  P_USER,
  P_WRITE,
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
  PC_FIXED,
  PC_LOCKED,
  PC_LOCKEDIFDP,
  PC_STATIC,
  PC_USER,
  PC_WRITEABLE,
  PCC_NOLIN,
  PCC_ZEROINIT,
  PD_FIXED,
  PD_FIXEDZERO,
  PD_NOINIT,
  PD_ZEROINIT,
  PG_SYS,
  PG_VM,
  PR_4MEG,
  PR_FIXED,
  PR_PRIVATE,
  PR_SHARED,
  PR_STATIC,
  PR_SYSTEM,
  PageFault,
  SYS_VM_HANDLE,
  createSimulator,
  type DriverContext,
  type Simulator,
  type VmmServices,
} from '../src/index.js';
import { FRAMES, PAGE, USABLE_FRAMES, VmmModel, contigOk, hex, type MBlock, type MPage, type Prediction, type Tri } from './model/vmm-model.js';

type Pager = 'off' | 'random' | 'aggressive';

/** What a command runs against: the simulator, the model, and the run's settings and tallies. */
interface World {
  readonly sim: Simulator;
  /** The driver contexts: the simulator's own ('default') and 'B'. */
  readonly drivers: readonly DriverContext[];
  /** The services of the driver making the current command's calls. */
  vmm: VmmServices;
  readonly m: VmmModel;
  /** Bracket every failing call with sim.fingerprint(). */
  readonly fingerprints: boolean;
  /** Scan locks and leaks after every command, even when the model says there is nothing to find. */
  readonly fullScans: boolean;
  readonly tally: Tally;
}

interface Tally {
  calls: number;
  failed: number;
}

/** Budgets that keep a run inside 1 MiB without eviction under pressure (the model knows residency). */
const MAX_COMMITTED = 120;
const MAX_FIXED = 48;
const MAX_BLOCKS = 10;

class ModelMismatch extends Error {
  override readonly name = 'ModelMismatch';
}

function check(cond: boolean, what: () => string): void {
  if (!cond) throw new ModelMismatch(what());
}

// ——— calling a service and comparing with the model's prediction ———

interface Call {
  /** The concrete call, for messages. */
  readonly text: string;
  readonly service: string;
  readonly predict: Prediction;
  readonly call: () => number;
  /** Output arrays: unchanged by a failure (EDX arrays zeroed instead). */
  readonly outputs?: readonly Uint32Array[];
  readonly edx?: Uint32Array;
  /** Extra checks after a success (before the model applies it). */
  readonly after?: (r: number) => void;
}

function serve(w: World, c: Call): void {
  const e = c.predict;
  const mayFail = !e.ok || e.mayFail !== undefined;
  const before = w.fingerprints && mayFail ? w.sim.fingerprint() : undefined;
  const saved = c.outputs?.map((a) => a.slice());
  const r = c.call();
  const err = w.vmm.lastError;
  w.tally.calls++;
  const failedAs = (code: string, value: number) => {
    check(r === value, () => `${c.text}: expected the failure value ${hex(value)} (${code}), got ${hex(r)} (lastError ${err?.code ?? 'null'})`);
    check(err?.code === code && err.service === c.service, () => `${c.text}: expected lastError ${c.service} ${code}, got ${err ? `${err.service} ${err.code}: ${err.message}` : 'null'}`);
    c.outputs?.forEach((a, i) => check(a.every((x, j) => x === saved![i]![j]), () => `${c.text}: failed, yet wrote its output array`));
    if (c.edx) check(c.edx[0] === 0, () => `${c.text}: failed, yet EDX is ${hex(c.edx![0]!)}, not 0`);
    if (before !== undefined) check(w.sim.fingerprint() === before, () => `${c.text}: failed with ${code}, yet changed the memory manager's state (fingerprint)`);
    w.tally.failed++;
  };
  if (!e.ok) return failedAs(e.code, e.value);
  if (err && e.mayFail === err.code) return failedAs(err.code, r);
  check(err === null, () => `${c.text}: expected success, got lastError ${err?.service} ${err?.code}: ${err?.message}`);
  if (e.value !== undefined) check(r === e.value, () => `${c.text}: returned ${hex(r)}, expected ${hex(e.value!)}`);
  const why = e.accept?.(r);
  check(!why, () => `${c.text}: returned ${hex(r)}: ${why}`);
  c.after?.(r);
  e.apply(r);
}

// ——— observing the simulator ———

const TRI_BITS: readonly [keyof Pick<MPage, 'acc' | 'dirty'>, number, string][] = [
  ['acc', P_ACC, 'P_ACC'],
  ['dirty', P_DIRTY, 'P_DIRTY'],
];

/** Every observation the model can make, compared. Throws ModelMismatch naming the first difference. */
function observe(w: World, after: string): void {
  const { sim, m } = w;
  const vmm = sim.vmm;
  const at = (what: string) => `after ${after}: ${what}`;
  const edx = new Uint32Array(1);
  const mbi = new Uint32Array(7);
  const frames = new Map<number, string>();
  const certainFrames = m.pager === 'off';
  for (const b of m.blocks) {
    const h = b.base * PAGE;
    const name = `block ${hex(h)}`;
    check(vmm.pageGetSizeAddr(h, 0, edx) === b.size && edx[0] === h, () => at(`_PageGetSizeAddr(${name}) = ${vmm.pageGetSizeAddr(h, 0)} pages at ${hex(edx[0]!)}, model: ${b.size} (${vmm.lastError?.code ?? ''})`));
    // _PageQuery at every region start, and on the pages either side of the block.
    for (let i = 0; i < b.size; ) {
      const want = m.mbi(b.base + i);
      check(vmm.pageQuery((b.base + i) * PAGE, mbi, 28) === 28 && want.every((x, k) => mbi[k] === x), () => at(`_PageQuery(${hex((b.base + i) * PAGE)}) = [${[...mbi].map(hex)}], model [${want.map(hex)}]`));
      i += want[3]! / PAGE;
    }
    for (const p of [b.base - 1, b.base + b.size]) {
      if (p < 0 || p >= 0xffc00) continue;
      const want = m.mbi(p);
      check(vmm.pageQuery(p * PAGE, mbi, 28) === 28 && want.every((x, k) => mbi[k] === x), () => at(`_PageQuery(${hex(p * PAGE)}) = [${[...mbi].map(hex)}], model [${want.map(hex)}]`));
    }
    let prefix = 0;
    while (prefix < b.size && b.pages[prefix]) prefix++;
    check(vmm.pageCheckLinRange(b.base, b.size, 0) === prefix, () => at(`_PageCheckLinRange(${name}) = ${vmm.pageCheckLinRange(b.base, b.size, 0)}, model ${prefix}`));
    const ptes = new Uint32Array(b.size);
    check(vmm.copyPageTable(b.base, b.size, ptes, 0) === 1, () => at(`_CopyPageTable(${name}) failed: ${vmm.lastError?.code}`));
    for (let i = 0; i < b.size; i++) {
      const pg = b.pages[i];
      const e = ptes[i]!;
      const where = () => `${name} page ${i} (${hex((b.base + i) * PAGE)}), PTE ${hex(e)}`;
      if (!pg) {
        check(e === 0, () => at(`${where()}: a reserved page's entry is not 0`));
        continue;
      }
      const f = m.pteFacts(pg);
      const pres = (e & P_PRES) !== 0;
      check(f.present === 'unknown' || pres === (f.present === 'yes'), () => at(`${where()}: P_PRES ${pres}, model says present ${f.present}`));
      if (!pres) continue;
      check(((e & P_WRITE) !== 0) === f.write && ((e & P_USER) !== 0) === f.user, () => at(`${where()}: P_WRITE/P_USER do not match the permissions (write ${f.write}, user ${f.user})`));
      for (const [k, bit, label] of TRI_BITS) {
        const t: Tri = f[k];
        check(t === 'unknown' || ((e & bit) !== 0) === (t === 'yes'), () => at(`${where()}: ${label} ${(e & bit) !== 0}, model ${t}`));
      }
      const fr = e >>> 12;
      check(fr > 0 && fr < FRAMES, () => at(`${where()}: frame ${hex(fr)} is the nul page or outside RAM`));
      if (pg.fixed || pg.locks > 0) {
        if (pg.frame === null) pg.frame = fr;
        check(fr === pg.frame, () => at(`${where()}: a ${pg.fixed ? 'fixed' : 'locked'} page moved from frame ${hex(pg.frame!)} to ${hex(fr)}`));
      }
      // Frames of pages that cannot move are compared across calls; with the pager on, others may move between two calls.
      if (certainFrames || pg.fixed || pg.locks > 0) {
        const other = frames.get(fr);
        check(other === undefined, () => at(`${where()}: frame ${hex(fr)} is also mapped by ${other}`));
        frames.set(fr, where());
      }
    }
  }
  // Global aliases: one committed region each; live pages map their original's frame, dead ones are
  // not present; each is an alias-leak record until torn down, with how many of its pages are alive.
  for (const a of m.aliases) {
    const want = m.mbi(a.base);
    check(vmm.pageQuery(a.base * PAGE, mbi, 28) === 28 && want.every((x, k) => mbi[k] === x), () => at(`_PageQuery(alias ${hex(a.base * PAGE)}) = [${[...mbi].map(hex)}], model [${want.map(hex)}]`));
    const ptes = new Uint32Array(a.size);
    check(vmm.copyPageTable(a.base, a.size, ptes, 0) === 1, () => at(`_CopyPageTable(alias ${hex(a.base * PAGE)}) failed: ${vmm.lastError?.code}`));
    for (let i = 0; i < a.size; i++) {
      const e = ptes[i]!;
      const alive = m.aliasAlive(a, i);
      const where = () => `alias ${hex(a.base * PAGE)} page ${i}, PTE ${hex(e)}`;
      check(((e & P_PRES) !== 0) === alive, () => at(`${where()}: P_PRES ${(e & P_PRES) !== 0}, model: the alias page is ${alive ? 'alive' : 'dead'}`));
      if (!alive) continue;
      const orig = a.origs[i]!.pg;
      check(orig.frame === null || e >>> 12 === orig.frame, () => at(`${where()}: maps frame ${hex(e >>> 12)}, its original is on ${hex(orig.frame!)}`));
      check((e & P_WRITE) !== 0 && (e & P_USER) === 0, () => at(`${where()}: an alias is ring-0 read/write`));
      for (const [bit, t, label] of [[P_ACC, a.acc[i]!, 'P_ACC'], [P_DIRTY, a.dirty[i]!, 'P_DIRTY']] as const) {
        check(((e & bit) !== 0) === (t === 'yes'), () => at(`${where()}: ${label} ${(e & bit) !== 0}, model ${t}`));
      }
    }
  }
  // The lock and leak scans walk every frame: skipped while the model holds no lock and no alias. An
  // unexpected lock would still show — in EDX below (a locked page is no pager candidate) — and
  // anything left over in the leak scan at the end of the sequence.
  const scan = m.lockedPages > 0 || m.aliases.length > 0 || w.fullScans;
  const allLeaks = scan ? sim.leaks() : [];
  const aliasLeaks = allLeaks.filter((l) => l.code === 'alias-leak');
  check(
    aliasLeaks.length === m.aliases.length && m.aliases.every((a) => aliasLeaks.some((l) => l.linearPage === a.base && l.count === a.size && l.detail.alive === a.origs.filter((_, i) => m.aliasAlive(a, i)).length)),
    () => at(`alias-leak records ${JSON.stringify(aliasLeaks.map((l) => [hex(l.linearPage ?? 0), l.count, l.detail.alive]))}, model ${JSON.stringify(m.aliases.map((a) => [hex(a.base), a.size, a.origs.filter((_, i) => m.aliasAlive(a, i)).length]))}`),
  );
  // Lock counts: every locked page, nothing else (fixed pages are not listed).
  const locks = new Map<number, number>();
  for (const { block, index, page } of m.committed()) if (!page.fixed && page.locks > 0) locks.set(block.base + index, page.locks);
  const real = scan ? sim.outstandingLocks() : [];
  check(real.length === locks.size && real.every((l) => l.linearPage !== null && locks.get(l.linearPage) === l.lockCount), () => at(`outstanding locks ${JSON.stringify(real.map((l) => [l.linearPage === null ? null : hex(l.linearPage), l.lockCount]))}, model ${JSON.stringify([...locks].map(([p, n]) => [hex(p), n]))}`));
  // Who holds them: the driver of each page's first lock, and per driver the locks it still holds (lock-leak).
  const first = new Map(real.map((l) => [l.linearPage, l.driver]));
  const blame = new Map<string, number>();
  for (const { block, index, page } of m.committed()) {
    if (page.fixed || page.locks === 0) continue;
    const p = block.base + index;
    check(first.get(p) === DRIVER_NAMES[page.firstLocker], () => at(`outstandingLocks() names ${first.get(p)} for ${hex(p)}, model ${DRIVER_NAMES[page.firstLocker]} (its lock took the count from 0)`));
    for (const h of page.holders) if (!h.alias) blame.set(`${hex(p)} ${DRIVER_NAMES[h.ctx]}`, (blame.get(`${hex(p)} ${DRIVER_NAMES[h.ctx]}`) ?? 0) + h.count);
  }
  const leaks = allLeaks.filter((l) => l.code === 'lock-leak');
  const realBlame = new Map(leaks.map((l) => [`${l.linearPage === null ? null : hex(l.linearPage)} ${l.driver}`, l.count]));
  check(realBlame.size === blame.size && [...blame].every(([k, n]) => realBlame.get(k) === n), () => at(`lock-leak records ${JSON.stringify([...realBlame])}, model ${JSON.stringify([...blame])}`));
  // Free counts: EDX (lockable) exactly; EAX (free) exactly where residency is known.
  const eax = vmm.getFreePageCount(0, edx);
  const [lo, hi] = m.freeRange();
  check(edx[0] === m.obtainable, () => at(`_GetFreePageCount EDX ${edx[0]}, model ${m.obtainable} (= ${USABLE_FRAMES} − ${m.fixedPages} fixed − ${m.lockedPages} locked)`));
  check(eax >= lo && eax <= hi, () => at(`_GetFreePageCount EAX ${eax}, model [${lo}, ${hi}]`));
}

/** Every byte the model knows, read back by the CPU. */
function expectContents(w: World, after: string): void {
  for (const { block, index, page } of w.m.committed()) {
    const lin = (block.base + index) * PAGE;
    const got = w.sim.cpu.readBytes(lin, PAGE);
    w.m.cpuAccess(lin, null, PAGE);
    for (let i = 0; i < PAGE; i++) {
      if (page.known[i] && got[i] !== page.data[i]) throw new ModelMismatch(`after ${after}: byte ${hex(lin + i)} reads ${hex(got[i]!)}, model ${hex(page.data[i]!)}`);
    }
  }
}

// ——— commands ———

const DRIVER_NAMES = ['default', 'B'] as const;

function actAs(w: World, driver: number): void {
  w.vmm = w.drivers[driver]!.vmm;
  w.m.ctx = driver;
}

/** A command: resolved against the model when it runs (blocks are picked by index), then observed. */
class Step implements fc.Command<World, World> {
  constructor(
    private readonly label: string,
    private readonly body: (w: World) => string | null,
    /** Which driver context makes the calls (0: 'default', 1: 'B'). */
    private readonly driver = 0,
  ) {}
  /** The same command, made by driver context `driver`. */
  by(driver: number): Step {
    return new Step(`${this.label} by ${DRIVER_NAMES[driver]}`, this.body, driver);
  }
  check(): boolean {
    return true;
  }
  run(_m: World, w: World): void {
    actAs(w, this.driver);
    try {
      const did = this.body(w);
      if (did !== null) observe(w, did === '' ? 'a step' : `${did} by ${DRIVER_NAMES[this.driver]}`);
    } finally {
      actAs(w, 0);
    }
  }
  toString(): string {
    return this.label;
  }
}

/** The `sel`-th block (modulo), or undefined when there is none. */
const pick = (m: VmmModel, sel: number): MBlock | undefined => (m.blocks.length ? m.blocks[sel % m.blocks.length] : undefined);
/** A handle that may be bad: a block base, or something near one (inside, misaligned), a freed handle, the nul handle, nonsense. */
type HandleKind = 'good' | 'inside' | 'misaligned' | 'freed' | 'nul' | 'zero' | 'nonsense';
function handleOf(m: VmmModel, sel: number, kind: HandleKind): number {
  const b = pick(m, sel);
  switch (kind) {
    case 'good':
      return b ? b.base * PAGE : 0xc0000000;
    case 'inside':
      return b ? (b.base + Math.max(1, sel % Math.max(1, b.size))) * PAGE : 0xc0001000;
    case 'misaligned':
      return b ? b.base * PAGE + 1 + (sel % 0xfff) : 0xc0000001;
    case 'freed':
      return m.freed.length ? m.freed[sel % m.freed.length]! : 0xc0000000;
    case 'nul':
      return NUL_PAGE_HANDLE;
    case 'zero':
      return 0;
    case 'nonsense':
      return 0xdead0000;
  }
}

const fmtFlags = (f: number) => hex(f >>> 0);
const sel = fc.nat(63);

/** A range in a block: an offset into it and a count, which now and then (spill 0) may run past its end. */
const inBlock = fc.record({ sel, off: fc.nat(9), n: fc.integer({ min: 1, max: 4 }), spill: fc.nat(3) });

function place(m: VmmModel, b: MBlock, r: { off: number; n: number; spill: number }): { off: number; page: number; n: number } {
  const off = r.off % b.size;
  const page = b.base + off;
  const inside = Math.min(r.n, b.size - off);
  if (r.spill !== 0) return { off, page, n: inside };
  // A range that spills past its block may meet the next block or free pages — not an alias, whose
  // pages only the alias commands aim at.
  const hitsAlias = m.aliases.some((a) => a.base < page + r.n && a.base + a.size > page);
  return { off, page, n: hitsAlias ? inside : r.n };
}

function withinBudget(m: VmmModel, n: number, fixed: boolean): boolean {
  return m.blocks.length < MAX_BLOCKS && m.committedPages + n <= MAX_COMMITTED && (!fixed || m.fixedPages + n <= MAX_FIXED);
}

// Valid-looking commands: each may still fail because of the state it meets (that is part of the test).

const allocate = fc
  .record({
    n: fc.integer({ min: 1, max: 6 }),
    vm: fc.boolean(),
    zero: fc.boolean(),
    kind: fc.constantFrom(0, PAGEFIXED, PAGELOCKED, PAGELOCKEDIFDP),
    contigIgnored: fc.boolean(),
  })
  .map(({ n, vm, zero, kind, contigIgnored }) => {
    const flags = (zero ? PAGEZEROINIT : 0) | kind | (contigIgnored ? PAGECONTIG : 0);
    const type = vm ? PG_VM : PG_SYS;
    const VM = vm ? SYS_VM_HANDLE : 0;
    return new Step(`pageAllocate(${n}, ${vm ? 'PG_VM' : 'PG_SYS'}, flags ${fmtFlags(flags)})`, (w) => {
      if (!withinBudget(w.m, n, kind === PAGEFIXED)) return null;
      const phys = Uint32Array.of(0xdeadbeef);
      const edx = new Uint32Array(1);
      const text = `pageAllocate(${n}, ${type}, ${hex(VM)}, 0, 0, 0, PhysAddr, ${fmtFlags(flags)})`;
      serve(w, {
        text,
        service: '_PageAllocate',
        predict: w.m.pageAllocate(n, type, VM, 0, 0, 0, phys, flags, edx),
        call: () => w.vmm.pageAllocate(n, type, VM, 0, 0, 0, phys, flags, edx),
        edx,
        after: (r) => {
          check(edx[0] === r, () => `${text}: EDX ${hex(edx[0]!)} is not the address ${hex(r)}`);
          // PhysAddr is written only with PAGEUSEALIGN and PAGECONTIG (§4.9).
          check(phys[0] === 0xdeadbeef, () => `${text}: wrote PhysAddr without PAGEUSEALIGN`);
        },
      });
      return text;
    });
  });

const allocateAligned = fc
  .record({
    n: fc.integer({ min: 1, max: 4 }),
    mask: fc.constantFrom(0, 1, 3, 7, 0xf),
    min: fc.nat(160),
    span: fc.integer({ min: 0, max: 128 }),
    unbounded: fc.boolean(),
    contig: fc.boolean(),
    givePhys: fc.boolean(),
    zero: fc.boolean(),
  })
  .map(({ n, mask, min, span, unbounded, contig, givePhys, zero }) => {
    // 0xFFFFFFFF is remapped to 0x1000 (KB Q180579): still every frame of a 1 MiB simulator.
    const max = unbounded ? 0xffffffff : Math.min(FRAMES, min + n + span);
    const flags = PAGEUSEALIGN | PAGEFIXED | (contig ? PAGECONTIG : 0) | (zero ? PAGEZEROINIT : 0);
    return new Step(`pageAllocate(${n}, PG_SYS, mask ${hex(mask)}, [${hex(min)}, ${hex(max)}), ${givePhys ? 'PhysAddr' : 'null'}, flags ${fmtFlags(flags)})`, (w) => {
      if (!withinBudget(w.m, n, true)) return null;
      const phys = givePhys ? Uint32Array.of(0xdeadbeef) : null;
      const text = `pageAllocate(${n}, PG_SYS, 0, ${hex(mask)}, ${hex(min)}, ${hex(max)}, ${phys ? 'PhysAddr' : 'null'}, ${fmtFlags(flags)})`;
      const effMax = max === 0xffffffff ? 0x1000 : max;
      serve(w, {
        text,
        service: '_PageAllocate',
        predict: w.m.pageAllocate(n, PG_SYS, 0, mask, min, max, phys, flags),
        call: () => w.vmm.pageAllocate(n, PG_SYS, 0, mask, min, max, phys, flags),
        after: (r) => {
          // The frames honour mask and bounds and are contiguous, whether or not PhysAddr was asked for.
          const ptes = new Uint32Array(n);
          w.vmm.copyPageTable(r >>> 12, n, ptes, 0);
          const f0 = ptes[0]! >>> 12;
          check(ptes.every((e, i) => (e & P_PRES) !== 0 && e >>> 12 === f0 + i), () => `${text}: frames ${[...ptes].map((e) => hex(e >>> 12))} are not contiguous`);
          const why = contigOk(f0 * PAGE, n, mask, min, effMax);
          check(!why, () => `${text}: ${why}`);
          if (phys) check(phys[0] === (contig ? f0 * PAGE : 0xdeadbeef), () => `${text}: PhysAddr ${hex(phys[0]!)}, frames from ${hex(f0)}${contig ? '' : ' (not to be written without PAGECONTIG)'}`);
        },
      });
      return text;
    });
  });

const reserve = fc
  .record({
    where: fc.constantFrom('system', 'shared', 'private', 'explicit-system', 'explicit-shared'),
    k: fc.nat(40),
    n: fc.integer({ min: 1, max: 8 }),
    fixed: fc.boolean(),
    stat: fc.integer({ min: 0, max: 4 }),
    meg: fc.boolean(),
  })
  .map(({ where, k, n, fixed, stat, meg }) => {
    const page = where === 'system' ? PR_SYSTEM : where === 'shared' ? PR_SHARED : where === 'private' ? PR_PRIVATE : (where === 'explicit-system' ? 0xc0000 : 0x80000) + k;
    const flags = (fixed ? PR_FIXED : 0) | (stat === 0 ? PR_STATIC : 0) | (meg ? PR_4MEG : 0);
    const text = `pageReserve(${hex(page)}, ${n}, ${fmtFlags(flags)})`;
    return new Step(text, (w) => {
      if (w.m.blocks.length >= MAX_BLOCKS) return null;
      serve(w, { text, service: '_PageReserve', predict: w.m.pageReserve(page, n, flags), call: () => w.vmm.pageReserve(page, n, flags) });
      return text;
    });
  });

const commit = fc
  .record({
    r: inBlock,
    hpd: fc.constantFrom(PD_ZEROINIT, PD_NOINIT, PD_FIXED, PD_FIXEDZERO),
    perm: fc.constantFrom(0, PC_WRITEABLE, PC_USER, PC_WRITEABLE | PC_USER),
    how: fc.constantFrom(0, PC_LOCKED, PC_LOCKEDIFDP),
    key: fc.integer({ min: 0, max: 5 }),
  })
  .map(({ r, hpd, perm, how, key }) => {
    const fixed = hpd === PD_FIXED || hpd === PD_FIXEDZERO;
    return new Step(`pageCommit(block#${r.sel}+${r.off}, ${r.n}, hpd ${hpd}, ${fmtFlags(perm | how)}${fixed ? '|PC_FIXED' : ''})`, (w) => {
      const b = pick(w.m, r.sel);
      if (!b || !withinBudget(w.m, r.n, fixed)) return null;
      const { page, n } = place(w.m, b, r);
      // PC_STATIC, the key to a PR_STATIC block, is left out now and then.
      const flags = perm | (fixed ? PC_FIXED : how) | (b.prFlags & PR_STATIC && key > 0 ? PC_STATIC : 0);
      const text = `pageCommit(${hex(page)}, ${n}, ${hpd}, 0, ${fmtFlags(flags)})`;
      serve(w, { text, service: '_PageCommit', predict: w.m.pageCommit(page, n, hpd, 0, flags), call: () => w.vmm.pageCommit(page, n, hpd, 0, flags) });
      return text;
    });
  });

const commitContig = fc
  .record({ r: inBlock, mask: fc.constantFrom(0, 1, 3, 7), min: fc.nat(128), unbounded: fc.boolean(), perm: fc.constantFrom(0, PC_WRITEABLE, PC_USER | PC_WRITEABLE), zero: fc.boolean() })
  .map(({ r, mask, min, unbounded, perm, zero }) =>
    new Step(`pageCommitContig(block#${r.sel}+${r.off}, ${r.n}, mask ${hex(mask)}, min ${hex(min)}${unbounded ? ', max 0xFFFFFFFF' : ''})`, (w) => {
      const b = pick(w.m, r.sel);
      if (!b || !withinBudget(w.m, r.n, true)) return null;
      const { page, n } = place(w.m, b, r);
      const max = unbounded ? 0xffffffff : FRAMES;
      const flags = perm | (zero ? PCC_ZEROINIT : 0) | (b.prFlags & PR_STATIC ? PC_STATIC : 0);
      const text = `pageCommitContig(${hex(page)}, ${n}, ${fmtFlags(flags)}, ${hex(mask)}, ${hex(min)}, ${hex(max)})`;
      serve(w, {
        text,
        service: '_PageCommitContig',
        predict: w.m.pageCommitContig(page, n, flags, mask, min, max),
        call: () => w.vmm.pageCommitContig(page, n, flags, mask, min, max),
      });
      return text;
    }),
  );

const decommit = fc.record({ r: inBlock, key: fc.integer({ min: 0, max: 5 }) }).map(({ r, key }) =>
  new Step(`pageDecommit(block#${r.sel}+${r.off}, ${r.n})`, (w) => {
    const b = pick(w.m, r.sel);
    if (!b) return null;
    const { page, n } = place(w.m, b, r);
    const flags = b.prFlags & PR_STATIC && key > 0 ? PC_STATIC : 0;
    const text = `pageDecommit(${hex(page)}, ${n}, ${fmtFlags(flags)})`;
    serve(w, { text, service: '_PageDecommit', predict: w.m.pageDecommit(page, n, flags), call: () => w.vmm.pageDecommit(page, n, flags) });
    return text;
  }),
);

const free = fc.record({ sel, key: fc.integer({ min: 0, max: 5 }) }).map(({ sel: s, key }) =>
  new Step(`pageFree(block#${s})`, (w) => {
    const b = pick(w.m, s);
    if (!b) return null;
    const flags = b.prFlags & PR_STATIC && key > 0 ? PR_STATIC : 0;
    const text = `pageFree(${hex(b.base * PAGE)}, ${fmtFlags(flags)})`;
    serve(w, { text, service: '_PageFree', predict: w.m.pageFree(b.base * PAGE, flags), call: () => w.vmm.pageFree(b.base * PAGE, flags) });
    return text;
  }),
);

const reallocate = fc
  .record({ sel, n: fc.integer({ min: 1, max: 10 }), flags: fc.subarray([PAGEZEROINIT, PAGEZEROREINIT, PAGENOCOPY, PAGELOCKED]) })
  .map(({ sel: s, n, flags: fs }) => {
    const flags = fs.reduce((a, f) => a | f, 0);
    return new Step(`pageReAllocate(block#${s}, ${n}, ${fmtFlags(flags)})`, (w) => {
      const b = pick(w.m, s);
      if (!b || !withinBudget(w.m, Math.max(0, n - b.size), b.fixed)) return null;
      const edx = new Uint32Array(1);
      const text = `pageReAllocate(${hex(b.base * PAGE)}, ${n}, ${fmtFlags(flags)})`;
      serve(w, {
        text,
        service: '_PageReAllocate',
        predict: w.m.pageReAllocate(b.base * PAGE, n, flags, edx),
        call: () => w.vmm.pageReAllocate(b.base * PAGE, n, flags, edx),
        edx,
        after: (r) => check(edx[0] === r, () => `${text}: EDX ${hex(edx[0]!)} is not the address ${hex(r)}`),
      });
      return text;
    });
  });

const linLock = fc.record({ r: inBlock, flags: fc.constantFrom(0, 0, PAGEMARKDIRTY, PAGELOCKEDIFDP) }).map(({ r, flags }) =>
  new Step(`linPageLock(block#${r.sel}+${r.off}, ${r.n}, ${fmtFlags(flags)})`, (w) => {
    const b = pick(w.m, r.sel);
    if (!b) return null;
    const { page, n } = place(w.m, b, r);
    const text = `linPageLock(${hex(page)}, ${n}, ${fmtFlags(flags)})`;
    serve(w, { text, service: '_LinPageLock', predict: w.m.linPageLock(page, n, flags), call: () => w.vmm.linPageLock(page, n, flags) });
    return text;
  }),
);

const linUnlock = fc.record({ r: inBlock, flags: fc.constantFrom(0, 0, PAGEMARKPAGEOUT, PAGELOCKEDIFDP) }).map(({ r, flags }) =>
  new Step(`linPageUnLock(block#${r.sel}+${r.off}, ${r.n}, ${fmtFlags(flags)})`, (w) => {
    const b = pick(w.m, r.sel);
    if (!b) return null;
    const { page, n } = place(w.m, b, r);
    const text = `linPageUnLock(${hex(page)}, ${n}, ${fmtFlags(flags)})`;
    serve(w, { text, service: '_LinPageUnLock', predict: w.m.linPageUnLock(page, n, flags), call: () => w.vmm.linPageUnLock(page, n, flags) });
    return text;
  }),
);

const handleLock = fc.record({ r: inBlock, unlock: fc.boolean(), flags: fc.constantFrom(0, 0, PAGELOCKEDIFDP, PAGEMARKPAGEOUT) }).map(({ r, unlock, flags: f }) =>
  new Step(`page${unlock ? 'UnLock' : 'Lock'}(block#${r.sel}, ${r.n}, +${r.off}, ${fmtFlags(f)})`, (w) => {
    const b = pick(w.m, r.sel);
    if (!b) return null;
    const h = b.base * PAGE;
    const { off, n } = place(w.m, b, r);
    // PAGEMARKPAGEOUT is an unlock flag; for _PageLock it stands for "no flag".
    const flags = !unlock && f === PAGEMARKPAGEOUT ? 0 : f;
    const text = `page${unlock ? 'UnLock' : 'Lock'}(${hex(h)}, ${n}, ${off}, ${fmtFlags(flags)})`;
    serve(w, {
      text,
      service: unlock ? '_PageUnLock' : '_PageLock',
      predict: unlock ? w.m.pageUnLock(h, n, off, flags) : w.m.pageLock(h, n, off, flags),
      call: () => (unlock ? w.vmm.pageUnLock(h, n, off, flags) : w.vmm.pageLock(h, n, off, flags)),
    });
    return text;
  }),
);

const modifyPermissions = fc
  .record({ r: inBlock, and: fc.constantFrom(~PC_WRITEABLE, ~PC_USER, 0xffffffff, 0, PC_WRITEABLE), or: fc.constantFrom(0, PC_USER, PC_WRITEABLE, PC_USER | PC_WRITEABLE), key: fc.integer({ min: 0, max: 5 }) })
  .map(({ r, and, or, key }) =>
    new Step(`pageModifyPermissions(block#${r.sel}+${r.off}, ${r.n}, ${fmtFlags(and)}, ${fmtFlags(or)})`, (w) => {
      const b = pick(w.m, r.sel);
      if (!b) return null;
      const { page, n } = place(w.m, b, r);
      const permor = or | (b.prFlags & PR_STATIC && key > 0 ? PC_STATIC : 0);
      const text = `pageModifyPermissions(${hex(page)}, ${n}, ${fmtFlags(and)}, ${fmtFlags(permor)})`;
      serve(w, { text, service: '_PageModifyPermissions', predict: w.m.pageModifyPermissions(page, n, and, permor), call: () => w.vmm.pageModifyPermissions(page, n, and, permor) });
      return text;
    }),
  );

const discard = fc.record({ r: inBlock, flags: fc.constantFrom(0, PAGEDISCARD, PAGEDISCARD | PAGEZEROINIT) }).map(({ r, flags }) =>
  new Step(`pageDiscardPages(block#${r.sel}+${r.off}, ${r.n}, ${fmtFlags(flags)})`, (w) => {
    const b = pick(w.m, r.sel);
    if (!b) return null;
    const { page, n } = place(w.m, b, r);
    const text = `pageDiscardPages(${hex(page)}, 0, ${n}, ${fmtFlags(flags)})`;
    serve(w, { text, service: '_PageDiscardPages', predict: w.m.pageDiscardPages(page, 0, n, flags), call: () => w.vmm.pageDiscardPages(page, 0, n, flags) });
    return text;
  }),
);

/** A byte span from a block, biased to cross pages and sometimes the block's end. */
const span = fc.record({ sel, page: fc.nat(9), delta: fc.integer({ min: -24, max: 24 }), len: fc.integer({ min: 1, max: 9000 }) });

function cpuTarget(m: VmmModel, s: { sel: number; page: number; delta: number; len: number }): { lin: number; len: number } | null {
  const b = pick(m, s.sel);
  if (!b) return null;
  const lin = Math.max(b.base * PAGE, (b.base + (s.page % (b.size + 1))) * PAGE + s.delta);
  // Up to an alias at most (the alias commands use those).
  const next = m.aliases.filter((a) => a.base * PAGE >= lin).reduce((x, a) => Math.min(x, a.base * PAGE), Infinity);
  return { lin, len: Math.min(s.len, next - lin) };
}

function cpu(w: World, text: string, lin: number, len: number, data: Uint8Array | null): void {
  const want = w.m.cpuFault(lin, len);
  let got: string | null = null;
  let bytes: Uint8Array | undefined;
  const before = w.fingerprints && want ? w.sim.fingerprint() : undefined;
  try {
    if (data) w.sim.cpu.writeBytes(lin, data);
    else bytes = w.sim.cpu.readBytes(lin, len);
  } catch (e) {
    if (!(e instanceof PageFault)) throw e;
    got = e.reason;
  }
  w.tally.calls++;
  check(got === want, () => `${text}: ${got ? `page fault (${got})` : 'no fault'}, model: ${want ? `page fault (${want})` : 'no fault'}`);
  if (want) {
    w.tally.failed++;
    if (before !== undefined) check(w.sim.fingerprint() === before, () => `${text}: faulted, yet changed the memory manager's state (fingerprint)`);
    return;
  }
  w.m.cpuAccess(lin, data, len, (pg, off, at, n) => {
    if (!bytes) return;
    for (let i = 0; i < n; i++) {
      if (pg.known[off + i] && bytes[at + i] !== pg.data[off + i]) throw new ModelMismatch(`${text}: byte ${hex(lin + at + i)} reads ${hex(bytes[at + i]!)}, model ${hex(pg.data[off + i]!)}`);
    }
  });
}

const cpuWrite = fc.tuple(span, fc.nat(255)).map(([s, seed]) =>
  new Step(`cpu.writeBytes(block#${s.sel} page ${s.page}${s.delta >= 0 ? '+' : ''}${s.delta}, ${s.len} bytes)`, (w) => {
    const t = cpuTarget(w.m, s);
    if (!t) return null;
    const data = Uint8Array.from({ length: t.len }, (_, i) => (i * 131 + seed) & 0xff);
    const text = `cpu.writeBytes(${hex(t.lin)}, ${t.len} bytes)`;
    cpu(w, text, t.lin, t.len, data);
    return text;
  }),
);

const cpuRead = span.map((s) =>
  new Step(`cpu.readBytes(block#${s.sel} page ${s.page}${s.delta >= 0 ? '+' : ''}${s.delta}, ${s.len})`, (w) => {
    const t = cpuTarget(w.m, s);
    if (!t) return null;
    const text = `cpu.readBytes(${hex(t.lin)}, ${t.len})`;
    cpu(w, text, t.lin, t.len, null);
    return text;
  }),
);

const pager = fc.constantFrom('pass', 'step').map((k) =>
  new Step(`pager.${k}()`, (w) => {
    if (k === 'pass') w.sim.pager.pass();
    else w.sim.pager.step();
    w.m.pagerMayHaveRun();
    return `pager.${k}()`;
  }),
);

const copyPageTable = fc.record({ r: inBlock, short: fc.integer({ min: 0, max: 4 }) }).map(({ r, short }) =>
  new Step(`copyPageTable(block#${r.sel}+${r.off}, ${r.n}${short === 0 ? ', short buffer' : ''})`, (w) => {
    const b = pick(w.m, r.sel);
    if (!b) return null;
    const { page, n } = place(w.m, b, r);
    const buf = new Uint32Array(short === 0 ? n - 1 : n).fill(0xdeadbeef);
    const text = `copyPageTable(${hex(page)}, ${n}, Uint32Array(${buf.length}), 0)`;
    serve(w, { text, service: '_CopyPageTable', predict: w.m.copyPageTable(page, n, buf, 0), call: () => w.vmm.copyPageTable(page, n, buf, 0), outputs: [buf] });
    return text;
  }),
);

const pageQuery = fc.record({ sel, page: fc.integer({ min: -2, max: 12 }), off: fc.nat(0xfff) }).map(({ sel: s, page, off }) =>
  new Step(`pageQuery(block#${s} page ${page} + ${hex(off)})`, (w) => {
    const b = pick(w.m, s);
    const a = Math.max(0, ((b ? b.base : 0xc0000) + page) * PAGE + off);
    const mbi = new Uint32Array(7).fill(0xdeadbeef);
    const text = `pageQuery(${hex(a)}, mbi, 28)`;
    serve(w, {
      text,
      service: '_PageQuery',
      predict: w.m.pageQuery(a, mbi, 28),
      call: () => w.vmm.pageQuery(a, mbi, 28),
      outputs: [mbi],
      after: () => {
        const want = w.m.mbi(Math.floor(a / PAGE));
        check(want.every((x, k) => mbi[k] === x), () => `${text} = [${[...mbi].map(hex)}], model [${want.map(hex)}]`);
      },
    });
    return text;
  }),
);

const sizeAddr = fc.record({ sel, nul: fc.integer({ min: 0, max: 5 }) }).map(({ sel: s, nul }) =>
  new Step(`pageGetSizeAddr(${nul === 0 ? 'the nul page handle' : `block#${s}`})`, (w) => {
    const h = nul === 0 ? NUL_PAGE_HANDLE : handleOf(w.m, s, 'good');
    const edx = new Uint32Array(1).fill(0xdeadbeef);
    const text = `pageGetSizeAddr(${hex(h)}, 0, edx)`;
    const b = w.m.blockByHandle(h);
    serve(w, {
      text,
      service: '_PageGetSizeAddr',
      predict: w.m.pageGetSizeAddr(h, 0, edx),
      call: () => w.vmm.pageGetSizeAddr(h, 0, edx),
      edx,
      after: () => check(edx[0] === (b ? h : 0), () => `${text}: EDX ${hex(edx[0]!)}`),
    });
    return text;
  }),
);

// Global aliases (_LinPageLock(PAGEMAPGLOBAL)) and what may and may not be done with them.

const pickAlias = (m: VmmModel, s: number) => (m.aliases.length ? m.aliases[s % m.aliases.length] : undefined);

const aliasLock = fc.record({ r: inBlock, dirty: fc.boolean() }).map(({ r, dirty }) =>
  new Step(`linPageLock(block#${r.sel}+${r.off}, ${r.n}, PAGEMAPGLOBAL${dirty ? '|PAGEMARKDIRTY' : ''})`, (w) => {
    const b = pick(w.m, r.sel);
    if (!b || w.m.aliases.length >= 4) return null;
    const { page, n } = place(w.m, b, r);
    const flags = PAGEMAPGLOBAL | (dirty ? PAGEMARKDIRTY : 0);
    const text = `linPageLock(${hex(page)}, ${n}, ${fmtFlags(flags)})`;
    serve(w, { text, service: '_LinPageLock', predict: w.m.linPageLock(page, n, flags), call: () => w.vmm.linPageLock(page, n, flags) });
    return text;
  }),
);

type AliasMisuse = 'release' | 'release-markpageout' | 'wrong-size' | 'off-by-one' | 'plain-unlock' | 'free' | 'reallocate' | 'lock' | 'size-addr' | 'commit' | 'decommit';
const aliasUse = fc.record({ sel, how: fc.constantFrom<AliasMisuse>('release', 'release', 'release-markpageout', 'wrong-size', 'off-by-one', 'plain-unlock', 'free', 'reallocate', 'lock', 'size-addr', 'commit', 'decommit') }).map(({ sel: s, how }) =>
  new Step(`alias#${s}: ${how}`, (w) => {
    const a = pickAlias(w.m, s);
    if (!a) return null;
    const h = a.base * PAGE;
    const m = w.m;
    const c = ((): Omit<Call, 'text'> & { text: string } => {
      switch (how) {
        case 'release':
        case 'release-markpageout': {
          const f = PAGEMAPGLOBAL | (how === 'release' ? 0 : PAGEMARKPAGEOUT);
          return { text: `linPageUnLock(${hex(a.base)}, ${a.size}, ${fmtFlags(f)})`, service: '_LinPageUnLock', predict: m.linPageUnLock(a.base, a.size, f), call: () => w.vmm.linPageUnLock(a.base, a.size, f) };
        }
        case 'wrong-size': {
          const n = a.size + (s % 2 ? 1 : -1) || 2;
          return { text: `linPageUnLock(${hex(a.base)}, ${n}, PAGEMAPGLOBAL)`, service: '_LinPageUnLock', predict: m.linPageUnLock(a.base, n, PAGEMAPGLOBAL), call: () => w.vmm.linPageUnLock(a.base, n, PAGEMAPGLOBAL) };
        }
        case 'off-by-one':
          return { text: `linPageUnLock(${hex(a.base + 1)}, ${a.size}, PAGEMAPGLOBAL)`, service: '_LinPageUnLock', predict: m.linPageUnLock(a.base + 1, a.size, PAGEMAPGLOBAL), call: () => w.vmm.linPageUnLock(a.base + 1, a.size, PAGEMAPGLOBAL) };
        case 'plain-unlock':
          return { text: `linPageUnLock(${hex(a.base)}, 1, 0)`, service: '_LinPageUnLock', predict: m.linPageUnLock(a.base, 1, 0), call: () => w.vmm.linPageUnLock(a.base, 1, 0) };
        case 'free':
          return { text: `pageFree(${hex(h)}, 0)`, service: '_PageFree', predict: m.pageFree(h, 0), call: () => w.vmm.pageFree(h, 0) };
        case 'reallocate':
          return { text: `pageReAllocate(${hex(h)}, 2, 0)`, service: '_PageReAllocate', predict: m.pageReAllocate(h, 2, 0), call: () => w.vmm.pageReAllocate(h, 2, 0) };
        case 'lock':
          return { text: `pageLock(${hex(h)}, 1, 0, 0)`, service: '_PageLock', predict: m.pageLock(h, 1, 0, 0), call: () => w.vmm.pageLock(h, 1, 0, 0) };
        case 'commit':
          return { text: `pageCommit(${hex(a.base)}, 1, PD_ZEROINIT, 0, 0)`, service: '_PageCommit', predict: m.pageCommit(a.base, 1, PD_ZEROINIT, 0, 0), call: () => w.vmm.pageCommit(a.base, 1, PD_ZEROINIT, 0, 0) };
        case 'decommit':
          return { text: `pageDecommit(${hex(a.base)}, 1, 0)`, service: '_PageDecommit', predict: m.pageDecommit(a.base, 1, 0), call: () => w.vmm.pageDecommit(a.base, 1, 0) };
        case 'size-addr':
          return { text: `pageGetSizeAddr(${hex(h)}, 0)`, service: '_PageGetSizeAddr', predict: m.pageGetSizeAddr(h, 0), call: () => w.vmm.pageGetSizeAddr(h, 0) };
      }
    })();
    serve(w, c);
    return c.text;
  }),
);

/** The CPU through an alias: the original's bytes while the alias lives, a stale-alias fault once it is dead. */
const aliasCpu = fc.record({ sel, at: fc.nat(4 * PAGE), len: fc.integer({ min: 1, max: 6000 }), write: fc.boolean(), seed: fc.nat(255) }).map(({ sel: s, at, len, write, seed }) =>
  new Step(`cpu.${write ? 'write' : 'read'}Bytes(alias#${s} + ${hex(at)}, ${len})`, (w) => {
    const a = pickAlias(w.m, s);
    if (!a) return null;
    const lin = a.base * PAGE + (at % (a.size * PAGE));
    const n = Math.min(len, (a.base + a.size) * PAGE - lin);
    const text = `cpu.${write ? 'write' : 'read'}Bytes(${hex(lin)}, ${n})`;
    cpu(w, text, lin, n, write ? Uint8Array.from({ length: n }, (_, i) => (i * 57 + seed) & 0xff) : null);
    return text;
  }),
);

// Injected faults: one bad argument in an otherwise reasonable call.

type Fault = { label: string; run: (w: World, s: number) => string | null };

/** A service call with a fault, built against the current model. */
function faulty(label: string, make: (w: World, s: number) => Omit<Call, 'predict'> & { predict: (m: VmmModel) => Prediction }): Fault {
  return {
    label,
    run: (w, s) => {
      const c = make(w, s);
      serve(w, { ...c, predict: c.predict(w.m) });
      return c.text;
    },
  };
}

const faults: Fault[] = [
  ...(['inside', 'misaligned', 'freed', 'nul', 'zero', 'nonsense'] as const).flatMap((k): Fault[] => [
    faulty(`pageFree(${k} handle)`, (w, s) => {
      const h = handleOf(w.m, s, k);
      return { text: `pageFree(${hex(h)}, 0)`, service: '_PageFree', predict: (m) => m.pageFree(h, 0), call: () => w.vmm.pageFree(h, 0) };
    }),
    faulty(`pageLock(${k} handle)`, (w, s) => {
      const h = handleOf(w.m, s, k);
      return { text: `pageLock(${hex(h)}, 1, 0, 0)`, service: '_PageLock', predict: (m) => m.pageLock(h, 1, 0, 0), call: () => w.vmm.pageLock(h, 1, 0, 0) };
    }),
    faulty(`pageUnLock(${k} handle)`, (w, s) => {
      const h = handleOf(w.m, s, k);
      return { text: `pageUnLock(${hex(h)}, 1, 0, 0)`, service: '_PageUnLock', predict: (m) => m.pageUnLock(h, 1, 0, 0), call: () => w.vmm.pageUnLock(h, 1, 0, 0) };
    }),
    faulty(`pageReAllocate(${k} handle)`, (w, s) => {
      const h = handleOf(w.m, s, k);
      const edx = new Uint32Array(1).fill(7);
      return { text: `pageReAllocate(${hex(h)}, 2, 0, edx)`, service: '_PageReAllocate', predict: (m) => m.pageReAllocate(h, 2, 0, edx), call: () => w.vmm.pageReAllocate(h, 2, 0, edx), edx };
    }),
    faulty(`pageGetSizeAddr(${k} handle)`, (w, s) => {
      const h = handleOf(w.m, s, k);
      const edx = new Uint32Array(1).fill(7);
      return { text: `pageGetSizeAddr(${hex(h)}, 0, edx)`, service: '_PageGetSizeAddr', predict: (m) => m.pageGetSizeAddr(h, 0, edx), call: () => w.vmm.pageGetSizeAddr(h, 0, edx), edx };
    }),
  ]),
  // Counts: zero, fractional, negative, NaN.
  ...[0, 1.5, -1, Number.NaN].flatMap((n): Fault[] => [
    faulty(`pageAllocate(nPages ${n})`, (w) => ({ text: `pageAllocate(${n}, PG_SYS, …)`, service: '_PageAllocate', predict: (m) => m.pageAllocate(n, PG_SYS, 0, 0, 0, 0, null, 0), call: () => w.vmm.pageAllocate(n, PG_SYS, 0, 0, 0, 0, null, 0) })),
    faulty(`linPageLock(npages ${n})`, (w, s) => {
      const p = handleOf(w.m, s, 'good') / PAGE;
      return { text: `linPageLock(${hex(p)}, ${n}, 0)`, service: '_LinPageLock', predict: (m) => m.linPageLock(p, n, 0), call: () => w.vmm.linPageLock(p, n, 0) };
    }),
    faulty(`pageUnLock(nPages ${n})`, (w, s) => {
      const h = handleOf(w.m, s, 'good');
      return { text: `pageUnLock(${hex(h)}, ${n}, 0, 0)`, service: '_PageUnLock', predict: (m) => m.pageUnLock(h, n, 0, 0), call: () => w.vmm.pageUnLock(h, n, 0, 0) };
    }),
    faulty(`pageReserve(npages ${n})`, (w) => ({ text: `pageReserve(PR_SYSTEM, ${n}, 0)`, service: '_PageReserve', predict: (m) => m.pageReserve(PR_SYSTEM, n, 0), call: () => w.vmm.pageReserve(PR_SYSTEM, n, 0) })),
    faulty(`copyPageTable(nPages ${n})`, (w, s) => {
      const p = handleOf(w.m, s, 'good') / PAGE;
      const buf = new Uint32Array(4).fill(9);
      return { text: `copyPageTable(${hex(p)}, ${n}, buf, 0)`, service: '_CopyPageTable', predict: (m) => m.copyPageTable(p, n, buf, 0), call: () => w.vmm.copyPageTable(p, n, buf, 0), outputs: [buf] };
    }),
  ]),
  // Reserved and contradictory flags.
  faulty('pageAllocate(reserved flag PAGEZEROREINIT)', (w) => ({ text: 'pageAllocate(1, PG_SYS, …, PAGEZEROREINIT)', service: '_PageAllocate', predict: (m) => m.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGEZEROREINIT), call: () => w.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGEZEROREINIT) })),
  faulty('pageAllocate(PAGEUSEALIGN without PAGEFIXED)', (w) => ({ text: 'pageAllocate(1, PG_SYS, …, PAGEUSEALIGN)', service: '_PageAllocate', predict: (m) => m.pageAllocate(1, PG_SYS, 0, 0, 0, 0x100, null, PAGEUSEALIGN), call: () => w.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0x100, null, PAGEUSEALIGN) })),
  faulty('pageAllocate(PAGELOCKED | PAGELOCKEDIFDP)', (w) => ({ text: 'pageAllocate(1, PG_SYS, …, PAGELOCKED|PAGELOCKEDIFDP)', service: '_PageAllocate', predict: (m) => m.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGELOCKED | PAGELOCKEDIFDP), call: () => w.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGELOCKED | PAGELOCKEDIFDP) })),
  faulty('pageAllocate(align mask 5)', (w) => ({ text: 'pageAllocate(1, PG_SYS, 0, 5, …, PAGEUSEALIGN|PAGEFIXED)', service: '_PageAllocate', predict: (m) => m.pageAllocate(1, PG_SYS, 0, 5, 0, 0x100, null, PAGEUSEALIGN | PAGEFIXED), call: () => w.vmm.pageAllocate(1, PG_SYS, 0, 5, 0, 0x100, null, PAGEUSEALIGN | PAGEFIXED) })),
  faulty('pageAllocate(minPhys ≥ maxPhys)', (w) => ({ text: 'pageAllocate(1, PG_SYS, 0, 0, 0x80, 0x80, …, PAGEUSEALIGN|PAGEFIXED)', service: '_PageAllocate', predict: (m) => m.pageAllocate(1, PG_SYS, 0, 0, 0x80, 0x80, null, PAGEUSEALIGN | PAGEFIXED), call: () => w.vmm.pageAllocate(1, PG_SYS, 0, 0, 0x80, 0x80, null, PAGEUSEALIGN | PAGEFIXED) })),
  faulty('pageAllocate(pType 2)', (w) => ({ text: 'pageAllocate(1, 2, …)', service: '_PageAllocate', predict: (m) => m.pageAllocate(1, 2, 0, 0, 0, 0, null, 0), call: () => w.vmm.pageAllocate(1, 2, 0, 0, 0, 0, null, 0) })),
  faulty('pageAllocate(PG_VM without a VM handle)', (w) => ({ text: 'pageAllocate(1, PG_VM, 0, …)', service: '_PageAllocate', predict: (m) => m.pageAllocate(1, PG_VM, 0, 0, 0, 0, null, 0), call: () => w.vmm.pageAllocate(1, PG_VM, 0, 0, 0, 0, null, 0) })),
  faulty('pageAllocate(PG_SYS with a VM handle)', (w) => ({ text: 'pageAllocate(1, PG_SYS, SYS_VM_HANDLE, …)', service: '_PageAllocate', predict: (m) => m.pageAllocate(1, PG_SYS, SYS_VM_HANDLE, 0, 0, 0, null, 0), call: () => w.vmm.pageAllocate(1, PG_SYS, SYS_VM_HANDLE, 0, 0, 0, null, 0) })),
  faulty('pageAllocate(PhysAddr an Int32Array)', (w) => {
    const bad = new Int32Array(1) as unknown as Uint32Array;
    return { text: 'pageAllocate(1, PG_SYS, …, Int32Array, 0)', service: '_PageAllocate', predict: (m) => m.pageAllocate(1, PG_SYS, 0, 0, 0, 0, bad, 0), call: () => w.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, bad, 0) };
  }),
  faulty('pageAllocate(more fixed pages than RAM)', (w) => ({ text: `pageAllocate(${FRAMES + 8}, PG_SYS, …, PAGEFIXED)`, service: '_PageAllocate', predict: (m) => m.pageAllocate(FRAMES + 8, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED), call: () => w.vmm.pageAllocate(FRAMES + 8, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED) })),
  faulty('pageAllocate(more pages than the commit limit)', (w) => ({ text: `pageAllocate(${8 * FRAMES}, PG_SYS, …)`, service: '_PageAllocate', predict: (m) => m.pageAllocate(8 * FRAMES, PG_SYS, 0, 0, 0, 0, null, 0), call: () => w.vmm.pageAllocate(8 * FRAMES, PG_SYS, 0, 0, 0, 0, null, 0) })),
  faulty('pageAllocate(more pages than the arena)', (w) => ({ text: 'pageAllocate(0x40000, PG_VM, …)', service: '_PageAllocate', predict: (m) => m.pageAllocate(0x40001, PG_VM, SYS_VM_HANDLE, 0, 0, 0, null, 0), call: () => w.vmm.pageAllocate(0x40001, PG_VM, SYS_VM_HANDLE, 0, 0, 0, null, 0) })),
  faulty('pageFree(reserved flag)', (w, s) => {
    const h = handleOf(w.m, s, 'good');
    return { text: `pageFree(${hex(h)}, 1)`, service: '_PageFree', predict: (m) => m.pageFree(h, 1), call: () => w.vmm.pageFree(h, 1) };
  }),
  faulty('pageReAllocate(reserved flag PAGEFIXED)', (w, s) => {
    const h = handleOf(w.m, s, 'good');
    return { text: `pageReAllocate(${hex(h)}, 2, PAGEFIXED)`, service: '_PageReAllocate', predict: (m) => m.pageReAllocate(h, 2, PAGEFIXED), call: () => w.vmm.pageReAllocate(h, 2, PAGEFIXED) };
  }),
  faulty('pageReAllocate(PAGELOCKED | PAGELOCKEDIFDP)', (w, s) => {
    const h = handleOf(w.m, s, 'good');
    return { text: `pageReAllocate(${hex(h)}, 2, PAGELOCKED|PAGELOCKEDIFDP)`, service: '_PageReAllocate', predict: (m) => m.pageReAllocate(h, 2, PAGELOCKED | PAGELOCKEDIFDP), call: () => w.vmm.pageReAllocate(h, 2, PAGELOCKED | PAGELOCKEDIFDP) };
  }),
  faulty('pageLock(reserved flag PAGEMARKDIRTY)', (w, s) => {
    const h = handleOf(w.m, s, 'good');
    return { text: `pageLock(${hex(h)}, 1, 0, PAGEMARKDIRTY)`, service: '_PageLock', predict: (m) => m.pageLock(h, 1, 0, PAGEMARKDIRTY), call: () => w.vmm.pageLock(h, 1, 0, PAGEMARKDIRTY) };
  }),
  faulty('pageLock(PageOff past the block)', (w, s) => {
    const b = pick(w.m, s);
    const h = b ? b.base * PAGE : 0xc0000000;
    const off = b ? b.size : 0;
    return { text: `pageLock(${hex(h)}, 1, ${off}, 0)`, service: '_PageLock', predict: (m) => m.pageLock(h, 1, off, 0), call: () => w.vmm.pageLock(h, 1, off, 0) };
  }),
  faulty('linPageLock(reserved flag)', (w, s) => {
    const p = handleOf(w.m, s, 'good') / PAGE;
    return { text: `linPageLock(${hex(p)}, 1, 1)`, service: '_LinPageLock', predict: (m) => m.linPageLock(p, 1, 1), call: () => w.vmm.linPageLock(p, 1, 1) };
  }),
  faulty('linPageLock(PAGEMAPGLOBAL | PAGELOCKEDIFDP)', (w, s) => {
    const p = handleOf(w.m, s, 'good') / PAGE;
    const f = PAGEMAPGLOBAL | PAGELOCKEDIFDP;
    return { text: `linPageLock(${hex(p)}, 1, PAGEMAPGLOBAL|PAGELOCKEDIFDP)`, service: '_LinPageLock', predict: (m) => m.linPageLock(p, 1, f), call: () => w.vmm.linPageLock(p, 1, f) };
  }),
  faulty('linPageUnLock(PAGEMAPGLOBAL of a range that is no alias)', (w, s) => {
    const p = handleOf(w.m, s, 'good') / PAGE;
    return { text: `linPageUnLock(${hex(p)}, 1, PAGEMAPGLOBAL)`, service: '_LinPageUnLock', predict: (m) => m.linPageUnLock(p, 1, PAGEMAPGLOBAL), call: () => w.vmm.linPageUnLock(p, 1, PAGEMAPGLOBAL) };
  }),
  faulty('linPageUnLock(reserved flag PAGEMARKDIRTY)', (w, s) => {
    const p = handleOf(w.m, s, 'good') / PAGE;
    return { text: `linPageUnLock(${hex(p)}, 1, PAGEMARKDIRTY)`, service: '_LinPageUnLock', predict: (m) => m.linPageUnLock(p, 1, PAGEMARKDIRTY), call: () => w.vmm.linPageUnLock(p, 1, PAGEMARKDIRTY) };
  }),
  // Ranges outside the linear space, into the invalid region, across arenas, over free pages.
  ...(
    [
      ['into the invalid region', 0xffbff, 2],
      ['past 4 GiB', 0xfffff, 2],
      ['a page number past 4 GiB', 0x100000, 1],
      ['across the shared/system arenas', 0xbffff, 2],
      ['over free pages', 0x90000, 2],
    ] as const
  ).flatMap(([what, p, n]): Fault[] => [
    faulty(`linPageLock(${what})`, (w) => ({ text: `linPageLock(${hex(p)}, ${n}, 0)`, service: '_LinPageLock', predict: (m) => m.linPageLock(p, n, 0), call: () => w.vmm.linPageLock(p, n, 0) })),
    faulty(`linPageUnLock(${what})`, (w) => ({ text: `linPageUnLock(${hex(p)}, ${n}, 0)`, service: '_LinPageUnLock', predict: (m) => m.linPageUnLock(p, n, 0), call: () => w.vmm.linPageUnLock(p, n, 0) })),
    faulty(`pageReserve(${what})`, (w) => ({ text: `pageReserve(${hex(p)}, ${n}, 0)`, service: '_PageReserve', predict: (m) => m.pageReserve(p, n, 0), call: () => w.vmm.pageReserve(p, n, 0) })),
    faulty(`pageCommit(${what})`, (w) => ({ text: `pageCommit(${hex(p)}, ${n}, PD_ZEROINIT, 0, 0)`, service: '_PageCommit', predict: (m) => m.pageCommit(p, n, PD_ZEROINIT, 0, 0), call: () => w.vmm.pageCommit(p, n, PD_ZEROINIT, 0, 0) })),
    faulty(`pageDecommit(${what})`, (w) => ({ text: `pageDecommit(${hex(p)}, ${n}, 0)`, service: '_PageDecommit', predict: (m) => m.pageDecommit(p, n, 0), call: () => w.vmm.pageDecommit(p, n, 0) })),
    faulty(`pageModifyPermissions(${what})`, (w) => ({ text: `pageModifyPermissions(${hex(p)}, ${n}, ~0, 0)`, service: '_PageModifyPermissions', predict: (m) => m.pageModifyPermissions(p, n, 0xffffffff, 0), call: () => w.vmm.pageModifyPermissions(p, n, 0xffffffff, 0) })),
    faulty(`pageDiscardPages(${what})`, (w) => ({ text: `pageDiscardPages(${hex(p)}, 0, ${n}, PAGEDISCARD)`, service: '_PageDiscardPages', predict: (m) => m.pageDiscardPages(p, 0, n, PAGEDISCARD), call: () => w.vmm.pageDiscardPages(p, 0, n, PAGEDISCARD) })),
    faulty(`copyPageTable(${what})`, (w) => {
      const buf = new Uint32Array(n).fill(3);
      return { text: `copyPageTable(${hex(p)}, ${n}, buf, 0)`, service: '_CopyPageTable', predict: (m) => m.copyPageTable(p, n, buf, 0), call: () => w.vmm.copyPageTable(p, n, buf, 0), outputs: [buf] };
    }),
  ]),
  faulty('pageReserve(below 0x110, the V86 space)', (w) => ({ text: 'pageReserve(0x100, 2, 0)', service: '_PageReserve', predict: (m) => m.pageReserve(0x100, 2, 0), call: () => w.vmm.pageReserve(0x100, 2, 0) })),
  faulty('pageReserve(over a block)', (w, s) => {
    const p = handleOf(w.m, s, 'good') / PAGE;
    return { text: `pageReserve(${hex(p)}, 1, 0)`, service: '_PageReserve', predict: (m) => m.pageReserve(p, 1, 0), call: () => w.vmm.pageReserve(p, 1, 0) };
  }),
  faulty('pageReserve(reserved flag)', (w) => ({ text: 'pageReserve(PR_SYSTEM, 1, 2)', service: '_PageReserve', predict: (m) => m.pageReserve(PR_SYSTEM, 1, 2), call: () => w.vmm.pageReserve(PR_SYSTEM, 1, 2) })),
  faulty('pageCommit(bad hpd)', (w, s) => {
    const p = handleOf(w.m, s, 'good') / PAGE;
    const hpd = s % 2 ? 0 : 5;
    return { text: `pageCommit(${hex(p)}, 1, ${hpd}, 0, 0)`, service: '_PageCommit', predict: (m) => m.pageCommit(p, 1, hpd, 0, 0), call: () => w.vmm.pageCommit(p, 1, hpd, 0, 0) };
  }),
  faulty('pageCommit(pagerdata for a built-in pager)', (w, s) => {
    const p = handleOf(w.m, s, 'good') / PAGE;
    return { text: `pageCommit(${hex(p)}, 1, PD_ZEROINIT, 1, 0)`, service: '_PageCommit', predict: (m) => m.pageCommit(p, 1, PD_ZEROINIT, 1, 0), call: () => w.vmm.pageCommit(p, 1, PD_ZEROINIT, 1, 0) };
  }),
  faulty('pageCommit(PD_FIXED without PC_FIXED)', (w, s) => {
    const p = handleOf(w.m, s, 'good') / PAGE;
    return { text: `pageCommit(${hex(p)}, 1, PD_FIXED, 0, 0)`, service: '_PageCommit', predict: (m) => m.pageCommit(p, 1, PD_FIXED, 0, 0), call: () => w.vmm.pageCommit(p, 1, PD_FIXED, 0, 0) };
  }),
  faulty('pageCommit(reserved flag)', (w, s) => {
    const p = handleOf(w.m, s, 'good') / PAGE;
    return { text: `pageCommit(${hex(p)}, 1, PD_ZEROINIT, 0, 1)`, service: '_PageCommit', predict: (m) => m.pageCommit(p, 1, PD_ZEROINIT, 0, 1), call: () => w.vmm.pageCommit(p, 1, PD_ZEROINIT, 0, 1) };
  }),
  faulty('pageCommit(PC_FIXED over committed pages)', (w, s) => {
    const p = handleOf(w.m, s, 'good') / PAGE;
    const b = w.m.blockAt(p);
    const f = PC_FIXED | (b && b.prFlags & PR_STATIC ? PC_STATIC : 0);
    return { text: `pageCommit(${hex(p)}, 1, PD_FIXED, 0, ${fmtFlags(f)})`, service: '_PageCommit', predict: (m) => m.pageCommit(p, 1, PD_FIXED, 0, f), call: () => w.vmm.pageCommit(p, 1, PD_FIXED, 0, f) };
  }),
  faulty('pageCommitContig(bad align mask)', (w, s) => {
    const p = handleOf(w.m, s, 'good') / PAGE;
    return { text: `pageCommitContig(${hex(p)}, 1, 0, 6, 0, 0x100)`, service: '_PageCommitContig', predict: (m) => m.pageCommitContig(p, 1, 0, 6, 0, 0x100), call: () => w.vmm.pageCommitContig(p, 1, 0, 6, 0, 0x100) };
  }),
  faulty('pageCommitContig(minphys ≥ maxphys)', (w, s) => {
    const p = handleOf(w.m, s, 'good') / PAGE;
    return { text: `pageCommitContig(${hex(p)}, 1, 0, 0, 0x40, 0x10)`, service: '_PageCommitContig', predict: (m) => m.pageCommitContig(p, 1, 0, 0, 0x40, 0x10), call: () => w.vmm.pageCommitContig(p, 1, 0, 0, 0x40, 0x10) };
  }),
  faulty('pageCommitContig(PCC_NOLIN with another flag)', (w, s) => {
    const p = handleOf(w.m, s, 'good') / PAGE;
    const f = PCC_NOLIN | PC_USER;
    return { text: `pageCommitContig(${hex(p)}, 1, PCC_NOLIN|PC_USER, 0, 0, 0x100)`, service: '_PageCommitContig', predict: (m) => m.pageCommitContig(p, 1, f, 0, 0, 0x100), call: () => w.vmm.pageCommitContig(p, 1, f, 0, 0, 0x100) };
  }),
  faulty('pageDecommit(reserved flag PC_FIXED)', (w, s) => {
    const p = handleOf(w.m, s, 'good') / PAGE;
    return { text: `pageDecommit(${hex(p)}, 1, PC_FIXED)`, service: '_PageDecommit', predict: (m) => m.pageDecommit(p, 1, PC_FIXED), call: () => w.vmm.pageDecommit(p, 1, PC_FIXED) };
  }),
  faulty('pageModifyPermissions(reserved permor bit)', (w, s) => {
    const p = handleOf(w.m, s, 'good') / PAGE;
    return { text: `pageModifyPermissions(${hex(p)}, 1, ~0, 1)`, service: '_PageModifyPermissions', predict: (m) => m.pageModifyPermissions(p, 1, 0xffffffff, 1), call: () => w.vmm.pageModifyPermissions(p, 1, 0xffffffff, 1) };
  }),
  faulty('pageDiscardPages(reserved flag)', (w, s) => {
    const p = handleOf(w.m, s, 'good') / PAGE;
    return { text: `pageDiscardPages(${hex(p)}, 0, 1, PAGEFIXED)`, service: '_PageDiscardPages', predict: (m) => m.pageDiscardPages(p, 0, 1, PAGEFIXED), call: () => w.vmm.pageDiscardPages(p, 0, 1, PAGEFIXED) };
  }),
  faulty('copyPageTable(flags not 0)', (w, s) => {
    const p = handleOf(w.m, s, 'good') / PAGE;
    const buf = new Uint32Array(1).fill(5);
    return { text: `copyPageTable(${hex(p)}, 1, buf, 1)`, service: '_CopyPageTable', predict: (m) => m.copyPageTable(p, 1, buf, 1), call: () => w.vmm.copyPageTable(p, 1, buf, 1), outputs: [buf] };
  }),
  faulty('copyPageTable(a 4 MiB slot with no page table)', (w) => {
    const buf = new Uint32Array(2).fill(5);
    return { text: 'copyPageTable(0x1000, 2, buf, 0)', service: '_CopyPageTable', predict: (m) => m.copyPageTable(0x1000, 2, buf, 0), call: () => w.vmm.copyPageTable(0x1000, 2, buf, 0), outputs: [buf] };
  }),
  // From a slot with a page table into one without: nothing may be written, not even the first entries.
  ...[0xc03fe, 0x803fe].map((p): Fault =>
    faulty(`copyPageTable(from ${hex(p)} into the next 4 MiB slot)`, (w) => {
      const buf = new Uint32Array(4).fill(5);
      return { text: `copyPageTable(${hex(p)}, 4, buf, 0)`, service: '_CopyPageTable', predict: (m) => m.copyPageTable(p, 4, buf, 0), call: () => w.vmm.copyPageTable(p, 4, buf, 0), outputs: [buf] };
    }),
  ),
  faulty('copyPageTable(not a Uint32Array)', (w, s) => {
    const p = handleOf(w.m, s, 'good') / PAGE;
    const buf = [0] as unknown as Uint32Array;
    return { text: `copyPageTable(${hex(p)}, 1, [0], 0)`, service: '_CopyPageTable', predict: (m) => m.copyPageTable(p, 1, buf, 0), call: () => w.vmm.copyPageTable(p, 1, buf, 0) };
  }),
  faulty('pageQuery(cbmbi 27)', (w, s) => {
    const a = handleOf(w.m, s, 'good');
    const mbi = new Uint32Array(7).fill(1);
    return { text: `pageQuery(${hex(a)}, mbi, 27)`, service: '_PageQuery', predict: (m) => m.pageQuery(a, mbi, 27), call: () => w.vmm.pageQuery(a, mbi, 27), outputs: [mbi] };
  }),
  faulty('pageQuery(a 6-word buffer)', (w, s) => {
    const a = handleOf(w.m, s, 'good');
    const mbi = new Uint32Array(6).fill(1);
    return { text: `pageQuery(${hex(a)}, Uint32Array(6), 28)`, service: '_PageQuery', predict: (m) => m.pageQuery(a, mbi, 28), call: () => w.vmm.pageQuery(a, mbi, 28), outputs: [mbi] };
  }),
  faulty('pageQuery(the invalid region)', (w) => {
    const mbi = new Uint32Array(7).fill(1);
    return { text: 'pageQuery(0xFFFE0000, mbi, 28)', service: '_PageQuery', predict: (m) => m.pageQuery(0xfffe0000, mbi, 28), call: () => w.vmm.pageQuery(0xfffe0000, mbi, 28), outputs: [mbi] };
  }),
  faulty('getFreePageCount(flags 1)', (w) => {
    const edx = new Uint32Array(1).fill(7);
    return { text: 'getFreePageCount(1, edx)', service: '_GetFreePageCount', predict: (m) => m.getFreePageCount(1, edx), call: () => w.vmm.getFreePageCount(1, edx), edx };
  }),
  faulty('pageGetSizeAddr(flags 1)', (w, s) => {
    const h = handleOf(w.m, s, 'good');
    const edx = new Uint32Array(1).fill(7);
    return { text: `pageGetSizeAddr(${hex(h)}, 1, edx)`, service: '_PageGetSizeAddr', predict: (m) => m.pageGetSizeAddr(h, 1, edx), call: () => w.vmm.pageGetSizeAddr(h, 1, edx), edx };
  }),
  faulty('pageCheckLinRange(flags 1)', (w, s) => {
    const p = handleOf(w.m, s, 'good') / PAGE;
    return { text: `pageCheckLinRange(${hex(p)}, 1, 1)`, service: '_PageCheckLinRange', predict: (m) => m.pageCheckLinRange(p, 1, 1), call: () => w.vmm.pageCheckLinRange(p, 1, 1) };
  }),
  // The CPU on pages that are reserved, free or invalid.
  ...(
    [
      ['a free page', 0x90000000],
      ['the invalid region', 0xfffe0000],
    ] as const
  ).map(([what, lin]): Fault => ({ label: `cpu.readBytes(${what})`, run: (w) => (cpu(w, `cpu.readBytes(${hex(lin)}, 8)`, lin, 8, null), `cpu.readBytes(${hex(lin)}, 8)`) })),
];

const injected = fc.tuple(fc.nat(faults.length - 1), sel).map(([i, s]) => {
  const f = faults[i]!;
  return new Step(`${f.label} [block#${s}]`, (w) => f.run(w, s));
});

const byAnyDriver = (steps: fc.Arbitrary<Step>) => fc.tuple(steps, fc.nat(3)).map(([st, d]) => (d === 0 ? st.by(1) : st));

const oneCommand = fc.oneof(
  { arbitrary: allocate, weight: 6 },
  { arbitrary: allocateAligned, weight: 2 },
  { arbitrary: reserve, weight: 3 },
  { arbitrary: commit, weight: 4 },
  { arbitrary: commitContig, weight: 1 },
  { arbitrary: decommit, weight: 2 },
  { arbitrary: free, weight: 2 },
  { arbitrary: reallocate, weight: 3 },
  { arbitrary: linLock, weight: 5 },
  { arbitrary: linUnlock, weight: 5 },
  { arbitrary: handleLock, weight: 4 },
  { arbitrary: modifyPermissions, weight: 2 },
  { arbitrary: discard, weight: 3 },
  { arbitrary: cpuWrite, weight: 5 },
  { arbitrary: cpuRead, weight: 3 },
  { arbitrary: pager, weight: 2 },
  { arbitrary: copyPageTable, weight: 2 },
  { arbitrary: pageQuery, weight: 1 },
  { arbitrary: sizeAddr, weight: 1 },
  { arbitrary: aliasLock, weight: 2 },
  { arbitrary: aliasUse, weight: 3 },
  { arbitrary: aliasCpu, weight: 2 },
  { arbitrary: injected, weight: 9 },
);
/** One command in four is made by driver B. */
const commands = byAnyDriver(oneCommand);

// ——— the property ———

const env = (name: string, fallback: number): number => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number(v);
};
const RUNS = env('DMASIM_MODEL_RUNS', 1000);
const FP_RUNS = env('DMASIM_MODEL_FP_RUNS', 9);
const MAX_COMMANDS = env('DMASIM_MODEL_COMMANDS', 32);
const REPLAY_SEED = process.env.DMASIM_MODEL_SEED;
const REPLAY_PATH = process.env.DMASIM_MODEL_PATH;
/** fc.commands' own replay path (the counterexample's `replayPath` comment): which commands ran. */
const REPLAY_COMMANDS = process.env.DMASIM_MODEL_REPLAY;
const SHARES: Record<Pager, number> = { off: 0.4, random: 0.3, aggressive: 0.3 };

/** Totals over every run of a property, for the mix check. */
interface Totals extends Tally {
  runs: number;
}

/**
 * Runs one command sequence against `sim`, which must hold nothing (fresh, or emptied by an earlier
 * sequence), and leaves it holding nothing again: every lock released, every block freed, the free
 * counts back where they started, no leak.
 */
function runSequence(sim: Simulator, pager: Pager, cmds: Iterable<fc.Command<World, World>>, fingerprints: boolean): Tally {
  const drivers = [sim, driverB.get(sim)!];
  // The fingerprinted sequences, few and slow anyway, scan everything every time.
  const w: World = { sim, drivers, vmm: sim.vmm, m: new VmmModel(pager), fingerprints, fullScans: fingerprints, tally: { calls: 0, failed: 0 } };
  observe(w, 'start');
  fc.modelRun(() => ({ model: w, real: w }), cmds);
  // Every byte, then give everything back.
  expectContents(w, 'the last command');
  observe(w, 'the full read-back');
  for (const a of [...w.m.aliases]) {
    serve(w, { text: `linPageUnLock(alias ${hex(a.base)}, ${a.size}, PAGEMAPGLOBAL) (clean-up)`, service: '_LinPageUnLock', predict: w.m.linPageUnLock(a.base, a.size, PAGEMAPGLOBAL), call: () => sim.vmm.linPageUnLock(a.base, a.size, PAGEMAPGLOBAL) });
  }
  for (const { block, index, page } of [...w.m.committed()]) {
    while (!page.fixed && page.locks > 0) {
      const p = block.base + index;
      serve(w, { text: `linPageUnLock(${hex(p)}, 1, 0) (clean-up)`, service: '_LinPageUnLock', predict: w.m.linPageUnLock(p, 1, 0), call: () => sim.vmm.linPageUnLock(p, 1, 0) });
    }
  }
  for (const b of [...w.m.blocks]) {
    const h = b.base * PAGE;
    const flags = b.prFlags & PR_STATIC;
    serve(w, { text: `pageFree(${hex(h)}, ${fmtFlags(flags)}) (clean-up)`, service: '_PageFree', predict: w.m.pageFree(h, flags), call: () => sim.vmm.pageFree(h, flags) });
  }
  observe(w, 'freeing everything');
  const edx = new Uint32Array(1);
  check(sim.vmm.getFreePageCount(0, edx) === USABLE_FRAMES && edx[0] === USABLE_FRAMES, () => `free counts after freeing everything: ${sim.vmm.getFreePageCount(0)} / ${edx[0]}, expected ${USABLE_FRAMES}`);
  check(sim.leaks().length === 0, () => `leaks after freeing everything: ${JSON.stringify(sim.leaks().map((l) => l.code))}`);
  return w.tally;
}

/**
 * A fresh simulator whose every frame holds garbage, as on a machine that has run for a while: a
 * page that is not zeroed where it must be reads wrong on the first run, not only after others.
 */
const driverB = new WeakMap<Simulator, DriverContext>();

async function freshSimulator(pager: Pager, seed: number): Promise<Simulator> {
  const sim = await createSimulator({ memory: FRAMES * PAGE, pager, seed, stacks: false, trace: false, maxDevices: 1 });
  driverB.set(sim, sim.createDriver('B'));
  const lin = sim.vmm.pageAllocate(USABLE_FRAMES, PG_SYS, 0, 0, 0, 0, null, PAGEFIXED);
  sim.cpu.writeBytes(lin, Uint8Array.from({ length: USABLE_FRAMES * PAGE }, (_, i) => (i * 7 + seed + 1) & 0xff | 1));
  check(sim.vmm.pageFree(lin, 0) === 1, () => 'could not free the garbage block');
  return sim;
}

/**
 * A simulator costs ~12 ms to make (its per-linear-page tables) and as much again to collect: more
 * than a sequence. So sequences run on a simulator that earlier sequences left empty, and a failing
 * sequence is run again on a fresh one, made from the run's seed: only a failure that reproduces
 * there is reported (and its seed and path replay it, on fresh simulators only). A failure that
 * needs the history of earlier sequences is reported as such, with both errors.
 */
class Pool {
  private sim: Simulator | undefined;
  constructor(private readonly pager: Pager) {}

  async run(seed: number, cmds: Iterable<fc.Command<World, World>>, fingerprints: boolean, totals: Totals): Promise<void> {
    if (!fingerprints && REPLAY_SEED === undefined) {
      this.sim ??= await freshSimulator(this.pager, seed);
      let firstError: unknown;
      try {
        return count(totals, runSequence(this.sim, this.pager, cmds, false));
      } catch (e) {
        firstError = e;
        // Whatever the failed sequence left behind: this simulator is not empty any more.
        await this.close();
      }
      // Throws if the sequence fails on a fresh simulator too: the reproducible failure.
      await this.fresh(seed, cmds, false, totals);
      throw new ModelMismatch(`only on a simulator that earlier sequences had used (a fresh one passes): ${(firstError as Error).message}`);
    }
    return this.fresh(seed, cmds, fingerprints, totals);
  }

  private async fresh(seed: number, cmds: Iterable<fc.Command<World, World>>, fingerprints: boolean, totals: Totals): Promise<void> {
    const sim = await freshSimulator(this.pager, seed);
    try {
      count(totals, runSequence(sim, this.pager, cmds, fingerprints));
    } finally {
      await sim.close();
    }
  }

  async close(): Promise<void> {
    const sim = this.sim;
    this.sim = undefined;
    await sim?.close();
  }
}

function count(totals: Totals, t: Tally): void {
  totals.runs++;
  totals.calls += t.calls;
  totals.failed += t.failed;
}

/** The failure message: fast-check's report, the mismatch, and how to replay exactly this case. */
function replayReport<T>(name: string, out: fc.RunDetails<T>): string {
  const report = fc.defaultReportMessage(out) ?? 'property failed';
  const commandsPath = /replayPath="([^"]*)"/.exec(report)?.[1] ?? '';
  const path = out.counterexamplePath ?? '';
  const cause = out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance);
  return [
    report,
    `Error: ${cause}`,
    `Replay: DMASIM_MODEL_SEED=${out.seed} DMASIM_MODEL_PATH=${path} DMASIM_MODEL_REPLAY=${commandsPath} npx vitest run test/vmm-model.property.test.ts -t "${name}"\n` +
      `  (that is fc.assert(property, { seed: ${out.seed}, path: "${path}", endOnFailure: true }) with fc.commands(…, { replayPath: "${commandsPath}" }))`,
  ].join('\n\n');
}

function runProperty(name: string, pager: Pager, numRuns: number, fingerprints: boolean, maxCommands: number): () => Promise<void> {
  return async () => {
    const totals: Totals = { runs: 0, calls: 0, failed: 0 };
    const pool = new Pool(pager);
    const sequences = fc.commands([commands], { maxCommands, size: 'max', ...(REPLAY_COMMANDS ? { replayPath: REPLAY_COMMANDS } : {}) });
    const property = fc.asyncProperty(fc.integer({ min: 0, max: 0xffffffff }), sequences, (seed, cmds) => pool.run(seed, cmds, fingerprints, totals));
    const replay = REPLAY_SEED !== undefined ? { seed: Number(REPLAY_SEED), ...(REPLAY_PATH ? { path: REPLAY_PATH } : {}), endOnFailure: true } : {};
    try {
      await fc.assert(property, {
        numRuns,
        ...replay,
        reporter: (out) => {
          if (out.failed) throw new Error(replayReport(name, out));
        },
      });
    } finally {
      await pool.close();
    }
    if (process.env.DMASIM_MODEL_VERBOSE) console.log(`${name}: ${totals.runs} runs, ${totals.calls} calls, ${totals.failed} failed (${((totals.failed / Math.max(1, totals.calls)) * 100).toFixed(1)} %)`);
    // The mix stays what it is meant to be: about a third of the calls fail (injected or met).
    if (REPLAY_SEED === undefined && totals.calls > 500) {
      const share = totals.failed / totals.calls;
      check(share > 0.2 && share < 0.45, () => `${name}: ${(share * 100).toFixed(1)} % of ${totals.calls} calls failed; the generators drifted from ≈30 % invalid`);
    }
  };
}

const timeout = (runs: number) => 30_000 + runs * 200;

describe('VMM services against a reference model (fast-check)', () => {
  for (const pager of ['off', 'random', 'aggressive'] as const) {
    const runs = Math.max(1, Math.round(RUNS * SHARES[pager]));
    const name = `pager '${pager}': every observation agrees with the model`;
    it(name, runProperty(name, pager, runs, false, MAX_COMMANDS), timeout(runs));
  }
  for (const pager of ['off', 'random', 'aggressive'] as const) {
    const runs = Math.max(1, Math.round(FP_RUNS / 3));
    const name = `pager '${pager}': every failing call leaves fingerprint() unchanged`;
    it(name, runProperty(name, pager, runs, true, 16), timeout(runs * 10));
  }
});
