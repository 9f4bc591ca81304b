/**
 * Helpers for the worker-backed DMA tests: test-probe and copy-engine programming, buffers with
 * handed-out physical addresses, descriptor chains written by the CPU, and small predicates over
 * reports. Everything goes through the public API (src/index.ts); simulators that are always closed
 * and the general memory-manager helpers are in helpers.ts.
 */

import { expect } from 'vitest';
import {
  P_PRES,
  PAGECONTIG,
  PAGEFIXED,
  PAGEMARKDIRTY,
  PAGEUSEALIGN,
  PG_SYS,
  VIOLATION_CODES,
  copyEngine as CE,
  testProbe as TP,
  type DeviceHandle,
  type DriverContext,
  type Simulator,
  type Violation,
  type ViolationCode,
} from '../src/index.js';
import { ptes } from './helpers.js';

export interface Buffer {
  lin: number;
  page: number;
  npages: number;
  /** Physical address of each page (from _CopyPageTable, or the contiguous PhysAddr). */
  phys: number[];
}

/**
 * _PageAllocate (swappable) + _LinPageLock + _CopyPageTable with chosen flags. `lockFlags` null
 * allocates without locking or handing out.
 */
export function lockedPages(drv: DriverContext, npages: number, opts: { allocFlags?: number; lockFlags?: number | null } = {}): Buffer {
  const lin = drv.vmm.pageAllocate(npages, PG_SYS, 0, 0, 0, 0, null, opts.allocFlags ?? 0);
  expect(drv.vmm.lastError).toBeNull();
  const page = lin >>> 12;
  const lockFlags = opts.lockFlags === undefined ? PAGEMARKDIRTY : opts.lockFlags;
  if (lockFlags === null) return { lin, page, npages, phys: [] };
  expect(drv.vmm.linPageLock(page, npages, lockFlags)).not.toBe(0);
  return { lin, page, npages, phys: handOut(drv, page, npages) };
}

/** _CopyPageTable for `npages` pages: the physical address of each present page (0 if absent). */
export function handOut(drv: DriverContext, page: number, npages: number): number[] {
  return ptes(drv, page, npages).map((e) => (e & P_PRES ? (e & ~0xfff) >>> 0 : 0));
}

/**
 * _PageAllocate(PAGEUSEALIGN | PAGECONTIG | PAGEFIXED) constrained to physical frames
 * [minFrame, maxFrame): fixed, contiguous, and (with handOut) its PhysAddr recorded for the driver.
 */
export function contiguous(drv: DriverContext, npages: number, minFrame: number, maxFrame: number, handOutAddr = true): Buffer {
  const phys = new Uint32Array(1);
  const lin = drv.vmm.pageAllocate(npages, PG_SYS, 0, 0, minFrame, maxFrame, handOutAddr ? phys : null, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED);
  expect(drv.vmm.lastError).toBeNull();
  expect(lin).not.toBe(0);
  const page = lin >>> 12;
  const base = handOutAddr ? phys[0]! : -1;
  return { lin, page, npages, phys: handOutAddr ? Array.from({ length: npages }, (_, i) => base + i * 4096) : [] };
}

export interface ProbeResult {
  status: number;
  result: number;
  /** VIOLATION register: violation code index + 1, 0 for none. */
  violation: number;
}

/** Runs one test-probe command and waits for its interrupt. */
export async function probe(dev: DeviceHandle, op: number, addr: number, args: { len?: number; value?: number; value2?: number } = {}): Promise<ProbeResult> {
  dev.ackInterrupt();
  dev.writeReg(TP.REG.ADDR, addr);
  dev.writeReg(TP.REG.LEN, args.len ?? 0);
  dev.writeReg(TP.REG.VALUE, args.value ?? 0);
  dev.writeReg(TP.REG.VALUE2, args.value2 ?? 0);
  dev.writeReg(TP.REG.CMD, op);
  await dev.waitForInterrupt({ timeoutMs: 10_000 });
  return { status: dev.readReg(TP.REG.STATUS), result: dev.readReg(TP.REG.RESULT), violation: dev.readReg(TP.REG.VIOLATION) };
}

export const PROBE_OK = TP.STATUS.DONE;
export const PROBE_REFUSED = TP.STATUS.DONE | TP.STATUS.REFUSED;

/** The VIOLATION register value the test-probe reports for a code. */
export const violationRegister = (code: ViolationCode): number => VIOLATION_CODES.indexOf(code) + 1;

/** The result of a probe command that completed with no violation. */
export const probeDone = (result: number): ProbeResult => ({ status: PROBE_OK, result, violation: 0 });

/** The result of a probe command refused with a violation (`result`: bytes moved anyway, under 'allow'). */
export const probeRefused = (code: ViolationCode, result = 0): ProbeResult => ({ status: PROBE_REFUSED, result, violation: violationRegister(code) });

