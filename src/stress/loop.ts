/**
 * The stress loop: one driver task per device on the main thread, each running verified transfers
 * through its kind driver (./kinds/), in its own driver context, with CPU touches and pager passes
 * between; the tasks take turns by a token (./turns.ts) so that a seed decides everything the main
 * thread does. Every violation record is tied to the transfer that caused it — by the device
 * attachment it names and its command number, against the doorbells each transfer rang — and
 * judged: a record of an injected DMA bug is expected (and detects it when its code is one the
 * bug must produce); any other record is a failure. The benchmark's stress rows run this loop too
 * (bench/stress-loop.ts).
 *
 * A DMA bug runs alone: the task that plans one takes the loop exclusively, lets every other task
 * finish its transfer in flight, and keeps the token until its own transfer has finished. Nothing
 * else moves a frame between its programming and its device's accesses, so the codes it gets are
 * the seed's, not the scheduler's.
 *
 * Over a deterministic simulator (`createSimulator({ deterministic })`) the tasks run under
 * `sim.run()`, and every wait that another task or a device ends is a scheduler wait: the turn
 * token (Turns), a device's interrupt (its own), a control request (`KindEnv.control`: first until
 * the device is idle). The budget is then transfers only — a time budget is the host's clock.
 */

import { DeterministicError, DeviceError, PAGECONTIG, PAGEFIXED, PAGEUSEALIGN, PG_SYS, type DeviceHandle, type DriverContext, type Leak, type Simulator, type Violation } from '../index.js';
import { Prng } from '../prng.js';
import { INJECTION_INFO, INJECTIONS, type Injection } from './inject.js';
import { KINDS } from './kinds/index.js';
import { KindError, PAGE, physOf } from './kinds/common.js';
import type { KindEnv, KindInstance, StressKind } from './kinds/types.js';
import type { RunOutcome } from '../sched/scheduler.js';
import { Turns } from './turns.js';

export interface LoopConfig {
  readonly devices: number;
  /** Kind names (KINDS); device i runs kinds[i % kinds.length]. */
  readonly kinds: readonly string[];
  readonly inject: readonly { readonly kind: Injection; readonly rate: number }[];
  readonly seed: number;
  /** Every transfer this many bytes, page-aligned, simplest command form (the benchmark). */
  readonly fixedSize?: number;
  /** CPU touches of the drivers' other memory between transfers (default true). */
  readonly touches?: boolean;
  /** Full pager passes now and then between transfers (default: when the pager is not off). */
  readonly passes?: boolean;
  /** A transfer's interrupt may take this long (default 30 000 ms). */
  readonly timeoutMs?: number;
  /** The simulator's maxRecords: DMA bugs stop being injected before records stop being kept. */
  readonly maxRecords?: number;
  /** Called after every transfer (progress). */
  readonly onTransfer?: (loop: StressLoop) => void;
}

/** How much to run: a number of transfers (counted across all devices), or until a time. */
export type Budget = { readonly transfers: number } | { readonly until: number };

export interface InjectedCount {
  injected: number;
  detected: number;
  /** Planned but not made: the kind cannot make it bite, or a per-seed budget was spent. */
  skipped: number;
}

/** A violation record with the loop's judgement of it. */
export interface JudgedViolation {
  /** The transfer it belongs to (null: it could not be tied to one). */
  readonly transfer: number | null;
  readonly injection: Injection | null;
  /** True for a record of an injected DMA bug. */
  readonly expected: boolean;
  readonly record: Violation;
}

export interface LostTransfer {
  readonly transfer: number;
  readonly device: string;
  readonly bytes: number;
  readonly detail: string;
}

export interface LoopOutcome {
  readonly transfers: number;
  readonly injectedTransfers: number;
  readonly bytesVerified: number;
  readonly bytesLost: number;
  readonly lost: readonly LostTransfer[];
  readonly injected: Readonly<Partial<Record<Injection, InjectedCount>>>;
  readonly violations: { readonly expected: number; readonly unexpected: number; readonly kept: readonly JudgedViolation[] };
  readonly leaks: { readonly expected: number; readonly unexpected: readonly Leak[] };
  /** Errors that stopped a task: hangs, device faults, driver errors. */
  readonly errors: readonly string[];
  readonly hangs: number;
}

