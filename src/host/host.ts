/**
 * The device host (main thread): spawns one worker per device instance, supervises it, and is the
 * only main-side module that touches worker_threads and comlink.
 *
 *  - Data plane: registers, doorbell and interrupt words in the device control block. writeReg
 *    stores, rings with an Atomics add + notify; waitForInterrupt uses Atomics.waitAsync, so the main
 *    thread never blocks.
 *  - Control plane: comlink RPC behind `call`, which announces each RPC to the worker's loop and
 *    rejects it if the worker exits, errors or is detached — comlink alone would hang forever.
 *  - Supervision: 'error', 'exit' and fault messages become DeviceFault records (in the report
 *    sink); a watchdog reports a device that owes a doorbell and makes no progress for
 *    hangTimeoutMs as hung and terminates it. The simulator and the other devices go on.
 *  - Clean-up after a worker has really exited (its 'exit' event), however it ended: its in-flight
 *    bits are cleared on every frame of its recorded access (src/dma/record.ts), its trace ring's
 *    BUSY bit is lowered, and a violation-ring slot it had claimed but not published is published
 *    as a tombstone (ring.ts), so neither a false 'unlock-during-dma', a stalled trace nor a wedged
 *    ring outlives the device.
 *  - A handle outlives its device: once detached, every method throws (or rejects with) DeviceError
 *    'detached' — its slot, registers and interrupt line may belong to a newer device by then.
 */

