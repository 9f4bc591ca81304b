/**
 * Every violation code, each triggered by a small driver and asserted field by field, each beside
 * its correct twin that reports nothing. Real device workers (test-probe, copy-engine), real DDK
 * services; epochs follow DESIGN.md §3 from a fresh frame at epoch 0: lock → 1, unlock → 2, a
 * release of an unlocked frame → +2, a lock → odd again.
 */

import { describe, expect, it } from 'vitest';
import { PAGEMARKDIRTY, PAGEZEROINIT, VIOLATION_CODES, copyEngine as CE, testProbe as TP, type DeviceHandle, type Simulator, type Violation } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import {
  PROBE_REFUSED,
  ceCopy,
  ceStartCopy,
  contiguous,
  handOut,
  lockedPages,
  ofCode,
  probe,
  probeDone,
  probeRefused,
  spinMicros,
  stackNames,
  violationRegister,
} from './dma-helpers.js';

const FILE = 'dma-violation-codes.test.ts';
const pool = simulatorsClosedAfterEach();

/** A stack captured in this file. */
const here = expect.arrayContaining([expect.stringContaining(FILE)]);

/** The whole record of an access a device made for the default driver, blocked: `fields` give the rest. */
function blocked(fields: Record<string, unknown>): Record<string, unknown> {
  return { seq: expect.any(Number), driver: 'default', outcome: 'blocked', detail: {}, frames: expect.any(Array), ...fields };
}

/**
 * The whole record of a blocked range violation (address width, boundary, outside memory,
 * re-entrancy): it is about an address, not a frame, so there is no page, no epoch, no frame map and
 * no history but the device programming.
 */
function rangeViolation(fields: Record<string, unknown>): Record<string, unknown> {
  return blocked({ frame: -1, linearPage: null, epochSeen: 0, epochExpected: null, stacks: { programmed: here }, frames: [], ...fields });
}

function only(sim: Simulator): Violation {
  const vs = sim.violations();
  expect(vs).toHaveLength(1);
  return vs[0]!;
}

async function probeDev(drv: { attachDevice: Simulator['attachDevice'] }, name = 'probe', extra: Record<string, unknown> = {}): Promise<DeviceHandle> {
  return drv.attachDevice('test-probe', { name, ...extra });
}

describe('dma-unlocked', () => {
  it('a device read after the driver unlocked: every field', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = lockedPages(sim, 1);
    const phys = buf.phys[0]!;
    const f = phys >>> 12;
    const dev = await probeDev(sim, 'nic-rx');
    expect(sim.vmm.linPageUnLock(buf.page, 1, 0)).toBe(1);

    expect(await probe(dev, TP.OP.READ, phys + 0x10, { len: 32 })).toEqual(probeRefused('dma-unlocked'));

    const v = only(sim);
    expect(v).toEqual(
      blocked({
        code: 'dma-unlocked',
        message: expect.stringContaining('not locked'),
        device: { id: dev.id, attachment: dev.attachment, kind: 'test-probe', name: 'nic-rx' },
        physAddr: phys + 0x10,
        frame: f,
        linearPage: buf.page,
        access: { start: phys + 0x10, length: 32, direction: 'read', command: 1 },
        epochSeen: 2,
        epochExpected: 1,
        stacks: { handout: expect.any(Array), lock: expect.any(Array), unlock: here, programmed: expect.any(Array) },
      }),
    );
    // lock and hand-out happened in the helper called from this file; programming in the helper too.
    expect(stackNames(v.stacks.lock, 'dma-helpers.ts')).toBe(true);
    expect(stackNames(v.stacks.lock, FILE)).toBe(true);
    expect(stackNames(v.stacks.handout, FILE)).toBe(true);
    expect(stackNames(v.stacks.programmed, FILE)).toBe(true);
    expect(v.frames.map((s) => s.frame)).toEqual([f - 2, f - 1, f, f + 1, f + 2].filter((x) => x >= 0));
    expect(v.frames.find((s) => s.frame === f)).toEqual({ frame: f, state: 'unlocked', lockCount: 0, epoch: 2, page: buf.page });
  });

  it('a device write after unlock is blocked: no byte lands', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = lockedPages(sim, 1);
    sim.cpu.writeBytes(buf.lin, new Uint8Array(4096).fill(0x11));
    const dev = await probeDev(sim);
    expect(sim.vmm.linPageUnLock(buf.page, 1, 0)).toBe(1);
    expect(await probe(dev, TP.OP.FILL, buf.phys[0]!, { len: 4096, value: 0xee })).toEqual(probeRefused('dma-unlocked'));
    const v = only(sim);
    expect(v.access).toEqual({ start: buf.phys[0]!, length: 4096, direction: 'write', command: 1 });
    expect([v.code, v.outcome, v.epochSeen, v.epochExpected]).toEqual(['dma-unlocked', 'blocked', 2, 1]);
    expect(sim.cpu.readBytes(buf.lin, 4096)).toEqual(new Uint8Array(4096).fill(0x11));
  });

  it('twin: the same read while the page is locked reports nothing', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = lockedPages(sim, 1);
    const dev = await probeDev(sim);
    expect(await probe(dev, TP.OP.READ, buf.phys[0]! + 0x10, { len: 32 })).toEqual(probeDone(32));
    expect(sim.vmm.linPageUnLock(buf.page, 1, 0)).toBe(1);
    expect(sim.violations()).toEqual([]);
  });
});