interface TransferRecord {
  readonly id: number;
  readonly injection: Injection | null;
  applied: boolean;
  /** Doorbells: the transfer rang commands (from, to]; to = -1 while it runs. */
  readonly from: number;
  to: number;
  detected: boolean;
}

/** Per seed: leak-lock pages at most (each stays locked to the end). */
const MAX_LEAKS = 64;
/** DMA bugs stop this many records before the simulator stops keeping them in full. */
const RECORD_MARGIN = 64;
/** Judged records kept per seed, of each kind. */
const KEEP_UNEXPECTED = 32;
const KEEP_EXPECTED = 8;
const KEEP_LOST = 16;
/** Transfers remembered per device for late records. */
const RECENT = 16;
const BALLAST_PAGES = 8;
/** Per transfer: chance of a CPU touch, of a full pager pass. */
const TOUCH_CHANCE = 0.25;
const PASS_CHANCE = 1 / 32;

/** A device handle that counts the doorbells its writes ring (the command numbers records carry). */
class CountedDevice implements DeviceHandle {
  commands = 0;
  constructor(
    private readonly inner: DeviceHandle,
    private readonly rings: (index: number, value: number) => boolean,
  ) {}
  get id(): number {
    return this.inner.id;
  }
  get attachment(): number {
    return this.inner.attachment;
  }
  get kind(): string {
    return this.inner.kind;
  }
  get name(): string {
    return this.inner.name;
  }
  get driver(): string {
    return this.inner.driver;
  }
  get mmioBase(): number {
    return this.inner.mmioBase;
  }
  readReg(index: number): number {
    return this.inner.readReg(index);
  }
  writeReg(index: number, value: number): void {
    this.inner.writeReg(index, value);
    if (this.rings(index, value)) this.commands++;
  }
  waitForInterrupt(options?: { timeoutMs?: number }): Promise<{ count: number }> {
    return this.inner.waitForInterrupt(options);
  }
  ackInterrupt(): void {
    this.inner.ackInterrupt();
  }
  idle(): boolean {
    return this.inner.idle();
  }
  stats(): Promise<Record<string, number>> {
    return this.inner.stats();
  }
  reset(): Promise<void> {
    return this.inner.reset();
  }
  detach(options?: { graceMs?: number }): Promise<void> {
    return this.inner.detach(options);
  }
}

interface Slot {
  readonly kind: StressKind;
  readonly label: string;
  readonly driver: DriverContext;
  readonly guard: { readonly lin: number; readonly phys: number };
  readonly ballast: number;
  device: CountedDevice | undefined;
  instance: KindInstance | undefined;
  current: TransferRecord | undefined;
  readonly recent: TransferRecord[];
}

export class StressLoop {
  private readonly rng: Prng;
  private readonly slots: Slot[] = [];
  private readonly byAttachment = new Map<number, number>();
  private turns = new Turns(1);
  private exclusive = -1;
  private inFlight = 0;
  private stopping = false;
  private started = 0;
  private limit: Budget = { transfers: 0 };
  private readonly rates: { kind: Injection; upTo: number }[] = [];
  private readonly timeoutMs: number;
  private readonly maxRecords: number;
  private readonly touches: boolean;
  private readonly passes: boolean;
  /** The simulator is deterministic: the tasks run under its scheduler. */
  readonly deterministic: boolean;
  // Totals.
  transfers = 0;
  injectedTransfers = 0;
  bytesVerified = 0;
  bytesLost = 0;
  private readonly lost: LostTransfer[] = [];
  private readonly injected: Partial<Record<Injection, InjectedCount>> = {};
  private readonly injectedTransfersList: TransferRecord[] = [];
  private readonly leakedPages = new Map<string, TransferRecord>();
  private readonly errors: string[] = [];
  private hangs = 0;
  // Violation judgement.
  private seenTotal = 0;
  private readonly seen = new Set<number>();
  private processed = 0;
  expectedViolations = 0;
  unexpectedViolations = 0;
  private readonly judged: JudgedViolation[] = [];
  private keptExpected = 0;
  private keptUnexpected = 0;

