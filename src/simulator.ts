/**
 * The public simulator: physical memory, the VMM, the CPU, driver contexts, the pager controls,
 * the violation log and (through the device host) simulated devices in worker threads.
 */

import { PAGESIZE } from './address.js';
import { SimCpu, type Cpu } from './cpu.js';
import { SimulatorError } from './errors.js';
import type { Frame } from './address.js';
import { clearHandouts, lockerOf } from './frametable.js';
import { DEFAULT_MEMORY, DEFAULT_TRACE_CAPACITY, H, MAX_TRACE_CAPACITY, VIOLATION_MODE, createLinkShared, createShared, type SharedViews, type ViolationMode } from './layout.js';
import { nextSeq } from './ring.js';
import { ReportSink, renderViolation, type DeviceFault, type Violation, type ViolationCounts } from './report.js';
import { TraceReader, TraceWriter, type TraceEvent, type TraceStats } from './trace.js';
import { MemoryCore, type PagerPolicy, type PagerStats } from './vmm/core.js';
import { formatStack } from './vmm/history.js';
import { Vmm, type VmmServices } from './vmm/services.js';
import { Vdmad, type VdmadServices } from './vmm/vdmad.js';
import { DeviceHost, type AttachOptions, type DeviceHandle } from './host/host.js';
import { IsaDmaControllers } from './isa/i8237.js';
import { PortBus } from './isa/portbus.js';
import { findLeaks, renderLeak } from './leaks.js';
import { REPORT_SCHEMA_VERSION, type Leak, type SimReport } from './report/types.js';
import { dmasimVersion } from './version.js';
import { writeHtmlReport } from './report/html.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeLink, openHostLink, type HostLinkPort, type Link, type LinkEndpoint } from './link.js';
import { sabotageWord } from './sabotage.js';
import { Scheduler, type DeterministicOptions, type RunOutcome, type ScheduleRecord } from './sched/scheduler.js';

export interface SimulatorOptions {
  /** Physical memory in bytes: 1 MiB … 1 GiB, a multiple of 4096. Default 16 MiB. */
  memory?: number;
  /** Seed for every random decision (pager victims, move-or-page-out). Default 1. */
  seed?: number;
  /** Pager policy. Default 'off'. */
  pager?: PagerPolicy;
  /** Frames held in quarantine after release (default: frames/32 with 'aggressive', else 0). */
  quarantine?: number;
  /** What a violating DMA access does: 'block' (default; no byte lands), 'allow' or 'throw'. */
  onViolation?: ViolationMode;
  /**
   * Capture call-site stacks where reports print them: lock, unlock, hand-out, free, device
   * programming. Default true. ('all-events' also captures one for every pager event, as dmasim
   * once did: only for measuring what the default saves.)
   */
  stacks?: boolean | 'all-events';
  /** Driver contexts that can exist at once (hand-out tables). Default 8. */
  maxDrivers?: number;
  /** Device instances that can exist at once. Default 16. */
  maxDevices?: number;
  /** Violation ring slots. Default 4096. */
  ringCapacity?: number;
  /** Swap pages beyond RAM for swappable commits. Default 3 × RAM. */
  swapPages?: number;
  /** A device that owes a doorbell and makes no progress this long is reported as hung. Default 10 000 ms. */
  hangTimeoutMs?: number;
  /** Violation and fault records kept in full; beyond, they are only counted. Default 1000. */
  maxRecords?: number;
  /**
   * `false` turns every DMA check off: ports move bytes and check nothing. Only for measuring what
   * the checks cost (the benchmark's `checks-on-vs-off`); never in a test. Default true.
   */
  checks?: boolean;
  /**
   * The event trace: `false` records nothing; `true` (default) or `{ capacity, keep }`: `capacity`
   * events per producer ring in shared memory (a power of two, default 4096; the main thread and each device slot
   * have one), `keep` events in the drained log (default 65 536).
   */
  trace?: boolean | { capacity?: number; keep?: number };
  /**
   * Deterministic mode (README "Deterministic mode"): `true` or options. A seeded scheduler owns
   * every device step and every driver step inside `sim.run()`; the same seed gives the same
   * interleaving, trace hash and violations at the same steps. Default false (free running).
   */
  deterministic?: boolean | DeterministicOptions;
}

