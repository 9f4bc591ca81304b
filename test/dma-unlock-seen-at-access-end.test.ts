/**
 * DESIGN §3 step 5, the end-of-access re-check: after the bytes move, the port lowers each frame's
 * in-flight count and reads its epoch again. If it moved on, an unlock (or free) took effect while the
 * bytes were moving — and the unlocker may have read the count just after the decrement and reported
 * nothing. So the device reports it too: 'unlock-during-dma' with epochSeen = the epoch that unlock
 * made (begin + 1) and epochExpected = the hand-out epoch. When both sides saw the same unlock, one
 * record is kept (report.ts dedupes by frame and epoch); the device's record, when it is the only
 * one, names the unlocking driver and carries its stack.
 */

import { describe, expect, it } from 'vitest';
import { PAGEMARKDIRTY, physAddr, copyEngine as CE, type DeviceHandle, type Simulator, type Violation } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { ceStartCopy, handOut, lockedPages, ofCode, spinMicros, stackNames } from './dma-helpers.js';
import { coreOf, epochNow, mainThreadPort } from './internals.js';

const pool = simulatorsClosedAfterEach();
const FILE = 'dma-unlock-seen-at-access-end.test.ts';

/** A destination buffer whose `set` runs `during` first: code that runs while the port moves bytes. */
class Striking extends Uint8Array {
  during: (() => void) | undefined;
  override set(array: ArrayLike<number>, offset?: number): void {
    const f = this.during;
    this.during = undefined;
    f?.();
    super.set(array, offset);
  }
}

/** Runs `fn` with the unlocker's own 'unlock-during-dma' report switched off (as if it had read the count after the device's decrement). */
function withoutUnlockerReport<T>(sim: Simulator, fn: () => T): T {
  const core = coreOf(sim);
  const observer = core.observer;
  core.observer = undefined;
  try {
    return fn();
  } finally {
    core.observer = observer;
  }
}

describe('the end-of-access re-check (the port on this thread, the unlock inside the copy)', () => {
  it("an unlock the unlocker did not report is reported by the device: the unlock's epoch, the hand-out epoch, the unlocker's stack", async () => {
    const sim = await pool.make({ pager: 'off' });
    const drv = sim.createDriver('unlocker');
    const buf = lockedPages(drv, 1);
    const f = buf.phys[0]! >>> 12;
    const handedOutAt = epochNow(sim, f); // locked and handed out at this epoch
    const { port } = mainThreadPort(sim, 1); // bound to 'unlocker' (context 1)
    const into = new Striking(64);
    into.during = () => expect(drv.vmm.linPageUnLock(buf.page, 1, 0)).toBe(1);
    // The access was valid when checked, so it completes: the device did nothing wrong.
    expect(withoutUnlockerReport(sim, () => port.read(physAddr(buf.phys[0]! + 128), into))).toEqual({ bytesRead: 64, bytesWritten: 0, ok: true });
    const vs = sim.violations();
    expect(vs).toHaveLength(1);
    const v = vs[0]!;
    expect(v).toMatchObject({
      code: 'unlock-during-dma',
      driver: 'unlocker',
      physAddr: buf.phys[0]! + 128,
      frame: f,
      linearPage: buf.page,
      access: { start: buf.phys[0]! + 128, length: 64, direction: 'read' },
      epochSeen: handedOutAt + 1,
      epochExpected: handedOutAt,
      outcome: 'reported',
    });
    expect(v.message).toContain('_LinPageUnLock');
    expect(stackNames(v.stacks.unlock, FILE)).toBe(true);
    expect(stackNames(v.stacks.lock, 'dma-helpers.ts')).toBe(true);
    expect(stackNames(v.stacks.handout, 'helpers.ts')).toBe(true);
    expect(v.frames.find((s) => s.frame === f)).toMatchObject({ state: 'unlocked', epoch: handedOutAt + 1 });
  });

  it('a free inside the copy, unreported by the freer, is reported by the device naming the freeing driver', async () => {
    const sim = await pool.make({ pager: 'off' });
    const drv = sim.createDriver('freer');
    const buf = lockedPages(drv, 1);
    const f = buf.phys[0]! >>> 12;
    const e = epochNow(sim, f);
    const { port } = mainThreadPort(sim, 1);
    const into = new Striking(16);
    into.during = () => expect(drv.vmm.pageFree(buf.lin, 0)).toBe(1);
    expect(withoutUnlockerReport(sim, () => port.read(physAddr(buf.phys[0]!), into))).toEqual({ bytesRead: 16, bytesWritten: 0, ok: true });
    const [v, ...rest] = sim.violations();
    expect(rest).toEqual([]);
    expect(v).toMatchObject({ code: 'unlock-during-dma', driver: 'freer', frame: f, epochSeen: e + 1, epochExpected: e, outcome: 'reported' });
    expect(v!.message).toContain('_PageFree');
  });

  it('when the unlocker saw the access in flight too, the unlock is reported once: the record made at the unlock', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = lockedPages(sim, 2);
    const { port } = mainThreadPort(sim);
    const into = new Striking(2 * 4096);
    let atUnlock: Violation[] = [];
    into.during = () => {
      expect(sim.vmm.linPageUnLock(buf.page, 2, 0)).toBe(1);
      atUnlock = sim.violations();
    };
    // The same frames twice in one access (a gather over both pages, twice): still one record per unlock.
    const list = [0, 1, 0, 1].map((i) => ({ phys: physAddr(buf.phys[i]!), length: 2048 }));
    expect(port.gather(list, into)).toEqual({ bytesRead: 8192, bytesWritten: 0, ok: true });
    // The unlocker names the transfer in flight (the span covering each frame) from the device's
    // access record. This stand-in port serves no attached device, so no device is named.
    expect(atUnlock.map((v) => [v.code, v.frame, v.device, v.access])).toEqual([
      ['unlock-during-dma', buf.phys[0]! >>> 12, null, { start: buf.phys[0]!, length: 2048, direction: 'read', command: 0 }],
      ['unlock-during-dma', buf.phys[1]! >>> 12, null, { start: buf.phys[1]!, length: 2048, direction: 'read', command: 0 }],
    ]);
    // The device's own records of the same two unlocks were dropped as duplicates.
    expect(sim.violations()).toEqual(atUnlock);
  });

  it('an unlock after the access ended is not reported by anyone', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = lockedPages(sim, 1);
    const { port } = mainThreadPort(sim);
    expect(port.read(physAddr(buf.phys[0]!), new Uint8Array(32))).toEqual({ bytesRead: 32, bytesWritten: 0, ok: true });
    expect(withoutUnlockerReport(sim, () => sim.vmm.linPageUnLock(buf.page, 1, 0))).toBe(1);
    expect(sim.violations()).toEqual([]);
  });
});

