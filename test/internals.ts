/**
 * Reaching under the public API, for the regression tests that must look at shared-memory words a
 * driver never sees (in-flight counts, device access records, ring cursors) or stand in for a thread
 * at an exact point of a protocol. Everything else in the tests goes through src/index.ts.
 */

import type { Worker } from 'node:worker_threads';
import { expect } from 'vitest';
import { CheckedDmaPort } from '../src/dma/port.js';
import { epochOf } from '../src/frametable.js';
import { AR, DCB, FT, H, accessIndex, dcbIndex, ftIndex, type SharedViews } from '../src/layout.js';
import type { DeviceHandle, Simulator } from '../src/index.js';

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

/** A frame's in-flight DMA count. */
export function inflightOf(sim: Simulator, frame: number): number {
  const v = sharedOf(sim);
  return Atomics.load(v.control, ftIndex(v, frame, FT.INFLIGHT));
}

/** A frame's epoch now. */
export function epochNow(sim: Simulator, frame: number): number {
  return epochOf(sharedOf(sim), frame);
}

/** Every frame whose in-flight count is not 0, with its count. */
export function framesInFlight(sim: Simulator): { frame: number; inflight: number }[] {
  const v = sharedOf(sim);
  const out: { frame: number; inflight: number }[] = [];
  for (let f = 0; f < v.frames; f++) {
    const n = Atomics.load(v.control, ftIndex(v, f, FT.INFLIGHT));
    if (n !== 0) out.push({ frame: f, inflight: n });
  }
  return out;
}

/** A device slot's access record: spans recorded, frames begun / ended, ring slot noted (+1). */
export function accessRecord(sim: Simulator, device: number): { spans: number; begun: number; ended: number; ringClaim: number } {
  const v = sharedOf(sim);
  const at = (f: number) => Atomics.load(v.control, accessIndex(v, device, f));
  return { spans: at(AR.SPANS), begun: at(AR.BEGUN), ended: at(AR.ENDED), ringClaim: at(AR.RING_CLAIM) };
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

/** Polls `cond` every few ms until it holds; throws naming `what` after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
