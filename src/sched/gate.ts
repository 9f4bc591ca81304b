/**
 * Deterministic mode, the device side (DESIGN.md §6, §9): the grant points of a device worker. In
 * deterministic mode a device runs only between a grant from the main thread's scheduler
 * (src/sched/scheduler.ts) and its next grant point, where it parks and hands the turn back:
 *
 *  - IDLE   — its loop between units of work (a command, an onWake call);
 *  - READY  — inside a command: at the start of every DMA access, between the frames of a
 *             multi-frame access (so an unlock can land inside a transfer), after raising its
 *             interrupt;
 *  - WAIT   — inside wake.wait(token, timeout): runnable again once WAKE moved or the virtual
 *             timeout passed.
 *
 * The handshake is one word per device, DCB.SCHED_TURN: odd while the worker is parked (the main
 * thread's turn), even while it runs. The worker writes its reason (REASON, ARG, TIMEOUT) and then
 * adds 1 to TURN; the scheduler, seeing TURN odd, reads the reason, and grants by adding 1. Both
 * adds are seq-cst, so everything the worker did in its step (RAM, registers, rings, trace) happens
 * before the scheduler's load that sees TURN odd, and everything the main thread did before its
 * grant happens before the worker's load that sees TURN even: one thread runs at a time, in an order
 * only the scheduler chooses.
 *
 * Free-running mode (H.DETERMINISTIC 0) makes `on` false and callers skip every call.
 *
 * Blocking here is the worker's own thread (allowed). The wait is sliced (WAIT_SLICE_MS) so a parked
 * idle worker also notices a control request (CTL_PENDING: comlink RPC needs its event loop) and a
 * stop; wakeDevice (src/wake.ts) notifies TURN in deterministic mode, so a request is seen at once.
 */

import { DCB, H, dcbIndex, type SharedViews } from '../layout.js';

/** Why a worker parked (DCB.SCHED_REASON). Stable numbers: part of the shared layout. */
export const SCHED_REASON = { IDLE: 1, READY: 2, WAIT: 3 } as const;

/** Loads of TURN before the worker blocks in Atomics.wait: a grant that follows at once costs no futex. */
const SPIN = 500;
/** One Atomics.wait at most: a parked worker re-checks for control requests and a stop this often. */
const WAIT_SLICE_MS = 50;

export class SchedGate {
  readonly on: boolean;
  private readonly c: Int32Array;
  private readonly turn: number;
  private readonly reason: number;
  private readonly arg: number;
  private readonly timeout: number;
  private readonly ctlPending: number;

  constructor(v: SharedViews, device: number) {
    this.c = v.control;
    // Set before any worker exists (createSimulator), never changed.
    this.on = Atomics.load(v.control, H.DETERMINISTIC) === 1;
    this.turn = dcbIndex(v, device, DCB.SCHED_TURN);
    this.reason = dcbIndex(v, device, DCB.SCHED_REASON);
    this.arg = dcbIndex(v, device, DCB.SCHED_ARG);
    this.timeout = dcbIndex(v, device, DCB.SCHED_TIMEOUT);
    this.ctlPending = dcbIndex(v, device, DCB.CTL_PENDING);
  }

  /** The virtual clock, in milliseconds (deterministic mode). */
  now(): number {
    const c = this.c;
    // Written by the main thread only, before it grants: stable while this worker runs.
    return ((Atomics.load(c, H.VNOW_HI) >>> 0) * 0x1_0000_0000 + (Atomics.load(c, H.VNOW_LO) >>> 0)) / 1000;
  }

  /** Publishes the reason, then parks (TURN odd); returns the TURN value a grant will replace. */
  private park(reason: number, arg: number, timeoutUs: number): number {
    const c = this.c;
    Atomics.store(c, this.reason, reason);
    Atomics.store(c, this.arg, arg | 0);
    Atomics.store(c, this.timeout, timeoutUs);
    // The reason's stores precede this add (seq-cst): a scheduler that sees TURN odd sees them.
    const t = Atomics.add(c, this.turn, 1) + 1;
    // The main thread may be in Atomics.waitAsync on TURN (after its bounded spin).
    Atomics.notify(c, this.turn);
    return t;
  }

  /** Spins, then waits, until the scheduler grants (TURN moves past `t`). Inside a command: no RPC can be served here. */
  private awaitGrant(t: number): void {
    const c = this.c;
    for (let i = 0; i < SPIN; i++) if (Atomics.load(c, this.turn) !== t) return;
    while (Atomics.load(c, this.turn) === t) Atomics.wait(c, this.turn, t, WAIT_SLICE_MS);
  }

  /** A grant point inside a command (an access, a frame of one, an interrupt). */
  point(): void {
    this.awaitGrant(this.park(SCHED_REASON.READY, 0, -1));
  }

  /** wake.wait inside a command: parked until granted, which the scheduler does once WAKE ≠ token or the virtual timeout passed. */
  wait(token: number, timeoutMs: number): void {
    const us = Number.isFinite(timeoutMs) ? Math.min(0x7fffffff, Math.max(0, Math.round(timeoutMs * 1000))) : -1;
    this.awaitGrant(this.park(SCHED_REASON.WAIT, token, us));
  }

  /**
   * The loop's grant point between units of work. Returns true when granted, false when asked to stop
   * (`stopping()` became true while parked: a detach's shutdown request). Serves control requests
   * while parked: they run on the event loop, so it yields to the event loop while CTL_PENDING > 0.
   * `woken` is the WAKE value the model's last onWake saw (-1: owed one).
   */
  async idle(woken: number, stopping: () => boolean): Promise<boolean> {
    const c = this.c;
    const t = this.park(SCHED_REASON.IDLE, woken, -1);
    for (let i = 0; i < SPIN; i++) if (Atomics.load(c, this.turn) !== t) return true;
    for (;;) {
      if (Atomics.load(c, this.turn) !== t) return true;
      if (stopping()) return false;
      if (Atomics.load(c, this.ctlPending) > 0) {
        await new Promise((r) => setTimeout(r, 0));
        continue;
      }
      // wakeDevice notifies TURN in deterministic mode after bumping CTL_PENDING (src/wake.ts),
      // so a control request posted during this wait ends it at once; the slice bounds it anyway.
      Atomics.wait(c, this.turn, t, WAIT_SLICE_MS);
    }
  }
}
