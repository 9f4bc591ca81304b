/**
 * Violation reports (DESIGN.md §5). Structured data first: every record is a plain, JSON-safe object
 * with a stable `code`, the device and driver, the access, the frame and its epochs, the stacks that
 * explain it and a map of frame states around the address. `renderViolation` gives the text form,
 * shaped like a KASAN report: the access, then the history, then the frames around it.
 *
 * Device workers append raw records to the shared ring (ring.ts); the main thread enriches them here
 * with what only it knows: driver names, call-site stacks, the linear page a frame backed.
 */

import { hex } from './address.js';
import { FF } from './layout.js';
import { codeNumber, drainViolations, droppedViolations, nextSeq, VIOLATION_CODES, type DrainedViolation, type ViolationCode } from './ring.js';
import { formatStack, type HistoryEvent } from './vmm/history.js';
import type { MemoryCore, UnlockObserver } from './vmm/core.js';

export type { ViolationCode } from './ring.js';

const UNLOCK_DURING_DMA = codeNumber('unlock-during-dma');

export interface DeviceRef {
  readonly id: number;
  readonly kind: string;
  readonly name: string;
}

export interface FrameSnapshot {
  readonly frame: number;
  readonly state: 'free' | 'quarantined' | 'locked' | 'fixed' | 'unlocked';
  readonly lockCount: number;
  readonly epoch: number;
  /** Linear page the frame backs now, or null. */
  readonly page: number | null;
}

export interface Violation {
  /** Global monotonic sequence number (shared with the history of lock/unlock events). */
  readonly seq: number;
  readonly code: ViolationCode;
  readonly message: string;
  readonly device: DeviceRef | null;
  /** The driver the device is bound to (DMA codes) or the driver that unlocked (unlock-during-dma). */
  readonly driver: string | null;
  /** First offending physical byte. */
  readonly physAddr: number;
  readonly frame: number;
  /** The linear page the driver meant (from its lock / hand-out), or the frame's page now. */
  readonly linearPage: number | null;
  readonly access: {
    readonly start: number;
    readonly length: number;
    readonly direction: 'read' | 'write';
    readonly command: number;
  } | null;
  readonly epochSeen: number;
  /** Epoch of this driver's hand-out of the frame (null: never handed out). */
  readonly epochExpected: number | null;
  readonly outcome: 'blocked' | 'allowed' | 'thrown' | 'reported';
  /** Code-specific numbers (address width, boundary, in-flight count …). */
  readonly detail: Readonly<Record<string, number>>;
  readonly stacks: {
    readonly lock?: string[];
    readonly handout?: string[];
    readonly unlock?: string[];
    readonly relock?: string[];
    readonly programmed?: string[];
  };
  /** The frame now, and its neighbours (KASAN's shadow map). */
  readonly frames: readonly FrameSnapshot[];
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
  'device-reentrancy': "device DMA targeted its own registers (re-entrancy refused)",
  'dma-address-before-lock': 'device used an address its driver copied from the page table while the page was unlocked: obtain physical addresses only after locking (the page may have moved before the lock)',
};

/** Ring OUTCOME words (layout.ts VR.OUTCOME) by number. */
const OUTCOME = ['blocked', 'allowed', 'thrown', 'reported'] as const;

/** One unlock, whichever side reported it: (frame, the epoch the unlock made). Epochs are < 2^30. */
const unlockKey = (frame: number, epoch: number): number => frame * 0x40000000 + epoch;

export interface ReportContext {
  driverName(ctx: number): string | null;
  device(id: number): DeviceRef | null;
  programmedStack(id: number, command: number): Error | undefined;
}

/** Collects violations from the ring and from main-thread checks; builds enriched records. */
export class ViolationLog implements UnlockObserver {
  private readonly list: Violation[] = [];
  private sorted = true;
  /**
   * Unlocks already reported as 'unlock-during-dma' (unlockKey). An unlock racing an access can be
   * seen by both sides — the unlocker finds the in-flight count raised, the device finds the epoch
   * changed at the end of its access — and is reported once, by whichever record comes first (the
   * unlocker's: it reports synchronously, before any drain can see the device's). Kept across
   * clear(), so a device record drained after a clear does not bring a cleared report back.
   */
  private readonly unlocksReported = new Set<number>();

  constructor(
    private readonly core: MemoryCore,
    private readonly ctx: ReportContext,
  ) {}

  /** All violations so far, in sequence order (drains the ring first). */
  all(): Violation[] {
    this.drain();
    if (!this.sorted) {
      this.list.sort((a, b) => a.seq - b.seq);
      this.sorted = true;
    }
    return this.list.slice();
  }

  /** Records the ring could not take (it was full). */
  dropped(): number {
    return droppedViolations(this.core.shared);
  }

  drain(): void {
    for (const r of drainViolations(this.core.shared)) {
      if (r.code === UNLOCK_DURING_DMA) {
        const key = unlockKey(r.frame, r.epochSeen);
        if (this.unlocksReported.has(key)) continue;
        this.unlocksReported.add(key);
      }
      this.push(this.fromRing(r));
    }
  }

  clear(): void {
    this.drain();
    this.list.length = 0;
  }

