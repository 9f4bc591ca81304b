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
  /** Where this element's address came from (overrides the access's `from`; DmaAttributes). */
  readonly from?: DmaSource;
}

/**
 * When the driver wrote an address a device uses: a point of the simulator's global sequence (a
 * number; later is larger; the latest of several is `Math.max`), or `Infinity` — unknown, never
 * judged. Get one from `regs.source(…)` right after reading the register(s) the address came from,
 * or from `dma.sourceOf(…)` right after reading the descriptor it came from; keep it with the
 * address as long as the address is used (a ring base read once keeps the source read with it).
 */
export type DmaSource = number;

/**
 * Optional attributes of one access. Both are declarations by the device; an access without them
 * is checked as before.
 */
export interface DmaAttributes {
  /**
   * Where the access's address came from. The port then also checks that every frame it touches
   * has held its current page since before that source was written: an address the driver
   * programmed for a page that has since left the frame (another page now in it, even one the same
   * driver locked and obtained again) is 'dma-stale-programming'. A correct driver programs an
   * address only after obtaining it, so it is never reported (src/provenance.ts argues why).
   */
  readonly from?: DmaSource;
  /**
   * A write of the device's own status write-back — numbers it made up (status, lengths,
   * counters), never an address a driver wrote. Other device writes leave their frames' contents
   * of unknown provenance (`dma.sourceOf` is Infinity there until the driver writes them again).
   */
  readonly writeBack?: boolean;
}

/** Attributes of a memory-to-memory copy: a source for each of its two addresses. */
export interface CopyAttributes {
  readonly srcFrom?: DmaSource;
  readonly dstFrom?: DmaSource;
}

/** Every access takes optional DmaAttributes last (copy: CopyAttributes). */
export interface DmaPort {
  /** Device reads memory at `phys` into `into`. */
  read(phys: PhysAddr, into: Uint8Array, attrs?: DmaAttributes): DmaResult;
  /** Device writes `data` into memory at `phys`. */
  write(phys: PhysAddr, data: Uint8Array, attrs?: DmaAttributes): DmaResult;
  /** Device writes `length` copies of a byte at `phys`. */
  fill(phys: PhysAddr, length: number, value: number, attrs?: DmaAttributes): DmaResult;
  /** Memory to memory: reads `length` bytes at `src`, writes them at `dst` (both ranges checked first). */
  copy(src: PhysAddr, dst: PhysAddr, length: number, attrs?: CopyAttributes): DmaResult;
  /** Aligned 32-bit atomic read. */
  load32(phys: PhysAddr, attrs?: DmaAttributes): DmaValueResult;
  /** Aligned 32-bit atomic write. */
  store32(phys: PhysAddr, value: number, attrs?: DmaAttributes): DmaResult;
  /** Aligned 32-bit atomic add; `value` is the word before the add. */
  add32(phys: PhysAddr, delta: number, attrs?: DmaAttributes): DmaValueResult;
  /** Aligned 32-bit compare-exchange; `value` is the word before. */
  compareExchange32(phys: PhysAddr, expected: number, replacement: number, attrs?: DmaAttributes): DmaValueResult;
  /**
   * Gathers the elements, in order, into `into` (all elements checked before any byte moves). At
   * most 256 elements per call (a RangeError beyond, before anything is touched).
   */
  gather(list: readonly SgElement[], into: Uint8Array, attrs?: DmaAttributes): DmaResult;
  /** Scatters `data` across the elements, in order (all checked first; at most 256 elements, as gather). */
  scatter(list: readonly SgElement[], data: Uint8Array, attrs?: DmaAttributes): DmaResult;
  /**
   * The source of addresses the device read from driver memory at [phys, phys + length) (a
   * descriptor): when the driver last wrote that memory, or Infinity if unknown (a device wrote data
   * there since; outside RAM). Take it right after reading the descriptor. Reads nothing else and
   * checks nothing: a descriptor read the port refused gives no address to use anyway.
   */
  sourceOf(phys: PhysAddr, length?: number): DmaSource;
  /** Names the device command subsequent accesses belong to (for reports). */
  setCommand(command: number): void;
}

/**
 * The device's register file (32-bit words, shared with the driver). The device's own reads and
 * writes are plain: the descriptor's register rules (read-to-clear, write-1-to-clear, …) shape only
 * what the driver's accesses do. `set`, `clear` and `add` are atomic read-modify-writes, so a cause
 * bit the device sets (or a count it adds) is never lost to a driver's read-to-clear or
 * write-1-to-clear racing with it.
 */