describe('dma-stale-address', () => {
  /** Driver A locks, copies and unlocks and frees; driver B gets the same frame locked. */
  async function aba(sim: Simulator) {
    const A = sim.createDriver('A');
    const B = sim.createDriver('B');
    const a = lockedPages(A, 1);
    expect(A.vmm.linPageUnLock(a.page, 1, 0)).toBe(1);
    expect(A.vmm.pageFree(a.lin, 0)).toBe(1);
    // pager 'off': no quarantine, the free stack is LIFO, so B's lock pages in onto A's old frame.
    const b = lockedPages(B, 1);
    expect(b.phys[0]).toBe(a.phys[0]);
    const mine = new Uint8Array(4096).fill(0xb0);
    B.cpu.writeBytes(b.lin, mine);
    return { A, B, a, b, mine };
  }

  it("A's device uses A's address after the frame was re-locked for B: every field", async () => {
    const sim = await pool.make({ pager: 'off' });
    const { A, B, a, b, mine } = await aba(sim);
    const phys = a.phys[0]!;
    const f = phys >>> 12;
    const dev = await probeDev(A, 'dma-a');
    expect(await probe(dev, TP.OP.FILL, phys, { len: 64, value: 0xaa })).toEqual(probeRefused('dma-stale-address'));

    const v = only(sim);
    expect(v).toEqual(
      blocked({
        code: 'dma-stale-address',
        message: expect.stringContaining('earlier lock'),
        device: { id: dev.id, attachment: dev.attachment, kind: 'test-probe', name: 'dma-a' },
        driver: 'A',
        physAddr: phys,
        frame: f,
        linearPage: a.page,
        access: { start: phys, length: 64, direction: 'write', command: 1 },
        // lock 1, unlock 2, free +2 → 4, B's lock → 5.
        epochSeen: 5,
        epochExpected: 1,
        stacks: { handout: here, lock: here, unlock: here, relock: here, programmed: here },
      }),
    );
    expect(v.frames.find((s) => s.frame === f)).toEqual({ frame: f, state: 'locked', lockCount: 1, epoch: 5, page: b.page });
    // The relock stack is B's lock, not A's: they differ.
    expect(v.stacks.relock).not.toEqual(v.stacks.lock);
    expect(B.cpu.readBytes(b.lin, 4096)).toEqual(mine);
  });

  it("twin: B's device on B's address reports nothing", async () => {
    const sim = await pool.make({ pager: 'off' });
    const { B, b } = await aba(sim);
    const dev = await probeDev(B, 'dma-b');
    expect(await probe(dev, TP.OP.FILL, b.phys[0]!, { len: 64, value: 0xbb })).toEqual(probeDone(64));
    expect(B.cpu.readBytes(b.lin, 64)).toEqual(new Uint8Array(64).fill(0xbb));
    expect(sim.violations()).toEqual([]);
  });

  it('twin: the same driver re-locking the same page and copying the page table again is fine; without the new copy it is stale', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = lockedPages(sim, 1);
    const dev = await probeDev(sim);
    expect(sim.vmm.linPageUnLock(buf.page, 1, 0)).toBe(1);
    expect(sim.vmm.linPageLock(buf.page, 1, PAGEMARKDIRTY)).toBe(1);
    // Same frame, epoch 3, but the driver's hand-out is still from epoch 1.
    expect(await probe(dev, TP.OP.READ, buf.phys[0]!, { len: 4 })).toEqual(probeRefused('dma-stale-address'));
    const v = only(sim);
    expect([v.code, v.epochSeen, v.epochExpected]).toEqual(['dma-stale-address', 3, 1]);
    expect(handOut(sim, buf.page, 1)).toEqual(buf.phys);
    expect(await probe(dev, TP.OP.READ, buf.phys[0]!, { len: 4 })).toEqual(probeDone(4));
    expect(sim.violations()).toHaveLength(1);
  });
});

