/**
 * Deterministic mode, the main-thread side (DESIGN.md §6): a seeded scheduler that owns every
 * device step and every driver step.
 *
 * Entities, numbered in the order they appear (the numbers a decision log names):
 *  - tasks: the async functions given to sim.run(). A task runs from a grant to its next
 *    scheduler wait — sim.sleep, sim.yield, sim.waitUntil, a device's waitForInterrupt, a host link
 *    end's nextFrame — or its end. Everything between (VMM calls, register writes, CPU accesses)
 *    is one step. Tasks are told apart by AsyncLocalStorage, so helpers several awaits deep wait on
 *    behalf of the right task.
 *  - devices: each attached device, parked at its grant points (src/sched/gate.ts). A device step is
 *    one grant: a command's first stretch up to its first DMA access, one frame of an access, the
 *    stretch after an interrupt, an onWake call.
 *
 * The loop: wait until every device is parked (none runs unless granted, so this ends as soon as the
 * one granted parks again, or exits); turn what the last step left in the violation ring into records
 * (stamped with that step); collect the runnable entities; let the strategy pick one; grant it. When
 * nothing can run but something waits with a deadline, virtual time jumps to the earliest one. Every
 * step also advances virtual time by `stepMicros`. The run ends when every task has returned and no
 * device has work (or, devices still busy, once the quiesce bound of virtual time has passed since); with a deadlock (tasks waiting, nothing able to wake them); at `maxSteps`; or at
 * the first violation when asked (replay).
 *
 * The main thread never blocks: it waits for a device to park by a bounded spin (SPIN loads, a few
 * microseconds — the granted worker usually parks within them) and then Atomics.waitAsync.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { DCB, H, dcbIndex, type SharedViews } from '../layout.js';
import { SimulatorError } from '../errors.js';
import { SCHED_REASON } from './gate.js';
import { DecisionLog, makeStrategy, type Strategy, type StrategySpec } from './strategy.js';

/** A device as the scheduler sees it (the host's Device provides it). */
export interface SchedDevice {
  /** Its slot. */
  readonly id: number;
  readonly attachment: number;
  readonly name: string;
  /** Resolves once its worker has exited. */
  readonly exited: Promise<void>;
}

export interface DeterministicOptions {
  /** How choices are made (default random, from the simulator's seed). */
  strategy?: StrategySpec;
  /** Steps at most; beyond, the run ends with outcome 'step-limit' (default 2 000 000). */
  maxSteps?: number;
  /** Virtual microseconds per step (default 1). */
  stepMicros?: number;
  /** End the run at the first violation (replay). Default false. */
  stopAtFirstViolation?: boolean;
  /**
   * How long one task step may take on the host's clock before the run is abandoned: a task that
   * awaits something the scheduler does not deliver (a real timer, a device that must run) would
   * otherwise hang. Default 30 000 ms. Only a broken scenario ever gets near it.
   */
  taskStepTimeoutMs?: number;
  /** Opaque JSON kept in the report, naming the scenario for replay (src/sched/scenario.ts). */
  scenario?: unknown;
}

export type RunOutcome = 'done' | 'violation' | 'deadlock' | 'step-limit' | 'error' | 'idle';

export interface EntityInfo {
  readonly id: number;
  readonly kind: 'task' | 'device';
  readonly name: string;
}

/** What a deterministic run did: its decisions, in the report (SimReport.deterministic). */
export interface ScheduleRecord {
  readonly seed: number;
  readonly strategy: StrategySpec;
  /** Steps taken (the last record's step is at most this). */
  readonly steps: number;
  /** Virtual time at the end, microseconds. */
  readonly virtualMicros: number;
  /** The entity chosen at each step, run-length encoded: [entity, steps] pairs. */
  readonly decisions: [number, number][];
  readonly entities: EntityInfo[];
  readonly outcome: RunOutcome;
  /** Why a deadlock or error ended it. */
  readonly message?: string;
  /** Replay: steps whose recorded entity could not run. */
  readonly divergences: number;
  readonly scenario?: unknown;
}

