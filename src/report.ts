/**
 * Reports (DESIGN.md §5): the one sink that turns events into records — violation records from the
 * device ring and from the unlocker's own check, and device faults from the host. Structured data
 * first: every record is a plain, JSON-safe object with a stable `code`, the device (the attachment
 * that made it), driver, access, frame and epochs, the stacks that explain it and a map of frame
 * states around the address. `renderViolation` gives the text form, shaped like a KASAN report.
 *
 * Records are made once and never change. A device finding is published in the shared ring with
 * the facts the device saw (epochs, addresses, its attachment); the main thread turns it into a
 * record before it changes any fact the record needs (the History's `beforeChange` hook drains the
 * ring first), from the facts History captured at the events themselves (vmm/history.ts): the
 * driver's hand-out and the lock tenure it belonged to — not from whatever the frame holds later.
 *
 * Memory stays bounded: the first `maxRecords` violations and faults in full, exact counts by code
 * for all of them, and a bounded window of recent unlocks for merging the two sides' reports of one
 * unlock during DMA.
 */

import { hex, type Frame } from './address.js';
import { readAccess } from './dma/record.js';
import { FF, H, type SharedViews } from './layout.js';
import { codeNumber, drainViolations, droppedViolations, nextSeq, VIOLATION_CODES, type DrainedViolation, type ViolationCode } from './ring.js';
import { FAULT_KINDS, kindWord, type TraceWriter } from './trace.js';
import { formatStack, type Handout, type History, type Tenure } from './vmm/history.js';

export type { ViolationCode } from './ring.js';

/** A device attachment, as records name it. */
export interface DeviceRef {
  /** The device slot (reused by later attachments). */
  readonly id: number;
  /** The attachment: host-wide, never reused, so a record names the device that made it. */
  readonly attachment: number;
  readonly kind: string;
  readonly name: string;
}

export interface FrameSnapshot {
  readonly frame: number;
  readonly state: 'free' | 'quarantined' | 'locked' | 'fixed' | 'unlocked';
  readonly lockCount: number;
  readonly epoch: number;
  /** Linear page the frame backed when the record was made, or null. */
  readonly page: number | null;
}

export interface ViolationAccess {
  readonly start: number;
  readonly length: number;
  readonly direction: 'read' | 'write';
  readonly command: number;
}

export interface Violation {
  /** Global monotonic sequence number (shared with trace events). */
  readonly seq: number;
  readonly code: ViolationCode;
  readonly message: string;
  readonly device: DeviceRef | null;
  /** The driver the device is bound to (DMA codes) or the driver that unlocked (unlock-during-dma). */
  readonly driver: string | null;
  /** First offending physical byte. */
  readonly physAddr: number;
  /** The frame of that byte, or -1 outside RAM. */
  readonly frame: number;
  /** The linear page the driver meant (from its hand-out or lock), or the frame's page then. */
  readonly linearPage: number | null;
  readonly access: ViolationAccess | null;
  readonly epochSeen: number;
  /** Epoch of this driver's hand-out of the frame (null: never handed out). */
  readonly epochExpected: number | null;
  readonly outcome: 'blocked' | 'allowed' | 'thrown' | 'reported';
  /** Code-specific numbers (address width, boundary, in-flight devices …). */
  readonly detail: Readonly<Record<string, number>>;
  readonly stacks: {
    readonly lock?: string[];
    readonly handout?: string[];
    readonly unlock?: string[];
    readonly relock?: string[];
    readonly programmed?: string[];
  };
  /** The frame and its neighbours when the record was made (KASAN's shadow map). */
  readonly frames: readonly FrameSnapshot[];
  /** Deterministic mode: the scheduler step in which it happened (src/sched/scheduler.ts). */
  readonly step?: number;
}

export type FaultKind = (typeof FAULT_KINDS)[number];

export interface DeviceFault {
  readonly seq: number;
  readonly device: DeviceRef;
  readonly driver: string;
  /** threw: the model threw (violation: a DmaViolationError under onViolation 'throw'); exited: the
   * worker ended on its own; hung: it owed a doorbell and made no progress for hangTimeoutMs;
   * load-failed. */
  readonly kind: FaultKind;
  readonly message: string;
  readonly stack?: string;
  readonly command?: number;
  /** Deterministic mode: the scheduler step in which it happened. */
  readonly step?: number;
}

