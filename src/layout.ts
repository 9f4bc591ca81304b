/**
 * The one owner of the shared-memory layout (DESIGN.md §2). Every offset is computed here from the
 * configuration and named once; both threads index shared memory only through these names. This is
 * also the only module that makes typed-array views over the SharedArrayBuffers: the main thread
 * calls `createShared`, a worker calls `attachShared`, which validates the header (magic, version,
 * sizes) before handing out views.
 *
 * Two buffers:
 *  - RAM: `frames × 4096` bytes of simulated physical memory.
 *  - control (Int32 words): header | frame table | handout tables | device control blocks |
 *    device access records | violation ring | trace rings | ISA DMA | frame provenance.
 */

import { PAGESIZE } from './address.js';

export const LAYOUT_MAGIC = 0x444d4153; // 'DMAS'
/**
 * 3: in-flight DMA as one bit per device slot in the frame entry (was a count); access records
 * keep spans, an access id and the command (no cursors); attachment ids in device control blocks
 * and ring records; per-producer trace rings. 4: the two 8237 DMA controllers (ISA). 5: an
 * instance id in the header (device-to-device links name the simulator they belong to). 6: the
 * SABOTAGE header word (checker self-tests). 7: address provenance (src/provenance.ts) — a
 * frame-provenance region, a "written at" stamp per device register (device control blocks of 128
 * words), a "programmed at" stamp per 8237 channel, the main thread's 64-bit extension of SEQ in
 * the header.
 */
export const LAYOUT_VERSION = 8;

export const MIN_MEMORY = 1 << 20; // 1 MiB
export const MAX_MEMORY = 1 << 30; // 1 GiB
export const DEFAULT_MEMORY = 16 << 20;
/** Device slots: 8 in-flight words of 32 bits fit the 16-word frame entry. */
export const MAX_DEVICES = 256;

/** Header word indices. */
export const H = {
  MAGIC: 0,
  VERSION: 1,
  FRAMES: 2,
  MAX_DRIVERS: 3,
  MAX_DEVICES: 4,
  RING_CAPACITY: 5,
  FRAME_TABLE: 6,
  HANDOUT: 7,
  DEVICES: 8,
  RING: 9,
  /** Ring slots claimed by writers (monotonic). */
  RING_WRITE: 10,
  /** Ring slots consumed by the main thread (monotonic). */
  RING_READ: 11,
  /** Records a writer could not append because the ring was full, plus records lost with a writer
   * that died between claiming a slot and publishing it (tombstones, counted by the drain). */
  RING_DROPPED: 12,
  TOTAL_WORDS: 13,
  /** onViolation policy: see VIOLATION_MODE. */
  ON_VIOLATION: 14,
  /** Global monotonic sequence shared by every report and trace event, whichever thread makes it. */
  SEQ: 15,
  /** Word index of the first device access record. */
  ACCESS: 16,
  /** Words per frame-table entry (FT_STRIDE_SMALL or FT_STRIDE_LARGE). */
  FT_STRIDE: 17,
  /** Word index of the first trace ring (producer 0 = the main thread, 1 + slot = a device). */
  TRACE: 18,
  /** Events per trace ring; 0 = tracing off. */
  TRACE_CAPACITY: 19,
  /** Word index of the ISA DMA region (the two 8237 controllers). */
  ISA: 20,
  /**
   * 1: DMA ports move bytes without any check (SimulatorOptions.checks false) — only for the
   * benchmark that measures what the checks cost. Set before any device attaches.
   */
  UNCHECKED: 21,
  /** A random nonzero id of this simulator: a link (createLinkShared) belongs to exactly one. */
  INSTANCE: 22,
  /**
   * CHECKER SELF-TESTS ONLY: a SABOTAGE_CODE that deliberately breaks one check of every DMA port
   * (0 in every real run), so the bug corpus can prove it fails without that check. Set through an
   * internal option (src/sabotage.ts) before any device attaches; each port reads it once.
   */
  SABOTAGE: 23,
  /** Word index of the frame-provenance region (FP). */
  PROVENANCE: 24,
  /**
   * The main thread's 64-bit extension of SEQ (provenance.ts): the low word of the last SEQ value
   * it turned into a stamp, and the high word it carried. Read and written by the main thread only.
   */
  CLOCK_LO: 25,
  CLOCK_HI: 26,
  /**
   * 1: deterministic mode (src/sched/): every device step waits for the main thread's grant at the
   * device's grant points (DCB.SCHED_*). Set before any device attaches; each worker reads it once.
   */
  DETERMINISTIC: 27,
  /** Deterministic mode's virtual clock in microseconds (low word, high word), written by the scheduler only. */
  VNOW_LO: 28,
  VNOW_HI: 29,
} as const;
export const HEADER_WORDS = 30;

