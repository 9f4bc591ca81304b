/**
 * Typed addresses. Linear addresses, linear page numbers, physical addresses and frame numbers
 * are different things; a `>> 12` in the wrong place is the classic bug. Each is a branded number
 * made only by the checking constructors and named conversions below.
 *
 * The DDK-facing services take plain ULONG numbers (that is the contract a driver codes against);
 * they validate with `isUlong` and then brand, so everything below the service layer is typed.
 */

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A ring-0 linear byte address, 0 … 0xFFFFFFFF. */
export type LinAddr = Brand<number, 'LinAddr'>;
/** A linear page number (linear address >> 12), 0 … 0xFFFFF. */
export type LinPage = Brand<number, 'LinPage'>;
/** A physical byte address, 0 … 0xFFFFFFFF. */
export type PhysAddr = Brand<number, 'PhysAddr'>;
/** A physical frame number (physical address >> 12). */
export type Frame = Brand<number, 'Frame'>;
/**
 * A frame's epoch (frametable.ts): odd while locked, even while not, bumped by every lock, unlock
 * and retirement; read modulo 2^30, so always ≥ 0. A hand-out entry holds the epoch the driver was
 * given, or HANDOUT_NEVER.
 */
export type Epoch = Brand<number, 'Epoch'>;
/** A hand-out entry that was never written (epoch 0 is a real epoch, so it cannot mean "never"). */
export const HANDOUT_NEVER = -1;

export const PAGESHIFT = 12;
export const PAGESIZE = 0x1000;
export const PAGEMASK = 0xfff;
/** Number of linear pages in the 4 GiB space. */
export const LINEAR_PAGES = 0x100000;

/** True for an integer in 0 … 2^32-1: the only values a ULONG argument may take. */
export function isUlong(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

export function linPage(n: number): LinPage {
  if (!Number.isInteger(n) || n < 0 || n >= LINEAR_PAGES) throw new RangeError(`not a linear page number: ${n}`);
  return n as LinPage;
}

export function linAddr(n: number): LinAddr {
  if (!isUlong(n)) throw new RangeError(`not a linear address: ${n}`);
  return n as LinAddr;
}

export function physAddr(n: number): PhysAddr {
  if (!isUlong(n)) throw new RangeError(`not a physical address: ${n}`);
  return n as PhysAddr;
}

export function frame(n: number): Frame {
  if (!Number.isInteger(n) || n < 0 || n >= LINEAR_PAGES) throw new RangeError(`not a frame number: ${n}`);
  return n as Frame;
}

/** The linear page holding a linear address. */
export function pageOf(a: LinAddr): LinPage {
  return (a >>> PAGESHIFT) as LinPage;
}

/** The first byte of a linear page. */
export function pageBase(p: LinPage): LinAddr {
  return (p * PAGESIZE) as LinAddr;
}

/** The frame holding a physical address. */
export function frameOf(a: PhysAddr): Frame {
  return (a >>> PAGESHIFT) as Frame;
}

/** The physical address of a frame's first byte. */
export function frameBase(f: Frame): PhysAddr {
  return (f * PAGESIZE) as PhysAddr;
}

/** The page `n` pages after `p`, checked to stay inside the 4 GiB space. */
export function nthPage(p: LinPage, n: number): LinPage {
  return linPage(p + n);
}

/** The frame `n` frames after `f`. */
export function nthFrame(f: Frame, n: number): Frame {
  return frame(f + n);
}

/** The frame an x86 PTE maps (bits 12–31; meaningful only when P_PRES is set). */
export function pteFrame(pte: number): Frame {
  return (pte >>> PAGESHIFT) as Frame;
}

/** A PTE mapping frame `f` with the low 12 bits `bits` (P_PRES, P_WRITE, P_USER, P_ACC, P_DIRTY). */
export function makePte(f: Frame, bits: number): number {
  return ((f << PAGESHIFT) | (bits & PAGEMASK)) >>> 0;
}

export function offsetInPage(a: LinAddr | PhysAddr): number {
  return a & PAGEMASK;
}

/** Formats as the DDK writes numbers: 0x-prefixed, upper-case, zero-padded to 8 digits. */
export function hex(n: number, digits = 8): string {
  return '0x' + (n >>> 0).toString(16).toUpperCase().padStart(digits, '0');
}