type Wait = { readonly kind: 'yield' } | { readonly kind: 'until'; readonly cond: () => boolean; readonly deadline: number; readonly what: string };

interface Task {
  readonly id: number;
  readonly name: string;
  /** `abandoned`: its run ended before it returned (an error, a violation stop, a deadlock). */
  state: 'new' | 'running' | 'blocked' | 'done' | 'abandoned';
  wait: Wait;
  start?: () => void;
  resume?: (ok: boolean) => void;
  stepEnd: (() => void) | undefined;
}

interface Dev {
  readonly id: number;
  readonly d: SchedDevice;
  gone: boolean;
  /** TURN when last seen parked, and the virtual time then (a WAIT's timeout counts from it). */
  seenTurn: number;
  parkedAt: number;
}

const SPIN = 2000;
const PARK_SLICE_MS = 1000;

export class DeterministicError extends SimulatorError {}

export class Scheduler {
  private readonly als = new AsyncLocalStorage<Task>();
  private readonly tasks: Task[] = [];
  private readonly devices: Dev[] = [];
  private readonly entities: EntityInfo[] = [];
  private readonly log = new DecisionLog();
  private readonly strategy: Strategy;
  private readonly spec: StrategySpec;
  private nextEntity = 0;
  /** Tasks added over all runs: a nameless task's default name. */
  private taskCount = 0;
  /** The step in progress or last taken (0 before the first). */
  step = 0;
  /** Virtual time, microseconds. */
  private vnow = 0;
  private last = -1;
  /** Virtual time when the run's last task returned (undefined while one runs). */
  private tasksDoneAt: number | undefined;
  private outcome: RunOutcome = 'idle';
  private message: string | undefined;
  private running = false;
  private failure: unknown;
  private readonly maxSteps: number;
  private readonly stepMicros: number;
  private readonly taskStepTimeoutMs: number;

  constructor(
    private readonly v: SharedViews,
    readonly seed: number,
    private readonly options: DeterministicOptions,
    private readonly hooks: { drain(): void; violations(): number },
    /**
     * Once every task has returned, how long (virtual ms) devices still busy get to finish before
     * the run ends — close()'s quiesce bound when free running (min(hangTimeoutMs, 5 s)): a device
     * waiting for its driver (a masked ISA channel) would otherwise poll through virtual time for ever.
     */
    private readonly quiesceMs = 5000,
  ) {
    this.spec = options.strategy ?? { kind: 'random' };
    checkSpec(this.spec);
    this.strategy = makeStrategy(this.spec, seed);
    this.maxSteps = positive(options.maxSteps ?? 2_000_000, 'maxSteps');
    this.stepMicros = positive(options.stepMicros ?? 1, 'stepMicros');
    this.taskStepTimeoutMs = positive(options.taskStepTimeoutMs ?? 30_000, 'taskStepTimeoutMs');
  }

  /** Virtual time in milliseconds. */
  now(): number {
    return this.vnow / 1000;
  }

  /** True when called from inside a task of a run in progress. */
  inTask(): boolean {
    const task = this.als.getStore();
    return this.running && task !== undefined && task.state !== 'abandoned';
  }

  /** True when the calling task could make a scheduler wait now (it is not already in one). */
  mayWait(): boolean {
    return this.running && this.als.getStore()?.state === 'running';
  }

  /** The host attached a device (its worker is ready; it parks at its first grant point). */
  deviceAttached(d: SchedDevice): void {
    const id = this.nextEntity++;
    this.entities.push({ id, kind: 'device', name: `${d.name}#${d.id}@${d.attachment}` });
    const dev: Dev = { id, d, gone: false, seenTurn: -1, parkedAt: 0 };
    this.devices.push(dev);
    void d.exited.then(() => (dev.gone = true));
  }

