/**
 * The device side of the data plane, on the device's worker thread: its registers and interrupt
 * line over the device control block, and the doorbell loop (bounded spin, then Atomics.wait).
 *
 * The control plane (comlink RPC) shares this thread, and a thread blocked in Atomics.wait delivers
 * no messages. So the host announces every RPC in CTL_PENDING (and bumps WAKE) before posting it;
 * the loop, seeing CTL_PENDING > 0, returns to the event loop until the RPC handler has run and taken
 * its announcement back. Doorbells never wait behind the event loop, and RPCs never wait behind
 * Atomics.wait. A handler first serves every doorbell rung before its request (the loop stays out
 * for a timer's turn, and a request posted meanwhile would otherwise overtake them): a control
 * request is ordered after the doorbells before it, as a read is after the posted writes before it.
 */

import type { DeviceModel, DmaSource, InterruptLine, Registers, WakeSource } from '../device-api.js';
import { DCB, DEVICE_REGS, DEVICE_STATE, dcbIndex, type SharedViews } from '../layout.js';
import { registerSource } from '../provenance.js';
import { kindWord, type TraceWriter } from '../trace.js';
import type { SchedGate } from '../sched/gate.js';

const IRQ_RAISE = kindWord('irq-raise');

/** Loads of WAKE before blocking: ~microseconds, so a busy driver is served without a futex. */
const SPIN = 2000;
/** Upper bound on one Atomics.wait, so a lost wake-up could never stall the device for long. */
const WAIT_SLICE_MS = 500;

export class SharedRegisters implements Registers {
  private readonly base: number;
  constructor(
    private readonly v: SharedViews,
    private readonly device: number,
    private readonly count: number,
  ) {
    this.base = dcbIndex(v, device, DCB.REGS);
  }

  source(...indices: number[]): DmaSource {
    for (const i of indices) this.check(i);
    // The host stores a register's stamp before the register (provenance.ts): read after the
    // register's value, the stamp is at least that of the write the value came from.
    return registerSource(this.v, this.device, indices);
  }

  read(index: number): number {
    this.check(index);
    // The driver stores registers before ringing the doorbell (seq-cst), so a load after seeing the
    // doorbell sees them.
    return Atomics.load(this.v.control, this.base + index) >>> 0;
  }

  write(index: number, value: number): void {
    this.check(index);
    Atomics.store(this.v.control, this.base + index, value | 0);
  }

  set(index: number, bits: number): number {
    this.check(index);
    // One RMW: a driver's read-to-clear (an exchange) or write-1-to-clear (a CAS) is ordered wholly
    // before or after it, so a bit set here is never lost.
    return Atomics.or(this.v.control, this.base + index, bits | 0) >>> 0;
  }

  clear(index: number, bits: number): number {
    this.check(index);
    return Atomics.and(this.v.control, this.base + index, ~bits) >>> 0;
  }

  add(index: number, delta: number): number {
    this.check(index);
    // One RMW, as set: a driver's read-to-clear exchange lands wholly before the add (the count
    // survives it) or after (the count is in the value it returned).
    return Atomics.add(this.v.control, this.base + index, delta | 0) >>> 0;
  }

  private check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= Math.min(this.count, DEVICE_REGS)) throw new RangeError(`no register ${index}`);
  }
}

export class SharedInterrupt implements InterruptLine {
  private readonly attachment: number;
  constructor(
    private readonly v: SharedViews,
    private readonly device: number,
    private readonly trace: TraceWriter,
    private readonly gate?: SchedGate,
  ) {
    this.attachment = Atomics.load(v.control, dcbIndex(v, device, DCB.ATTACHMENT));
  }

  raise(): void {
    const c = this.v.control;
    const count = Atomics.add(c, dcbIndex(this.v, this.device, DCB.IRQ_COUNT), 1) + 1;
    if (this.trace.on) this.trace.emit(IRQ_RAISE, this.attachment, count);
    // Level 1, then wake the main thread's waitAsync; the count is updated first so a waiter that
    // sees the level also sees the count.
    Atomics.store(c, dcbIndex(this.v, this.device, DCB.IRQ), 1);
    Atomics.notify(c, dcbIndex(this.v, this.device, DCB.IRQ));
    // Deterministic mode: an interrupt is a grant point, so a driver waiting for it may run before
    // the device goes on.
    if (this.gate?.on) this.gate.point();
  }
}