export interface Registers {
  read(index: number): number;
  write(index: number, value: number): void;
  /** ORs `bits` into the register; returns the value before. */
  set(index: number, bits: number): number;
  /** Clears `bits` in the register; returns the value before. */
  clear(index: number, bits: number): number;
  /**
   * Adds `delta` to the register, modulo 2^32; returns the value before. Atomic like set, so a
   * counter the driver reads to clear (e1000 MPC, GPRC) never loses a count nor counts one twice.
   */
  add(index: number, delta: number): number;
  /**
   * When the driver last wrote the latest of these registers (a register it never wrote: when the
   * device was attached) — the source of an address read from them (DmaAttributes.from). Take it
   * right after reading them: a later write only makes it later (a check missed, never a false one).
   */
  source(...indices: number[]): DmaSource;
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
 * a control request, the driver reprogramming the ISA DMA controllers, or a frame arriving on (or
 * room appearing in) one of the device's links.
 */
export interface WakeSource {
  /** A token for "now". */
  token(): number;
  /** Blocks until something changes after `token` was taken, or `timeoutMs` pass. */
  wait(token: number, timeoutMs: number): void;
  /**
   * Milliseconds on the clock `wait`'s timeouts run on: the host's (performance.now()) when free
   * running, the scheduler's virtual clock in deterministic mode. A device that computes deadlines
   * uses this, never the host's clock, so a seed replays the same on any machine.
   */
  now(): number;
}

/**
 * One end of a device-to-device link (sim.createLink()), opened by the device from its attach
 * options. Non-blocking; a producer that finds no room decides itself whether to wait (on its wake
 * source: the consumer wakes it when it frees a slot), or to drop.
 */
export interface LinkPort {
  /** Largest frame the link carries, in bytes. */
  readonly maxFrame: number;
  /** Someone holds the other end (a device, or the main thread). A change moves the device's wake word. */
  readonly connected: boolean;
  /** Queues a frame for the other end; false when its queue is full (nothing queued). */
  send(frame: Uint8Array): boolean;
  /** Takes the next frame from the other end, or null. */
  receive(): Uint8Array | null;
  /** Length of the next frame waiting, or -1 (nothing taken). */
  peekLength(): number;
  /** Frames waiting. */
  pending(): number;
  /** Counts a frame this end gave up on sending (for the link's statistics). */
  countDropped(): void;
}

export interface DeviceContext {
  readonly dma: DmaPort;
  readonly regs: Registers;
  readonly irq: InterruptLine;
  /** The two 8237 DMA controllers, for a device that requests ISA DMA. */
  readonly isaDma: IsaDma;
  readonly wake: WakeSource;
  /**
   * The attach options, as structured clone delivered them: plain data, typed arrays,
   * SharedArrayBuffers (shared with the main thread, e.g. a disk image), link endpoints.
   */
  readonly options: Readonly<Record<string, unknown>>;
  /**
   * Opens a link endpoint found in the options (sim.createLink() made it). The host has already
   * claimed that side for this device; frames arriving on it bump the device's wake word.
   */
  openLink(endpoint: unknown): LinkPort;
}

/** A device model. All methods run on the device's own worker thread. */
export interface DeviceModel {
  /** The driver rang the doorbell: run one command. */
  onDoorbell(command: number): void;
  /**
   * Something other than a doorbell may have changed (a frame arrived on a link, room appeared,
   * the other end of a link was claimed or given back, the ISA DMA controllers were reprogrammed):
   * look at your inputs. Called by the device loop
   * after the doorbells owed are served, whenever the wake word moved since the last call. Optional.
   */
  onWake?(): void;
  /** Return to the power-on state. */
  reset(): void;
  /** Device-specific counters. */
  stats(): Record<string, number>;
  /** A graceful detach: flush what must outlive the device (a disk image to its file). Optional. */
  close?(): void;
}

export type DeviceFactory = (ctx: DeviceContext) => DeviceModel;

/** A driver write to `register` rings the doorbell when `(value & mask) !== 0`; every write rings when there is no mask. */
export interface DoorbellRule {
  readonly register: number;
  readonly mask?: number;
}

/**
 * How a driver's access to a register behaves, where it is not a plain word. Data, so a custom
 * device's descriptor crosses from its worker to the host.
 *  - `readToClear`: a read returns the value and clears it, atomically (e1000 ICR).
 *  - `write`: 'store' (the default); 'set' ORs the value into `target`; 'clear' clears the value's
 *    bits in `target` (e1000 IMS / IMC); 'read-only' ignores the write; `{ w1c, rw }` clears the
 *    bits of `w1c` written as 1, replaces the bits of `rw` and keeps every other bit (SFF-8038i
 *    bus-master status).
 *  - `target`: the register a 'set' or 'clear' write acts on (default: this one).
 */
export interface RegisterRule {
  readonly readToClear?: boolean;
  readonly write?: 'store' | 'set' | 'clear' | 'read-only' | { readonly w1c: number; readonly rw: number };
  readonly target?: number;
}

/** What the host needs to know about a device kind without loading its code. Plain data. */
export interface DeviceDescriptor {
  readonly kind: string;
  /** Register count (1 … 32). */
  readonly registers: number;
  /** The register writes that ring the doorbell. */
  readonly doorbells: readonly DoorbellRule[];
  /** Registers that are not plain words, by index. */
  readonly rules?: Readonly<Record<number, RegisterRule>>;
}

/**
 * A custom device module (attached with sim.attachDevice(url or path)): it exports its descriptor
 * and a factory, `createDevice` (or the default export). It is loaded on the device's worker only.
 */
export interface DeviceModule {
  readonly descriptor: DeviceDescriptor;
  readonly createDevice?: DeviceFactory;
  readonly default?: DeviceFactory;
}