/** Exact counts, whatever was kept in full. */
export interface ViolationCounts {
  readonly total: number;
  readonly byCode: Readonly<Record<ViolationCode, number>>;
  /** Records kept in full (the first `maxRecords`). */
  readonly kept: number;
  /** Records the shared ring could not take (it was full, or a writer died mid-record). */
  readonly ringDropped: number;
}

const MESSAGES: Record<ViolationCode, string> = {
  'dma-unlocked': 'device accessed a frame that is not locked (use after unlock, or the address was never valid while locked)',
  'dma-stale-address': "device used a physical address from an earlier lock: the frame was unlocked and locked again since the driver's _CopyPageTable",
  'dma-not-handed-out': 'device accessed a frame whose address its driver never obtained (_CopyPageTable, _PageAllocate PhysAddr, _PageCommitContig)',
  'unlock-during-dma': 'page unlocked (or freed) while a device access to its frame was in flight',
  'dma-not-marked-dirty': 'device wrote into a page that is neither dirty nor locked with PAGEMARKDIRTY: the pager may drop the write as clean',
  'dma-address-width': "access beyond the device's address width",
  'dma-boundary': "access crosses the device's no-crossing boundary (ISA 64 KiB / 128 KiB)",
  'dma-outside-memory': 'access outside simulated physical memory',
  'device-reentrancy': 'device DMA targeted its own registers (re-entrancy refused)',
  'dma-address-before-lock': 'device used an address its driver copied from the page table while the page was unlocked: obtain physical addresses only after locking (the page may have moved before the lock)',
  'dma-stale-programming':
    "device used an address programmed (in a register, a descriptor, an 8237 channel) before the frame took the page it holds now: the address was meant for an earlier page, and the DMA would land in another buffer — even though the driver's current hand-out of the frame is valid. Program the device again after obtaining the address",
};

/** Ring OUTCOME words (layout.ts VR.OUTCOME) by number. */
const OUTCOME = ['blocked', 'allowed', 'thrown', 'reported'] as const;

/** One unlock, whichever side reported it: (frame, the epoch the unlock made). Epochs are < 2^30. */
const unlockKey = (frame: number, epoch: number): number => frame * 0x40000000 + epoch;
/**
 * Unlocks remembered for merging the two reports of one unlock during DMA. The device's report of an
 * unlock the unlocker already reported is published at the end of the access it was making, so it
 * is drained within a few events; this window is far larger than that.
 */
const RECENT_UNLOCKS = 1 << 16;

const VIOLATION_KIND = kindWord('violation');
const FAULT_KIND = kindWord('device-fault');

export interface ReportContext {
  driverName(ctx: number): string | null;
  /** The device an attachment id names (live, or detached but still remembered). */
  attachment(attachment: number): DeviceRef | null;
  /** The device in a slot now. */
  deviceInSlot(slot: number): DeviceRef | null;
  programmedStack(attachment: number, command: number): Error | undefined;
}

/** Reads frame state for the shadow map (the memory core). */
export interface FrameStates {
  frameState(f: Frame): { lock: number; epoch: number; flags: number; owner: number };
}

export interface SinkOptions {
  /** Violation and fault records kept in full (the rest are counted). */
  maxRecords: number;
}

/** The report sink: violation records, fault records, counts. */
export class ReportSink {
  private readonly list: Violation[] = [];
  private readonly faultList: DeviceFault[] = [];
  private faultCount = 0;
  private total = 0;
  private readonly byCode = Object.fromEntries(VIOLATION_CODES.map((c) => [c, 0])) as Record<ViolationCode, number>;
  private readonly recent = new Set<number>();
  private readonly recentOrder = new Float64Array(RECENT_UNLOCKS);
  private recentNext = 0;
  private draining = false;
  /**
   * Deterministic mode: the scheduler's current step. Records are made from the ring right after
   * the step that appended them (the scheduler drains before it grants the next), so the step a
   * record is stamped with is the step in which it happened.
   */
  stepOf: (() => number) | undefined;

  constructor(
    private readonly shared: SharedViews,
    private readonly history: History,
    private readonly states: FrameStates,
    private readonly ctx: ReportContext,
    private readonly options: SinkOptions,
    private readonly trace: TraceWriter | undefined,
  ) {}

  /** The violations kept, in sequence order (drains the ring first). */
  violations(): Violation[] {
    this.drain();
    // By difference: sequence numbers are Int32 and wrap after 2^31.
    return this.list.slice().sort((a, b) => (a.seq - b.seq) | 0);
  }