/** What `waitUntil` waits for. */
export interface WaitUntilOptions {
  /** Give up after this long (virtual time in deterministic mode). Default 5000 ms. */
  timeoutMs?: number;
  /** What is waited for (deadlock and timeout messages name it). */
  what?: string;
}

/** The simulator's event trace (trace.ts has the event schema). */
export interface TraceControl {
  readonly enabled: boolean;
  /** The events kept (the most recent `keep`), in global sequence order. */
  events(): TraceEvent[];
  stats(): TraceStats;
  /** FNV-1a 32-bit hash of every event drained so far, in order. */
  hash(): string;
}

/** A page still locked (see Simulator.outstandingLocks). */
export interface OutstandingLock {
  /** The driver whose lock took the count from 0 to 1. */
  readonly driver: string | null;
  readonly linearPage: number | null;
  readonly frame: number;
  readonly lockCount: number;
  /** Where that first lock was taken. */
  readonly stack?: string[];
}

/** A driver: its own DDK service facade (hand-outs, lastError), the CPU and its devices. */
export interface DriverContext {
  readonly name: string;
  readonly vmm: VmmServices;
  /** VDMAD's DMA-region services (spec §5.5), DDK-faithful like the VMM services. */
  readonly vdmad: VdmadServices;
  readonly cpu: Cpu;
  /**
   * Starts a device in its own worker thread, bound to this driver: a built-in `kind` by name, or a
   * custom device module by URL or path (absolute, or ./ ../ relative to the working directory).
   */
  attachDevice(kind: string | URL, options?: AttachOptions): Promise<DeviceHandle>;
}

export interface PagerControl {
  /** The current policy; may be changed at any time. */
  policy: PagerPolicy;
  /** Moves or pages out every pageable page once. Returns how many pages it touched. */
  pass(): number;
  /** One pager decision on a random pageable page. False if there was none. */
  step(): boolean;
  readonly stats: Readonly<PagerStats>;
}