  private constructor(
    readonly sim: Simulator,
    private readonly cfg: LoopConfig,
  ) {
    this.rng = new Prng((cfg.seed ^ 0x5eed5eed) >>> 0);
    this.timeoutMs = cfg.timeoutMs ?? 30_000;
    this.maxRecords = cfg.maxRecords ?? 1000;
    this.touches = cfg.touches ?? true;
    this.passes = cfg.passes ?? sim.pager.policy !== 'off';
    this.deterministic = sim.schedule() !== null;
    // Canonical order, whatever order the flags came in: the draws do not depend on it.
    let upTo = 0;
    for (const kind of INJECTIONS) {
      const r = cfg.inject.find((i) => i.kind === kind);
      if (!r) continue;
      upTo += r.rate;
      this.rates.push({ kind, upTo });
      this.injected[kind] = { injected: 0, detected: 0, skipped: 0 };
    }
  }

  /** Creates the driver contexts, their guard blocks and ballast, and sets every device up. */
  static async create(sim: Simulator, cfg: LoopConfig): Promise<StressLoop> {
    const loop = new StressLoop(sim, cfg);
    await loop.setUp();
    return loop;
  }

  private async setUp(): Promise<void> {
    const { sim, cfg } = this;
    const kinds = cfg.kinds.map((k) => {
      const kind = KINDS[k];
      if (!kind) throw new KindError(`no stress kind ${k}`);
      return kind;
    });
    const perKind = new Map<string, number>();
    for (let d = 0; d < cfg.devices; d++) {
      const kind = kinds[d % kinds.length]!;
      const index = perKind.get(kind.name) ?? 0;
      perKind.set(kind.name, index + 1);
      const label = `${kind.name}-${index}`;
      const driver = sim.createDriver(label);
      this.slots.push({ kind, label, driver, guard: guardBlock(driver), ballast: allocate(driver, BALLAST_PAGES), device: undefined, instance: undefined, current: undefined, recent: [] });
    }
    // With one device, another driver must exist for cross-driver to point at.
    const foreignOf = this.slots.length > 1 ? (d: number) => this.slots[(d + 1) % this.slots.length]!.guard.phys : (() => {
      const g = guardBlock(sim.createDriver('bystander'));
      return () => g.phys;
    })();
    const span = Math.max(...kinds.map((k) => k.maxTransfer), PAGE) + PAGE;
    const patterns = makePatterns(this.rng, span);
    const indexOf = new Map<string, number>();
    for (let d = 0; d < this.slots.length; d++) {
      const slot = this.slots[d]!;
      const index = indexOf.get(slot.kind.name) ?? 0;
      indexOf.set(slot.kind.name, index + 1);
      const env: KindEnv = {
        sim,
        driver: slot.driver,
        index,
        rng: new Prng(this.rng.u32()),
        attach: async (kind, rings, options) => {
          const dev = new CountedDevice(await slot.driver.attachDevice(kind, options), rings);
          slot.device = dev;
          this.byAttachment.set(dev.attachment, d);
          return dev;
        },
        wait: (fn) => this.wait(d, fn),
        control: (request) => this.control(d, request),
        deterministic: this.deterministic,
        timeoutMs: this.timeoutMs,
        guard: slot.guard,
        foreign: foreignOf(d),
        patterns,
        withPagerPaused: (fn) => {
          const policy = sim.pager.policy;
          sim.pager.policy = 'off';
          try {
            return fn();
          } finally {
            sim.pager.policy = policy;
          }
        },
        leakLock: () => this.leakLock(d),
      };
      slot.instance = await slot.kind.setUp(env);
    }
  }

  /** Devices, in loop order: label and kind. */
  get devices(): readonly { label: string; kind: string }[] {
    return this.slots.map((s) => ({ label: s.label, kind: s.kind.name }));
  }

  /**
   * Runs transfers until the budget is spent (or a task failed); every task has finished on return,
   * except after a deterministic run that stopped at its first violation (outcome 'violation':
   * the tasks were abandoned where they stood). A deadlock or step limit of the scheduler is an
   * error of the seed (`finish().errors`), outcome 'deadlock' / 'step-limit'.
   */
  async run(budget: Budget): Promise<RunOutcome> {
    if (this.deterministic && !('transfers' in budget)) throw new KindError('a deterministic stress loop takes a budget of transfers: a time budget is the host clock, not the schedule');
    this.limit = 'transfers' in budget ? { transfers: this.started + budget.transfers } : budget;
    const sim = this.sim;
    this.turns = new Turns(this.slots.length, this.deterministic ? (cond) => sim.waitUntil(cond, { timeoutMs: Infinity, what: 'its turn' }) : undefined);
    this.exclusive = -1;
    let outcome: RunOutcome = 'done';
    if (this.deterministic) {
      // Named by their device labels: the schedule's entities (and a replay's report) say whose step it was.
      const tasks = this.slots.map((s, d) => Object.defineProperty(() => this.task(d), 'name', { value: s.label }));
      try {
        outcome = await sim.run(...tasks);
      } catch (e) {
        if (!(e instanceof DeterministicError)) throw e;
        this.stopping = true;
        this.errors.push(`deterministic run: ${e.message}`);
        outcome = /maxSteps/.test(e.message) ? 'step-limit' : 'deadlock';
      }
    } else await Promise.all(this.slots.map((_, d) => this.task(d)));
    this.collect();
    return outcome;
  }