/**
 * Frame-table entry. In-flight DMA is one bit per device slot, INFLIGHT + (slot >> 5), bit
 * (slot & 31): a device sets its own bit (Atomics.or) for the frames of the access it is making and
 * clears it (Atomics.and) when the access ends. A bit is idempotent — a frame walked twice in one
 * access sets it twice and clears it once — and a dead device's bits can be cleared exactly without
 * knowing how far it got (src/dma/record.ts).
 */
export const FT = {
  LOCK: 0,
  EPOCH: 1,
  FLAGS: 2,
  /** Linear page this frame backs, or -1 (none). */
  OWNER: 3,
  /** Driver context that took the lock 0 → 1, plus 1 (0 = none). */
  LOCKER: 4,
  /** First in-flight word; there are inflightWords(maxDevices) of them. */
  INFLIGHT: 5,
} as const;
/** Entry size with up to 3 in-flight words (96 devices): 32 bytes, two frames per cache line. */
export const FT_STRIDE_SMALL = 8;
export const FT_STRIDE_LARGE = 16;

/** In-flight words per frame for `maxDevices` slots. */
export function inflightWords(maxDevices: number): number {
  return Math.ceil(maxDevices / 32);
}

/** Frame flag bits (FT.FLAGS). */
export const FF = {
  /** Allocated to some page or purpose (not on the free list, not in quarantine). */
  USED: 1 << 0,
  /** Permanently locked: PAGEFIXED / PC_FIXED / _PageCommitContig / PCC_NOLIN / the nul page. */
  FIXED: 1 << 1,
  /** Released and held back from reuse (KASAN-style quarantine). */
  QUARANTINED: 1 << 2,
  /** Mirror of P_DIRTY of the page it backs (written by the VMM). */
  PTE_DIRTY: 1 << 3,
  /** Currently locked with PAGEMARKDIRTY. */
  MARKDIRTY: 1 << 4,
  /** Backs pages with no pager (the pager never drops or moves it). */
  NOPAGER: 1 << 5,
  /**
   * A device wrote data (not its own status write-back) into the frame since the main thread last
   * wrote or replaced its contents: addresses read from it have unknown provenance (provenance.ts).
   * Set by a device after its bytes land; cleared by the main thread after it stamps new contents.
   * A property of the contents, so a retire leaves it (the bytes stay in the frame).
   */
  DMA_DATA: 1 << 6,
} as const;