export interface Simulator extends DriverContext {
  readonly memory: { readonly bytes: number; readonly frames: number };
  readonly seed: number;
  readonly pager: PagerControl;
  /** A new driver context over the same memory (DMA ownership checks are per driver). */
  createDriver(name: string): DriverContext;
  /**
   * A wire between two devices (two NICs): pass `link.a` to one and `link.b` to the other in their
   * attach options (`{ link: link.a }`). `slots` frames fit in each direction (default 64);
   * `maxFrame` bytes per frame (default 2048).
   */
  createLink(options?: { slots?: number; maxFrame?: number }): Link;
  /** Holds one end of a link on the main thread: a test playing the far end of the wire. */
  openLink(endpoint: LinkEndpoint): HostLinkPort;
  /** The violations kept in full (the first `maxRecords`), in sequence order. */
  violations(): Violation[];
  /** Exact violation counts by code, however many were kept in full. */
  violationCounts(): ViolationCounts;
  /**
   * Pages locked right now (fixed pages excepted), with the driver that took the first lock and its
   * stack: at teardown, every entry is a leaked lock (Driver Verifier's and DMA-API debug's unmap check).
   */
  outstandingLocks(): OutstandingLock[];
  /** Violations the shared ring could not hold (raise ringCapacity if this is not 0). */
  droppedViolations(): number;
  /** Device faults (a device that threw, exited or hung). */
  deviceFaults(): DeviceFault[];
  readonly trace: TraceControl;
  /** Renders a violation as KASAN-style text. */
  render(v: Violation): string;
  /**
   * What is still held: locks (blamed on the driver that took them, with its stack), global
   * aliases (alive, or dead but still committed), DMA in flight or commands still running, devices
   * still attached. After close: as they were when close began (before the devices were detached).
   */
  leaks(): Leak[];
  /** The whole run as JSON-safe data (schema/report.schema.json); `traceEvents` most recent events (default 10 000). */
  report(options?: { traceEvents?: number }): SimReport;
  /** Every violation, leak and fault as KASAN-shaped text, with a summary line. */
  renderText(): string;
  /** Writes report() as a self-contained HTML page (timeline, violations with their stacks); resolves once written. */
  writeHtml(file: string): Promise<void>;
  /** Writes report() as JSON; resolves once written. */
  writeJson(file: string): Promise<void>;
  /** A digest of all memory-manager state: equal digests mean equal state. */
  fingerprint(): string;
  /** Ends every device worker; resolves when all have exited. */
  close(): Promise<void>;
  /**
   * Runs driver tasks concurrently. Free running: all of them at once (Promise.all). Deterministic
   * mode: under the scheduler, one step at a time, until every task has returned and no device has
   * work left; rejects if a task throws, on a deadlock or at maxSteps. Resolves with how it ended.
   */
  run(...tasks: (() => unknown)[]): Promise<RunOutcome>;
  /** Waits `ms` milliseconds: on the host's clock, or in virtual time in deterministic mode. */
  sleep(ms: number): Promise<void>;
  /** Lets others run: the event loop's next turn, or a scheduling point in deterministic mode. */
  yield(): Promise<void>;
  /**
   * Resolves true once `cond()` holds, false after the timeout. Free running it polls every
   * millisecond; in deterministic mode the scheduler resumes the task exactly when `cond` holds (it
   * must only read state: registers, memory, flags).
   */
  waitUntil(cond: () => boolean, options?: WaitUntilOptions): Promise<boolean>;
  /** Deterministic mode: the schedule so far (decisions, steps, outcome); null when free running. */
  schedule(): ScheduleRecord | null;
}

class Driver implements DriverContext {
  readonly vmm: Vmm;
  readonly vdmad: Vdmad;
  constructor(
    readonly name: string,
    readonly ctx: number,
    core: MemoryCore,
    readonly cpu: Cpu,
    private readonly host: DeviceHost,
  ) {
    this.vmm = new Vmm(core, ctx);
    this.vdmad = new Vdmad(core, this.vmm, ctx);
  }

  attachDevice(kind: string | URL, options: AttachOptions = {}): Promise<DeviceHandle> {
    return this.host.attach(kind, this.ctx, this.name, options);
  }
}

class SimulatorImpl implements Simulator {
  readonly name: string;
  readonly vmm: VmmServices;
  readonly vdmad: VdmadServices;
  readonly cpu: Cpu;
  readonly memory: { bytes: number; frames: number };
  readonly pager: PagerControl;
  readonly trace: TraceControl;
  private readonly drivers: Driver[] = [];
  private readonly sink: ReportSink;
  private readonly host: DeviceHost;
  private readonly traceReader: TraceReader;
  private readonly traceTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private leaksAtClose: Leak[] | undefined;
  private readonly hangTimeoutMs: number;
  private readonly resolvedOptions: Readonly<Record<string, unknown>>;
  private readonly sched: Scheduler | undefined;