  /** UnlockObserver: an unlock (or free) took effect while DMA was in flight on the frame. */
  unlockDuringDma(frame: number, page: number, ctx: number, epoch: number, inflight: number, service: string): void {
    const key = unlockKey(frame, epoch);
    if (this.unlocksReported.has(key)) return;
    this.unlocksReported.add(key);
    const h = this.core.history;
    // The event that made `epoch` (an unlock, or a free / decommit of a locked page) and the lock
    // it ended, which made the epoch just before.
    const unlock = h.ending(frame, epoch);
    const lock = h.last(frame, 'lock', epoch - 1);
    const stacks: { lock?: string[]; unlock?: string[] } = {};
    const ls = formatStack(lock?.where);
    const us = formatStack(unlock?.where);
    if (ls) stacks.lock = ls;
    if (us) stacks.unlock = us;
    this.push({
      seq: nextSeq(this.core.shared),
      code: 'unlock-during-dma',
      message: `${MESSAGES['unlock-during-dma']} (${service})`,
      device: null,
      driver: this.ctx.driverName(ctx),
      physAddr: frame * 4096,
      frame,
      linearPage: page >= 0 ? page : null,
      access: null,
      epochSeen: epoch,
      epochExpected: null,
      outcome: 'reported',
      detail: { inflight },
      stacks,
      frames: this.frameMap(frame),
    });
  }

  private push(v: Violation): void {
    const last = this.list[this.list.length - 1];
    if (last && last.seq > v.seq) this.sorted = false;
    this.list.push(v);
  }

  private fromRing(r: DrainedViolation): Violation {
    const code = VIOLATION_CODES[r.code] ?? 'dma-outside-memory';
    const h = this.core.history;
    const inRam = r.frame >= 0 && r.frame < this.core.shared.frames;
    const expected = r.epochExpected >= 0 ? r.epochExpected : null;
    const stacks: { -readonly [K in keyof Violation['stacks']]: string[] } = {};
    let meant: HistoryEvent | undefined;
    // For 'unlock-during-dma' (the device saw, at the end of a valid access, that the frame's epoch
    // had moved on): the event that made epochSeen — the unlock, or free, to blame.
    let ending: HistoryEvent | undefined;
    if (inRam) {
      const handout = expected !== null ? h.last(r.frame, 'handout', expected, r.driver) : undefined;
      // The lock the driver's address belonged to: the one that made the hand-out epoch (odd), or
      // for a hand-out taken while unlocked, the lock right after it.
      const lockEpoch = expected === null ? r.epochSeen - (r.epochSeen & 1 ? 0 : 1) : expected & 1 ? expected : expected + 1;
      const lock = h.last(r.frame, 'lock', lockEpoch);
      if (code === 'unlock-during-dma') ending = h.ending(r.frame, r.epochSeen);
      const unlock = code === 'unlock-during-dma' ? ending : h.ending(r.frame, lockEpoch + 1);
      const relock = code === 'dma-stale-address' ? h.last(r.frame, 'lock', r.epochSeen) : undefined;
      if (code === 'dma-address-before-lock') {
        // No lock belonged to the hand-out; show the lock that followed it (the current one).
        const s = formatStack(h.last(r.frame, 'lock', r.epochSeen)?.where);
        if (s) stacks.lock = s;
      }
      meant = handout ?? lock;
      const history = code === 'dma-address-before-lock' ? ([['handout', handout]] as const) : ([['handout', handout], ['lock', lock], ['unlock', unlock], ['relock', relock]] as const);
      for (const [k, e] of history) {
        const s = formatStack(e?.where);
        if (s) stacks[k] = s;
      }
    }
    const programmed = formatStack(this.ctx.programmedStack(r.device, r.command));
    if (programmed) stacks.programmed = programmed;
    const detail: Record<string, number> = {};
    if (code === 'dma-address-width') detail.addressBits = r.detail;
    if (code === 'dma-boundary') detail.boundary = r.detail;
    const owner = inRam ? this.core.frameState(r.frame).owner : -1;
    // A device-side unlock-during-dma names the unlocking driver and service, as the unlocker's own
    // report does (unlockDuringDma).
    return {
      seq: r.seq,
      code,
      message: ending ? `${MESSAGES[code]} (${ending.service})` : MESSAGES[code],
      device: this.ctx.device(r.device),
      driver: this.ctx.driverName(ending ? ending.ctx : r.driver),
      physAddr: r.phys,
      frame: r.frame,
      linearPage: meant && meant.page >= 0 ? meant.page : owner >= 0 ? owner : null,
      access: { start: r.access, length: r.length, direction: r.dir ? 'write' : 'read', command: r.command },
      epochSeen: r.epochSeen,
      epochExpected: expected,
      outcome: OUTCOME[r.outcome] ?? 'blocked',
      detail,
      stacks,
      frames: inRam ? this.frameMap(r.frame) : [],
    };
  }

  /** The frame and its neighbours, KASAN-shadow-map style. */
  frameMap(frame: number, radius = 2): FrameSnapshot[] {
    const out: FrameSnapshot[] = [];
    for (let f = Math.max(0, frame - radius); f <= Math.min(this.core.shared.frames - 1, frame + radius); f++) {
      const s = this.core.frameState(f);
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

/** KASAN-shaped text: the access, then the history that explains it, then the frames around it. */
export function renderViolation(v: Violation): string {
  const bar = '='.repeat(78);
  const lines: string[] = [bar];
  const who = v.device ? `${v.device.kind}#${v.device.id}${v.device.name !== v.device.kind ? ` (${v.device.name})` : ''}` : 'the VMM';
  lines.push(`BUG: dmasim: ${v.code} in ${who}${v.driver ? `, driver "${v.driver}"` : ''}`);
  if (v.access) {
    lines.push(`${v.access.direction === 'write' ? 'Write' : 'Read'} of size ${v.access.length} at phys ${hex(v.access.start)} (first bad byte ${hex(v.physAddr)}, frame ${hex(v.frame, 5)}), command ${v.access.command}: ${v.outcome}`);
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