/** Device control block: 128 words per device (control words, registers, register stamps). */
export const DCB = {
  /** Wake sequence: bumped for every doorbell and control request; the worker waits on it. */
  WAKE: 0,
  DOORBELL_RUNG: 1,
  DOORBELL_SERVED: 2,
  /** Control requests posted by the main thread (the worker yields to its event loop for them). */
  CTL_PENDING: 3,
  /** Interrupt line level: 1 raised, 0 acknowledged. The main thread waits on it. */
  IRQ: 4,
  IRQ_COUNT: 5,
  /** The attachment this slot serves now (host-wide serial, never reused; 0 = none). */
  ATTACHMENT: 6,
  /** DEVICE_STATE value. */
  STATE: 7,
  /**
   * Bumped by the worker whenever it makes progress — an access that moved bytes, a finished
   * command — for the hang watchdog: a device is hung only if this stands still while it owes a
   * doorbell, not merely because one command is long.
   */
  PROGRESS: 8,
  /** Driver context the device is bound to. */
  DRIVER: 9,
  /** Address width in bits. */
  ADDRESS_BITS: 10,
  /** No-crossing boundary in bytes (0 = none). */
  BOUNDARY: 11,
  /**
   * 1 while the worker is (about to be) parked in Atomics.wait on WAKE — in its loop, or in a
   * model's wake.wait inside a command: wakers notify only then (src/wake.ts). A notify is a futex
   * wake-up of tens of microseconds; a spinning or busy worker needs none.
   */
  PARKED: 12,
  /**
   * Deterministic mode's grant handshake (src/sched/gate.ts). TURN is odd while the worker is parked
   * at a grant point (the main thread's turn: it may inspect and grant), even while the worker runs;
   * the worker adds 1 as it parks, the scheduler adds 1 to grant. Nothing else writes it.
   */
  SCHED_TURN: 13,
  /** Why the worker parked (SCHED_REASON in gate.ts), written before TURN becomes odd. */
  SCHED_REASON: 14,
  /** The reason's argument: the WAKE token a wait compares against (IDLE: the WAKE its last onWake saw, or -1). */
  SCHED_ARG: 15,
  /** A WAIT's timeout in virtual microseconds (-1: none). */
  SCHED_TIMEOUT: 16,
  /** 1 if the model has onWake (an idle device is then runnable when WAKE moved). */
  SCHED_ON_WAKE: 17,
  REGS: 32,
  /**
   * When the driver last wrote register i (provenance.ts): a 64-bit stamp at REG_WRITTEN + 2i, low
   * word first. Written by the host before the register itself; read by the device (Registers.source).
   */
  REG_WRITTEN: 64,
} as const;
export const DCB_STRIDE = 128;
export const DEVICE_REGS = 32;

/**
 * Device access record: per device, the access its DMA port is making, written only by the device's
 * worker. Two readers: the host after the worker has died (which frames may still carry its
 * in-flight bit: every frame of the recorded spans), and an unlocker that found the device's bit
 * raised on the frame it unlocked (which transfer was in flight: a seqlock read, see record.ts).
 */
export const AR = {
  /** Spans of the access in progress (0: none). Stored after the span words, which it publishes. */
  SPANS: 0,
  /** Access serial: bumped when an access opens, before its span words are written (seqlock). */
  ID: 1,
  /** Device command number the access belongs to. */
  COMMAND: 2,
  /** Violation-ring slot index the device is claiming or filling, plus 1 (0: none). */
  RING_CLAIM: 3,
  /**
   * Span i is at SPAN_BASE + 2i: physical address (as Int32), then length in bytes with bit 31 set
   * for a device write (lengths are < 2^31: RAM is at most 1 GiB).
   */
  SPAN_BASE: 8,
} as const;
/** Bit 31 of a recorded span length: the device writes memory. */
export const AR_SPAN_WRITE = 0x80000000 | 0;
/**
 * Most spans (scatter-gather elements) one DMA access may have; the port throws a RangeError beyond
 * this, before it touches anything.
 */
export const AR_MAX_SPANS = 256;
export const AR_STRIDE = AR.SPAN_BASE + 2 * AR_MAX_SPANS;

export const DEVICE_STATE = { EMPTY: 0, STARTING: 1, RUNNING: 2, FAULTED: 3, STOPPED: 4 } as const;

/** Each device's registers are also visible at a physical MMIO window above RAM (for re-entrancy). */
export const MMIO_BASE = 0xfe000000;
export const MMIO_STRIDE = PAGESIZE;

/** Violation ring record: 20 words. */
export const VR = {
  /** seq + 1 once the record is complete (publication word). */
  COMMIT: 0,
  SEQ: 1,
  /** Violation code number (ring.ts VIOLATION_CODES), or VR_TOMBSTONE. */
  CODE: 2,
  DEVICE: 3,
  DRIVER: 4,
  PHYS: 5,
  LENGTH: 6,
  FRAME: 7,
  EPOCH_SEEN: 8,
  EPOCH_EXPECTED: 9,
  /** 0 read (device reads memory), 1 write (device writes memory). */
  DIR: 10,
  /** Outcome: 0 blocked, 1 allowed, 2 thrown, 3 reported (an unlock seen by the device after the fact). */
  OUTCOME: 11,
  /** Device command number the access belonged to. */
  COMMAND: 12,
  /** Start of the whole access (PHYS is the first offending byte). */
  ACCESS: 13,
  /** Code-specific detail (address bits, boundary size, …). */
  DETAIL: 14,
  /** The attachment that made the record (DCB.ATTACHMENT when it made it). */
  ATTACHMENT: 15,
  /** A second code-specific detail (the address an ISA channel's driver meant, above 16 MiB). */
  DETAIL2: 16,
} as const;
export const VR_STRIDE = 20;
/**
 * CODE of a slot whose writer died between claiming and publishing it: the host publishes the slot
 * with this code so the reader can pass it; the drain skips it and counts it in RING_DROPPED.
 */