  constructor(
    readonly seed: number,
    private readonly shared: SharedViews,
    private readonly core: MemoryCore,
    mainTrace: TraceWriter,
    traceReader: TraceReader,
    opts: SimulatorOptions,
  ) {
    this.memory = { bytes: shared.frames * PAGESIZE, frames: shared.frames };
    this.resolvedOptions = resolvedOptions(opts, shared, seed);
    this.hangTimeoutMs = opts.hangTimeoutMs ?? 10_000;
    const ports = new PortBus();
    this.cpu = new SimCpu(core, ports);
    this.traceReader = traceReader;
    this.host = new DeviceHost(shared, { stacks: opts.stacks !== false, hangTimeoutMs: opts.hangTimeoutMs ?? 10_000 }, () => this.sink, mainTrace);
    this.sink = new ReportSink(
      shared,
      core.history,
      core,
      {
        driverName: (ctx) => this.drivers[ctx]?.name ?? null,
        attachment: (a) => this.host.attachmentRef(a),
        deviceInSlot: (slot) => this.host.deviceInSlot(slot),
        programmedStack: (a, command) => this.host.programmedStack(a, command),
      },
      { maxRecords: opts.maxRecords ?? 1000 },
      mainTrace,
    );
    core.observer = this.sink;
    if (opts.deterministic) {
      const d = opts.deterministic === true ? {} : opts.deterministic;
      // After every step: the step's records made (and stamped with it), and its events out of the
      // device rings — a step makes a few events, so no ring can overflow between two drains and
      // the trace (its hash) never depends on when a timer happened to drain it.
      const sched = new Scheduler(
        shared,
        seed,
        d,
        {
          drain: () => {
            this.sink.drain();
            traceReader.drain();
          },
          violations: () => this.sink.counts().total,
        },
        Math.min(this.hangTimeoutMs, 5000),
      );
      this.sched = sched;
      this.host.sched = sched;
      this.sink.stepOf = () => sched.step;
    }
    // Every reprogramming of the 8237s wakes the devices, so a peripheral waiting for its channel
    // (masked, at terminal count) looks again at once.
    // The port bus holds them: they claim their ports as they are made.
    new IsaDmaControllers(shared, ports, () => this.host.wakeAll());
    // Device findings become records before the main thread changes any fact they need.
    core.history.beforeChange = () => this.sink.drain();
    this.trace = {
      enabled: traceReader.on,
      events: () => traceReader.events(),
      stats: () => {
        traceReader.drain();
        return traceReader.stats();
      },
      hash: () => {
        traceReader.drain();
        return traceReader.hash();
      },
    };
    // Devices write their rings whether or not the driver calls anything: drain them now and then.
    // Never keeps the process alive.
    this.traceTimer = traceReader.on ? setInterval(() => traceReader.drain(), 20).unref() : undefined;
    const main = this.addDriver('default');
    this.name = main.name;
    this.vmm = main.vmm;
    this.vdmad = main.vdmad;
    this.pager = {
      get policy() {
        return core.policy;
      },
      set policy(p: PagerPolicy) {
        if (p !== 'off' && p !== 'random' && p !== 'aggressive') throw new SimulatorError(`unknown pager policy ${String(p)}`);
        core.policy = p;
      },
      pass: () => core.pagerPass(),
      step: () => core.pagerStep(),
      stats: core.stats,
    };
  }

  private addDriver(name: string): Driver {
    if (typeof name !== 'string' || name.length === 0) throw new SimulatorError('a driver needs a non-empty name');
    if (this.drivers.some((d) => d.name === name)) throw new SimulatorError(`a driver named "${name}" exists already`);
    if (this.drivers.length >= this.shared.config.maxDrivers) throw new SimulatorError(`at most ${this.shared.config.maxDrivers} drivers (maxDrivers)`);
    const ctx = this.drivers.length;
    clearHandouts(this.shared, ctx);
    const d = new Driver(name, ctx, this.core, this.cpu, this.host);
    this.drivers.push(d);
    return d;
  }

  createDriver(name: string): DriverContext {
    this.assertOpen();
    return this.addDriver(name);
  }

  attachDevice(kind: string | URL, options: AttachOptions = {}): Promise<DeviceHandle> {
    this.assertOpen();
    return this.drivers[0]!.attachDevice(kind, options);
  }

  createLink(options: { slots?: number; maxFrame?: number } = {}): Link {
    this.assertOpen();
    try {
      return makeLink(this.shared, createLinkShared(this.shared, options.slots ?? 64, options.maxFrame ?? 2048));
    } catch (e) {
      throw new SimulatorError((e as Error).message);
    }
  }

  openLink(endpoint: LinkEndpoint): HostLinkPort {
    this.assertOpen();
    try {
      return openHostLink(this.shared, endpoint, this.sched);
    } catch (e) {
      throw new SimulatorError((e as Error).message);
    }
  }

