/**
 * A device worker terminated in the middle of a DMA access — by detach (after its 1 s grace) or by
 * the hang watchdog — must not leave its in-flight bits set on the frames: the host clears them on
 * every frame of the worker's recorded access, after the worker has exited. Otherwise every later
 * unlock or free of those frames is reported as a false 'unlock-during-dma'.
 */

import { describe, expect, it } from 'vitest';
import { AR_MAX_SPANS } from '../src/layout.js';
import { physAddr, copyEngine as CE, testProbe as TP, type DeviceHandle, type Simulator } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { lockedPages, writeDescriptors, type Buffer } from './dma-helpers.js';
import { accessRecord, framesInFlight, inflightOf, inflightSlots, mainThreadPort, until, workerOf } from './internals.js';

const pool = simulatorsClosedAfterEach();

/** 4 MiB per descriptor: an access's 2 × 1024 frames stay announced for the whole copy. */
const PAGES = 1024;

/**
 * A buffer of `n` × PAGES pages, locked with PAGEMARKDIRTY and handed out, on consecutive frames (a
 * fresh simulator pages it in in order), plus a descriptor page.
 */
function buffers(sim: Simulator, n: number): { buf: Buffer; desc: Buffer } {
  const buf = lockedPages(sim, n * PAGES);
  for (let i = 1; i < n * PAGES; i++) expect(buf.phys[i]).toBe(buf.phys[0]! + i * 4096);
  return { buf, desc: lockedPages(sim, 1) };
}

/**
 * Starts a copy engine on a chain of one descriptor that points at itself: 4 MiB copies, one after
 * the other, for seconds (until MAX_DESCRIPTORS). Resolves once the engine is seen copying.
 */
async function startEndlessCopy(sim: Simulator, dev: DeviceHandle, desc: Buffer, at: number, src: number, dst: number): Promise<void> {
  writeDescriptors(sim, desc.lin, [{ at, src, dst, length: PAGES * 4096, next: desc.phys[0]! + at }]);
  dev.ackInterrupt();
  dev.writeReg(CE.REG.DESC, desc.phys[0]! + at);
  dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.SG | CE.CONTROL.IRQ_ENABLE);
  await until(() => inflightOf(sim, src >>> 12) > 0, 10_000, 'the engine to be copying');
}

/** Unlocks and frees everything: with no access in flight, none of it may report anything. */
function release(sim: Simulator, ...bufs: Buffer[]): void {
  for (const b of bufs) {
    expect(sim.vmm.linPageUnLock(b.page, b.npages, 0)).toBe(1);
    expect(sim.vmm.pageFree(b.lin, 0)).toBe(1);
  }
}

/** Rings test-probe HANG_MID_ACCESS on `buf`: the worker stops inside the read, its frames announced. */
async function hangInside(sim: Simulator, dev: DeviceHandle, buf: Buffer): Promise<void> {
  dev.writeReg(TP.REG.ADDR, buf.phys[0]!);
  dev.writeReg(TP.REG.LEN, buf.npages * 4096);
  dev.writeReg(TP.REG.CMD, TP.OP.HANG_MID_ACCESS);
  // Frames are announced in ascending order: the last one carrying the probe's bit means all do.
  await until(() => inflightSlots(sim, buf.phys[buf.npages - 1]! >>> 12).includes(dev.id), 10_000, 'the probe to be stuck inside its access');
}

/** The frames of a buffer (consecutive on a fresh simulator). */
function framesOfBuffer(buf: Buffer): number[] {
  return buf.phys.map((p) => p >>> 12);
}