  /** Runs `fns` as tasks under the scheduler until the run ends (see RunOutcome). */
  async run(fns: readonly (() => unknown)[]): Promise<RunOutcome> {
    if (this.running) throw new DeterministicError('sim.run() is already running: start every driver task in one call');
    if (fns.length === 0 || fns.some((f) => typeof f !== 'function')) throw new DeterministicError('sim.run() takes one or more async functions (the driver tasks)');
    // Each run stands alone: what the previous one ended with is not this one's outcome.
    this.failure = undefined;
    this.message = undefined;
    for (const fn of fns) this.addTask(fn);
    this.tasksDoneAt = undefined;
    this.running = true;
    this.outcome = 'done';
    try {
      await this.loop();
    } finally {
      this.running = false;
      // Tasks that had not returned belong to this run only: a later run must not resume them,
      // wait for them or take their errors. They stay suspended where they are (block()).
      for (const t of this.tasks) if (t.state !== 'done') t.state = 'abandoned';
      this.tasks.length = 0;
      this.hooks.drain();
    }
    if (this.failure !== undefined) throw this.failure;
    const outcome = this.outcome as RunOutcome;
    if (outcome === 'deadlock' || outcome === 'step-limit') throw new DeterministicError(this.message!);
    return outcome;
  }

  private addTask(fn: () => unknown): void {
    const id = this.nextEntity++;
    const name = fn.name || `task${this.taskCount}`;
    this.taskCount++;
    this.entities.push({ id, kind: 'task', name });
    const task: Task = { id, name, state: 'new', wait: { kind: 'yield' }, stepEnd: undefined };
    task.start = () =>
      this.als.run(task, () => {
        Promise.resolve()
          .then(fn)
          .then(
            () => this.finishTask(task),
            (e: unknown) => {
              if (task.state === 'abandoned') return; // its run is over; the error is nobody's now
              this.failure ??= e;
              this.outcome = 'error';
              this.message = e instanceof Error ? e.message : String(e);
              this.finishTask(task);
            },
          );
      });
    this.tasks.push(task);
  }

  private finishTask(task: Task): void {
    if (task.state === 'abandoned') return;
    task.state = 'done';
    const end = task.stepEnd;
    task.stepEnd = undefined;
    end?.();
  }

  /**
   * Blocks the calling task until `cond()` holds (true) or `timeoutMs` of virtual time pass (false).
   * `cond` must only read state (it is evaluated by the scheduler at every step).
   */
  waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<boolean> {
    const deadline = Number.isFinite(timeoutMs) ? this.vnow + Math.max(0, timeoutMs) * 1000 : Infinity;
    return this.block({ kind: 'until', cond, deadline, what });
  }

  sleep(ms: number): Promise<void> {
    return this.waitUntil(() => false, ms, `sleep(${ms})`).then(() => undefined);
  }

  yield(): Promise<void> {
    return this.block({ kind: 'yield' }).then(() => undefined);
  }

  private block(wait: Wait): Promise<boolean> {
    const task = this.als.getStore();
    // A task of a run that has ended never resumes (never settles: it must not run in a later one).
    if (task?.state === 'abandoned') return new Promise<boolean>(() => undefined);
    if (!task || !this.running) return Promise.reject(new DeterministicError('a scheduler wait outside a task: in deterministic mode, call it inside sim.run()'));
    if (task.state !== 'running') return Promise.reject(new DeterministicError(`task "${task.name}" waits twice at once: run concurrent drivers as separate functions of sim.run()`));
    return new Promise<boolean>((resolve) => {
      task.state = 'blocked';
      task.wait = wait;
      task.resume = resolve;
      const end = task.stepEnd;
      task.stepEnd = undefined;
      end?.();
    });
  }