export const VR_TOMBSTONE = -1;

/**
 * Trace ring: one per producer (the main thread, and each device slot), single writer, single
 * reader (the main thread). A header, then `TRACE_CAPACITY` events of TE_STRIDE words.
 */
export const TR = {
  /**
   * The writer's state, one word: (events published, modulo 2^30) << 1 | BUSY, where BUSY is 1
   * while it holds a sequence number it has not published yet (trace.ts). One word, so that
   * publishing an event and lowering BUSY are a single store.
   */
  STATE: 0,
  /** Events consumed by the main thread, modulo 2^30. */
  READ: 1,
  /** Events the writer could not publish because the ring was full. */
  DROPPED: 2,
  EVENTS: 4,
} as const;
/** Trace ring counters wrap at 2^30 (capacities are powers of two, so slots stay in step). */
export const TR_COUNT_MASK = 0x3fffffff;
/** Trace event: SEQ, KIND (kind | flags << 8), then payload words (trace.ts TraceKind). */
export const TE = { SEQ: 0, KIND: 1, A: 2 } as const;
export const TE_STRIDE = 12;
export const DEFAULT_TRACE_CAPACITY = 4096;

/**
 * The two 8237 DMA controllers of a PC/AT (spec §5.4), shared by the main thread (which decodes the
 * driver's port I/O, src/isa/i8237.ts) and device workers (which run the transfers their DREQ asks
 * for, src/isa/channel.ts). Per channel (0–7; 4 is the cascade input of controller 1), then per
 * controller (1: channels 0–3, 2: channels 4–7). Every word is read and written with Atomics.
 */
export const ISA_CH = {
  /** Base address (16 bits) | base count (16 bits) << 16: written by the driver, reloaded at TC by auto-init. */
  BASE: 0,
  /**
   * Current address | current count << 16, in one word so that a port read of either never sees
   * half a transfer's update: the driver writes it (through the ports), the worker advances it
   * (compare-exchange) as transfers happen.
   */
  CUR: 1,
  /** The mode byte (spec §5.3): transfer type, auto-init, decrement, demand/single/block/cascade. */
  MODE: 2,
  /** The page register: A16–A23 (channels 0–3) or A17–A23 (5–7, bit 0 ignored). */
  PAGE: 3,
  /**
   * When the driver last wrote an address byte or the page register (provenance.ts): a 64-bit
   * stamp, two words, low first. Written before the register it stamps; read by the worker after
   * CUR and PAGE, as the source of the transfer's address.
   */
  PROGRAMMED: 4,
} as const;
export const ISA_CH_STRIDE = 6;
export const ISA_CTL = {
  /** Mask bits, one per channel of the controller (bit i: channel i of its four). */
  MASK: 0,
  /** Status: bits 0–3 TC reached (cleared by a status read), bits 4–7 DREQ pending. */
  STATUS: 1,
  /** The command register, as last written. */
  COMMAND: 2,
  /** Software request bits (port 0x09 / 0xD2), one per channel. */
  REQUEST: 3,
} as const;
export const ISA_CTL_STRIDE = 4;
export const ISA_CHANNELS = 8;
export const ISA_WORDS = ISA_CHANNELS * ISA_CH_STRIDE + 2 * ISA_CTL_STRIDE;
export const MAX_TRACE_CAPACITY = 1 << 20;

/**
 * Frame provenance (provenance.ts), per frame: two 64-bit stamps of the global sequence, each two
 * words, low word first. Written by the main thread only; read by device workers.
 */
export const FP = {
  /**
   * When the main thread last wrote the frame's contents (a CPU write, through any mapping; a
   * zero fill; contents copied in by a move or a page-in carry the stamp they had).
   */
  WRITTEN: 0,
  /**
   * When the frame last began to hold a page's contents (page-in, move, fixed commit, PCC_NOLIN)
   * — unless the page it took is the one that last left it by a move or page-out, with no other
   * in between: its contents came back, and so did what an address into them means.
   */
  ARRIVED: 2,
  /** The linear page whose contents last left the frame by a move or page-out; -1 after a free. Main thread only. */
  LAST_PAGE: 4,
} as const;
export const FP_STRIDE = 5;