describe('dma-stale-programming', () => {
  it("the driver's own new page in the old frame, its address obtained, the device never reprogrammed: every field", async () => {
    const sim = await pool.make({ pager: 'off' });
    const dev = await sim.attachDevice('copy-engine', { name: 'ce' });
    const p1 = lockedPages(sim, 1);
    const phys = p1.phys[0]!;
    const f = phys >>> 12;
    dev.writeReg(CE.REG.DST, phys);
    dev.writeReg(CE.REG.LENGTH, 64);
    expect(sim.vmm.linPageUnLock(p1.page, 1, 0)).toBe(1);
    expect(sim.vmm.pageFree(p1.lin, 0)).toBe(1);
    // pager 'off': the LIFO free stack puts the next page in P1's old frame; its hand-out is current.
    const p2 = lockedPages(sim, 1);
    expect(p2.phys[0]).toBe(phys);
    dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.FILL | CE.CONTROL.IRQ_ENABLE);
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(dev.readReg(CE.REG.ERROR)).toBe(CE.ERROR.DMA_REFUSED);

    const v = only(sim);
    expect(v).toEqual(
      blocked({
        code: 'dma-stale-programming',
        message: expect.stringContaining('before the frame took the page it holds now'),
        device: { id: dev.id, attachment: dev.attachment, kind: 'copy-engine', name: 'ce' },
        physAddr: phys,
        frame: f,
        // The page the address was programmed for.
        linearPage: p1.page,
        access: { start: phys, length: 64, direction: 'write', command: 1 },
        // lock 1, unlock 2, free +2 → 4, P2's lock → 5: the hand-out is current.
        epochSeen: 5,
        epochExpected: 5,
        detail: { programmedAt: expect.any(Number), frameReusedAt: expect.any(Number), handedOutAt: expect.any(Number) },
        stacks: { handout: here, lock: here, unlock: here, relock: here, programmed: here },
      }),
    );
    expect(v.detail.programmedAt! < v.detail.frameReusedAt! && v.detail.frameReusedAt! < v.detail.handedOutAt!).toBe(true);
    expect(v.frames.find((s) => s.frame === f)).toEqual({ frame: f, state: 'locked', lockCount: 1, epoch: 5, page: p2.page });
    expect(v.stacks.relock).not.toEqual(v.stacks.lock);
  });

  it('twin: the same, DST written again after the new hand-out, reports nothing', async () => {
    const sim = await pool.make({ pager: 'off' });
    const dev = await sim.attachDevice('copy-engine');
    const p1 = lockedPages(sim, 1);
    dev.writeReg(CE.REG.DST, p1.phys[0]!);
    dev.writeReg(CE.REG.LENGTH, 64);
    expect(sim.vmm.linPageUnLock(p1.page, 1, 0)).toBe(1);
    expect(sim.vmm.pageFree(p1.lin, 0)).toBe(1);
    const p2 = lockedPages(sim, 1);
    expect(p2.phys).toEqual(p1.phys);
    dev.writeReg(CE.REG.DST, p2.phys[0]!);
    dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.FILL | CE.CONTROL.IRQ_ENABLE);
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(dev.readReg(CE.REG.ERROR)).toBe(0);
    expect(sim.violations()).toEqual([]);
  });
});

describe('an address obtained before locking', () => {
  it('is refused when the device uses it, even once the page is locked: the hand-out is from an unlocked epoch', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = lockedPages(sim, 1, { lockFlags: null });
    sim.cpu.write8(buf.lin, 1); // present (epoch 0, unlocked)
    const early = handOut(sim, buf.page, 1); // the bug: _CopyPageTable before _LinPageLock
    const dev = await probeDev(sim);
    expect((await probe(dev, TP.OP.READ, early[0]!, { len: 4 })).violation).toBe(violationRegister('dma-unlocked'));
    expect(sim.vmm.linPageLock(buf.page, 1, PAGEMARKDIRTY)).toBe(1);
    const r = await probe(dev, TP.OP.READ, early[0]!, { len: 4 });
    expect(r.status).toBe(PROBE_REFUSED);
    const [before, after] = sim.violations();
    expect([before!.code, before!.epochSeen, before!.epochExpected]).toEqual(['dma-unlocked', 0, 0]);
    expect(after!.epochExpected).toBe(0);
    expect(after!.epochSeen).toBe(1);
    expect(after!.code).toBe('dma-address-before-lock');
    expect(after!.stacks.handout?.join('\n')).toMatch(/dma-violation-codes\.test\.ts/);
    // Twin: copying after the lock is the DDK order.
    expect(handOut(sim, buf.page, 1)).toEqual(early);
    expect(await probe(dev, TP.OP.READ, early[0]!, { len: 4 })).toEqual(probeDone(4));
  });
});