  counts(): ViolationCounts {
    this.drain();
    return { total: this.total, byCode: { ...this.byCode }, kept: this.list.length, ringDropped: droppedViolations(this.shared) };
  }

  faults(): DeviceFault[] {
    return this.faultList.slice();
  }

  faultTotal(): number {
    return this.faultCount;
  }

  /** Turns every record published in the ring into a violation record. */
  drain(): void {
    // The common case, on every VMM event: nothing published since the last drain.
    const c = this.shared.control;
    if (this.draining || Atomics.load(c, H.RING_READ) === Atomics.load(c, H.RING_WRITE)) return;
    this.draining = true;
    try {
      for (const r of drainViolations(this.shared)) {
        const code = VIOLATION_CODES[r.code] ?? 'dma-outside-memory';
        if (code === 'unlock-during-dma' && !this.firstReportOf(r.frame, r.epochSeen)) continue;
        // Beyond maxRecords a record is only counted: building it would cost what nobody reads.
        if (this.list.length >= this.options.maxRecords) this.count(code);
        else this.add(this.fromRing(r));
      }
    } finally {
      this.draining = false;
    }
  }

  /** Drops the records kept so far (counts stay). */
  clear(): void {
    this.drain();
    this.list.length = 0;
  }

  /**
   * The memory core's unlocker check: an unlock (or free) took effect on `frame` while the devices
   * in `slots` had an access to it in flight. Made into a record at once, naming the first of them
   * and the transfer its access record shows.
   */
  unlockDuringDma(frame: Frame, page: number, ctx: number, epoch: number, slots: readonly number[], service: string): void {
    if (!this.firstReportOf(frame, epoch)) return;
    const slot = slots[0]!;
    const device = this.ctx.deviceInSlot(slot);
    const rec = readAccess(this.shared, slot);
    const span = rec?.spans.find((s) => s.length > 0 && Math.floor(s.phys / 4096) <= frame && Math.floor((s.phys + s.length - 1) / 4096) >= frame);
    const tenure = this.history.tenureAt(frame, (epoch - 1) & 0x3fffffff);
    const stacks: Mutable<Violation['stacks']> = {};
    put(stacks, 'lock', tenure?.where);
    put(stacks, 'unlock', tenure?.end?.where);
    if (device && rec) put(stacks, 'programmed', this.ctx.programmedStack(device.attachment, rec.command));
    const seq = nextSeq(this.shared);
    this.add({
      seq,
      code: 'unlock-during-dma',
      message: `${MESSAGES['unlock-during-dma']} (${service})`,
      device,
      driver: this.ctx.driverName(ctx),
      physAddr: frame * 4096,
      frame,
      linearPage: page >= 0 ? page : null,
      access: span && rec ? { start: span.phys, length: span.length, direction: span.write ? 'write' : 'read', command: rec.command } : null,
      epochSeen: epoch,
      epochExpected: null,
      outcome: 'reported',
      detail: { inflight: slots.length },
      stacks,
      frames: this.frameMap(frame),
    });
    // A record made on this thread is traced here; a device traces its own.
    if (this.trace?.on) this.trace.emit(VIOLATION_KIND, codeNumber('unlock-during-dma'), device?.attachment ?? 0, ctx, frame, frame * 4096, seq);
  }

  /** A device fault (from the host). */
  deviceFault(f: Omit<DeviceFault, 'seq'>): DeviceFault {
    const fault: DeviceFault = { seq: nextSeq(this.shared), ...f, ...(this.stepOf ? { step: this.stepOf() } : {}) };
    this.faultCount++;
    if (this.faultList.length < this.options.maxRecords) this.faultList.push(fault);
    if (this.trace?.on) this.trace.emit(FAULT_KIND, f.device.attachment, FAULT_KINDS.indexOf(f.kind));
    return fault;
  }

  /** True the first time an unlock (frame, epoch it made) is reported, by either side. */
  private firstReportOf(frame: number, epoch: number): boolean {
    const key = unlockKey(frame, epoch);
    if (this.recent.has(key)) return false;
    if (this.recent.size >= RECENT_UNLOCKS) this.recent.delete(this.recentOrder[this.recentNext]!);
    this.recent.add(key);
    this.recentOrder[this.recentNext] = key;
    this.recentNext = (this.recentNext + 1) % RECENT_UNLOCKS;
    return true;
  }