  private async loop(): Promise<void> {
    const c = this.v.control;
    for (;;) {
      await this.settle();
      this.hooks.drain();
      if (this.outcome === 'error') return;
      if (this.options.stopAtFirstViolation && this.hooks.violations() > 0) {
        this.outcome = 'violation';
        return;
      }
      if (this.step >= this.maxSteps) {
        this.outcome = 'step-limit';
        this.message = `deterministic run stopped at maxSteps (${this.maxSteps})`;
        return;
      }
      const runnable = this.runnable();
      if (this.tasks.every((t) => t.state === 'done')) {
        // Only devices left: they finish what they were given within the quiesce bound, as close()
        // lets them free running; past it the run ends and close() judges what they still owe.
        this.tasksDoneAt ??= this.vnow;
        const at = runnable.length > 0 ? this.vnow : this.nextDeadline();
        if (at < Infinity && at - this.tasksDoneAt > this.quiesceMs * 1000) return;
      }
      if (runnable.length === 0) {
        const next = this.nextDeadline();
        if (next < Infinity) {
          // Nothing can run before the earliest deadline: time passes.
          this.vnow = Math.max(this.vnow, next);
          continue;
        }
        if (this.tasks.every((t) => t.state === 'done')) return;
        this.outcome = 'deadlock';
        this.message = `deterministic run deadlocked at step ${this.step}: ${this.tasks
          .filter((t) => t.state !== 'done')
          .map((t) => `task "${t.name}" waits for ${t.wait.kind === 'until' ? t.wait.what : 'its turn'}`)
          .join('; ')}, and no device has work`;
        return;
      }
      const pick = this.strategy.choose(runnable, this.step + 1, this.last);
      this.step++;
      this.vnow += this.stepMicros;
      this.log.push(pick);
      this.last = pick;
      // Published before the grant (whose seq-cst add orders it): the device's wake.now() reads it.
      Atomics.store(c, H.VNOW_LO, this.vnow % 0x1_0000_0000 | 0);
      Atomics.store(c, H.VNOW_HI, Math.floor(this.vnow / 0x1_0000_0000));
      const task = this.tasks.find((t) => t.id === pick);
      if (task) await this.grantTask(task);
      else this.grantDevice(this.devices.find((d) => d.id === pick)!);
    }
  }

  /** The entities that can run now, ascending. */
  private runnable(): number[] {
    const out: number[] = [];
    for (const t of this.tasks) {
      if (t.state === 'new') out.push(t.id);
      else if (t.state === 'blocked') {
        const w = t.wait;
        if (w.kind === 'yield' || w.deadline <= this.vnow || w.cond()) out.push(t.id);
      }
    }
    for (const d of this.devices) if (!d.gone && this.deviceRunnable(d)) out.push(d.id);
    return out.sort((a, b) => a - b);
  }

  private deviceRunnable(d: Dev): boolean {
    const c = this.v.control;
    const at = (f: number) => Atomics.load(c, dcbIndex(this.v, d.d.id, f));
    const turn = at(DCB.SCHED_TURN);
    if ((turn & 1) === 0) return false;
    if (turn !== d.seenTurn) {
      d.seenTurn = turn;
      d.parkedAt = this.vnow;
    }
    switch (at(DCB.SCHED_REASON)) {
      case SCHED_REASON.READY:
        return true;
      case SCHED_REASON.IDLE:
        return at(DCB.DOORBELL_RUNG) !== at(DCB.DOORBELL_SERVED) || (at(DCB.SCHED_ON_WAKE) === 1 && at(DCB.WAKE) !== at(DCB.SCHED_ARG));
      case SCHED_REASON.WAIT: {
        if (at(DCB.WAKE) !== at(DCB.SCHED_ARG)) return true;
        const t = at(DCB.SCHED_TIMEOUT);
        return t >= 0 && this.vnow >= d.parkedAt + t;
      }
      default:
        return false;
    }
  }

  private nextDeadline(): number {
    let next = Infinity;
    for (const t of this.tasks) if (t.state === 'blocked' && t.wait.kind === 'until') next = Math.min(next, t.wait.deadline);
    const c = this.v.control;
    for (const d of this.devices) {
      if (d.gone) continue;
      const at = (f: number) => Atomics.load(c, dcbIndex(this.v, d.d.id, f));
      if ((at(DCB.SCHED_TURN) & 1) === 1 && at(DCB.SCHED_REASON) === SCHED_REASON.WAIT && at(DCB.SCHED_TIMEOUT) >= 0) next = Math.min(next, d.parkedAt + at(DCB.SCHED_TIMEOUT));
    }
    return next;
  }