describe('dma-not-handed-out', () => {
  it("a device bound to driver B uses an address only driver A obtained: every field", async () => {
    const sim = await pool.make({ pager: 'off' });
    const A = sim.createDriver('A');
    const B = sim.createDriver('B');
    const a = lockedPages(A, 1);
    const phys = a.phys[0]!;
    const f = phys >>> 12;
    const devB = await probeDev(B, 'b-dev');
    expect(await probe(devB, TP.OP.LOAD32, phys + 8)).toEqual(probeRefused('dma-not-handed-out'));

    const v = only(sim);
    expect(v).toEqual(
      blocked({
        code: 'dma-not-handed-out',
        message: expect.stringContaining('never obtained'),
        device: { id: devB.id, attachment: devB.attachment, kind: 'test-probe', name: 'b-dev' },
        driver: 'B',
        physAddr: phys + 8,
        frame: f,
        linearPage: a.page,
        access: { start: phys + 8, length: 4, direction: 'read', command: 1 },
        epochSeen: 1,
        epochExpected: null,
        // No hand-out to B exists; A's lock explains the frame's state; nothing was unlocked.
        stacks: { lock: here, programmed: here },
      }),
    );
    expect(v.frames.find((s) => s.frame === f)).toEqual({ frame: f, state: 'locked', lockCount: 1, epoch: 1, page: a.page });
  });

  it("twins: A's own device, and B after copying A's page table itself, report nothing", async () => {
    const sim = await pool.make({ pager: 'off' });
    const A = sim.createDriver('A');
    const B = sim.createDriver('B');
    const a = lockedPages(A, 1);
    const [devA, devB] = await Promise.all([probeDev(A, 'a-dev'), probeDev(B, 'b-dev')]);
    A.cpu.write32(a.lin + 8, 0xcafef00d);
    expect(await probe(devA, TP.OP.LOAD32, a.phys[0]! + 8)).toEqual(probeDone(0xcafef00d));
    // Hand-outs are per driver: B may obtain the same (locked) page's address for itself.
    expect(handOut(B, a.page, 1)).toEqual(a.phys);
    expect(await probe(devB, TP.OP.LOAD32, a.phys[0]! + 8)).toEqual(probeDone(0xcafef00d));
    expect(sim.violations()).toEqual([]);
  });

  it('a frame nobody ever handed out (the nul page at frame 0) is not-handed-out', async () => {
    const sim = await pool.make({ pager: 'off' });
    const dev = await probeDev(sim);
    expect(await probe(dev, TP.OP.READ, 0, { len: 16 })).toEqual(probeRefused('dma-not-handed-out'));
    const v = only(sim);
    expect([v.code, v.frame, v.epochExpected, v.epochSeen]).toEqual(['dma-not-handed-out', 0, null, 1]);
    expect(v.frames[0]).toEqual({ frame: 0, state: 'fixed', lockCount: 0, epoch: 1, page: null });
  });
});

/**
 * Aims `strike` (an unlock or a free on the main thread) into the window where a big copy's frames
 * are in flight: after the engine shows BUSY, wait `delay` µs, strike, then look at who reported.
 * Early (before the access began: the device refuses) → aim later; late (the copy had finished) →
 * aim earlier. Bounded; returns the unlock-during-dma record made at the strike, if any.
 */
async function strikeMidCopy(
  sim: Simulator,
  dev: DeviceHandle,
  copy: { src: number; dst: number; length: number },
  strike: () => void,
  restore: () => void,
): Promise<{ found: Violation | undefined; rounds: number; outcomes: string[] }> {
  let delayUs = 100;
  let found: Violation | undefined;
  let rounds = 0;
  let seenBefore = sim.violations().length;
  const outcomes: string[] = [];
  for (; rounds < 60 && !found; rounds++) {
    ceStartCopy(dev, copy.src, copy.dst, copy.length);
    // The engine sets STATUS = BUSY as it starts the command; then the port checks and copies.
    const t0 = performance.now();
    while ((dev.readReg(CE.REG.STATUS) & CE.STATUS.BUSY) === 0 && performance.now() - t0 < 2000) {
      // spin: the device runs on another thread
    }
    spinMicros(delayUs);
    strike();
    // Reported at the strike itself: the record exists before the device finishes.
    const atStrike = ofCode(sim.violations().slice(seenBefore), 'unlock-during-dma');
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    const status = dev.readReg(CE.REG.STATUS);
    const all = sim.violations();
    const fresh = all.slice(seenBefore);
    seenBefore = all.length;
    if (atStrike.length > 0 && status === CE.STATUS.DONE) {
      found = atStrike[0];
      // The access had passed its checks before the strike: the copy completed, and only the
      // striking side reported.
      expect(dev.readReg(CE.REG.BYTES_DONE)).toBe(copy.length);
      expect(fresh.map((v) => v.code)).toEqual(['unlock-during-dma']);
      break;
    } else if (atStrike.length > 0) {
      // The Dekker pair can see each other both ways (the device announced itself, then read the
      // new even epoch and refused): legal, both report. Aim a little later.
      outcomes.push('both');
      expect(fresh.map((v) => v.code).sort()).toEqual(['dma-unlocked', 'unlock-during-dma']);
      delayUs += 50;
    } else if (fresh.some((v) => v.code === 'dma-unlocked')) {
      outcomes.push('early');
      delayUs = delayUs * 2 + 50;
    } else {
      outcomes.push('late');
      delayUs = Math.max(0, Math.floor(delayUs / 2));
    }
    restore();
  }
  return { found, rounds, outcomes };
}