describe('a worker terminated mid-access leaves no in-flight count behind', () => {
  it('terminated by the hang watchdog inside an access: exactly its counts are lowered once the worker has exited', async () => {
    // 2 s: far longer than reaching the access takes on a loaded machine (the watchdog's clock runs
    // from the doorbell; a worker starved before it announces its frames would be killed too early).
    const sim = await pool.make({ pager: 'off', hangTimeoutMs: 2000 });
    const buf = lockedPages(sim, 8);
    const dev = await sim.attachDevice('test-probe');
    await hangInside(sim, dev, buf);
    // What the port recorded: one span, all 8 frames announced.
    expect(accessRecord(sim, dev.id)).toEqual({ spans: 1, ringClaim: 0 });
    expect(framesInFlight(sim)).toEqual(framesOfBuffer(buf).map((frame) => ({ frame, inflight: 1 })));
    await expect(dev.waitForInterrupt({ timeoutMs: 20_000 })).rejects.toMatchObject({ code: 'device-fault' });
    expect(sim.deviceFaults().map((f) => f.kind)).toEqual(['hung']);
    // The clean-up runs from the worker's 'exit' event, which also ends its thread id.
    const w = workerOf(dev);
    await until(() => w.threadId === -1, 10_000, 'the hung worker to exit');
    expect(framesInFlight(sim)).toEqual([]);
    expect(accessRecord(sim, dev.id)).toEqual({ spans: 0, ringClaim: 0 });
    release(sim, buf);
    expect(sim.violations()).toEqual([]);
  });

  it('terminated by detach inside an access (after its grace period): counts lowered before detach resolves', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = lockedPages(sim, 3);
    const dev = await sim.attachDevice('test-probe');
    await hangInside(sim, dev, buf);
    await dev.detach();
    expect(framesInFlight(sim)).toEqual([]);
    expect(accessRecord(sim, dev.id)).toEqual({ spans: 0, ringClaim: 0 });
    release(sim, buf);
    expect(sim.violations()).toEqual([]);
  });

  it("only the dead device's counts are lowered: another device stuck on the same frames keeps its own", async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = lockedPages(sim, 4);
    const [a, b] = await Promise.all([sim.attachDevice('test-probe', { name: 'a' }), sim.attachDevice('test-probe', { name: 'b' })]);
    await hangInside(sim, a, buf);
    await hangInside(sim, b, buf);
    expect(framesInFlight(sim)).toEqual(framesOfBuffer(buf).map((frame) => ({ frame, inflight: 2 })));
    await a.detach();
    expect(framesInFlight(sim)).toEqual(framesOfBuffer(buf).map((frame) => ({ frame, inflight: 1 })));
    expect(accessRecord(sim, b.id)).toEqual({ spans: 1, ringClaim: 0 });
    // b is still inside its access: an unlock now is a real unlock during DMA, reported once per frame.
    expect(sim.vmm.linPageUnLock(buf.page, 4, 0)).toBe(1);
    expect(sim.violations().map((v) => [v.code, v.frame, v.detail])).toEqual(framesOfBuffer(buf).map((f) => ['unlock-during-dma', f, { inflight: 1 }]));
    await b.detach();
    expect(framesInFlight(sim)).toEqual([]);
    expect(sim.vmm.pageFree(buf.lin, 0)).toBe(1);
    expect(sim.violations()).toHaveLength(4);
  });

  it('a copy engine detached in the middle of an endless chain of 4 MiB copies: no count left, unlocks and frees report nothing', async () => {
    const sim = await pool.make({ pager: 'off', memory: 64 << 20 });
    const { buf, desc } = buffers(sim, 2);
    const dev = await sim.attachDevice('copy-engine');
    await startEndlessCopy(sim, dev, desc, 0, buf.phys[0]!, buf.phys[PAGES]!);
    // The loop is busy with the chain, so the shutdown request goes unserved: detach terminates the
    // worker wherever it is — most of the time inside a 4 MiB access.
    await dev.detach();
    expect(framesInFlight(sim)).toEqual([]);
    expect(accessRecord(sim, dev.id)).toEqual({ spans: 0, ringClaim: 0 });
    release(sim, buf, desc);
    expect(sim.violations()).toEqual([]);
  });
});

describe(`an access has at most AR_MAX_SPANS (${AR_MAX_SPANS}) spans`, () => {
  it('257 scatter-gather elements are a RangeError before anything is touched; 256 are fine', async () => {
    const sim = await pool.make({ pager: 'off' });
    const page = lockedPages(sim, 1);
    const { port, device } = mainThreadPort(sim);
    const list = (n: number) => Array.from({ length: n }, (_, i) => ({ phys: physAddr(page.phys[0]! + (i % 256) * 16), length: 16 }));
    expect(() => port.gather(list(AR_MAX_SPANS + 1), new Uint8Array(16 * (AR_MAX_SPANS + 1)))).toThrow(RangeError);
    expect(() => port.scatter(list(AR_MAX_SPANS + 1), new Uint8Array(16 * (AR_MAX_SPANS + 1)))).toThrow(/at most 256 spans/);
    expect(framesInFlight(sim)).toEqual([]);
    expect(accessRecord(sim, device).spans).toBe(0);
    expect(port.gather(list(AR_MAX_SPANS), new Uint8Array(16 * AR_MAX_SPANS))).toEqual({ bytesRead: 16 * AR_MAX_SPANS, bytesWritten: 0, ok: true });
    expect(sim.violations()).toEqual([]);
  });
});
