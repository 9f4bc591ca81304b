/**
 * Regression (issue: reports were reconstructed late, so they lost facts). A violation record used to
 * be filled in when `sim.violations()` was called, from a history of 12 events per frame: drained
 * after more paging, a 'dma-unlocked' record had lost its lock, hand-out and unlock stacks, and its
 * linear page named whatever page owned the frame by then. A record's facts are fixed when the
 * violation happens: drained early or late, it is the same record.
 */

import { describe, expect, it } from 'vitest';
import { PG_SYS, testProbe as TP, type Simulator, type Violation } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { lockedPages, probe, probeRefused, stackNames } from './dma-helpers.js';

const pool = simulatorsClosedAfterEach();
const FILE = 'report-facts-fixed-at-the-event.test.ts';

/** Page A locked, handed out, unlocked; then a device fills 64 bytes at A's old address. */
async function useAfterUnlock(sim: Simulator): Promise<{ a: number; frame: number }> {
  const dev = await sim.attachDevice('test-probe');
  const a = lockedPages(sim, 1);
  expect(sim.vmm.linPageUnLock(a.page, 1, 0)).toBe(1);
  expect(await probe(dev, TP.OP.FILL, a.phys[0]!, { len: 64, value: 0xee })).toEqual(probeRefused('dma-unlocked'));
  return { a: a.lin, frame: a.phys[0]! >>> 12 };
}

/** Everything that used to overwrite the facts: 12 lock/unlock pairs on A, then A freed and its frame reused by C. */
function churn(sim: Simulator, aLin: number, frame: number): number {
  for (let i = 0; i < 12; i++) {
    expect(sim.vmm.linPageLock(aLin >>> 12, 1, 0)).toBe(1);
    expect(sim.vmm.linPageUnLock(aLin >>> 12, 1, 0)).toBe(1);
  }
  const c = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
  expect(sim.vmm.pageFree(aLin, 0)).toBe(1);
  sim.cpu.write32(c, 0x12345678);
  const pte = new Uint32Array(1);
  expect(sim.vmm.copyPageTable(c >>> 12, 1, pte, 0)).toBe(1);
  expect(pte[0]! >>> 12, 'C took A\'s frame').toBe(frame);
  return c;
}

/** The whole scenario on a fresh simulator, draining the record at once or only after the churn. */
async function scenario(drainEarly: boolean): Promise<{ records: Violation[]; a: number; frame: number; c: number }> {
  const sim = await pool.make({ pager: 'off', seed: 7 });
  const { a, frame } = await useAfterUnlock(sim);
  const early = drainEarly ? sim.violations() : [];
  const c = churn(sim, a, frame);
  return { records: drainEarly ? early : sim.violations(), a, frame, c };
}

describe('a violation record is made from the facts at the event', () => {
  it('the same dma-unlocked record whether drained at once or after the frame was reused', async () => {
    // One call site for both runs, so that even the stacks' last frame is the same.
    const runs = [];
    for (const drainEarly of [true, false]) runs.push(await scenario(drainEarly));
    const [early, late] = runs as [Awaited<ReturnType<typeof scenario>>, Awaited<ReturnType<typeof scenario>>];
    expect(late.records).toHaveLength(1);
    expect(late.records).toEqual(early.records);
    const v: Violation = late.records[0]!;
    expect(v).toMatchObject({ code: 'dma-unlocked', frame: late.frame, linearPage: late.a >>> 12 });
    expect(v.linearPage).not.toBe(late.c >>> 12);
    for (const k of ['handout', 'lock', 'unlock', 'programmed'] as const) expect(stackNames(v.stacks[k], FILE), k).toBe(true);
    // The frame map is the frame as it was: unlocked, backing A (not C, not free).
    expect(v.frames.find((f) => f.frame === late.frame)).toMatchObject({ state: 'unlocked', lockCount: 0, page: late.a >>> 12 });
  });
});
