/**
 * The seed flow with one line moved: the driver unlocks its buffer before the device transfer.
 * The copy engine's access is caught at the access (dma-unlocked), blocked by default, with the
 * stacks that explain it; the memory the pager gave the pages, and whoever owns the old frames
 * now, are untouched. Under onViolation 'allow' the bytes land — that is the corruption the
 * default prevents.
 */

import { describe, expect, it } from 'vitest';
import { copyEngine as CE } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { bytes, ceCopy, contiguous, lockedPages, stackNames } from './dma-helpers.js';

const FILE = 'dma-use-after-unlock.test.ts';
const pool = simulatorsClosedAfterEach();

const REFUSED = { status: CE.STATUS.DONE | CE.STATUS.ERROR, error: CE.ERROR.DMA_REFUSED, bytes: 0 };

describe('use after unlock: the seed flow with the unlock moved before the transfer', () => {
  it('the correct order (transfer, then unlock) reports nothing under the aggressive pager', async () => {
    for (const seed of [1, 2, 3]) {
      const sim = await pool.make({ pager: 'aggressive', seed });
      const buf = lockedPages(sim, 2);
      const a = bytes(seed, 4096);
      sim.cpu.writeBytes(buf.lin, a);
      const dev = await sim.attachDevice('copy-engine');
      expect(await ceCopy(dev, buf.phys[0]!, buf.phys[1]!, 4096)).toEqual({ status: CE.STATUS.DONE, error: 0, bytes: 4096 });
      expect(sim.vmm.linPageUnLock(buf.page, 2, 0)).toBe(1);
      expect(sim.cpu.readBytes(buf.lin + 4096, 4096)).toEqual(a);
      expect(sim.violations()).toEqual([]);
    }
  });

  it('reports dma-unlocked with the unlock stack, blocks the copy, and the pages keep their new contents', async () => {
    const sim = await pool.make({ pager: 'aggressive', seed: 3 });
    const buf = lockedPages(sim, 2);
    const a = bytes(11, 4096);
    const b = bytes(12, 4096);
    sim.cpu.writeBytes(buf.lin, a);
    sim.cpu.writeBytes(buf.lin + 4096, b);
    const dev = await sim.attachDevice('copy-engine');
    const [src, dst] = [buf.phys[0]!, buf.phys[1]!];

    expect(sim.vmm.linPageUnLock(buf.page, 2, 0)).toBe(1); // ← the bug: too early
    // The aggressive pager moved or paged out both pages at the unlock: the device's addresses
    // now name frames the buffer no longer lives in.
    expect(sim.pager.stats.moves + sim.pager.stats.pageOuts + sim.pager.stats.discards).toBeGreaterThanOrEqual(2);

    expect(await ceCopy(dev, src, dst, 4096)).toEqual(REFUSED);

    const vs = sim.violations();
    expect(vs.length).toBeGreaterThanOrEqual(1);
    for (const v of vs) {
      expect(v.code).toBe('dma-unlocked');
      expect(v.outcome).toBe('blocked');
      expect(v.device).toEqual({ id: dev.id, attachment: dev.attachment, kind: 'copy-engine', name: 'copy-engine' });
      expect(v.driver).toBe('default');
      expect(v.stacks.unlock).toBeDefined();
      expect(v.stacks.unlock!.length).toBeGreaterThan(0);
      expect(stackNames(v.stacks.unlock, FILE)).toBe(true);
      expect(stackNames(v.stacks.lock, 'dma-helpers.ts')).toBe(true);
      expect(stackNames(v.stacks.handout, 'dma-helpers.ts')).toBe(true);
      expect(stackNames(v.stacks.programmed, 'dma-helpers.ts')).toBe(true);
      expect(v.epochExpected).toBe(1);
      expect(v.epochSeen % 2).toBe(0);
    }
    // One record per frame of the copy: the read of the source and the write of the destination.
    expect(vs.map((v) => [v.frame, v.access?.direction])).toEqual([
      [src >>> 12, 'read'],
      [dst >>> 12, 'write'],
    ]);
    expect(vs.map((v) => v.linearPage)).toEqual([buf.page, buf.page + 1]);
    // The released frames wait in quarantine (nobody's yet), as the frame map shows.
    for (const v of vs) expect(v.frames.find((f) => f.frame === v.frame)?.state).toBe('quarantined');

    // The pages' contents, wherever the pager put them, are what the CPU wrote.
    expect(sim.cpu.readBytes(buf.lin, 4096)).toEqual(a);
    expect(sim.cpu.readBytes(buf.lin + 4096, 4096)).toEqual(b);
  });

  it('whoever owns the old frames after the unlock is untouched (the frames are re-owned past the quarantine)', async () => {
    const sim = await pool.make({ pager: 'aggressive', seed: 5 });
    const buf = lockedPages(sim, 2);
    const a = bytes(21, 4096);
    sim.cpu.writeBytes(buf.lin, a);
    const dev = await sim.attachDevice('copy-engine');
    const [src, dst] = [buf.phys[0]!, buf.phys[1]!];
    expect(sim.vmm.linPageUnLock(buf.page, 2, 0)).toBe(1);

    // The quarantine keeps the old frames from ordinary allocations; a request for exactly those
    // physical frames drains it. Another driver now owns both old frames (fixed, i.e. locked).
    const other = sim.createDriver('next-owner');
    const ownSrc = contiguous(other, 1, src >>> 12, (src >>> 12) + 1);
    const ownDst = contiguous(other, 1, dst >>> 12, (dst >>> 12) + 1);
    expect([ownSrc.phys[0], ownDst.phys[0]]).toEqual([src, dst]);
    const c = bytes(22, 4096);
    const d = bytes(23, 4096);
    other.cpu.writeBytes(ownSrc.lin, c);
    other.cpu.writeBytes(ownDst.lin, d);

    expect(await ceCopy(dev, src, dst, 4096)).toEqual(REFUSED);
    const vs = sim.violations();
    // The frames are locked again, for someone else: the stale address is the ABA case.
    expect(vs.map((v) => v.code)).toEqual(['dma-stale-address', 'dma-stale-address']);
    for (const v of vs) {
      expect(v.outcome).toBe('blocked');
      expect(v.epochExpected).toBe(1);
      expect(v.epochSeen % 2).toBe(1);
      expect(stackNames(v.stacks.unlock, FILE)).toBe(true);
      expect(v.frames.find((f) => f.frame === v.frame)?.state).toBe('fixed');
    }
    expect(other.cpu.readBytes(ownSrc.lin, 4096)).toEqual(c);
    expect(other.cpu.readBytes(ownDst.lin, 4096)).toEqual(d);
    expect(sim.cpu.readBytes(buf.lin, 4096)).toEqual(a);
  });

  it("with onViolation 'allow' the bytes land: into the driver's unlocked page when the pager left it", async () => {
    const sim = await pool.make({ pager: 'off', onViolation: 'allow' });
    const buf = lockedPages(sim, 2);
    const a = bytes(31, 4096);
    sim.cpu.writeBytes(buf.lin, a);
    sim.cpu.writeBytes(buf.lin + 4096, new Uint8Array(4096));
    const dev = await sim.attachDevice('copy-engine');
    expect(sim.vmm.linPageUnLock(buf.page, 2, 0)).toBe(1);
    // The copy engine sees bytes moved, so it reports success; only the violation log knows.
    expect(await ceCopy(dev, buf.phys[0]!, buf.phys[1]!, 4096)).toEqual({ status: CE.STATUS.DONE, error: 0, bytes: 4096 });
    const vs = sim.violations();
    expect(vs.map((v) => [v.code, v.outcome, v.access?.direction])).toEqual([
      ['dma-unlocked', 'allowed', 'read'],
      ['dma-unlocked', 'allowed', 'write'],
    ]);
    expect(stackNames(vs[0]!.stacks.unlock, FILE)).toBe(true);
    expect(sim.cpu.readBytes(buf.lin + 4096, 4096)).toEqual(a);
  });

  it("with onViolation 'allow' the bytes land in the new owner's memory: the corruption 'block' prevents", async () => {
    const sim = await pool.make({ pager: 'aggressive', seed: 5, onViolation: 'allow' });
    const buf = lockedPages(sim, 2);
    const a = bytes(41, 4096);
    sim.cpu.writeBytes(buf.lin, a);
    const dev = await sim.attachDevice('copy-engine');
    const [src, dst] = [buf.phys[0]!, buf.phys[1]!];
    expect(sim.vmm.linPageUnLock(buf.page, 2, 0)).toBe(1);
    // Whatever the pager did with the source page, its old frame still holds the bytes (a move
    // copies, a page-out saves); the destination frame goes to another driver.
    const other = sim.createDriver('victim');
    const victim = contiguous(other, 1, dst >>> 12, (dst >>> 12) + 1);
    const d = bytes(42, 4096);
    other.cpu.writeBytes(victim.lin, d);

    expect(await ceCopy(dev, src, dst, 4096)).toEqual({ status: CE.STATUS.DONE, error: 0, bytes: 4096 });
    const vs = sim.violations();
    expect(vs.map((v) => [v.code, v.outcome])).toEqual([
      ['dma-unlocked', 'allowed'],
      ['dma-stale-address', 'allowed'],
    ]);
    expect(other.cpu.readBytes(victim.lin, 4096)).toEqual(a);
    expect(other.cpu.readBytes(victim.lin, 4096)).not.toEqual(d);
  });
});