export const VIOLATION_MODE = { block: 0, allow: 1, throw: 2 } as const;

/**
 * H.SABOTAGE values (checker self-tests, src/sabotage.ts): which check the ports break on purpose.
 * 'no-epoch-bump': a frame is seen at the epoch its driver was handed it, as if no unlock, move or
 * re-lock had bumped it since. 'ignore-handouts': every frame counts as handed out at its current
 * epoch. 'dirty-rule-off': device writes need no dirty mark.
 */
export const SABOTAGE_CODE = { 'no-epoch-bump': 1, 'ignore-handouts': 2, 'dirty-rule-off': 3 } as const;
export type SabotageName = keyof typeof SABOTAGE_CODE;
export type ViolationMode = keyof typeof VIOLATION_MODE;

export interface LayoutConfig {
  memoryBytes: number;
  maxDrivers: number;
  maxDevices: number;
  ringCapacity: number;
  /** Events per trace ring (0: tracing off). */
  traceCapacity: number;
}

export interface SharedViews {
  readonly config: LayoutConfig;
  readonly frames: number;
  readonly ramBuffer: SharedArrayBuffer;
  readonly controlBuffer: SharedArrayBuffer;
  /** All of RAM as bytes. Main thread and DMA port only; devices never see it. */
  readonly ram: Uint8Array;
  readonly control: Int32Array;
  readonly frameTableBase: number;
  /** Words per frame-table entry. */
  readonly ftStride: number;
  /** In-flight words per frame entry (one bit per device slot). */
  readonly inflightWords: number;
  readonly handoutBase: number;
  readonly deviceBase: number;
  readonly accessBase: number;
  readonly ringBase: number;
  readonly traceBase: number;
  readonly isaBase: number;
  readonly provenanceBase: number;
}

export class LayoutError extends Error {
  override readonly name = 'LayoutError';
}

/** Trace producers: the main thread (0) and one per device slot (1 + slot). */
export function traceProducers(c: LayoutConfig): number {
  return c.maxDevices + 1;
}

function computeOffsets(c: LayoutConfig) {
  const frames = c.memoryBytes / PAGESIZE;
  const inflight = inflightWords(c.maxDevices);
  const ftStride = FT.INFLIGHT + inflight <= FT_STRIDE_SMALL ? FT_STRIDE_SMALL : FT_STRIDE_LARGE;
  const frameTableBase = HEADER_WORDS;
  const handoutBase = frameTableBase + frames * ftStride;
  const deviceBase = handoutBase + c.maxDrivers * frames;
  const accessBase = deviceBase + c.maxDevices * DCB_STRIDE;
  const ringBase = accessBase + c.maxDevices * AR_STRIDE;
  const traceBase = ringBase + c.ringCapacity * VR_STRIDE;
  const traceRing = c.traceCapacity > 0 ? TR.EVENTS + c.traceCapacity * TE_STRIDE : 0;
  const isaBase = traceBase + traceProducers(c) * traceRing;
  const provenanceBase = isaBase + ISA_WORDS;
  const totalWords = provenanceBase + frames * FP_STRIDE;
  return { frames, inflight, ftStride, frameTableBase, handoutBase, deviceBase, accessBase, ringBase, traceBase, isaBase, provenanceBase, totalWords };
}

export function validateLayoutConfig(c: LayoutConfig): void {
  const m = c.memoryBytes;
  if (!Number.isInteger(m) || m < MIN_MEMORY || m > MAX_MEMORY || m % PAGESIZE !== 0) {
    throw new LayoutError(`memory must be a multiple of 4096 between 1 MiB and 1 GiB, got ${m}`);
  }
  for (const [k, v, min, max] of [
    ['maxDrivers', c.maxDrivers, 1, 64],
    ['maxDevices', c.maxDevices, 1, MAX_DEVICES],
    ['ringCapacity', c.ringCapacity, 1, 1 << 20],
    ['trace capacity', c.traceCapacity, 0, MAX_TRACE_CAPACITY],
  ] as const) {
    if (!Number.isInteger(v) || v < min || v > max) throw new LayoutError(`${k} must be an integer in ${min}…${max}, got ${v}`);
  }
  if ((c.traceCapacity & (c.traceCapacity - 1)) !== 0) throw new LayoutError(`trace capacity must be 0 or a power of two, got ${c.traceCapacity}`);
}