  violations(): Violation[] {
    return this.sink.violations();
  }

  violationCounts(): ViolationCounts {
    return this.sink.counts();
  }

  outstandingLocks(): OutstandingLock[] {
    const out: OutstandingLock[] = [];
    const core = this.core;
    for (let f = 0; f < this.shared.frames; f++) {
      const st = core.frameState(f as Frame);
      if (st.lock === 0) continue;
      const ctx = lockerOf(this.shared, f as Frame);
      const stack = formatStack(core.history.currentTenure(f)?.where);
      out.push({
        driver: this.drivers[ctx]?.name ?? null,
        linearPage: st.owner >= 0 ? st.owner : null,
        frame: f,
        lockCount: st.lock,
        ...(stack ? { stack } : {}),
      });
    }
    return out;
  }

  droppedViolations(): number {
    return this.sink.counts().ringDropped;
  }

  deviceFaults(): DeviceFault[] {
    return this.sink.faults();
  }

  render(v: Violation): string {
    return renderViolation(v);
  }

  leaks(): Leak[] {
    if (this.leaksAtClose) return [...this.leaksAtClose];
    this.sink.drain();
    const found = findLeaks({
      core: this.core,
      shared: this.shared,
      driverName: (ctx) => this.drivers[ctx]?.name ?? null,
      devices: () => this.host.attached(),
      deviceInSlot: (slot) => this.host.deviceInSlot(slot),
    });
    // Deterministic mode: every record carries its step — for a leak, the step it was seen at.
    const step = this.sched?.step;
    return step === undefined ? found : found.map((l) => ({ ...l, step }));
  }

  report(options: { traceEvents?: number } = {}): SimReport {
    const n = options.traceEvents ?? 10_000;
    if (!Number.isInteger(n) || n < 0) throw new SimulatorError(`traceEvents must be a non-negative integer, got ${String(n)}`);
    const events = this.trace.events();
    const counts = this.sink.counts();
    const stats = this.core.stats as unknown as Record<string, number>;
    return {
      schemaVersion: REPORT_SCHEMA_VERSION,
      tool: { name: 'dmasim', version: dmasimVersion() },
      node: process.version,
      createdAt: new Date().toISOString(),
      seed: this.seed,
      options: this.resolvedOptions,
      memory: { ...this.memory },
      drivers: this.drivers.map((d) => d.name),
      violations: this.violations(),
      violationCounts: counts,
      leaks: this.leaks(),
      faults: this.deviceFaults(),
      devices: this.host.history().map((d) => ({ ...d.ref, driver: d.driver, detached: d.detached })),
      counters: { pager: { ...stats }, violationsDropped: counts.ringDropped, faultsTotal: this.sink.faultTotal() },
      trace: { enabled: this.trace.enabled, stats: this.trace.stats(), events: n === 0 ? [] : events.slice(-n) },
      ...(this.sched ? { deterministic: { ...this.sched.record(), traceHash: this.trace.hash() } } : {}),
    };
  }

  run(...tasks: (() => unknown)[]): Promise<RunOutcome> {
    this.assertOpen();
    if (this.sched) return this.sched.run(tasks);
    if (tasks.length === 0 || tasks.some((f) => typeof f !== 'function')) return Promise.reject(new SimulatorError('sim.run() takes one or more async functions (the driver tasks)'));
    return Promise.all(tasks.map((f) => f())).then(() => 'done' as const);
  }

  sleep(ms: number): Promise<void> {
    if (typeof ms !== 'number' || !(ms >= 0)) return Promise.reject(new SimulatorError(`sleep takes a non-negative number of milliseconds, got ${String(ms)}`));
    if (this.sched?.inTask()) return this.sched.sleep(ms);
    return new Promise((r) => setTimeout(r, ms));
  }

  yield(): Promise<void> {
    if (this.sched?.inTask()) return this.sched.yield();
    return new Promise((r) => setImmediate(r));
  }