  /** True once a task stopped on an error: the seed is over. */
  get failed(): boolean {
    return this.stopping;
  }

  private async task(d: number): Promise<void> {
    const turns = this.turns;
    await turns.acquire(d);
    try {
      for (;;) {
        if (this.exclusive !== -1 && this.exclusive !== d && !this.stopping) {
          await this.pass(d);
          continue;
        }
        const plan = this.plan(d);
        if (!plan) break;
        this.between(d);
        if (plan.injection && INJECTION_INFO[plan.injection].class === 'dma') {
          // A DMA bug runs alone: every other transfer in flight finishes first.
          this.exclusive = d;
          while (this.inFlight > 0) await this.pass(d);
        }
        await this.runOne(d, plan);
        if (this.exclusive === d) this.exclusive = -1;
      }
    } catch (e) {
      this.fail(d, e);
    } finally {
      if (this.exclusive === d) this.exclusive = -1;
      turns.finish(d);
    }
  }

  private async pass(d: number): Promise<void> {
    this.turns.release(d);
    await this.turns.acquire(d);
  }

  /** KindEnv.wait: the device works while the other tasks take their turns. */
  private async wait<T>(d: number, fn: () => Promise<T>): Promise<T> {
    const p = fn();
    if (this.exclusive === d) return p;
    this.turns.release(d);
    try {
      return await p;
    } finally {
      await this.turns.acquire(d);
    }
  }

  /**
   * KindEnv.control: a control request (stats, reset) of task `d`'s device, answered after every
   * doorbell rung before it. Free running the device loop orders it so; in deterministic mode the
   * task first waits (a scheduler wait) until the device is idle, where a request is answered at
   * once — inside a command it would wait for grants that cannot come during the task's step.
   */
  private control<T>(d: number, request: () => Promise<T>): Promise<T> {
    if (!this.deterministic) return this.wait(d, request);
    const slot = this.slots[d]!;
    const dev = slot.device!;
    return this.wait(d, async () => {
      if (!(await this.sim.waitUntil(() => dev.idle(), { timeoutMs: this.timeoutMs, what: `${slot.label} between commands` }))) {
        throw new DeviceError('timeout', `still inside a command after ${this.timeoutMs} ms (virtual time)`, { kind: dev.kind, id: dev.id, attachment: dev.attachment, name: dev.name });
      }
      return request();
    });
  }

  /** The next transfer for task `d`, or null when the budget is spent. Called with the token held. */
  private plan(d: number): { id: number; size: number; injection: Injection | null; rng: Prng } | null {
    if (this.stopping) return null;
    const limit = this.limit;
    if ('transfers' in limit ? this.started >= limit.transfers : performance.now() >= limit.until) return null;
    const kind = this.slots[d]!.kind;
    const rng = this.rng;
    const id = this.started++;
    const spec = new Prng(rng.u32());
    const size = this.cfg.fixedSize ?? drawSize(rng, kind.maxTransfer);
    let injection: Injection | null = null;
    if (this.rates.length > 0) {
      const u = rng.u32() / 0x100000000;
      injection = this.rates.find((r) => u < r.upTo)?.kind ?? null;
    }
    if (injection && (!kind.injections.includes(injection) || (INJECTION_INFO[injection].class === 'dma' && this.processed + RECORD_MARGIN > this.maxRecords))) {
      this.injected[injection]!.skipped++;
      injection = null;
    }
    return { id, size, injection, rng: spec };
  }