/** Creates both buffers, writes the header and initialises the frame table (main thread). */
export function createShared(c: LayoutConfig): SharedViews {
  validateLayoutConfig(c);
  const o = computeOffsets(c);
  const ramBuffer = new SharedArrayBuffer(c.memoryBytes);
  const controlBuffer = new SharedArrayBuffer(o.totalWords * 4);
  const control = new Int32Array(controlBuffer);
  control[H.VERSION] = LAYOUT_VERSION;
  control[H.FRAMES] = o.frames;
  control[H.MAX_DRIVERS] = c.maxDrivers;
  control[H.MAX_DEVICES] = c.maxDevices;
  control[H.RING_CAPACITY] = c.ringCapacity;
  control[H.FRAME_TABLE] = o.frameTableBase;
  control[H.FT_STRIDE] = o.ftStride;
  control[H.HANDOUT] = o.handoutBase;
  control[H.DEVICES] = o.deviceBase;
  control[H.ACCESS] = o.accessBase;
  control[H.RING] = o.ringBase;
  control[H.TRACE] = o.traceBase;
  control[H.TRACE_CAPACITY] = c.traceCapacity;
  control[H.ISA] = o.isaBase;
  control[H.PROVENANCE] = o.provenanceBase;
  control[H.TOTAL_WORDS] = o.totalWords;
  control[H.INSTANCE] = (Math.floor(Math.random() * 0x7ffffffe) + 1) | 0;
  for (let f = 0; f < o.frames; f++) {
    control[o.frameTableBase + f * o.ftStride + FT.OWNER] = -1;
    control[o.provenanceBase + f * FP_STRIDE + FP.LAST_PAGE] = -1;
  }
  // Publication point: a worker that sees MAGIC sees every header word written before it.
  Atomics.store(control, H.MAGIC, LAYOUT_MAGIC);
  return views(c, o, ramBuffer, controlBuffer);
}

/** Validates the header of buffers received from the main thread and returns views (worker side). */
export function attachShared(ramBuffer: SharedArrayBuffer, controlBuffer: SharedArrayBuffer): SharedViews {
  const control = new Int32Array(controlBuffer);
  // Pairs with the Atomics.store of MAGIC in createShared.
  if (control.length < HEADER_WORDS || Atomics.load(control, H.MAGIC) !== LAYOUT_MAGIC) {
    throw new LayoutError('shared control buffer has no dmasim header');
  }
  if (control[H.VERSION] !== LAYOUT_VERSION) {
    throw new LayoutError(`layout version ${control[H.VERSION]} does not match ${LAYOUT_VERSION}`);
  }
  const c: LayoutConfig = {
    memoryBytes: (control[H.FRAMES] ?? 0) * PAGESIZE,
    maxDrivers: control[H.MAX_DRIVERS] ?? 0,
    maxDevices: control[H.MAX_DEVICES] ?? 0,
    ringCapacity: control[H.RING_CAPACITY] ?? 0,
    traceCapacity: control[H.TRACE_CAPACITY] ?? 0,
  };
  validateLayoutConfig(c);
  const o = computeOffsets(c);
  if (
    o.totalWords !== control[H.TOTAL_WORDS] ||
    o.accessBase !== control[H.ACCESS] ||
    o.traceBase !== control[H.TRACE] ||
    o.isaBase !== control[H.ISA] ||
    o.provenanceBase !== control[H.PROVENANCE] ||
    o.ftStride !== control[H.FT_STRIDE] ||
    o.totalWords * 4 !== controlBuffer.byteLength
  ) {
    throw new LayoutError('control buffer size does not match its header');
  }
  if (ramBuffer.byteLength !== c.memoryBytes) throw new LayoutError('RAM buffer size does not match the header');
  return views(c, o, ramBuffer, controlBuffer);
}