describe('unlock-during-dma', () => {
  // 2 × 8 MiB: one command's frames stay in flight for the whole ~ms copy.
  const PAGES = 2048;

  it('an unlock that takes effect while a big copy is in flight is reported at the unlock, with its stack', async () => {
    const sim = await pool.make({ pager: 'off', memory: 64 << 20 });
    const buf = lockedPages(sim, 2 * PAGES);
    // A fresh simulator pages the buffer in onto consecutive frames: physically contiguous.
    for (let i = 1; i < 2 * PAGES; i++) expect(buf.phys[i]).toBe(buf.phys[0]! + i * 4096);
    const src = buf.phys[0]!;
    const dev = await sim.attachDevice('copy-engine', { name: 'big-copy' });

    const { found, rounds, outcomes } = await strikeMidCopy(
      sim,
      dev,
      { src, dst: buf.phys[PAGES]!, length: PAGES * 4096 },
      () => expect(sim.vmm.linPageUnLock(buf.page, 1, 0)).toBe(1), // the first source page, mid-copy
      () => {
        expect(sim.vmm.linPageLock(buf.page, 1, PAGEMARKDIRTY)).toBe(1);
        expect(handOut(sim, buf.page, 1)).toEqual([src]);
      },
    );
    expect(found, `no unlock landed inside a DMA in ${rounds} rounds (${outcomes.join(' ')})`).toBeDefined();
    const v = found!;
    const f = src >>> 12;
    expect(v).toEqual({
      seq: expect.any(Number),
      code: 'unlock-during-dma',
      message: expect.stringContaining('_LinPageUnLock'),
      // The device in flight and its transfer, read from its access record by the unlocker.
      device: { id: dev.id, attachment: dev.attachment, kind: 'copy-engine', name: expect.any(String) },
      driver: 'default',
      physAddr: src,
      frame: f,
      linearPage: buf.page,
      access: { start: src, length: expect.any(Number), direction: 'read', command: expect.any(Number) },
      epochSeen: expect.any(Number),
      epochExpected: null,
      outcome: 'reported',
      detail: { inflight: expect.any(Number) },
      stacks: { lock: expect.any(Array), unlock: here, programmed: expect.any(Array) },
      frames: expect.any(Array),
    });
    expect(v.detail.inflight).toBeGreaterThanOrEqual(1);
    expect(v.epochSeen % 2).toBe(0);
    expect(v.frames.find((s) => s.frame === f)).toEqual({ frame: f, state: 'unlocked', lockCount: 0, epoch: v.epochSeen, page: buf.page });
    expect(sim.render(v)).toContain(`BUG: dmasim: unlock-during-dma in copy-engine#${dev.id}`);
  });

  it('freeing a locked buffer while the copy is in flight is reported at the free, by the freeing driver', async () => {
    const sim = await pool.make({ pager: 'off', memory: 64 << 20 });
    const drv = sim.createDriver('freer');
    // The first source page is its own block, so it can be freed alone; the rest follows it in
    // physical memory (fresh simulator, ascending frames).
    let first = lockedPages(drv, 1);
    const rest = lockedPages(drv, 2 * PAGES - 1);
    expect(rest.phys[0]).toBe(first.phys[0]! + 4096);
    const src = first.phys[0]!;
    const dev = await drv.attachDevice('copy-engine');
    let freedPage = first.page;
    const { found, rounds, outcomes } = await strikeMidCopy(
      sim,
      dev,
      { src, dst: rest.phys[PAGES - 1]!, length: PAGES * 4096 },
      () => {
        freedPage = first.page;
        expect(drv.vmm.pageFree(first.lin, 0)).toBe(1);
      },
      () => {
        // No quarantine with the pager off: the freed frame is the next one handed out.
        first = lockedPages(drv, 1);
        expect(first.phys[0]).toBe(src);
      },
    );
    expect(found, `no free landed inside a DMA in ${rounds} rounds (${outcomes.join(' ')})`).toBeDefined();
    const v = found!;
    expect(v).toMatchObject({
      code: 'unlock-during-dma',
      device: { id: dev.id, attachment: dev.attachment, kind: 'copy-engine' },
      driver: 'freer',
      physAddr: src,
      frame: src >>> 12,
      linearPage: freedPage,
      access: { start: src, direction: 'read' },
      epochExpected: null,
      outcome: 'reported',
    });
    expect(v.message).toContain('_PageFree');
    expect(v.epochSeen % 2).toBe(0);
    expect(v.detail.inflight).toBeGreaterThanOrEqual(1);
    expect(stackNames(v.stacks.unlock, FILE)).toBe(true);
  });

  it('twin: unlocking after the interrupt reports nothing', async () => {
    const sim = await pool.make({ pager: 'off', memory: 64 << 20 });
    const buf = lockedPages(sim, 2 * PAGES);
    const dev = await sim.attachDevice('copy-engine');
    expect((await ceCopy(dev, buf.phys[0]!, buf.phys[PAGES]!, PAGES * 4096)).error).toBe(0);
    expect(sim.vmm.linPageUnLock(buf.page, 2 * PAGES, 0)).toBe(1);
    expect(sim.violations()).toEqual([]);
  });
});