export interface Descriptor {
  src: number;
  dst: number;
  length: number;
  next: number;
}

/** Writes 16-byte little-endian descriptors with the CPU at a linear address. */
export function writeDescriptors(sim: Simulator, lin: number, list: readonly (Descriptor & { at: number })[]): void {
  for (const d of list) {
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    dv.setUint32(CE.DESCRIPTOR.SRC, d.src, true);
    dv.setUint32(CE.DESCRIPTOR.DST, d.dst, true);
    dv.setUint32(CE.DESCRIPTOR.LENGTH, d.length, true);
    dv.setUint32(CE.DESCRIPTOR.NEXT, d.next, true);
    sim.cpu.writeBytes(lin + d.at, b);
  }
}

export interface CeResult {
  status: number;
  error: number;
  bytes: number;
}

/** Programs a direct copy and rings the doorbell (with IRQ_ENABLE unless `irq` is false); does not wait. */
export function ceStartCopy(dev: DeviceHandle, src: number, dst: number, length: number, irq = true): void {
  dev.ackInterrupt();
  dev.writeReg(CE.REG.SRC, src);
  dev.writeReg(CE.REG.DST, dst);
  dev.writeReg(CE.REG.LENGTH, length);
  dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | (irq ? CE.CONTROL.IRQ_ENABLE : 0));
}

/** Programs a direct copy and waits for its interrupt; returns STATUS, ERROR and BYTES_DONE. */
export async function ceCopy(dev: DeviceHandle, src: number, dst: number, length: number): Promise<CeResult> {
  ceStartCopy(dev, src, dst, length);
  await dev.waitForInterrupt({ timeoutMs: 10_000 });
  return ceResult(dev);
}

/** Programs a fill and waits for its interrupt. */
export async function ceFill(dev: DeviceHandle, dst: number, length: number, value: number): Promise<CeResult> {
  dev.ackInterrupt();
  dev.writeReg(CE.REG.DST, dst);
  dev.writeReg(CE.REG.LENGTH, length);
  dev.writeReg(CE.REG.FILL_VALUE, value);
  dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.FILL | CE.CONTROL.IRQ_ENABLE);
  await dev.waitForInterrupt({ timeoutMs: 10_000 });
  return ceResult(dev);
}

/** Programs a scatter-gather command (optionally FILL) and waits for its interrupt. */
export async function ceChain(dev: DeviceHandle, desc: number, opts: { fill?: number } = {}): Promise<CeResult> {
  dev.ackInterrupt();
  dev.writeReg(CE.REG.DESC, desc);
  if (opts.fill !== undefined) dev.writeReg(CE.REG.FILL_VALUE, opts.fill);
  dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.SG | CE.CONTROL.IRQ_ENABLE | (opts.fill !== undefined ? CE.CONTROL.FILL : 0));
  await dev.waitForInterrupt({ timeoutMs: 10_000 });
  return ceResult(dev);
}

export function ceResult(dev: DeviceHandle): CeResult {
  return { status: dev.readReg(CE.REG.STATUS), error: dev.readReg(CE.REG.ERROR), bytes: dev.readReg(CE.REG.BYTES_DONE) };
}

/** Polls a register until `(value & mask) === want` (for commands run without IRQ_ENABLE). */
export async function pollReg(dev: DeviceHandle, index: number, mask: number, want: number, timeoutMs = 10_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = dev.readReg(index);
    if ((v & mask) === want) return v;
    if (performance.now() > deadline) throw new Error(`register ${index} = ${v}: no (value & ${mask}) === ${want} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Deterministic bytes (xorshift32) for data patterns. */
export function bytes(seed: number, n: number): Uint8Array {
  let x = seed >>> 0 || 0x9e3779b9;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A small seeded PRNG for test decisions. */
export function rng(seed: number): () => number {
  let x = (seed * 0x9e3779b1) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

/** True if some line of a report stack names `file` (the driver code under test made the call). */
export function stackNames(stack: readonly string[] | undefined, file: string): boolean {
  return stack !== undefined && stack.some((l) => l.includes(file));
}

/** The records of one code. */
export function ofCode(vs: readonly Violation[], code: Violation['code']): Violation[] {
  return vs.filter((v) => v.code === code);
}

/** Spins the main thread for `us` microseconds (used only to aim an unlock into a DMA window). */
export function spinMicros(us: number): void {
  const until = performance.now() + us / 1000;
  while (performance.now() < until) {
    // busy wait, bounded by `us`
  }
}

/**
 * Where two byte arrays first differ: -1 if equal, else an index (the length if only the lengths
 * differ). Cheap for large buffers, where a deep toEqual would dominate a stress test's time.
 */
export function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  if (a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))) return -1;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}