  private grantDevice(d: Dev): void {
    const c = this.v.control;
    const at = dcbIndex(this.v, d.d.id, DCB.SCHED_TURN);
    // TURN odd → even: the worker's turn. Everything this thread did before is ordered before the
    // worker's load that sees it (seq-cst).
    Atomics.add(c, at, 1);
    Atomics.notify(c, at);
  }

  /** Resolves once every live device is parked (TURN odd) or gone. */
  private async settle(): Promise<void> {
    const c = this.v.control;
    for (const d of this.devices) {
      if (d.gone) continue;
      const at = dcbIndex(this.v, d.d.id, DCB.SCHED_TURN);
      let turn = Atomics.load(c, at);
      for (let i = 0; i < SPIN && (turn & 1) === 0; i++) turn = Atomics.load(c, at);
      while ((turn & 1) === 0 && !d.gone) {
        const r = Atomics.waitAsync(c, at, turn, PARK_SLICE_MS);
        if (r.async) await Promise.race([r.value, d.d.exited]);
        turn = Atomics.load(c, at);
      }
    }
  }

  private async grantTask(task: Task): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const ended = new Promise<void>((resolve) => (task.stepEnd = resolve));
    const wait = task.wait;
    const first = task.state === 'new';
    task.state = 'running';
    if (first) task.start!();
    else task.resume!(wait.kind === 'yield' || wait.deadline > this.vnow || wait.cond());
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.taskStepTimeoutMs);
    });
    const late = await Promise.race([ended.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) {
      this.failure ??= new DeterministicError(
        `task "${task.name}" did not return to the scheduler within ${this.taskStepTimeoutMs} ms at step ${this.step}: in deterministic mode a driver awaits only sim.sleep, sim.yield, sim.waitUntil, waitForInterrupt or a link's nextFrame (a real timer, or a device that must run meanwhile, never comes)`,
      );
      this.outcome = 'error';
    }
  }

  record(): ScheduleRecord {
    return {
      seed: this.seed,
      strategy: this.spec,
      steps: this.step,
      virtualMicros: this.vnow,
      decisions: this.log.encoded(),
      entities: this.entities.slice(),
      outcome: this.outcome,
      ...(this.message !== undefined ? { message: this.message } : {}),
      divergences: this.strategy.divergences,
      ...(this.options.scenario !== undefined ? { scenario: this.options.scenario } : {}),
    };
  }
}

function positive(n: number, what: string): number {
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) throw new SimulatorError(`deterministic.${what} must be a positive number, got ${String(n)}`);
  return n;
}

function checkSpec(s: StrategySpec): void {
  if (typeof s !== 'object' || s === null) throw new SimulatorError('deterministic.strategy must be { kind: "random" | "pct" | "replay", … }');
  if (s.kind === 'random') return;
  if (s.kind === 'pct') {
    if (!Number.isInteger(s.depth) || s.depth < 1 || s.depth > 64) throw new SimulatorError(`pct depth must be an integer in 1…64, got ${String(s.depth)}`);
    if (!Number.isInteger(s.steps) || s.steps < 1) throw new SimulatorError(`pct steps must be a positive integer, got ${String(s.steps)}`);
    return;
  }
  if (s.kind === 'replay') {
    if (!Array.isArray(s.decisions) || s.decisions.some((d) => !Array.isArray(d) || d.length !== 2 || !Number.isInteger(d[0]) || !Number.isInteger(d[1]) || d[0] < 0 || d[1] < 1)) {
      throw new SimulatorError('replay decisions must be [entity, steps] pairs of non-negative / positive integers');
    }
    return;
  }
  throw new SimulatorError(`unknown deterministic strategy ${JSON.stringify((s as { kind?: unknown }).kind)}`);
}