describe('dma-not-marked-dirty', () => {
  it('a device write into a page locked without PAGEMARKDIRTY and never written by the CPU: every field', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = lockedPages(sim, 1, { lockFlags: 0 });
    const phys = buf.phys[0]!;
    const f = phys >>> 12;
    const dev = await probeDev(sim, 'disk');
    expect(await probe(dev, TP.OP.STORE32, phys + 0x40, { value: 0x12345678 })).toEqual(probeRefused('dma-not-marked-dirty'));

    const v = only(sim);
    expect(v).toEqual(
      blocked({
        code: 'dma-not-marked-dirty',
        message: expect.stringContaining('PAGEMARKDIRTY'),
        device: { id: dev.id, attachment: dev.attachment, kind: 'test-probe', name: 'disk' },
        physAddr: phys + 0x40,
        frame: f,
        linearPage: buf.page,
        access: { start: phys + 0x40, length: 4, direction: 'write', command: 1 },
        epochSeen: 1,
        epochExpected: 1,
        stacks: { handout: here, lock: here, programmed: here },
      }),
    );
    expect(v.frames.find((s) => s.frame === f)).toEqual({ frame: f, state: 'locked', lockCount: 1, epoch: 1, page: buf.page });
    expect(sim.cpu.read32(buf.lin + 0x40)).toBe(0);
  });

  it('twins: PAGEMARKDIRTY, a page the CPU wrote, and a device read all report nothing', async () => {
    const sim = await pool.make({ pager: 'off' });
    const marked = lockedPages(sim, 1, { lockFlags: PAGEMARKDIRTY });
    const clean = lockedPages(sim, 1, { lockFlags: 0 });
    const cpuDirty = lockedPages(sim, 1, { lockFlags: null });
    sim.cpu.write8(cpuDirty.lin, 1); // dirty through the CPU, then locked without the flag
    expect(sim.vmm.linPageLock(cpuDirty.page, 1, 0)).toBe(1);
    cpuDirty.phys = handOut(sim, cpuDirty.page, 1);
    const dev = await probeDev(sim);
    expect(await probe(dev, TP.OP.STORE32, marked.phys[0]!, { value: 7 })).toEqual(probeDone(4));
    expect(await probe(dev, TP.OP.STORE32, cpuDirty.phys[0]!, { value: 8 })).toEqual(probeDone(4));
    expect(await probe(dev, TP.OP.READ, clean.phys[0]!, { len: 4096 })).toEqual(probeDone(4096));
    expect(sim.cpu.read32(marked.lin)).toBe(7);
    expect(sim.cpu.read32(cpuDirty.lin)).toBe(8);
    expect(sim.violations()).toEqual([]);
  });

  it("under 'allow' the write lands, and the pager really drops it: unlock, page-out, page-in → gone; with PAGEMARKDIRTY it survives", async () => {
    const sim = await pool.make({ pager: 'off', onViolation: 'allow', seed: 9 });
    // PAGEZEROINIT: a page with no saved copy comes back as zeros, so "dropped" is visible.
    const clean = lockedPages(sim, 1, { allocFlags: PAGEZEROINIT, lockFlags: 0 });
    const marked = lockedPages(sim, 1, { allocFlags: PAGEZEROINIT, lockFlags: PAGEMARKDIRTY });
    const dev = await probeDev(sim);
    const fill = new Uint8Array(4096).fill(0x5a);
    expect(await probe(dev, TP.OP.FILL, clean.phys[0]!, { len: 4096, value: 0x5a })).toEqual(probeRefused('dma-not-marked-dirty', 4096));
    expect(await probe(dev, TP.OP.FILL, marked.phys[0]!, { len: 4096, value: 0x5a })).toEqual(probeDone(4096));
    const v = only(sim);
    expect([v.code, v.outcome, v.frame]).toEqual(['dma-not-marked-dirty', 'allowed', clean.phys[0]! >>> 12]);
    // While locked, the bytes are there.
    expect(sim.cpu.readBytes(clean.lin, 4096)).toEqual(fill);
    expect(sim.vmm.linPageUnLock(clean.page, 1, 0)).toBe(1);
    expect(sim.vmm.linPageUnLock(marked.page, 1, 0)).toBe(1);
    // Run the pager until both pages have left memory (a pass moves or pages out each page).
    const gone = (p: number) => handOut(sim, p, 1)[0] === 0;
    for (let i = 0; i < 64 && !(gone(clean.page) && gone(marked.page)); i++) sim.pager.pass();
    expect(gone(clean.page) && gone(marked.page)).toBe(true);
    expect(sim.pager.stats.discards).toBeGreaterThanOrEqual(1); // the clean page: no copy kept
    expect(sim.pager.stats.pageOuts).toBeGreaterThanOrEqual(1); // the marked page: written out
    // Page-in by the CPU.
    expect(sim.cpu.readBytes(clean.lin, 4096)).toEqual(new Uint8Array(4096));
    expect(sim.cpu.readBytes(marked.lin, 4096)).toEqual(fill);
  });
});

