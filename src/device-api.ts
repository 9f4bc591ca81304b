/**
 * The narrow interfaces a device model depends on — and nothing else: its DMA port (the only way it
 * touches memory), its registers, its interrupt line. Devices never see the VMM, page tables or a
 * raw view of RAM. Types only: a device module that imports this file pulls in no runtime code.
 */

import type { PhysAddr } from './address.js';
import type { ViolationCode } from './ring.js';

/**
 * How a DMA access ended. Failures are data: a refused access moves no byte and says why. Bytes are
 * counted per direction: a memory-to-memory copy of n bytes reads n and writes n.
 */
export interface DmaResult {
  /** Bytes the device read from memory. */
  readonly bytesRead: number;
  /** Bytes the device wrote into memory. */
  readonly bytesWritten: number;
  readonly ok: boolean;
  /** Set when the access was refused (or let through under onViolation 'allow'). */
  readonly violation?: ViolationCode;
}

/** A DmaResult with the 32-bit word an atomic access read (the word before, for read-modify-write). */
export interface DmaValueResult extends DmaResult {
  readonly value: number;
}

/**
 * A scatter-gather element: a physical address and a length in bytes. Addresses are typed on the
 * device side as on the VMM side: a device brands what it reads from its registers or descriptors
 * with `physAddr` (src/address.ts), which refuses anything that is not a 32-bit unsigned number.
 */
export interface SgElement {
  readonly phys: PhysAddr;
  readonly length: number;
}

export interface DmaPort {
  /** Device reads memory at `phys` into `into`. */
  read(phys: PhysAddr, into: Uint8Array): DmaResult;
  /** Device writes `data` into memory at `phys`. */
  write(phys: PhysAddr, data: Uint8Array): DmaResult;
  /** Device writes `length` copies of a byte at `phys`. */
  fill(phys: PhysAddr, length: number, value: number): DmaResult;
  /** Memory to memory: reads `length` bytes at `src`, writes them at `dst` (both ranges checked first). */
  copy(src: PhysAddr, dst: PhysAddr, length: number): DmaResult;
  /** Aligned 32-bit atomic read. */
  load32(phys: PhysAddr): DmaValueResult;
  /** Aligned 32-bit atomic write. */
  store32(phys: PhysAddr, value: number): DmaResult;
  /** Aligned 32-bit atomic add; `value` is the word before the add. */
  add32(phys: PhysAddr, delta: number): DmaValueResult;
  /** Aligned 32-bit compare-exchange; `value` is the word before. */
  compareExchange32(phys: PhysAddr, expected: number, replacement: number): DmaValueResult;
  /**
   * Gathers the elements, in order, into `into` (all elements checked before any byte moves). At
   * most 256 elements per call (a RangeError beyond, before anything is touched).
   */
  gather(list: readonly SgElement[], into: Uint8Array): DmaResult;
  /** Scatters `data` across the elements, in order (all checked first; at most 256 elements, as gather). */
  scatter(list: readonly SgElement[], data: Uint8Array): DmaResult;
  /** Names the device command subsequent accesses belong to (for reports). */
  setCommand(command: number): void;
}

/** The device's register file (32-bit words, shared with the driver). */
export interface Registers {
  read(index: number): number;
  write(index: number, value: number): void;
}

export interface InterruptLine {
  /** Raises the line (level-triggered until the driver acknowledges). */
  raise(): void;
}

/** How an ISA DMA request ended (IsaDma.request). */
export interface IsaDmaResult {
  /** What the channel's mode made of it: device → memory, memory → device, or count only. */
  readonly type: 'write' | 'read' | 'verify';
  /** Transfers done: bytes on channels 0–3, 16-bit words on channels 5–7. */
  readonly transfers: number;
  /** Bytes of the device's stream that moved (transfers × 1 or 2). */
  readonly bytes: number;
  /** The channel reached terminal count with this request (it then reloaded, or masked itself). */
  readonly tc: boolean;
  /**
   * The channel cannot serve DREQ now: masked, at TC without auto-init, not a DMA channel, or cut
   * off by its cascade. DREQ stays asserted (it shows in the status register) until a later request
   * is served or the device calls `release`.
   */
  readonly waiting: boolean;
  /** The transfer was refused by the DMA checks (nothing moved, the channel did not advance). */
  readonly violation?: ViolationCode;
}

/**
 * The ISA DMA controllers as a peripheral sees them (QEMU's IsaDmaClass: hold DREQ, let the
 * controller move the data): a device asks for up to `bytes` of its stream on a channel, and the
 * 8237 moves them wherever the channel's mode, address and count say, through the device's checked
 * DMA port (so the usual checks apply, against the hand-outs of the driver the device is bound to).
 */
export interface IsaDma {
  /**
   * DREQ on `channel` for up to `bytes` bytes of the device's stream (stopping at terminal count).
   * When the channel writes memory, `produce(out)` fills `out` with the next bytes of the stream;
   * when it reads memory, `consume(data)` receives them, in stream order. 16-bit channels move
   * words, low byte first; `bytes` must then be even.
   */
  request(channel: number, bytes: number, produce: (out: Uint8Array) => void, consume: (data: Uint8Array) => void): IsaDmaResult;
  /** Drops DREQ on `channel` (a request that waited is withdrawn: the device stopped asking). */
  release(channel: number): void;
}

/**
 * What a device may block on inside a command (worker side; blocking is fine there): a doorbell,
 * a control request, or the driver reprogramming the ISA DMA controllers.
 */
export interface WakeSource {
  /** A token for "now". */
  token(): number;
  /** Blocks until something changes after `token` was taken, or `timeoutMs` pass. */
  wait(token: number, timeoutMs: number): void;
}

export interface DeviceContext {
  readonly dma: DmaPort;
  readonly regs: Registers;
  readonly irq: InterruptLine;
  /** The two 8237 DMA controllers, for a device that requests ISA DMA. */
  readonly isaDma: IsaDma;
  readonly wake: WakeSource;
  /** The attach options (plain data). */
  readonly options: Readonly<Record<string, unknown>>;
}

/** A device model. All methods run on the device's own worker thread. */
export interface DeviceModel {
  /** The driver rang the doorbell: run one command. */
  onDoorbell(command: number): void;
  /** Return to the power-on state. */
  reset(): void;
  /** Device-specific counters. */
  stats(): Record<string, number>;
}

export type DeviceFactory = (ctx: DeviceContext) => DeviceModel;

/** What the host needs to know about a device kind without loading its code. */
export interface DeviceDescriptor {
  readonly kind: string;
  /** Register count (≤ 32). */
  readonly registers: number;
  /** Does writing `value` to register `index` ring the doorbell? */
  rings(index: number, value: number): boolean;
}
