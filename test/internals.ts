/**
 * Reaching under the public API, for the regression tests that must look at shared-memory words a
 * driver never sees (in-flight bits, device access records, ring cursors) or stand in for a thread
 * at an exact point of a protocol. Everything else in the tests goes through src/index.ts.
 */

import type { Worker } from 'node:worker_threads';
import { expect } from 'vitest';
import { CheckedDmaPort } from '../src/dma/port.js';
import { epochOf } from '../src/frametable.js';
import { AR, DCB, FT, H, accessIndex, dcbIndex, ftIndex, type SharedViews } from '../src/layout.js';
import type { DeviceHandle, Frame, Simulator } from '../src/index.js';

/** The simulator's shared memory views. */
export function sharedOf(sim: Simulator): SharedViews {
  const s = (sim as unknown as { shared?: SharedViews }).shared;
  expect(s, 'the simulator carries its shared views').toBeDefined();
  return s!;
}

/** The simulator's memory core (its `observer` receives the unlocker's 'unlock-during-dma' reports). */
export function coreOf(sim: Simulator): { observer: unknown } {
  const c = (sim as unknown as { core?: { observer: unknown } }).core;
  expect(c, 'the simulator carries its memory core').toBeDefined();
  return c!;
}

/** The device slots whose in-flight bit is set on a frame. */
export function inflightSlots(sim: Simulator, frame: number): number[] {
  const v = sharedOf(sim);
  const out: number[] = [];
  for (let w = 0; w < v.inflightWords; w++) {
    const bits = Atomics.load(v.control, ftIndex(v, frame, FT.INFLIGHT + w));
    for (let b = 0; b < 32; b++) if (bits & (1 << b)) out.push(w * 32 + b);
  }
  return out;
}

/** How many devices have an access in flight on a frame. */
export function inflightOf(sim: Simulator, frame: number): number {
  return inflightSlots(sim, frame).length;
}

/** A frame's epoch now. */
export function epochNow(sim: Simulator, frame: number): number {
  return epochOf(sharedOf(sim), frame as Frame);
}

/** Every frame with an access in flight, with how many devices have one there. */
export function framesInFlight(sim: Simulator): { frame: number; inflight: number }[] {
  const v = sharedOf(sim);
  const out: { frame: number; inflight: number }[] = [];
  for (let f = 0; f < v.frames; f++) {
    const n = inflightOf(sim, f);
    if (n !== 0) out.push({ frame: f, inflight: n });
  }
  return out;
}

/** A device slot's access record: spans of the access in progress (0: none), ring slot noted (+1). */
export function accessRecord(sim: Simulator, device: number): { spans: number; ringClaim: number } {
  const v = sharedOf(sim);
  const at = (f: number) => Atomics.load(v.control, accessIndex(v, device, f));
  return { spans: at(AR.SPANS), ringClaim: at(AR.RING_CLAIM) };
}

/** The violation ring's cursors and drop count. */
export function ringCursors(sim: Simulator): { write: number; read: number; dropped: number } {
  const v = sharedOf(sim);
  return { write: Atomics.load(v.control, H.RING_WRITE), read: Atomics.load(v.control, H.RING_READ), dropped: Atomics.load(v.control, H.RING_DROPPED) };
}

/**
 * A DMA port run on the main thread for a device slot no worker uses (the last one), bound to
 * driver context `ctx` with a 32-bit address width: the port's own code, with the test deciding what
 * happens while the bytes move.
 */
export function mainThreadPort(sim: Simulator, ctx = 0): { port: CheckedDmaPort; device: number } {
  const v = sharedOf(sim);
  const device = v.config.maxDevices - 1;
  Atomics.store(v.control, dcbIndex(v, device, DCB.DRIVER), ctx);
  Atomics.store(v.control, dcbIndex(v, device, DCB.ADDRESS_BITS), 32);
  return { port: new CheckedDmaPort(v, device), device };
}

/** The device's worker (the public handle does not expose it). */
export function workerOf(dev: DeviceHandle): Worker {
  const w = (dev as unknown as { worker?: Worker }).worker;
  expect(w, 'the device handle carries its worker').toBeDefined();
  return w!;
}

/**
 * Waits until `cond` holds; throws naming `what` after `timeoutMs`. Given the simulator, through
 * sim.waitUntil — in deterministic mode a scheduler wait (virtual time), the devices running
 * meanwhile; free running a 1 ms poll. Without it, a 2 ms poll on the host's clock (free running only).
 */
export async function until(cond: () => boolean, timeoutMs: number, what: string, sim?: Simulator): Promise<void> {
  if (sim) {
    if (!(await sim.waitUntil(cond, { timeoutMs, what }))) throw new Error(`timed out waiting for ${what}`);
    return;
  }
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