describe('dma-address-width', () => {
  it('a 24-bit device and a buffer at 16 MiB in a 64 MiB machine: every field', async () => {
    const sim = await pool.make({ pager: 'off', memory: 64 << 20 });
    const high = contiguous(sim, 1, 0x1000, 0x4000);
    expect(high.phys[0]).toBe(0x1000000);
    const isa = await sim.attachDevice('test-probe', { name: 'isa', addressBits: 24 });
    expect(await probe(isa, TP.OP.READ, 0x1000000, { len: 16 })).toEqual(probeRefused('dma-address-width'));
    expect(only(sim)).toEqual(
      rangeViolation({
        code: 'dma-address-width',
        message: expect.stringContaining('address width'),
        device: { id: isa.id, attachment: isa.attachment, kind: 'test-probe', name: 'isa' },
        physAddr: 0x1000000,
        // Inside RAM: the frame of the first bad byte, the page it backs, the frames around it.
        frame: 0x1000,
        linearPage: high.page,
        frames: [0xffe, 0xfff, 0x1000, 0x1001, 0x1002].map((frame) => expect.objectContaining({ frame })),
        access: { start: 0x1000000, length: 16, direction: 'read', command: 1 },
        detail: { addressBits: 24 },
      }),
    );
  });

  it('an access that straddles 16 MiB names the first byte beyond the width; twins below the line and on a 32-bit device are fine', async () => {
    const sim = await pool.make({ pager: 'off', memory: 64 << 20 });
    const pair = contiguous(sim, 2, 0xfff, 0x1001);
    expect(pair.phys).toEqual([0xfff000, 0x1000000]);
    const [isa, pci] = await Promise.all([sim.attachDevice('test-probe', { addressBits: 24 }), sim.attachDevice('test-probe')]);
    expect(await probe(isa, TP.OP.FILL, 0xfff800, { len: 0x1000, value: 1 })).toEqual(probeRefused('dma-address-width'));
    const v = only(sim);
    expect([v.physAddr, v.access, v.detail]).toEqual([0x1000000, { start: 0xfff800, length: 0x1000, direction: 'write', command: 1 }, { addressBits: 24 }]);
    expect(sim.cpu.readBytes(pair.lin + 0x800, 0x1000)).toEqual(new Uint8Array(0x1000));
    // Twins.
    expect(await probe(isa, TP.OP.FILL, 0xfff000, { len: 0x1000, value: 2 })).toEqual(probeDone(0x1000));
    expect(await probe(pci, TP.OP.FILL, 0xfff800, { len: 0x1000, value: 3 })).toEqual(probeDone(0x1000));
    expect(sim.violations()).toHaveLength(1);
  });

  it('the width is checked before the end of RAM: a 24-bit device at 16 MiB in a 16 MiB machine', async () => {
    const sim = await pool.make({ pager: 'off' });
    const isa = await sim.attachDevice('test-probe', { addressBits: 24 });
    expect((await probe(isa, TP.OP.READ, 0x1000000, { len: 4 })).violation).toBe(violationRegister('dma-address-width'));
    expect(only(sim).code).toBe('dma-address-width');
  });
});

describe('dma-boundary', () => {
  it('a contiguous buffer crossing a 64 KiB line on a boundary-65536 device: every field', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = contiguous(sim, 2, 0xf, 0x11);
    expect(buf.phys).toEqual([0xf000, 0x10000]);
    const dev = await sim.attachDevice('test-probe', { name: 'isa-dma', boundary: 65536 });
    expect(await probe(dev, TP.OP.READ, 0xf000, { len: 0x2000 })).toEqual(probeRefused('dma-boundary'));
    expect(only(sim)).toEqual(
      rangeViolation({
        code: 'dma-boundary',
        message: expect.stringContaining('boundary'),
        device: { id: dev.id, attachment: dev.attachment, kind: 'test-probe', name: 'isa-dma' },
        physAddr: 0x10000,
        frame: 0x10,
        linearPage: buf.page + 1,
        frames: [0xe, 0xf, 0x10, 0x11, 0x12].map((frame) => expect.objectContaining({ frame })),
        access: { start: 0xf000, length: 0x2000, direction: 'read', command: 1 },
        detail: { boundary: 65536 },
      }),
    );
  });

  it('twins: each half alone, and a 128 KiB-boundary or unbounded device, report nothing', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = contiguous(sim, 2, 0xf, 0x11);
    const [b64, b128, free] = await Promise.all([
      sim.attachDevice('test-probe', { boundary: 65536 }),
      sim.attachDevice('test-probe', { boundary: 131072 }),
      sim.attachDevice('test-probe'),
    ]);
    expect(await probe(b64, TP.OP.READ, buf.phys[0]!, { len: 0x1000 })).toEqual(probeDone(0x1000));
    expect(await probe(b64, TP.OP.READ, buf.phys[1]!, { len: 0x1000 })).toEqual(probeDone(0x1000));
    expect(await probe(b128, TP.OP.READ, 0xf000, { len: 0x2000 })).toEqual(probeDone(0x2000));
    expect(await probe(free, TP.OP.READ, 0xf000, { len: 0x2000 })).toEqual(probeDone(0x2000));
    expect(sim.violations()).toEqual([]);
  });
});