import { readdirSync, statSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { catalog } from '../../devices/registry.js';
import { applyRead, applyWrite, checkDescriptor, rings } from '../descriptor.js';
import type { DeviceDescriptor } from '../device-api.js';
import { SimulatorError } from '../errors.js';
import { attachLinkShared, type LinkViews } from '../layout.js';
import { claimLinkSide, isLinkEndpoint, linkOwner, releaseLinkSide, type LinkSide } from '../link.js';
import { DCB, DCB_STRIDE, DEVICE_REGS, DEVICE_STATE, H, MMIO_BASE, MMIO_STRIDE, dcbIndex, type SharedViews } from '../layout.js';
import { registerWritten, registersReset } from '../provenance.js';
import { settleClaim, takeClaimNote } from '../ring.js';
import { recoverAccess } from '../dma/record.js';
import { kindWord, releaseTraceProducer, type TraceWriter } from '../trace.js';
import type { DeviceFault, DeviceRef, FaultKind, ReportSink } from '../report.js';
import { nodeEndpoint } from './endpoint.js';
import { wakeDevice } from '../wake.js';
import type { DeviceControl, DeviceWorkerData, WorkerMessage } from './protocol.js';
import type { LiveDevice } from '../leaks.js';
import { DeterministicError, type Scheduler } from '../sched/scheduler.js';
import { SCHED_REASON } from '../sched/gate.js';

export interface AttachOptions {
  /** A label for reports (default: the kind). */
  name?: string;
  /** Address width in bits, 1 … 32 (default 32; 24 for an ISA-style device). */
  addressBits?: number;
  /** A no-crossing boundary in bytes, a power of two (e.g. 65536 or 131072), or 0 for none. */
  boundary?: number;
  /** How long the worker may take to load (default 30 000 ms). */
  startTimeoutMs?: number;
  /**
   * Device-specific options, passed to the model by structured clone: plain data, typed arrays,
   * SharedArrayBuffers (shared, e.g. a disk image) and link endpoints (sim.createLink()), which the
   * host claims for this device (top-level option values only).
   */
  [option: string]: unknown;
}

export type DeviceErrorCode = 'timeout' | 'device-fault' | 'detached' | 'load-failed' | 'bad-register';

/** A device operation that cannot complete. */
export class DeviceError extends Error {
  override readonly name = 'DeviceError';
  constructor(
    readonly code: DeviceErrorCode,
    message: string,
    readonly device: DeviceRef,
  ) {
    super(`${device.kind}#${device.id}: ${message}`);
  }
}

/** A device's handle. Once the device is detached, every method but detach throws (or rejects with) DeviceError 'detached'. */
export interface DeviceHandle {
  /** The device slot (reused by later attachments). */
  readonly id: number;
  /** This attachment: host-wide, never reused; records name it. */
  readonly attachment: number;
  readonly kind: string;
  readonly name: string;
  readonly driver: string;
  /** Physical address of the device's MMIO window (registers), for re-entrancy tests. */
  readonly mmioBase: number;
  readReg(index: number): number;
  writeReg(index: number, value: number): void;
  /** Resolves when the interrupt line is raised; rejects with DeviceError on timeout or fault. */
  waitForInterrupt(options?: { timeoutMs?: number }): Promise<{ count: number }>;
  ackInterrupt(): void;
  /**
   * True when the device has served every doorbell rung so far and, in deterministic
   * mode, stands at its idle grant point, between units of work: a control request (stats, reset)
   * is then answered at once. It only reads shared words, so it is a `sim.waitUntil` condition —
   * in deterministic mode a control request made while the device is inside a command would wait
   * for grants that cannot come during the task's step. Also true once the device is detached or
   * faulted (it never throws): nothing more will happen, and a request rejects with the reason.
   */
  idle(): boolean;
  stats(): Promise<Record<string, number>>;
  reset(): Promise<void>;
  /**
   * Asks the device to stop, waits up to `graceMs` (default 1000) for it to stop between commands,
   * then ends its worker wherever it is; resolves once the worker has exited and everything it left
   * in shared memory is undone.
   */
  detach(options?: { graceMs?: number }): Promise<void>;
}

export interface HostOptions {
  stacks: boolean;
  hangTimeoutMs: number;
}

/** Attachments listed in reports (the most recent; a stress run attaches thousands). */
const HISTORY_KEPT = 256;
/** Programming stacks kept per device (the most recent commands). */
const PROGRAMMED_STACKS = 64;
const DOORBELL = kindWord('doorbell');
const IRQ_ACK = kindWord('irq-ack');

class Device implements DeviceHandle {
  readonly mmioBase: number;
  /** Fixed once the worker is ready (a custom module's kind comes from its descriptor). */
  ref: DeviceRef;
  descriptor: DeviceDescriptor;
  /** Link sides this attachment holds (released when it is). */
  readonly links: { l: LinkViews; side: LinkSide }[] = [];
  remote: Comlink.Remote<DeviceControl> | undefined;
  /** Set once the worker can no longer serve: the reason every pending call is rejected with. */
  dead: DeviceError | undefined;
  private readonly pending = new Set<(e: Error) => void>();
  readonly programmed = new Map<number, Error>();
  lastProgress = -1;
  /** When the watchdog last saw progress while a doorbell was owed (undefined: idle). */
  busySince: number | undefined;
  exited: Promise<void>;
  private markExited!: () => void;
  /** Where it was attached (device-leak blame); undefined with stacks off. */
  readonly attachedAt: Error | undefined;

  constructor(
    private readonly host: DeviceHost,
    private readonly v: SharedViews,
    readonly id: number,
    readonly attachment: number,
    descriptor: DeviceDescriptor,
    name: string,
    readonly driver: string,
    readonly worker: Worker,
  ) {
    this.mmioBase = MMIO_BASE + id * MMIO_STRIDE;
    this.descriptor = descriptor;
    this.ref = Object.freeze({ id, attachment, kind: descriptor.kind, name });
    this.exited = new Promise((r) => (this.markExited = r));
    this.attachedAt = host.options.stacks ? new Error('attached') : undefined;
  }

  get kind(): string {
    return this.ref.kind;
  }

  get name(): string {
    return this.ref.name;
  }

  private idx(field: number): number {
    return dcbIndex(this.v, this.id, field);
  }

  private reg(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= Math.min(this.descriptor.registers, DEVICE_REGS)) {
      throw new DeviceError('bad-register', `no register ${String(index)} (the device has ${this.descriptor.registers})`, this.ref);
    }
    return this.idx(DCB.REGS + index);
  }

  /** A detached handle touches nothing: its slot may already serve another device. */
  private live(): void {
    if (this.dead?.code === 'detached') throw this.dead;
  }

  readReg(index: number): number {
    this.live();
    // Read-to-clear is one atomic exchange (descriptor.ts): a cause bit the device sets meanwhile is
    // either returned now or kept for the next read.
    return applyRead(this.v.control, this.reg(index), this.descriptor.rules?.[index]);
  }

  writeReg(index: number, value: number): void {
    this.live();
    this.reg(index);
    const c = this.v.control;
    const rule = this.descriptor.rules?.[index];
    // When the driver wrote the register (src/provenance.ts), stamped before the register itself:
    // a device that reads the new value and then its source sees this stamp or a later one.
    if (rule?.write !== 'read-only') registerWritten(this.v, this.id, rule?.target ?? index);
    // The register write (an atomic store or read-modify-write, by the register's rule) is ordered
    // before the doorbell add (both seq-cst): a worker that sees the new RUNG sees the register.
    applyWrite(c, (i) => this.reg(i), index, value, rule);
    if (!rings(this.descriptor.doorbells, index, value)) return;
    const command = Atomics.load(c, this.idx(DCB.DOORBELL_RUNG)) + 1;
    if (this.host.options.stacks) {
      if (this.programmed.size >= PROGRAMMED_STACKS) this.programmed.delete(this.programmed.keys().next().value!);
      this.programmed.set(command, new Error('programmed'));
    }
    const t = this.host.trace;
    if (t.on) t.emit(DOORBELL, this.attachment, this.host.driverCtx(this), command);
    Atomics.add(c, this.idx(DCB.DOORBELL_RUNG), 1);
    this.wake();
  }

  /**
   * Bumps WAKE and, if the worker's loop is parked, wakes its Atomics.wait (it re-checks RUNG and
   * CTL_PENDING). The bump precedes the load of PARKED (seq-cst), the mirror of the loop's store of
   * PARKED before its wait (runtime.ts): a spinning worker sees the bump and needs no futex wake-up.
   */
  private wake(): void {
    wakeDevice(this.v, this.id);
  }


  async waitForInterrupt(options: { timeoutMs?: number } = {}): Promise<{ count: number }> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const deadline = performance.now() + timeoutMs;
    const c = this.v.control;
    const irq = this.idx(DCB.IRQ);
    const sched = this.host.sched;
    if (sched?.inTask()) {
      // Deterministic mode: the scheduler delivers the interrupt (or the timeout, in virtual time).
      const raised = await sched.waitUntil(() => this.dead !== undefined || Atomics.load(c, irq) === 1, timeoutMs, `an interrupt from ${this.ref.kind}#${this.id}`);
      if (this.dead) throw this.dead;
      if (!raised) throw new DeviceError('timeout', `no interrupt within ${timeoutMs} ms (virtual time)`, this.ref);
      return { count: Atomics.load(c, this.idx(DCB.IRQ_COUNT)) };
    }
    for (;;) {
      // A dead device's line says nothing about it: after a detach the slot may belong to a newer
      // device, whose interrupt this handle must not take. So `dead` is checked first.
      if (this.dead) throw this.dead;
      // The device stores IRQ_COUNT before IRQ (runtime.ts), so a seen level has its count.
      if (Atomics.load(c, irq) === 1) return { count: Atomics.load(c, this.idx(DCB.IRQ_COUNT)) };
      const left = deadline - performance.now();
      if (left <= 0) throw new DeviceError('timeout', `no interrupt within ${timeoutMs} ms`, this.ref);
      // Never blocks the main thread. The host notifies this word when the device dies, so a
      // waiter learns of a fault at once rather than at its timeout.
      const r = Atomics.waitAsync(c, irq, 0, left);
      if (r.async) await r.value;
    }
  }

  ackInterrupt(): void {
    this.live();
    const t = this.host.trace;
    if (t.on) t.emit(IRQ_ACK, this.attachment);
    Atomics.store(this.v.control, this.idx(DCB.IRQ), 0);
  }

  idle(): boolean {
    if (this.dead) return true;
    const c = this.v.control;
    if (Atomics.load(c, this.idx(DCB.DOORBELL_RUNG)) !== Atomics.load(c, this.idx(DCB.DOORBELL_SERVED))) return false;
    return !this.host.sched || this.parkedBetweenCommands();
  }

  async stats(): Promise<Record<string, number>> {
    await this.servable('stats()');
    return this.call(async (r) => {
      const s = await r.stats();
      return { ...s, doorbells: Atomics.load(this.v.control, this.idx(DCB.DOORBELL_RUNG)), interrupts: Atomics.load(this.v.control, this.idx(DCB.IRQ_COUNT)) };
    });
  }

  async reset(): Promise<void> {
    await this.servable('reset()');
    await this.call((r) => r.reset());
    // Not through ackInterrupt: a detach that began meanwhile must not turn a finished reset into a throw.
    if (!this.dead) Atomics.store(this.v.control, this.idx(DCB.IRQ), 0);
  }

  async detach(options: { graceMs?: number } = {}): Promise<void> {
    let graceMs = options.graceMs ?? 1000;
    if (!Number.isFinite(graceMs) || graceMs < 0) throw new RangeError(`graceMs must be a non-negative number, got ${String(graceMs)}`);
    if (this.dead?.code === 'detached') return this.exited;
    const sched = this.host.sched;
    if (sched && !this.dead && graceMs > 0) {
      // Deterministic mode: a device parked inside a command (after its interrupt, between frames)
      // serves no request until the scheduler lets it finish — as, free running, its event loop is
      // busy until the command ends. From inside a task, let it get back to its loop, doorbells
      // served, first: within the grace period (virtual time). (Not when the task already waits —
      // detaches run together in one task: the scheduler runs the devices meanwhile anyway, and a
      // second wait at once would be refused.)
      if (sched.mayWait() && !this.idleInLoop()) await sched.waitUntil(() => this.dead !== undefined || this.idleInLoop(), graceMs, `${this.ref.kind}#${this.id} back in its loop, to detach`);
      // Still inside a command (outside any task: close() after a run stopped at its first
      // violation; or the grace passed): nothing will grant it, so waiting out the grace period
      // would only cost time. It is stopped where it is, as a command that outlives its grace.
      if (this.parkedInsideCommand()) graceMs = 0;
    }
    if (!this.dead && graceMs > 0) {
      const deadline = performance.now() + graceMs;
      // Ask the loop to stop; whatever happens, the worker is terminated next.
      await Promise.race([this.call((r) => r.shutdown()).catch(() => undefined), new Promise((r) => setTimeout(r, graceMs).unref())]);
      // shutdown() only asks: the loop leaves on its next turn, runs the model's close() (a disk
      // writing its image to its file) and then publishes STOPPED. Terminating at the reply would
      // cut close() off; so wait for it, within the same grace period.
      await this.stopped(deadline);
    }
    this.kill(new DeviceError('detached', 'the device was detached', this.ref));
    await this.exited;
    this.host.release(this);
  }

  /**
   * Deterministic mode: a device parked inside a command (after its interrupt, between frames, in
   * `wake.wait`) answers no control request until the scheduler lets it finish the command — as,
   * free running, its event loop is busy until the command ends. From a task, that is a scheduler
   * wait (the devices run meanwhile; a device that can never finish ends the run as a deadlock or at
   * maxSteps, naming this wait). Outside a run nothing grants it, so the call is refused at once
   * rather than left hanging. All devices are parked whenever this runs (one entity at a time), so
   * the test is stable.
   */
  private async servable(what: string): Promise<void> {
    const sched = this.host.sched;
    if (!sched || this.dead || !this.parkedInsideCommand()) return;
    const name = `${this.ref.kind}#${this.id}`;
    if (sched.mayWait()) {
      await sched.waitUntil(() => this.dead !== undefined || this.parkedBetweenCommands(), Infinity, `${name} to finish its command, for ${what}`);
      return;
    }
    if (!sched.inTask()) {
      throw new DeterministicError(`${name} is parked inside a command: in deterministic mode it answers ${what} only once the scheduler lets it finish; call ${what} inside sim.run(), or wait for sim.waitUntil(() => dev.idle()) first`);
    }
    // A task already in a scheduler wait (Promise.all of several calls): that wait lets the
    // scheduler run the device back to its loop, where the request is served.
  }

  /** Deterministic mode: parked at its loop's grant point (IDLE), where control requests are served. */
  private parkedBetweenCommands(): boolean {
    const c = this.v.control;
    // Parked (TURN odd) at the loop's grant point; REASON is stored before the TURN add (gate.ts).
    return (Atomics.load(c, this.idx(DCB.SCHED_TURN)) & 1) === 1 && Atomics.load(c, this.idx(DCB.SCHED_REASON)) === SCHED_REASON.IDLE;
  }

  /** Deterministic mode: parked at a grant point inside a command (not between commands). */
  private parkedInsideCommand(): boolean {
    const c = this.v.control;
    return (Atomics.load(c, this.idx(DCB.SCHED_TURN)) & 1) === 1 && Atomics.load(c, this.idx(DCB.SCHED_REASON)) !== SCHED_REASON.IDLE;
  }

  /** Deterministic mode: parked at its loop's grant point (IDLE) with every doorbell served. */
  private idleInLoop(): boolean {
    const c = this.v.control;
    return this.parkedBetweenCommands() && Atomics.load(c, this.idx(DCB.DOORBELL_RUNG)) === Atomics.load(c, this.idx(DCB.DOORBELL_SERVED));
  }

  /** Resolves once the loop has left RUNNING (STOPPED after close(), or FAULTED), or at `deadline`. */
  private async stopped(deadline: number): Promise<void> {
    const c = this.v.control;
    const at = this.idx(DCB.STATE);
    for (;;) {
      const state = Atomics.load(c, at);
      if (state !== DEVICE_STATE.RUNNING || this.dead) return;
      const left = deadline - performance.now();
      if (left <= 0) return;
      // Never blocks the main thread; the loop notifies this word as it publishes its state (runtime.ts).
      const r = Atomics.waitAsync(c, at, state, left);
      if (r.async) await r.value;
    }
  }

  /**
   * An RPC, announced to the worker loop first (so a worker parked in Atomics.wait returns to its
   * event loop), and rejected if the worker dies before answering.
   */
  call<T>(fn: (r: Comlink.Remote<DeviceControl>) => Promise<T>): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const remote = this.remote!;
    return new Promise<T>((resolve, reject) => {
      this.pending.add(reject);
      Atomics.add(this.v.control, this.idx(DCB.CTL_PENDING), 1);
      this.wake();
      fn(remote).then(
        (x) => {
          this.pending.delete(reject);
          resolve(x);
        },
        (e: unknown) => {
          this.pending.delete(reject);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  /** Marks the device dead, rejects pending calls and waiters, ends the worker. */
  kill(reason: DeviceError): void {
    if (!this.dead || reason.code === 'detached') this.dead = reason;
    for (const reject of this.pending) reject(reason);
    this.pending.clear();
    Atomics.notify(this.v.control, this.idx(DCB.IRQ));
    if (this.remote) {
      this.remote[Comlink.releaseProxy]();
      this.remote = undefined;
    }
    void this.worker.terminate();
  }

  onExit(): void {
    this.markExited();
  }
}

/** A detached device, remembered until every record it could have made has been drained. */
interface Retired {
  readonly dev: Device;
  /** RING_WRITE when it was released: once RING_READ passes it, no record of it is left. */
  readonly ringWrite: number;
}

export class DeviceHost {
  private readonly slots: (Device | undefined)[];
  private watchdog: NodeJS.Timeout | undefined;
  private closed = false;
  /** Host-wide attachment serial: never reused, so a record names the attachment that made it. */
  private attachments = 0;
  /** Deterministic mode's scheduler (set by the simulator), told of every device that attaches. */
  sched: Scheduler | undefined;
  private readonly retired = new Map<number, Retired>();
  private readonly attachLog: Device[] = [];

  constructor(
    private readonly v: SharedViews,
    readonly options: HostOptions,
    /** The report sink (violations drained on release; faults recorded). */
    private readonly sink: () => ReportSink,
    /** The main thread's trace writer. */
    readonly trace: TraceWriter,
  ) {
    this.slots = new Array<Device | undefined>(v.config.maxDevices).fill(undefined);
  }

  /** The device an attachment id names: live, or detached with records possibly still in the ring. */
  attachmentRef(attachment: number): DeviceRef | null {
    for (const d of this.slots) if (d?.attachment === attachment) return d.ref;
    return this.retired.get(attachment)?.dev.ref ?? null;
  }

  deviceInSlot(slot: number): DeviceRef | null {
    return this.slots[slot]?.ref ?? null;
  }

  programmedStack(attachment: number, command: number): Error | undefined {
    for (const d of this.slots) if (d?.attachment === attachment) return d.programmed.get(command);
    return this.retired.get(attachment)?.dev.programmed.get(command);
  }

  /** Driver context index of a device's binding. */
  driverCtx(dev: Device): number {
    return Atomics.load(this.v.control, dcbIndex(this.v, dev.id, DCB.DRIVER));
  }

  /** Bumps every live device's wake word (the ISA DMA controllers changed). */
  wakeAll(): void {
    // A device waiting on its wake word (the loop, or a model inside a command) re-checks its state;
    // only a parked one costs a futex wake-up (src/wake.ts).
    for (const d of this.slots) if (d && !d.dead) wakeDevice(this.v, d.id);
  }

  /** Devices attached now. */
  live(): DeviceRef[] {
    return this.slots.filter((d): d is Device => d !== undefined && !d.dead).map((d) => d.ref);
  }

  /** Devices attached and not detached (faulted ones included), with their doorbell counts. */
  attached(): LiveDevice[] {
    const c = this.v.control;
    return this.slots
      .filter((d): d is Device => d !== undefined && d.dead?.code !== 'detached')
      .map((d) => ({
        ref: d.ref,
        driver: d.driver,
        // A faulted device serves nothing more: what it owes is not "in flight".
        rung: d.dead ? 0 : Atomics.load(c, dcbIndex(this.v, d.id, DCB.DOORBELL_RUNG)),
        served: d.dead ? 0 : Atomics.load(c, dcbIndex(this.v, d.id, DCB.DOORBELL_SERVED)),
        attachedAt: d.attachedAt,
      }));
  }

  /**
   * Resolves once no live device owes a doorbell (each has served every command rung, or faulted),
   * or after `timeoutMs`: close() lets the commands a test just rang finish before it looks for
   * DMA still in flight, so a driver that rang a last register and returned is not blamed for the
   * device's microseconds. Polls; never blocks the main thread.
   */
  async quiesce(timeoutMs: number, stallMs = 250): Promise<void> {
    // Deterministic mode: devices run only when sim.run() grants them, which ran them to rest (or
    // to the same bound, in virtual time: Scheduler quiesceMs).
    if (this.sched) return;
    const c = this.v.control;
    const at = (d: Device, f: number) => Atomics.load(c, dcbIndex(this.v, d.id, f));
    const deadline = performance.now() + timeoutMs;
    // A device that owes a doorbell but shows no progress (a hang, a model spinning on purpose)
    // ends the wait after stallMs without progress: only commands that are moving are waited for.
    let mark = '';
    let since = performance.now();
    for (;;) {
      const owing = this.slots.filter((d): d is Device => d !== undefined && !d.dead && at(d, DCB.DOORBELL_SERVED) !== at(d, DCB.DOORBELL_RUNG));
      if (owing.length === 0) return;
      const now = performance.now();
      const state = owing.map((d) => `${d.id}:${at(d, DCB.DOORBELL_SERVED)}:${at(d, DCB.PROGRESS)}`).join(',');
      if (state !== mark) {
        mark = state;
        since = now;
      }
      if (now >= deadline || now - since >= stallMs) return;
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Every attachment so far, oldest first (the most recent HISTORY_KEPT), for reports. */
  history(): { ref: DeviceRef; driver: string; detached: boolean }[] {
    return this.attachLog.map((d) => ({ ref: d.ref, driver: d.driver, detached: this.slots[d.id] !== d }));
  }

  async attach(kind: string | URL, ctx: number, driver: string, options: AttachOptions): Promise<DeviceHandle> {
    if (this.closed) throw new SimulatorError('the simulator is closed');
    const module = deviceModuleUrl(kind);
    const entry = module === null ? catalog[kind as string] : undefined;
    if (module === null && !entry) throw new SimulatorError(`unknown device kind "${String(kind)}" (known: ${Object.keys(catalog).join(', ')}; or a module path or URL)`);
    // A custom module's descriptor arrives with its worker; until then it is known by its file name.
    const provisional: DeviceDescriptor = entry?.descriptor ?? { kind: basename(new URL(module!).pathname).replace(/\.[cm]?[jt]s$/, '') || 'custom', registers: DEVICE_REGS, doorbells: [] };
    const addressBits = options.addressBits ?? 32;
    const boundary = options.boundary ?? 0;
    if (!Number.isInteger(addressBits) || addressBits < 1 || addressBits > 32) throw new SimulatorError(`addressBits must be an integer in 1…32, got ${String(addressBits)}`);
    if (!Number.isInteger(boundary) || boundary < 0 || (boundary !== 0 && (boundary & (boundary - 1)) !== 0)) throw new SimulatorError(`boundary must be 0 or a power of two, got ${String(boundary)}`);
    const id = this.slots.indexOf(undefined);
    if (id < 0) throw new SimulatorError(`at most ${this.slots.length} devices at once (maxDevices)`);
    const name = typeof options.name === 'string' ? options.name : provisional.kind;
    const { startTimeoutMs, ...rest } = options;
    let plain: Record<string, unknown>;
    try {
      // What the worker will receive (workerData is cloned the same way), checked here so that a
      // function or a class instance in the options is a clear error, not a half-started worker.
      plain = structuredClone(rest);
    } catch (e) {
      throw new SimulatorError(`attach options must survive structured clone (plain data, typed arrays, SharedArrayBuffers, link endpoints): ${(e as Error).message}`);
    }
    const links = this.claimLinks(id, plain);
    const attachment = ++this.attachments;

    const c = this.v.control;
    const base = dcbIndex(this.v, id, 0);
    c.fill(0, base, base + DCB_STRIDE);
    // A register the driver never writes counts as written at attach (its power-on value).
    registersReset(this.v, id, DEVICE_REGS);
    c[dcbIndex(this.v, id, DCB.DRIVER)] = ctx;
    c[dcbIndex(this.v, id, DCB.ADDRESS_BITS)] = addressBits;
    c[dcbIndex(this.v, id, DCB.BOUNDARY)] = boundary;
    c[dcbIndex(this.v, id, DCB.ATTACHMENT)] = attachment;
    // Published by the Worker constructor's message (postMessage orders these stores before it).
    Atomics.store(c, dcbIndex(this.v, id, DCB.STATE), DEVICE_STATE.STARTING);

    const data: DeviceWorkerData = { ram: this.v.ramBuffer, control: this.v.controlBuffer, id, kind: module === null ? (kind as string) : provisional.kind, ...(module !== null ? { module } : {}), options: plain };
    let worker: Worker;
    try {
      worker = spawnDeviceWorker(data);
    } catch (e) {
      for (const k of links) releaseLinkSide(this.v, k.l, k.side, id + 1);
      throw new SimulatorError(`could not start the device worker: ${(e as Error).message}`);
    }
    const dev = new Device(this, this.v, id, attachment, provisional, name, driver, worker);
    dev.links.push(...links);
    this.slots[id] = dev;

    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new DeviceError('load-failed', `worker did not start within ${startTimeoutMs ?? 30_000} ms`, dev.ref)), (startTimeoutMs as number | undefined) ?? 30_000);
      worker.on('message', (m: WorkerMessage) => {
        if (m?.type === 'dmasim-ready') {
          clearTimeout(timer);
          if (module === null) return resolve();
          try {
            dev.descriptor = checkDescriptor(m.descriptor);
            const kind = dev.descriptor.kind;
            dev.ref = Object.freeze({ ...dev.ref, kind, name: typeof options.name === 'string' ? options.name : kind });
            resolve();
          } catch (e) {
            reject(new DeviceError('load-failed', (e as Error).message, dev.ref));
          }
        } else if (m?.type === 'dmasim-fault') {
          this.fault(dev, m.fault.name === 'DmaViolationError' ? 'violation' : 'threw', m.fault.message, m.fault.stack, m.fault.command);
        }
      });
      worker.on('error', (e: Error) => {
        clearTimeout(timer);
        reject(new DeviceError('load-failed', e.message, dev.ref));
        this.fault(dev, dev.remote ? 'threw' : 'load-failed', e.message, e.stack);
      });
      worker.on('exit', (code) => {
        clearTimeout(timer);
        // The worker has stopped for good: undo what it left half-done in shared memory, before
        // anyone waiting on its exit (detach, close) goes on.
        this.cleanUpAfter(id);
        reject(new DeviceError('load-failed', `worker exited with code ${code} before it was ready`, dev.ref));
        if (!dev.dead) this.fault(dev, 'exited', `worker exited with code ${code}`);
        dev.onExit();
      });
    });
    try {
      await ready;
    } catch (e) {
      dev.kill(e as DeviceError);
      await dev.exited;
      this.release(dev);
      throw e;
    }
    dev.remote = Comlink.wrap<DeviceControl>(nodeEndpoint(worker));
    this.sched?.deviceAttached(dev);
    this.attachLog.push(dev);
    if (this.attachLog.length > HISTORY_KEPT) this.attachLog.shift();
    this.startWatchdog();
    return dev;
  }

  /** Ring slots noted by dead writers that a live writer's note also named (settleClaim): retried. */
  private readonly unsettledClaims: number[] = [];
  private claimRetry: NodeJS.Timeout | undefined;

  /**
   * After a device's worker has exited: clears its in-flight bits (its access record), releases its
   * trace ring's BUSY word, and settles the violation-ring slot it had noted (tombstone if it died
   * holding it).
   */
  private cleanUpAfter(id: number): void {
    recoverAccess(this.v, id);
    releaseTraceProducer(this.v, 1 + id);
    const w = takeClaimNote(this.v, id);
    if (w >= 0) this.unsettledClaims.push(w);
    this.settleClaims();
  }

  private settleClaims(): void {
    const left = this.unsettledClaims.filter((w) => !settleClaim(this.v, w));
    this.unsettledClaims.length = 0;
    this.unsettledClaims.push(...left);
    if (left.length > 0 && !this.claimRetry) {
      // A live writer's note named the slot: it either holds it (and will publish) or lost the claim
      // (and moves its note on); either way, within microseconds. Supervision never keeps the
      // process alive on its own.
      this.claimRetry = setTimeout(() => {
        this.claimRetry = undefined;
        this.settleClaims();
      }, 1).unref();
    }
  }

  /** Records a fault, kills the device; other devices and the simulator carry on. */
  private fault(dev: Device, kind: FaultKind, message: string, stack?: string, command?: number): void {
    if (dev.dead) return;
    const f: Omit<DeviceFault, 'seq'> = {
      device: dev.ref,
      driver: dev.driver,
      kind,
      message,
      ...(stack !== undefined ? { stack } : {}),
      ...(command !== undefined ? { command } : {}),
    };
    this.sink().deviceFault(f);
    dev.kill(new DeviceError('device-fault', `${kind}: ${message}`, dev.ref));
  }

  /**
   * Claims every link endpoint among the top-level option values for device slot `id` (all or
   * none): a side is held by one device at a time, and only links of this simulator are accepted.
   */
  private claimLinks(id: number, options: Record<string, unknown>): { l: LinkViews; side: LinkSide }[] {
    const held: { l: LinkViews; side: LinkSide }[] = [];
    try {
      for (const [key, value] of Object.entries(options)) {
        if (!isLinkEndpoint(value)) continue;
        let l: LinkViews;
        try {
          l = attachLinkShared(value.buffer, this.v);
        } catch (e) {
          throw new SimulatorError(`option "${key}": ${(e as Error).message}`);
        }
        if (!claimLinkSide(this.v, l, value.side, id + 1)) {
          const owner = linkOwner(l, value.side);
          const by = owner > 0 ? this.slots[owner - 1]?.ref : undefined;
          throw new SimulatorError(`option "${key}": side ${value.side} of the link is already held by ${owner < 0 ? 'the main thread' : by ? `${by.kind}#${by.id}` : 'another device'}`);
        }
        held.push({ l, side: value.side });
      }
      return held;
    } catch (e) {
      for (const k of held) releaseLinkSide(this.v, k.l, k.side, id + 1);
      throw e;
    }
  }

  release(dev: Device): void {
    if (this.slots[dev.id] !== dev) return;
    // The worker has exited: its link sides are free for another device.
    for (const k of dev.links) releaseLinkSide(this.v, k.l, k.side, dev.id + 1);
    // The worker has exited: every record it appended is in the ring. Drain what can be drained
    // now; records queued behind a slot another writer has not published yet carry this
    // attachment's id, and it stays known until the ring has been read past them.
    const sink = this.sink();
    sink.drain();
    this.retired.set(dev.attachment, { dev, ringWrite: Atomics.load(this.v.control, H.RING_WRITE) });
    this.slots[dev.id] = undefined;
    Atomics.store(this.v.control, dcbIndex(this.v, dev.id, DCB.STATE), DEVICE_STATE.EMPTY);
    this.forgetDrained();
    if (this.slots.every((d) => d === undefined)) this.stopWatchdog();
  }

  /** Forgets detached devices none of whose records can still be in the ring (bounded memory). */
  forgetDrained(): void {
    const read = Atomics.load(this.v.control, H.RING_READ);
    for (const [att, r] of this.retired) if (r.ringWrite <= read) this.retired.delete(att);
  }

  /** Detaches every device; resolves when every worker has exited. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopWatchdog();
    await Promise.all(this.slots.filter((d): d is Device => d !== undefined).map((d) => d.detach()));
  }

  private startWatchdog(): void {
    if (this.watchdog) return;
    const period = Math.max(10, Math.min(250, this.options.hangTimeoutMs / 4));
    this.watchdog = setInterval(() => this.checkHangs(), period);
    // Supervision must never keep the process alive on its own.
    this.watchdog.unref();
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  /**
   * A device is hung when it owes a doorbell and its PROGRESS word (bumped by every access that
   * moved bytes and every finished command) has not moved for hangTimeoutMs. A long command that
   * keeps moving bytes is never hung, however long it runs.
   */
  private checkHangs(): void {
    const c = this.v.control;
    const now = performance.now();
    for (const d of this.slots) {
      if (!d || d.dead) continue;
      const progress = Atomics.load(c, dcbIndex(this.v, d.id, DCB.PROGRESS));
      const served = Atomics.load(c, dcbIndex(this.v, d.id, DCB.DOORBELL_SERVED));
      const rung = Atomics.load(c, dcbIndex(this.v, d.id, DCB.DOORBELL_RUNG));
      // Deterministic mode: a device parked at a grant point waits for the scheduler, not hangs.
      if (rung === served || (this.sched && (Atomics.load(c, dcbIndex(this.v, d.id, DCB.SCHED_TURN)) & 1) === 1)) {
        // Idle: nothing owed, no clock running.
        d.busySince = undefined;
        continue;
      }
      if (progress !== d.lastProgress || d.busySince === undefined) {
        // Progress (or the first sight of an owed doorbell) starts the clock here, so a device is
        // never called hung before hangTimeoutMs of observed silence.
        d.lastProgress = progress;
        d.busySince = now;
        continue;
      }
      if (now - d.busySince > this.options.hangTimeoutMs) {
        this.fault(d, 'hung', `doorbell ${served + 1} unserved, no progress for ${Math.round(now - d.busySince)} ms`, undefined, served + 1);
      }
    }
  }
}

/**
 * The module URL of a custom device kind (a URL, a file: or data: URL string, or a path — absolute,
 * or ./ ../ relative to the working directory), or null for a built-in kind's name.
 */
function deviceModuleUrl(kind: string | URL): string | null {
  if (kind instanceof URL) {
    if (kind.protocol !== 'file:' && kind.protocol !== 'data:') throw new SimulatorError(`a device module URL must be file: or data:, got ${kind.protocol}`);
    return kind.href;
  }
  if (typeof kind !== 'string') throw new SimulatorError(`a device kind must be a name, a module path or a URL, got ${typeof kind}`);
  if (kind.startsWith('file:') || kind.startsWith('data:')) return kind;
  if (isAbsolute(kind) || kind.startsWith('./') || kind.startsWith('../')) return pathToFileURL(resolve(kind)).href;
  return null;
}

/**
 * Starts a device worker. Built (dist) code loads the compiled entry. Source code run by vitest or
 * tsx loads the compiled entry too when a build newer than every source file exists (`npm test`
 * builds first: a worker then starts in tens of milliseconds instead of half a second); otherwise
 * it loads the .ts entry through tsx's ESM hook registered in an eval'd bootstrap, because Node 20
 * will not load a .ts Worker entry with execArgv ['--import', 'tsx']. Both sides check the shared
 * layout's version on attach, so a mismatched pair cannot run.
 */
function spawnDeviceWorker(workerData: DeviceWorkerData): Worker {
  const opts = { workerData, stdout: false, stderr: false };
  if (import.meta.url.endsWith('.ts')) {
    const built = freshBuild();
    if (built) return new Worker(built, opts);
    const entry = new URL('../../workers/device-worker.ts', import.meta.url).href;
    const code = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
    return new Worker(code, { ...opts, eval: true });
  }
  return new Worker(new URL('../../workers/device-worker.js', import.meta.url), opts);
}

let freshBuildCache: URL | null | undefined;

/** The compiled worker entry if it is newer than every .ts file it is built from (checked once). */
function freshBuild(): URL | null {
  if (freshBuildCache !== undefined) return freshBuildCache;
  const root = new URL('../../', import.meta.url);
  const entry = new URL('dist/workers/device-worker.js', root);
  let builtAt: number;
  try {
    builtAt = statSync(entry).mtimeMs;
  } catch {
    return (freshBuildCache = null);
  }
  const newest = (dir: URL): number => {
    let t = 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) t = Math.max(t, newest(new URL(`${e.name}/`, dir)));
      else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(new URL(e.name, dir)).mtimeMs);
    }
    return t;
  };
  const sources = Math.max(...['src/', 'devices/', 'workers/'].map((d) => newest(new URL(d, root))));
  return (freshBuildCache = sources <= builtAt ? entry : null);
}