  /** CPU touches of the driver's ballast, and now and then a full pager pass. */
  private between(d: number): void {
    const rng = this.rng;
    const slot = this.slots[d]!;
    if (this.touches && rng.chance(TOUCH_CHANCE)) {
      const at = slot.ballast + rng.below(BALLAST_PAGES) * PAGE + rng.below(PAGE / 4) * 4;
      if (rng.chance(0.5)) slot.driver.cpu.write32(at, rng.u32());
      else slot.driver.cpu.read32(at);
    }
    // Scaled by the devices: a pass costs every pageable page of every driver.
    if (this.passes && rng.chance(PASS_CHANCE / this.slots.length)) this.sim.pager.pass();
  }

  private async runOne(d: number, plan: { id: number; size: number; injection: Injection | null; rng: Prng }): Promise<void> {
    const slot = this.slots[d]!;
    const dev = slot.device!;
    const t: TransferRecord = { id: plan.id, injection: plan.injection, applied: false, from: dev.commands, to: -1, detected: false };
    slot.current = t;
    this.inFlight++;
    let r;
    try {
      r = await slot.instance!.transfer({ id: plan.id, size: plan.size, injection: plan.injection, rng: plan.rng, aligned: this.cfg.fixedSize !== undefined });
    } finally {
      this.inFlight--;
      t.to = dev.commands;
      slot.current = undefined;
      slot.recent.push(t);
      if (slot.recent.length > RECENT) slot.recent.shift();
    }
    this.transfers++;
    const inj = plan.injection;
    t.applied = inj !== null && r.injected;
    if (inj && !t.applied) this.injected[inj]!.skipped++;
    if (inj && t.applied) {
      this.injected[inj]!.injected++;
      this.injectedTransfers++;
      this.injectedTransfersList.push(t);
      if (inj === 'double-unlock') t.detected = r.ddkError === 'not-locked';
    }
    // A DMA bug's payload is expected to be refused; everything else is verified.
    if (!t.applied || INJECTION_INFO[inj!].class === 'ddk') {
      this.bytesVerified += r.bytes - r.lostBytes;
      this.bytesLost += r.lostBytes;
      if (r.lostBytes > 0 && this.lost.length < KEEP_LOST) this.lost.push({ transfer: plan.id, device: slot.label, bytes: r.lostBytes, detail: r.detail ?? '' });
    }
    this.collect();
    this.cfg.onTransfer?.(this);
  }

  private leakLock(d: number): boolean {
    const slot = this.slots[d]!;
    if (this.leakedPages.size >= MAX_LEAKS || !slot.current) return false;
    const vmm = slot.driver.vmm;
    const lin = vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
    if (lin === 0) return false;
    if (!vmm.linPageLock(lin >>> 12, 1, 0)) {
      vmm.pageFree(lin, 0);
      return false;
    }
    this.leakedPages.set(`${slot.driver.name}:${lin >>> 12}`, slot.current);
    return true;
  }

  private fail(d: number, e: unknown): void {
    this.stopping = true;
    const slot = this.slots[d]!;
    const err = e instanceof Error ? e : new Error(String(e));
    if (err instanceof DeviceError && err.code === 'timeout') {
      this.hangs++;
      this.errors.push(`hang: ${slot.label}: ${err.message}`);
    } else if (err instanceof DeviceError) this.errors.push(`device fault: ${slot.label}: ${err.message}`);
    else this.errors.push(`driver error: ${slot.label}: ${err.message}`);
  }

  /** Judges every violation record not seen yet. Cheap when there is none. */
  collect(): void {
    const counts = this.sim.violationCounts();
    if (counts.total === this.seenTotal) return;
    this.seenTotal = counts.total;
    for (const v of this.sim.violations()) {
      if (this.seen.has(v.seq)) continue;
      this.seen.add(v.seq);
      this.processed++;
      this.judge(v);
    }
  }

  private judge(v: Violation): void {
    const d = v.device ? this.byAttachment.get(v.device.attachment) : undefined;
    const cmd = v.access?.command;
    const t = d !== undefined && cmd !== undefined ? this.transferOf(d, cmd) : undefined;
    const inj = t?.injection ?? null;
    const expected = t !== undefined && inj !== null && INJECTION_INFO[inj].class === 'dma' && t.applied;
    if (expected) {
      this.expectedViolations++;
      if (INJECTION_INFO[inj].codes.includes(v.code)) t.detected = true;
      if (this.keptExpected++ < KEEP_EXPECTED) this.judged.push({ transfer: t.id, injection: inj, expected, record: v });
    } else {
      this.unexpectedViolations++;
      if (this.keptUnexpected++ < KEEP_UNEXPECTED) this.judged.push({ transfer: t?.id ?? null, injection: inj, expected, record: v });
    }
  }