  private add(v: Violation): void {
    this.count(v.code);
    if (this.list.length < this.options.maxRecords) this.list.push(this.stepOf ? { ...v, step: this.stepOf() } : v);
  }

  private count(code: ViolationCode): void {
    this.total++;
    this.byCode[code]++;
  }

  private fromRing(r: DrainedViolation): Violation {
    const code = VIOLATION_CODES[r.code] ?? 'dma-outside-memory';
    const h = this.history;
    const inRam = r.frame >= 0 && r.frame < this.shared.frames;
    const expected = r.epochExpected >= 0 ? r.epochExpected : null;
    const stacks: Mutable<Violation['stacks']> = {};
    let meant: Handout | Tenure | undefined;
    // For a device-side 'unlock-during-dma' (the device saw, at the end of a valid access, that the
    // frame's epoch had moved on): the tenure that unlock ended, to blame its end.
    let ended: Tenure | undefined;
    if (inRam && code !== 'dma-address-width' && code !== 'dma-boundary') {
      const handout = expected !== null ? h.handout(r.driver, r.frame) : undefined;
      const given = handout?.epoch === expected ? handout : undefined;
      const now = h.currentTenure(r.frame);
      put(stacks, 'handout', given?.where);
      if (code === 'unlock-during-dma') {
        ended = h.tenureAt(r.frame, (r.epochSeen - 1) & 0x3fffffff);
        put(stacks, 'lock', ended?.where);
        put(stacks, 'unlock', ended?.end?.where);
      } else if (code === 'dma-address-before-lock' || code === 'dma-not-handed-out') {
        // No lock belonged to the address: show the lock the frame is under now, if any.
        put(stacks, 'lock', now?.where);
      } else {
        // The lock the driver's address belonged to, and the event that ended it.
        const tenure = given?.tenure;
        put(stacks, 'lock', tenure?.where);
        put(stacks, 'unlock', tenure?.end?.where);
        if (code === 'dma-stale-address') put(stacks, 'relock', now?.where);
      }
      meant = given ?? ended ?? now;
      if (code === 'dma-stale-programming') {
        // The hand-out and lock are current; what explains the address is the lock before: the
        // frame's last ended tenure, if it began before the address was programmed (History keeps
        // only that one — an older origin shows no lock stacks rather than a wrong one).
        const before = h.lastTenure(r.frame);
        const known = before !== undefined && ((r.detail - before.seq) | 0) >= 0;
        delete stacks.lock;
        delete stacks.unlock;
        if (known) {
          put(stacks, 'lock', before.where);
          put(stacks, 'unlock', before.end?.where);
        }
        put(stacks, 'relock', now?.where);
        if (known && before.page >= 0) meant = before;
      }
    }
    if (code === 'dma-address-width' && r.detail2 !== 0) {
      // An ISA channel's 24-bit address: the stacks of the hand-out the driver meant, above 16 MiB.
      const intended = h.handout(r.driver, (r.detail2 >>> 0) >>> 12);
      put(stacks, 'handout', intended?.where);
      put(stacks, 'lock', intended?.tenure?.where);
      meant = intended ?? meant;
    }
    const device = this.ctx.attachment(r.attachment);
    if (device) put(stacks, 'programmed', this.ctx.programmedStack(device.attachment, r.command));
    const detail: Record<string, number> = {};
    if (code === 'dma-address-width') detail.addressBits = r.detail;
    // An ISA channel's 24-bit address: the address the driver meant (its hand-out above 16 MiB).
    if (code === 'dma-address-width' && r.detail2 !== 0) detail.intended = r.detail2 >>> 0;
    if (code === 'dma-boundary') detail.boundary = r.detail;
    if (code === 'dma-stale-programming') {
      // Sequence numbers (as records and trace events carry them): when the register, descriptor
      // or channel the address came from was last written, when the frame took its current page,
      // and the driver's current hand-out of the frame.
      detail.programmedAt = r.detail;
      detail.frameReusedAt = r.detail2;
      const given = h.handout(r.driver, r.frame);
      if (given && given.epoch === expected) detail.handedOutAt = given.seq;
    }
    const owner = inRam ? this.states.frameState(r.frame as Frame).owner : -1;
    const page = meant && meant.page >= 0 ? meant.page : owner >= 0 ? owner : null;
    return {
      seq: r.seq,
      code,
      // A device-side unlock-during-dma names the unlocking driver and service, as the unlocker's
      // own report does.
      message: ended?.end ? `${MESSAGES[code]} (${ended.end.service})` : MESSAGES[code],
      device,
      driver: this.ctx.driverName(ended?.end ? ended.end.ctx : r.driver),
      physAddr: r.phys,
      frame: r.frame,
      linearPage: page,
      access: { start: r.access, length: r.length, direction: r.dir ? 'write' : 'read', command: r.command },
      epochSeen: r.epochSeen,
      epochExpected: expected,
      outcome: OUTCOME[r.outcome] ?? 'blocked',
      detail,
      stacks,
      frames: inRam ? this.frameMap(r.frame) : [],
    };
  }