/**
 * The device's wake word as a wait primitive for device code inside a command: the host bumps it
 * for every doorbell and control request, and for every reprogramming of the ISA DMA controllers.
 */
export class SharedWake implements WakeSource {
  private readonly at: number;
  private readonly progressAt: number;
  private readonly parkedAt: number;
  constructor(
    private readonly v: SharedViews,
    device: number,
    private readonly gate?: SchedGate,
  ) {
    this.at = dcbIndex(v, device, DCB.WAKE);
    this.progressAt = dcbIndex(v, device, DCB.PROGRESS);
    this.parkedAt = dcbIndex(v, device, DCB.PARKED);
  }

  token(): number {
    return Atomics.load(this.v.control, this.at);
  }

  now(): number {
    // Deterministic mode: the scheduler's virtual clock, so a device's timeouts depend on no host.
    return this.gate?.on ? this.gate.now() : performance.now();
  }

  wait(token: number, timeoutMs: number): void {
    if (this.gate?.on) {
      // Parked until the scheduler grants: once WAKE moved past the token, or the virtual timeout passed.
      this.gate.wait(token, timeoutMs);
      Atomics.add(this.v.control, this.progressAt, 1);
      return;
    }
    // PARKED before the wait's own comparison of WAKE, against the waker's bump of WAKE before its
    // load of PARKED (src/wake.ts): the waker notifies, or the wait returns at once. Bounded by the
    // caller's timeout in any case.
    Atomics.store(this.v.control, this.parkedAt, 1);
    Atomics.wait(this.v.control, this.at, token, timeoutMs);
    Atomics.store(this.v.control, this.parkedAt, 0);
    // Waiting for the driver (a masked channel) is not hanging: the device answered its wake source.
    Atomics.add(this.v.control, this.progressAt, 1);
  }
}

export interface FaultInfo {
  name: string;
  message: string;
  stack: string | undefined;
  command: number;
}

export class DeviceLoop {
  private stopping = false;
  /** The loop is running: doorbells are being served (between run()'s start and its end). */
  private running = false;
  /** A command threw: the device is faulted and serves nothing more. */
  private faulted = false;
  /** Doorbells served (this thread's copy of DOORBELL_SERVED). */
  private served = 0;
  private readonly at: (field: number) => number;

  constructor(
    private readonly v: SharedViews,
    device: number,
    private readonly model: DeviceModel,
    private readonly onCommand: (command: number) => void,
    private readonly onFault: (f: FaultInfo) => void,
    private readonly gate?: SchedGate,
  ) {
    this.at = (field) => dcbIndex(v, device, field);
  }

  /**
   * Called by every RPC handler as it starts: takes back the host's announcement, then serves every
   * doorbell rung before the request. The host rang them before it posted the request (their
   * DOORBELL_RUNG add precedes its CTL_PENDING add, both seq-cst), so the load below sees them all.
   */
  rpcArrived(): void {
    Atomics.sub(this.v.control, this.at(DCB.CTL_PENDING), 1);
    // Deterministic mode: doorbells are served only when the scheduler grants them (runDeterministic).
    if (this.running && !this.gate?.on) this.serveRung();
  }

  /** Serves the doorbells rung and not yet served, in order; false once the device has faulted. */
  private serveRung(): boolean {
    const c = this.v.control;
    while (!this.faulted && !this.stopping && this.served < Atomics.load(c, this.at(DCB.DOORBELL_RUNG))) {
      this.served++;
      if (!this.serve(this.served)) {
        this.faulted = true;
        break;
      }
      // Publishes progress for the host's hang watchdog and for stats.
      Atomics.store(c, this.at(DCB.DOORBELL_SERVED), this.served);
    }
    return !this.faulted;
  }

  stop(): void {
    this.stopping = true;
  }