  /** The transfer of device `d` that rang command `cmd`. */
  private transferOf(d: number, cmd: number): TransferRecord | undefined {
    const slot = this.slots[d]!;
    const c = slot.current;
    if (c && cmd > c.from) return c;
    for (let i = slot.recent.length - 1; i >= 0; i--) {
      const t = slot.recent[i]!;
      if (cmd > t.from && cmd <= t.to) return t;
    }
    return undefined;
  }

  /** Tears every device down, then judges the leaks; the loop is over. */
  async finish(): Promise<LoopOutcome> {
    const vmm = (s: Slot) => s.driver.vmm;
    for (const s of this.slots) {
      try {
        await s.instance?.tearDown();
        vmm(s).pageFree(s.guard.lin, 0);
        vmm(s).pageFree(s.ballast, 0);
      } catch (e) {
        this.errors.push(`tear-down: ${s.label}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    this.collect();
    // Records kept in full are judged one by one; any beyond them cannot be tied to a transfer.
    const counts = this.sim.violationCounts();
    this.unexpectedViolations += counts.total - this.processed;
    let expectedLeaks = 0;
    const unexpected: Leak[] = [];
    for (const l of this.sim.leaks()) {
      const t = l.code === 'lock-leak' ? this.leakedPages.get(`${l.driver}:${l.linearPage}`) : undefined;
      if (t) {
        t.detected = true;
        expectedLeaks++;
      } else unexpected.push(l);
    }
    for (const t of this.injectedTransfersList) if (t.detected) this.injected[t.injection!]!.detected++;
    return {
      transfers: this.transfers,
      injectedTransfers: this.injectedTransfers,
      bytesVerified: this.bytesVerified,
      bytesLost: this.bytesLost,
      lost: this.lost,
      injected: this.injected,
      violations: { expected: this.expectedViolations, unexpected: this.unexpectedViolations, kept: this.judged },
      leaks: { expected: expectedLeaks, unexpected },
      errors: this.errors,
      hangs: this.hangs,
    };
  }
}

function allocate(driver: DriverContext, n: number): number {
  const lin = driver.vmm.pageAllocate(n, PG_SYS, 0, 0, 0, 0, null, 0);
  if (lin === 0) throw new KindError(`_PageAllocate(${n}) for driver ${driver.name} failed: ${driver.vmm.lastError?.message ?? '?'}`);
  return lin;
}

/**
 * Two fixed, contiguous pages below 16 MiB starting on an even frame (so both lie in one 64 KiB
 * bank), allocated without PhysAddr: only the first page is then handed out (its _CopyPageTable),
 * and the second — owned by this driver, fixed, never anyone else's — never is.
 */
function guardBlock(driver: DriverContext): { lin: number; phys: number } {
  const lin = driver.vmm.pageAllocate(2, PG_SYS, 0, 0x01, 0, 0x1000, null, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED);
  if (lin === 0) throw new KindError(`guard block for driver ${driver.name}: _PageAllocate failed: ${driver.vmm.lastError?.message ?? '?'}`);
  return { lin, phys: physOf(driver, lin >>> 12, 1, new Uint32Array(1))[0]! };
}

/** Random bytes `a` and their complement `b`, 2 × span long: any window of ≤ span from an offset < span fits. */
function makePatterns(rng: Prng, span: number): { a: Uint8Array; b: Uint8Array; span: number } {
  const words = Math.ceil((2 * span) / 4);
  const a32 = new Uint32Array(words);
  const b32 = new Uint32Array(words);
  for (let i = 0; i < words; i++) {
    a32[i] = rng.u32();
    b32[i] = ~a32[i]!;
  }
  return { a: new Uint8Array(a32.buffer), b: new Uint8Array(b32.buffer), span };
}

/** Log-uniform in 1 … max: as many tiny transfers as page-sized and large ones. */
function drawSize(rng: Prng, max: number): number {
  const e = rng.below(Math.floor(Math.log2(max)) + 1);
  return Math.min(max, (1 << e) + rng.below(1 << e));
}