  /** The frame and its neighbours, KASAN-shadow-map style, as they are now. */
  frameMap(frame: number, radius = 2): FrameSnapshot[] {
    const out: FrameSnapshot[] = [];
    for (let f = Math.max(0, frame - radius); f <= Math.min(this.shared.frames - 1, frame + radius); f++) {
      const s = this.states.frameState(f as Frame);
      const state: FrameSnapshot['state'] = s.flags & FF.QUARANTINED
        ? 'quarantined'
        : !(s.flags & FF.USED)
          ? 'free'
          : s.flags & FF.FIXED
            ? 'fixed'
            : s.lock > 0
              ? 'locked'
              : 'unlocked';
      out.push({ frame: f, state, lockCount: s.lock, epoch: s.epoch, page: s.owner >= 0 ? s.owner : null });
    }
    return out;
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function put(stacks: Mutable<Violation['stacks']>, key: keyof Violation['stacks'], where: Error | undefined): void {
  const s = formatStack(where);
  if (s) stacks[key] = s;
}

/** KASAN-shaped text: the access, then the history that explains it, then the frames around it. */
export function renderViolation(v: Violation): string {
  const bar = '='.repeat(78);
  const lines: string[] = [bar];
  const who = v.device ? `${v.device.kind}#${v.device.id}${v.device.name !== v.device.kind ? ` (${v.device.name})` : ''}` : 'the VMM';
  lines.push(`BUG: dmasim: ${v.code} in ${who}${v.driver ? `, driver "${v.driver}"` : ''}${v.step !== undefined ? ` at step ${v.step}` : ''}`);
  if (v.access) {
    lines.push(`${v.access.direction === 'write' ? 'Write' : 'Read'} of size ${v.access.length} at phys ${hex(v.access.start)} (first bad byte ${hex(v.physAddr)}${v.frame >= 0 ? `, frame ${hex(v.frame, 5)}` : ''}), command ${v.access.command}: ${v.outcome}`);
  } else {
    lines.push(`Frame ${hex(v.frame, 5)} (phys ${hex(v.physAddr)})${v.linearPage !== null ? `, linear page ${hex(v.linearPage, 5)}` : ''}: ${v.outcome}`);
  }
  lines.push(v.message);
  lines.push(`epoch seen ${v.epochSeen}, handed out at ${v.epochExpected ?? 'never'}${Object.keys(v.detail).length ? `, ${Object.entries(v.detail).map(([k, x]) => `${k} ${x}`).join(', ')}` : ''}`);
  const section = (title: string, s?: string[]) => {
    if (!s) return;
    lines.push('', `${title}:`);
    for (const l of s) lines.push(`  ${l}`);
  };
  section('Handed out by', v.stacks.handout);
  section('Locked by', v.stacks.lock);
  section('Unlocked by', v.stacks.unlock);
  section('Locked again (current owner) by', v.stacks.relock);
  section('Device programmed by', v.stacks.programmed);
  if (v.linearPage !== null) lines.push('', `The address belonged to linear page ${hex(v.linearPage, 5)} (${hex(v.linearPage * 4096)}).`);
  if (v.frames.length) {
    lines.push('', 'Frame states around the address:');
    for (const f of v.frames) {
      const mark = f.frame === v.frame ? '>' : ' ';
      lines.push(` ${mark}${hex(f.frame, 5)}: ${f.state.padEnd(11)} lock ${String(f.lockCount).padStart(2)}  epoch ${String(f.epoch).padStart(5)}  ${f.page !== null ? `page ${hex(f.page, 5)}` : 'no page'}`);
    }
  }
  lines.push(bar);
  return lines.join('\n');
}