function views(
  c: LayoutConfig,
  o: ReturnType<typeof computeOffsets>,
  ramBuffer: SharedArrayBuffer,
  controlBuffer: SharedArrayBuffer,
): SharedViews {
  return {
    config: c,
    frames: o.frames,
    ramBuffer,
    controlBuffer,
    ram: new Uint8Array(ramBuffer),
    control: new Int32Array(controlBuffer),
    frameTableBase: o.frameTableBase,
    ftStride: o.ftStride,
    inflightWords: o.inflight,
    handoutBase: o.handoutBase,
    deviceBase: o.deviceBase,
    accessBase: o.accessBase,
    ringBase: o.ringBase,
    traceBase: o.traceBase,
    isaBase: o.isaBase,
    provenanceBase: o.provenanceBase,
  };
}

/** Word index of a frame-table field. */
export function ftIndex(v: SharedViews, f: number, field: number): number {
  return v.frameTableBase + f * v.ftStride + field;
}

/** Word index of a driver context's handout entry for a frame. */
export function handoutIndex(v: SharedViews, ctx: number, f: number): number {
  return v.handoutBase + ctx * v.frames + f;
}

/** Word index of a device control-block field. */
export function dcbIndex(v: SharedViews, device: number, field: number): number {
  return v.deviceBase + device * DCB_STRIDE + field;
}

/** Word index of a device access-record field (AR). */
export function accessIndex(v: SharedViews, device: number, field: number): number {
  return v.accessBase + device * AR_STRIDE + field;
}

/** Word index of a violation-ring record field. */
export function ringIndex(v: SharedViews, slot: number, field: number): number {
  return v.ringBase + slot * VR_STRIDE + field;
}

/** Word index of a trace ring's header field (TR) for a producer (0 main, 1 + slot a device). */
export function traceIndex(v: SharedViews, producer: number, field: number): number {
  return v.traceBase + producer * (TR.EVENTS + v.config.traceCapacity * TE_STRIDE) + field;
}

/** Word index of event slot `i` (already reduced modulo the capacity) of a producer's trace ring. */
export function traceEventIndex(v: SharedViews, producer: number, i: number): number {
  return traceIndex(v, producer, TR.EVENTS) + i * TE_STRIDE;
}

/** Word index of an 8237 channel field (ISA_CH), channel 0–7. */
export function isaChannelIndex(v: SharedViews, channel: number, field: number): number {
  return v.isaBase + channel * ISA_CH_STRIDE + field;
}

/** Word index of a frame-provenance field (FP): the low word of a two-word stamp. */
export function provenanceIndex(v: SharedViews, f: number, field: number): number {
  return v.provenanceBase + f * FP_STRIDE + field;
}

/** Word index of an 8237 controller field (ISA_CTL): controller 0 (channels 0–3) or 1 (4–7). */
export function isaControllerIndex(v: SharedViews, controller: number, field: number): number {
  return v.isaBase + ISA_CHANNELS * ISA_CH_STRIDE + controller * ISA_CTL_STRIDE + field;
}

/**
 * A device-to-device link (two NICs wired together): its own SharedArrayBuffer, created on the main
 * thread by the simulator and handed to both devices in their attach options (structured clone
 * shares it). Two one-way frame queues, A → B and B → A, each single-producer single-consumer:
 * side A's device is the only writer of queue 0 and the only reader of queue 1.
 *
 * Int32 header words, then per queue a header, then the frame slots (each a 32-bit byte length
 * followed by the frame). A slot's bytes are written with plain stores before the producer's
 * Atomics.store of WRITE, and read after the consumer's Atomics.load of WRITE: the seq-cst pair
 * orders them (and READ, the other way round, hands the slot back).
 */