  async waitUntil(cond: () => boolean, options: WaitUntilOptions = {}): Promise<boolean> {
    if (typeof cond !== 'function') throw new SimulatorError('waitUntil takes a function');
    const timeoutMs = options.timeoutMs ?? 5000;
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)) throw new SimulatorError(`timeoutMs must be a non-negative number, got ${String(timeoutMs)}`);
    if (this.sched?.inTask()) return this.sched.waitUntil(cond, timeoutMs, options.what ?? 'a condition');
    const deadline = performance.now() + timeoutMs;
    while (!cond()) {
      if (performance.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 1));
    }
    return true;
  }

  schedule(): ScheduleRecord | null {
    return this.sched ? this.sched.record() : null;
  }

  async writeHtml(file: string): Promise<void> {
    await writeHtmlReport(file, this.report());
  }

  async writeJson(file: string): Promise<void> {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(this.report(), null, 1)}\n`);
  }

  renderText(): string {
    const v = this.violations();
    const leaks = this.leaks();
    const faults = this.deviceFaults();
    const counts = this.sink.counts();
    const parts = [...v.map(renderViolation), ...leaks.map(renderLeak), ...faults.map(renderFault)];
    const kept = counts.total > v.length ? ` (${v.length} kept in full)` : '';
    parts.push(`dmasim seed ${this.seed}: ${counts.total} violation${counts.total === 1 ? '' : 's'}${kept}, ${leaks.length} leak${leaks.length === 1 ? '' : 's'}, ${faults.length} device fault${faults.length === 1 ? '' : 's'}${counts.ringDropped ? `, ${counts.ringDropped} records dropped` : ''}`);
    return parts.join('\n\n');
  }

  fingerprint(): string {
    return this.core.fingerprint();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Commands rung just before close get to finish (bounded) before leaks are judged.
    await this.host.quiesce(Math.min(this.hangTimeoutMs, 5000));
    this.leaksAtClose = this.leaks();
    this.closed = true;
    await this.host.close();
    if (this.traceTimer) clearInterval(this.traceTimer);
    this.sink.drain();
    this.traceReader.drain();
  }

  private assertOpen(): void {
    if (this.closed) throw new SimulatorError('the simulator is closed');
  }
}

/** The options in force, defaults filled in, as JSON-safe data (for reports). */
function resolvedOptions(o: SimulatorOptions, shared: SharedViews, seed: number): Record<string, unknown> {
  const t = shared.config.traceCapacity;
  return {
    memory: shared.config.memoryBytes,
    seed,
    pager: o.pager ?? 'off',
    ...(o.quarantine !== undefined ? { quarantine: o.quarantine } : {}),
    onViolation: o.onViolation ?? 'block',
    stacks: o.stacks ?? true,
    maxDrivers: shared.config.maxDrivers,
    maxDevices: shared.config.maxDevices,
    ringCapacity: shared.config.ringCapacity,
    ...(o.swapPages !== undefined ? { swapPages: o.swapPages } : {}),
    hangTimeoutMs: o.hangTimeoutMs ?? 10_000,
    maxRecords: o.maxRecords ?? 1000,
    checks: o.checks ?? true,
    trace: t === 0 ? false : { capacity: t, keep: typeof o.trace === 'object' ? (o.trace.keep ?? 65_536) : 65_536 },
    deterministic: o.deterministic ? JSON.parse(JSON.stringify(o.deterministic === true ? {} : o.deterministic)) as unknown : false,
  };
}

function renderFault(f: DeviceFault): string {
  const bar = '='.repeat(78);
  const lines = [bar, `BUG: dmasim: device-fault (${f.kind}) in ${f.device.kind}#${f.device.id}, driver "${f.driver}"${f.command !== undefined ? `, command ${f.command}` : ''}`, f.message];
  if (f.stack) lines.push('', ...f.stack.split('\n').map((l) => `  ${l.trim()}`));
  lines.push(bar);
  return lines.join('\n');
}