describe('the end-of-access re-check with a real device', () => {
  /**
   * Aims an unlock of the first source page into a big copy, with the unlocker's own report off, until
   * one lands while the bytes move (the device then reports it). Early: refused; late: nothing.
   */
  async function aim(sim: Simulator, dev: DeviceHandle, buf: { page: number; phys: number[] }, pages: number): Promise<Violation | undefined> {
    let delayUs = 100;
    for (let round = 0; round < 60; round++) {
      const before = sim.violations().length;
      ceStartCopy(dev, buf.phys[0]!, buf.phys[pages]!, pages * 4096);
      const t0 = performance.now();
      while ((dev.readReg(CE.REG.STATUS) & CE.STATUS.BUSY) === 0 && performance.now() - t0 < 2000) {
        // spin: the device runs on another thread
      }
      spinMicros(delayUs);
      withoutUnlockerReport(sim, () => expect(sim.vmm.linPageUnLock(buf.page, 1, 0)).toBe(1));
      await dev.waitForInterrupt({ timeoutMs: 10_000 });
      const fresh = sim.violations().slice(before);
      const hit = ofCode(fresh, 'unlock-during-dma')[0];
      if (hit) {
        expect(dev.readReg(CE.REG.STATUS)).toBe(CE.STATUS.DONE);
        expect(fresh).toEqual([hit]);
        return hit;
      }
      if (ofCode(fresh, 'dma-unlocked').length > 0) delayUs = delayUs * 2 + 50;
      else delayUs = Math.max(0, Math.floor(delayUs / 2));
      expect(sim.vmm.linPageLock(buf.page, 1, PAGEMARKDIRTY)).toBe(1);
      expect(handOut(sim, buf.page, 1)).toEqual([buf.phys[0]!]);
    }
    return undefined;
  }

  it("a copy engine reports an unlock that raced its copy, with the device, the access, the unlocker's stack", async () => {
    const sim = await pool.make({ pager: 'off', memory: 64 << 20 });
    const PAGES = 2048;
    const buf = lockedPages(sim, 2 * PAGES);
    for (let i = 1; i < 2 * PAGES; i++) expect(buf.phys[i]).toBe(buf.phys[0]! + i * 4096);
    const dev = await sim.attachDevice('copy-engine', { name: 'racer' });
    const v = await aim(sim, dev, buf, PAGES);
    expect(v, 'no unlock landed inside the copy in 60 rounds').toBeDefined();
    expect(v).toMatchObject({
      code: 'unlock-during-dma',
      device: { id: dev.id, attachment: dev.attachment, kind: 'copy-engine', name: 'racer' },
      driver: 'default',
      frame: buf.phys[0]! >>> 12,
      linearPage: buf.page,
      access: { start: buf.phys[0]!, length: PAGES * 4096, direction: 'read' },
      outcome: 'reported',
    });
    expect(v!.epochSeen).toBe(v!.epochExpected! + 1);
    expect(stackNames(v!.stacks.unlock, FILE)).toBe(true);
    expect(stackNames(v!.stacks.programmed, 'dma-helpers.ts')).toBe(true);
  });
});
