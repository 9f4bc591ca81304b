/**
 * CPU-side access for driver code, through linear addresses, as ring-0 code would touch memory:
 * every page is checked (present, committed, not in the invalid region), a committed page that is
 * not present is paged in, and CPU writes set P_DIRTY and P_ACC (reads set P_ACC). DMA never does.
 *
 * Write protection is not enforced: Windows 95 runs ring 0 with CR0.WP clear, so a VxD can write a
 * page whose PTE lacks P_WRITE. Permissions are still reported by _PageQuery and in PTEs.
 *
 * A multi-page access checks every page before paging any in, and pages all in before the first
 * byte moves, so a fault leaves memory (and residency) as it was.
 */

import { LINEAR_PAGES, PAGESIZE, frameBase, isUlong, linAddr, nthPage, offsetInPage, pageBase, pageOf, type LinAddr, type LinPage, type PhysAddr } from './address.js';
import { PageFault } from './errors.js';
import type { PortBus } from './isa/portbus.js';
import { ARENA, PS, arenaOf, type MemoryCore } from './vmm/core.js';

const MAX_PAGE = (LINEAR_PAGES - 1) as LinPage;

export interface Cpu {
  read8(lin: number): number;
  read16(lin: number): number;
  read32(lin: number): number;
  write8(lin: number, value: number): void;
  write16(lin: number, value: number): void;
  write32(lin: number, value: number): void;
  readBytes(lin: number, len: number): Uint8Array;
  writeBytes(lin: number, bytes: Uint8Array | readonly number[]): void;
  /**
   * Port I/O, synchronous like the x86 instructions (src/isa/portbus.ts): an unclaimed port reads
   * all ones and ignores writes; a port outside 0…0xFFFF (for the access's width) or a value out of
   * range throws a RangeError and changes nothing.
   */
  inb(port: number): number;
  inw(port: number): number;
  ind(port: number): number;
  outb(port: number, value: number): void;
  outw(port: number, value: number): void;
  outd(port: number, value: number): void;
}

export class SimCpu implements Cpu {
  constructor(
    private readonly core: MemoryCore,
    private readonly ports: PortBus,
  ) {}

  inb(port: number): number {
    return this.ports.in(port, 1);
  }

  inw(port: number): number {
    return this.ports.in(port, 2);
  }

  ind(port: number): number {
    return this.ports.in(port, 4);
  }

  outb(port: number, value: number): void {
    this.ports.out(port, 1, value);
  }

  outw(port: number, value: number): void {
    this.ports.out(port, 2, value);
  }

  outd(port: number, value: number): void {
    this.ports.out(port, 4, value);
  }

  read8(lin: number): number {
    return this.readBytes(lin, 1)[0]!;
  }

  read16(lin: number): number {
    const b = this.readBytes(lin, 2);
    return b[0]! | (b[1]! << 8);
  }

  read32(lin: number): number {
    const b = this.readBytes(lin, 4);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }

  write8(lin: number, value: number): void {
    this.writeBytes(lin, [value & 0xff]);
  }

  write16(lin: number, value: number): void {
    this.writeBytes(lin, [value & 0xff, (value >>> 8) & 0xff]);
  }

  write32(lin: number, value: number): void {
    this.writeBytes(lin, [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff]);
  }

  readBytes(lin: number, len: number): Uint8Array {
    checkArgs(lin, len, false);
    const out = new Uint8Array(len);
    const ram = this.core.shared.ram;
    this.forEachPage(lin, len, false, (phys, off, n) => out.set(ram.subarray(phys, phys + n), off));
    return out;
  }

  /** Throws a TypeError, writing nothing, unless `bytes` is a Uint8Array or an array of integers 0 … 255. */
  writeBytes(lin: number, bytes: Uint8Array | readonly number[]): void {
    const data = byteArray(bytes);
    checkArgs(lin, data.length, true);
    const ram = this.core.shared.ram;
    this.forEachPage(lin, data.length, true, (phys, off, n) => ram.set(data.subarray(off, off + n), phys));
  }

  /** Resolves every page first (faulting or paging in), then runs `fn` per page piece. */
  private forEachPage(lin: number, len: number, write: boolean, fn: (phys: PhysAddr, off: number, n: number) => void): void {
    if (len === 0) return;
    const core = this.core;
    const start = linAddr(lin);
    const first = pageOf(start);
    const last = pageOf(linAddr(lin + len - 1));
    // Every page is checked before any is paged in: a faulting access changes nothing.
    for (let p = first; p <= last; p = nthPage(p, 1)) this.check(p, p === first ? start : pageBase(p), write);
    for (let p = first; p <= last; p = nthPage(p, 1)) {
      if (!core.isPresent(p) && !core.pageIn(p)) throw new PageFault(p === first ? start : pageBase(p), 'out-of-memory', write);
    }
    let off = 0;
    // One provenance stamp for the whole write, taken before its first byte (src/provenance.ts).
    const stamp = write ? core.stampNow() : 0;
    for (let p = first; p <= last; p = nthPage(p, 1)) {
      const inPage = p === first ? offsetInPage(start) : 0;
      const n = Math.min(PAGESIZE - inPage, len - off);
      // Re-check: under memory pressure, resolving a later page of this access may have paged out
      // an earlier (unlocked) one.
      if (!core.isPresent(p) && !core.pageIn(p)) throw new PageFault(pageBase(p) + inPage, 'out-of-memory', write);
      const f = core.frameOfPage(p);
      // Before the bytes: the frame's contents are stamped as written now (src/provenance.ts).
      if (write) core.contentWritten(f, stamp);
      fn((frameBase(f) + inPage) as PhysAddr, off, n);
      if (write) core.cpuWrote(p);
      else core.cpuRead(p);
      off += n;
      if (p === MAX_PAGE) break;
    }
    core.tick();
  }

  private check(p: LinPage, addr: LinAddr, write: boolean): void {
    const core = this.core;
    if (arenaOf(p) === ARENA.INVALID) throw new PageFault(addr, 'invalid-region', write);
    const st = core.pageState(p);
    if (st === PS.FREE) throw new PageFault(addr, 'free', write);
    if (st === PS.RESERVED) throw new PageFault(addr, 'reserved', write);
    if (core.isAliasPage(p) && !core.aliasValid(p)) throw new PageFault(addr, 'stale-alias', write);
  }
}

function checkArgs(lin: number, len: number, write: boolean): void {
  if (!isUlong(lin)) throw new TypeError(`linear address must be an unsigned 32-bit integer, got ${String(lin)}`);
  if (!Number.isInteger(len) || len < 0) throw new TypeError(`length must be a non-negative integer, got ${String(len)}`);
  if (lin + len > 0x100000000) throw new PageFault(0xffffffff, 'invalid-region', write);
}

/**
 * The bytes to write. Anything else is refused rather than converted: Uint8Array.from would turn a
 * string into zero bytes, 300 into 44 and 1.5 into 1 — a silent write of data nobody meant.
 */
function byteArray(bytes: unknown): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (!Array.isArray(bytes)) throw new TypeError(`bytes must be a Uint8Array or an array of byte values, got ${typeof bytes}`);
  for (let i = 0; i < bytes.length; i++) {
    const b: unknown = bytes[i];
    if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > 0xff) throw new TypeError(`bytes[${i}] is ${String(b)}, not a byte (an integer 0 … 255)`);
  }
  return Uint8Array.from(bytes as readonly number[]);
}