/** Creates a simulator. Resolves once shared memory is laid out (devices start on attach). */
export async function createSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const memory = options.memory ?? DEFAULT_MEMORY;
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new SimulatorError(`seed must be an unsigned 32-bit integer, got ${String(seed)}`);
  const pager = options.pager ?? 'off';
  if (pager !== 'off' && pager !== 'random' && pager !== 'aggressive') throw new SimulatorError(`unknown pager policy ${String(pager)}`);
  const onViolation = options.onViolation ?? 'block';
  if (!(onViolation in VIOLATION_MODE)) throw new SimulatorError(`onViolation must be 'block', 'allow' or 'throw', got ${String(onViolation)}`);
  const trace = traceOptions(options.trace);
  let shared: SharedViews;
  try {
    shared = createShared({
      memoryBytes: memory,
      maxDrivers: options.maxDrivers ?? 8,
      maxDevices: options.maxDevices ?? 16,
      ringCapacity: options.ringCapacity ?? 4096,
      traceCapacity: trace.capacity,
    });
  } catch (e) {
    throw new SimulatorError((e as Error).message);
  }
  const maxRecords = options.maxRecords ?? 1000;
  if (!Number.isInteger(maxRecords) || maxRecords < 0) throw new SimulatorError(`maxRecords must be a non-negative integer, got ${String(maxRecords)}`);
  Atomics.store(shared.control, H.ON_VIOLATION, VIOLATION_MODE[onViolation]);
  if (options.checks !== undefined && typeof options.checks !== 'boolean') throw new SimulatorError(`checks must be a boolean, got ${String(options.checks)}`);
  // Before any device worker exists: every port reads it once, at construction.
  Atomics.store(shared.control, H.UNCHECKED, options.checks === false ? 1 : 0);
  // Checker self-tests only (src/sabotage.ts): 0 unless the internal symbol option is given.
  Atomics.store(shared.control, H.SABOTAGE, sabotageWord(options));
  const det = options.deterministic;
  if (det !== undefined && typeof det !== 'boolean' && (typeof det !== 'object' || det === null)) throw new SimulatorError(`deterministic must be a boolean or options, got ${String(det)}`);
  // Before any device worker exists: every worker reads it once (src/sched/gate.ts).
  Atomics.store(shared.control, H.DETERMINISTIC, det ? 1 : 0);
  const reader = new TraceReader(shared, trace.keep);
  // The main thread's ring is drained by the main thread itself as it fills.
  const mainTrace = new TraceWriter(shared, 0, () => reader.drain());
  const core = new MemoryCore(
    shared,
    {
      seed,
      pager,
      stacks: options.stacks === false ? 'none' : options.stacks === 'all-events' ? 'all-events' : 'reported',
      trace: mainTrace,
      ...(options.quarantine !== undefined ? { quarantine: options.quarantine } : {}),
      ...(options.swapPages !== undefined ? { swapPages: options.swapPages } : {}),
    },
    () => nextSeq(shared),
  );
  return new SimulatorImpl(seed, shared, core, mainTrace, reader, options);
}

function traceOptions(t: SimulatorOptions['trace']): { capacity: number; keep: number } {
  if (t === false) return { capacity: 0, keep: 0 };
  const o = t === undefined || t === true ? {} : t;
  if (typeof o !== 'object' || o === null) throw new SimulatorError(`trace must be a boolean or { capacity, keep }, got ${String(t)}`);
  const capacity = o.capacity ?? DEFAULT_TRACE_CAPACITY;
  const keep = o.keep ?? 65_536;
  if (!Number.isInteger(capacity) || capacity < 2 || capacity > MAX_TRACE_CAPACITY || (capacity & (capacity - 1)) !== 0) throw new SimulatorError(`trace.capacity must be a power of two in 2…${MAX_TRACE_CAPACITY}, got ${String(capacity)}`);
  if (!Number.isInteger(keep) || keep < 1 || keep > 1 << 24) throw new SimulatorError(`trace.keep must be an integer in 1…${1 << 24}, got ${String(keep)}`);
  return { capacity, keep };
}