  async run(): Promise<void> {
    const c = this.v.control;
    const at = this.at;
    this.served = Atomics.load(c, at(DCB.DOORBELL_SERVED));
    this.running = true;
    Atomics.store(c, at(DCB.STATE), DEVICE_STATE.RUNNING);
    if (this.gate?.on) return this.runDeterministic(this.gate);
    // The wake word as of the model's last onWake (NaN: never, so the first pass calls it).
    let woken = Number.NaN;
    while (!this.stopping) {
      // Read WAKE before looking for work: a doorbell, RPC or link arrival announced after this
      // load changes WAKE, so the wait below returns at once instead of sleeping through it.
      const wake = Atomics.load(c, at(DCB.WAKE));
      if (this.served < Atomics.load(c, at(DCB.DOORBELL_RUNG))) {
        if (!this.serveRung()) return;
        continue;
      }
      if (this.model.onWake && wake !== woken) {
        // Everything the model looks at (its links, the ISA controllers) changed before the WAKE bump
        // that this load saw, or bumps WAKE again after this call has started — never lost.
        woken = wake;
        if (!this.guard(this.served, () => this.model.onWake!())) return;
        continue;
      }
      if (Atomics.load(c, at(DCB.CTL_PENDING)) > 0) {
        await new Promise((r) => setTimeout(r, 0));
        // A handler that ran meanwhile may have served a doorbell that faulted the device.
        if (this.faulted) return;
        continue;
      }
      let i = 0;
      while (i < SPIN && Atomics.load(c, at(DCB.WAKE)) === wake) i++;
      if (i === SPIN) {
        // PARKED before the wait's own comparison of WAKE (both seq-cst), against the host's bump of
        // WAKE before its load of PARKED (DeviceHost wake): either the host sees PARKED and
        // notifies, or the wait sees the new WAKE and returns at once — a wake-up is never lost.
        Atomics.store(c, at(DCB.PARKED), 1);
        Atomics.wait(c, at(DCB.WAKE), wake, WAIT_SLICE_MS);
        Atomics.store(c, at(DCB.PARKED), 0);
      }
    }
    this.end();
  }

  /** A graceful stop, between commands: let the model flush what must outlive it. */
  private end(): void {
    this.running = false;
    if (this.model.close && !this.guard(this.served, () => this.model.close!())) return;
    this.publishState(DEVICE_STATE.STOPPED);
  }

  /**
   * Deterministic mode (src/sched/gate.ts): one unit of work per grant — the next doorbell owed, or
   * an onWake call when WAKE moved — then back to the idle grant point. The scheduler grants an idle
   * device only when it has such work (RUNG > SERVED, or ON_WAKE and WAKE ≠ the token published), so
   * which unit runs when is the scheduler's choice, never the host's timing.
   */
  private async runDeterministic(gate: SchedGate): Promise<void> {
    const c = this.v.control;
    const at = this.at;
    Atomics.store(c, at(DCB.SCHED_ON_WAKE), this.model.onWake ? 1 : 0);
    let woken = -1;
    while (!this.stopping) {
      if (!(await gate.idle(woken, () => this.stopping))) break;
      if (this.stopping) break;
      // Granted. WAKE read first, as in run(): an arrival after this load moves it again.
      const wake = Atomics.load(c, at(DCB.WAKE));
      if (this.served < Atomics.load(c, at(DCB.DOORBELL_RUNG))) {
        this.served++;
        if (!this.serve(this.served)) {
          this.faulted = true;
          return;
        }
        Atomics.store(c, at(DCB.DOORBELL_SERVED), this.served);
        continue;
      }
      if (this.model.onWake && wake !== woken) {
        woken = wake;
        if (!this.guard(this.served, () => this.model.onWake!())) return;
      }
    }
    this.end();
  }

  /**
   * Stores STATE and wakes a host waiting on it: a detach waits for STOPPED (or FAULTED) before it
   * terminates the worker, so that close() has run (DeviceHost detach).
   */
  private publishState(state: number): void {
    Atomics.store(this.v.control, this.at(DCB.STATE), state);
    Atomics.notify(this.v.control, this.at(DCB.STATE));
  }

  /**
   * Runs one command; false if the device faulted (it then serves nothing more). A doorbell rung
   * while it runs only queues: the loop serves it after this returns.
   */
  private serve(command: number): boolean {
    return this.guard(command, () => {
      this.onCommand(command);
      this.model.onDoorbell(command);
    });
  }

  /** Runs model code; false if it threw (the device is then faulted and serves nothing more). */
  private guard(command: number, fn: () => void): boolean {
    const c = this.v.control;
    try {
      fn();
      // Finished model work is progress (the port counts accesses that moved bytes).
      Atomics.add(c, this.at(DCB.PROGRESS), 1);
      return true;
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      this.publishState(DEVICE_STATE.FAULTED);
      this.onFault({ name: err.name, message: err.message, stack: err.stack, command });
      return false;
    }
  }
}
