/**
 * Device descriptors as data (device-api.ts DeviceDescriptor): which register writes ring the
 * doorbell, which registers are not plain words. Built-in kinds declare theirs in their regs.ts; a
 * custom device module exports one, which its worker sends to the host, where `checkDescriptor`
 * refuses anything malformed before the device is used. No runtime dependencies: device register
 * maps import `rings` from here.
 */

import type { DeviceDescriptor, DoorbellRule, RegisterRule } from './device-api.js';
import { DEVICE_REGS } from './layout.js';

/** Does a write of `value` to register `index` ring the doorbell under `doorbells`? */
export function rings(doorbells: readonly DoorbellRule[], index: number, value: number): boolean {
  for (const d of doorbells) if (d.register === index && (d.mask === undefined || (value & d.mask) !== 0)) return true;
  return false;
}

/** A malformed descriptor (a custom device module's). */
export class DescriptorError extends TypeError {
  override readonly name = 'DescriptorError';
}

const isIndex = (n: unknown, count: number): n is number => Number.isInteger(n) && (n as number) >= 0 && (n as number) < count;

/** Checks a descriptor that arrived as data; returns it frozen, or throws DescriptorError naming the first fault. */
export function checkDescriptor(d: unknown): DeviceDescriptor {
  const bad = (why: string): never => {
    throw new DescriptorError(`device descriptor: ${why}`);
  };
  if (typeof d !== 'object' || d === null) bad('not an object');
  const x = d as Record<string, unknown>;
  if (typeof x.kind !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(x.kind)) bad(`kind must be a short name, got ${JSON.stringify(x.kind)}`);
  const count = x.registers;
  if (!Number.isInteger(count) || (count as number) < 1 || (count as number) > DEVICE_REGS) bad(`registers must be an integer in 1…${DEVICE_REGS}, got ${String(count)}`);
  const n = count as number;
  if (!Array.isArray(x.doorbells)) bad('doorbells must be an array of { register, mask? }');
  const doorbells = (x.doorbells as unknown[]).map((r, i): DoorbellRule => {
    const o = r as Partial<DoorbellRule> | null;
    if (typeof o !== 'object' || o === null || !isIndex(o.register, n)) bad(`doorbells[${i}].register must be a register index below ${n}`);
    if (o!.mask !== undefined && !Number.isInteger(o!.mask)) bad(`doorbells[${i}].mask must be an integer`);
    return Object.freeze({ register: o!.register!, ...(o!.mask !== undefined ? { mask: o!.mask } : {}) });
  });
  const rules: Record<number, RegisterRule> = {};
  if (x.rules !== undefined) {
    if (typeof x.rules !== 'object' || x.rules === null) bad('rules must be an object keyed by register index');
    for (const [k, r] of Object.entries(x.rules as object)) {
      const i = Number(k);
      if (!isIndex(i, n)) bad(`rules key ${k} is not a register index below ${n}`);
      const o = r as RegisterRule | null;
      if (typeof o !== 'object' || o === null) bad(`rules[${k}] must be an object`);
      if (o!.readToClear !== undefined && typeof o!.readToClear !== 'boolean') bad(`rules[${k}].readToClear must be a boolean`);
      const w = o!.write;
      const named = w === undefined || w === 'store' || w === 'set' || w === 'clear' || w === 'read-only';
      const masks = typeof w === 'object' && w !== null && Number.isInteger(w.w1c) && Number.isInteger(w.rw);
      if (!named && !masks) bad(`rules[${k}].write must be 'store', 'set', 'clear', 'read-only' or { w1c, rw }`);
      if (o!.target !== undefined && !isIndex(o!.target, n)) bad(`rules[${k}].target must be a register index below ${n}`);
      rules[i] = Object.freeze({ ...o! });
    }
  }
  return Object.freeze({ kind: x.kind as string, registers: n, doorbells: Object.freeze(doorbells), rules: Object.freeze(rules) });
}

/**
 * Applies a driver write under its rule to the register words (main thread). Every form is one
 * atomic operation on the word (a compare-exchange loop for the masked form), so a bit the device
 * sets meanwhile with Registers.set is never lost.
 */
export function applyWrite(words: Int32Array, at: (index: number) => number, index: number, value: number, rule: RegisterRule | undefined): void {
  const w = rule?.write ?? 'store';
  const target = at(rule?.target ?? index);
  if (w === 'store') Atomics.store(words, target, value | 0);
  else if (w === 'set') Atomics.or(words, target, value | 0);
  else if (w === 'clear') Atomics.and(words, target, ~value);
  else if (w === 'read-only') return;
  else {
    for (;;) {
      const old = Atomics.load(words, target);
      const next = ((old & ~(w.w1c & value)) & ~w.rw) | (value & w.rw);
      if (Atomics.compareExchange(words, target, old, next | 0) === old) return;
    }
  }
}

/** Reads a register for the driver under its rule: read-to-clear is one atomic exchange. */
export function applyRead(words: Int32Array, at: number, rule: RegisterRule | undefined): number {
  return (rule?.readToClear ? Atomics.exchange(words, at, 0) : Atomics.load(words, at)) >>> 0;
}
