/**
 * Waking a device (either thread): bump its WAKE word, and notify only if it is parked — in its
 * loop's Atomics.wait or in a model's wake.wait inside a command, both of which set DCB.PARKED
 * before their wait (src/dma/runtime.ts).
 *
 * Ordering: the waker's Atomics.add of WAKE precedes its load of PARKED; the waiter's store of
 * PARKED precedes the wait's own comparison of WAKE (all seq-cst). Either the waker sees PARKED and
 * notifies, or the waiter's wait sees the new WAKE and returns at once — a wake-up is never lost,
 * and a spinning or busy device costs no futex call (tens of microseconds here).
 */

import { DCB, H, dcbIndex, type SharedViews } from './layout.js';

export function wakeDevice(v: SharedViews, slot: number): void {
  const c = v.control;
  const at = dcbIndex(v, slot, DCB.WAKE);
  Atomics.add(c, at, 1);
  if (Atomics.load(c, dcbIndex(v, slot, DCB.PARKED)) !== 0) Atomics.notify(c, at);
  // Deterministic mode: a worker parked at its idle grant point waits on TURN, not WAKE, and must
  // see a control request (CTL_PENDING, added before this call) to serve it (src/sched/gate.ts).
  // A notify with no waiter makes no system call.
  if (c[H.DETERMINISTIC] === 1) Atomics.notify(c, dcbIndex(v, slot, DCB.SCHED_TURN));
}