export const LINK = {
  MAGIC: 0,
  VERSION: 1,
  /** H.INSTANCE of the simulator the link belongs to. */
  INSTANCE: 2,
  /** Frame slots per queue. */
  SLOTS: 3,
  /** Bytes per slot, the length word included. */
  SLOT_BYTES: 4,
  /**
   * Who holds side s (OWNER + s): 0 nobody, slot + 1 a device (the host claims it at attach and
   * frees it at release, so a crashed worker's side is freed too), -1 the main thread's LinkPort.
   * A producer wakes the holder of the other side through its device control block.
   */
  OWNER: 6,
  /** Queue q's header at QUEUE + q * LINK_Q_STRIDE. */
  QUEUE: 8,
} as const;
export const LINK_Q = {
  /** Frames published (monotonic; compared by difference). */
  WRITE: 0,
  /** Frames consumed (monotonic). */
  READ: 1,
  /** Frames the producer found no room for and gave up on. */
  DROPPED: 2,
} as const;
export const LINK_Q_STRIDE = 4;
export const LINK_HEADER_WORDS = LINK.QUEUE + 2 * LINK_Q_STRIDE;
export const LINK_MAGIC = 0x4c4e4b31; // 'LNK1'
export const LINK_VERSION = 1;
export const LINK_MAX_SLOTS = 4096;
export const LINK_MAX_FRAME = 16384;

export interface LinkViews {
  readonly buffer: SharedArrayBuffer;
  readonly words: Int32Array;
  readonly bytes: Uint8Array;
  readonly slots: number;
  readonly slotBytes: number;
  readonly instance: number;
}

/** Makes a link's buffer for the simulator whose header is `v` (main thread). */
export function createLinkShared(v: SharedViews, slots: number, maxFrame: number): LinkViews {
  if (!Number.isInteger(slots) || slots < 1 || slots > LINK_MAX_SLOTS) throw new LayoutError(`link slots must be an integer in 1…${LINK_MAX_SLOTS}, got ${String(slots)}`);
  if (!Number.isInteger(maxFrame) || maxFrame < 1 || maxFrame > LINK_MAX_FRAME) throw new LayoutError(`link maxFrame must be an integer in 1…${LINK_MAX_FRAME}, got ${String(maxFrame)}`);
  const slotBytes = 4 + ((maxFrame + 3) & ~3);
  const buffer = new SharedArrayBuffer(LINK_HEADER_WORDS * 4 + 2 * slots * slotBytes);
  const words = new Int32Array(buffer, 0, LINK_HEADER_WORDS);
  words[LINK.VERSION] = LINK_VERSION;
  words[LINK.INSTANCE] = Atomics.load(v.control, H.INSTANCE);
  words[LINK.SLOTS] = slots;
  words[LINK.SLOT_BYTES] = slotBytes;
  // Publication point, as for the control buffer's MAGIC.
  Atomics.store(words, LINK.MAGIC, LINK_MAGIC);
  return linkViews(buffer);
}

/** Validates a link buffer received in attach options (either thread); `v` is the simulator it must belong to. */
export function attachLinkShared(buffer: unknown, v: SharedViews): LinkViews {
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < LINK_HEADER_WORDS * 4) throw new LayoutError('not a dmasim link buffer');
  const words = new Int32Array(buffer, 0, LINK_HEADER_WORDS);
  if (Atomics.load(words, LINK.MAGIC) !== LINK_MAGIC || words[LINK.VERSION] !== LINK_VERSION) throw new LayoutError('not a dmasim link buffer (bad magic or version)');
  if (words[LINK.INSTANCE] !== Atomics.load(v.control, H.INSTANCE)) throw new LayoutError('the link belongs to another simulator');
  const l = linkViews(buffer);
  if (l.slots < 1 || l.slots > LINK_MAX_SLOTS || l.slotBytes < 8 || buffer.byteLength !== LINK_HEADER_WORDS * 4 + 2 * l.slots * l.slotBytes) throw new LayoutError('link buffer size does not match its header');
  return l;
}

function linkViews(buffer: SharedArrayBuffer): LinkViews {
  const words = new Int32Array(buffer, 0, LINK_HEADER_WORDS);
  return { buffer, words, bytes: new Uint8Array(buffer), slots: words[LINK.SLOTS]!, slotBytes: words[LINK.SLOT_BYTES]!, instance: words[LINK.INSTANCE]! };
}

/** Word index of queue q's field (LINK_Q). */
export function linkQueueIndex(q: number, field: number): number {
  return LINK.QUEUE + q * LINK_Q_STRIDE + field;
}

/** Byte offset of slot i (already reduced modulo SLOTS) of queue q. */
export function linkSlotOffset(l: LinkViews, q: number, i: number): number {
  return LINK_HEADER_WORDS * 4 + (q * l.slots + i) * l.slotBytes;
}