describe('dma-outside-memory', () => {
  it('an access at the end of RAM: every field', async () => {
    const sim = await pool.make({ pager: 'off' }); // 16 MiB
    expect(sim.memory.bytes).toBe(0x1000000);
    const dev = await sim.attachDevice('test-probe', { name: 'wild' });
    expect(await probe(dev, TP.OP.STORE32, 0x1000000, { value: 1 })).toEqual(probeRefused('dma-outside-memory'));
    expect(only(sim)).toEqual(
      rangeViolation({
        code: 'dma-outside-memory',
        message: expect.stringContaining('outside simulated physical memory'),
        device: { id: dev.id, attachment: dev.attachment, kind: 'test-probe', name: 'wild' },
        physAddr: 0x1000000,
        access: { start: 0x1000000, length: 4, direction: 'write', command: 1 },
      }),
    );
  });

  it('an access straddling the end of RAM names the first byte beyond; twin: the last page itself is fine', async () => {
    const sim = await pool.make({ pager: 'off' });
    const last = contiguous(sim, 1, 0xfff, 0x1000);
    expect(last.phys[0]).toBe(0xfff000);
    const dev = await sim.attachDevice('test-probe');
    expect(await probe(dev, TP.OP.READ, 0xfff000, { len: 0x1001 })).toEqual(probeRefused('dma-outside-memory'));
    const v = only(sim);
    expect([v.physAddr, v.access?.start, v.access?.length]).toEqual([0x1000000, 0xfff000, 0x1001]);
    expect(await probe(dev, TP.OP.READ, 0xfff000, { len: 0x1000 })).toEqual(probeDone(0x1000));
    expect(sim.violations()).toHaveLength(1);
  });
});

describe('device-reentrancy', () => {
  it("a device DMA into its own MMIO window: every field, and its registers are not written", async () => {
    const sim = await pool.make({ pager: 'off' });
    const dev = await sim.attachDevice('test-probe', { name: 'loopy' });
    expect(dev.mmioBase).toBe(0xfe000000 + dev.id * 4096);
    expect(await probe(dev, TP.OP.FILL, dev.mmioBase + TP.REG.VALUE * 4, { len: 4, value: 0x77 })).toEqual(probeRefused('device-reentrancy'));
    expect(only(sim)).toEqual(
      rangeViolation({
        code: 'device-reentrancy',
        message: expect.stringContaining('its own registers'),
        device: { id: dev.id, attachment: dev.attachment, kind: 'test-probe', name: 'loopy' },
        physAddr: dev.mmioBase + TP.REG.VALUE * 4,
        access: { start: dev.mmioBase + TP.REG.VALUE * 4, length: 4, direction: 'write', command: 1 },
      }),
    );
    expect(dev.readReg(TP.REG.VALUE)).toBe(0x77); // the driver's own register write, untouched by DMA
  });

  it("an access that only reaches into the window from below is re-entrant; another device's window is not (outside memory); twin: a buffer is fine", async () => {
    const sim = await pool.make({ pager: 'off' });
    const [dev, other] = await Promise.all([sim.attachDevice('test-probe'), sim.attachDevice('test-probe')]);
    expect(await probe(dev, TP.OP.READ, dev.mmioBase - 8, { len: 16 })).toEqual(probeRefused('device-reentrancy'));
    expect(await probe(dev, TP.OP.READ, other.mmioBase, { len: 4 })).toEqual(probeRefused('dma-outside-memory'));
    const vs = sim.violations();
    expect(vs.map((v) => [v.code, v.physAddr])).toEqual([
      ['device-reentrancy', dev.mmioBase],
      ['dma-outside-memory', other.mmioBase],
    ]);
    const buf = lockedPages(sim, 1);
    expect(await probe(dev, TP.OP.READ, buf.phys[0]!, { len: 16 })).toEqual(probeDone(16));
    expect(sim.violations()).toHaveLength(2);
  });
});

describe('every code is covered here', () => {
  it('VIOLATION_CODES is the list this file exercises', () => {
    expect([...VIOLATION_CODES].sort()).toEqual(
      [
        'dma-unlocked',
        'dma-stale-address',
        'dma-not-handed-out',
        'unlock-during-dma',
        'dma-not-marked-dirty',
        'dma-address-width',
        'dma-boundary',
        'dma-outside-memory',
        'dma-address-before-lock',
        'dma-stale-programming',
        'device-reentrancy',
      ].sort(),
    );
  });
});
