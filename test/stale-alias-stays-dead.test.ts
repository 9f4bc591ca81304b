/**
 * A global alias stands for one lock on its originals, in the tenure they had when it was made
 * (spec §4.2, §4.3). Once that tenure is over — the original freed, decommitted, shrunk away by
 * _PageReAllocate, or unlocked to 0 without the alias — the alias is dead and stays dead, even when
 * the same page comes back on the very same frame for a new owner: reading or writing it faults
 * 'stale-alias', _CopyPageTable shows it not present, and tearing it down releases its mapping
 * without touching the new owner's lock.
 *
 * The choice for that teardown (the DDK is silent): _LinPageUnLock(alias, n, PAGEMAPGLOBAL) returns
 * 1 and frees the alias range. The alias still holds system memory that only this call can release
 * (§4.3: a forgotten alias leaks); its lock ended with the original, so there is nothing to unlock.
 */

import { describe, expect, it } from 'vitest';
import {
  MEM_FREE,
  P_PRES,
  PAGELOCKED,
  PAGEMAPGLOBAL,
  PAGEMARKDIRTY,
  PAGEZEROINIT,
  PC_LOCKED,
  PC_WRITEABLE,
  PD_ZEROINIT,
  PG_SYS,
  type Simulator,
} from '../src/index.js';
import { faultOf, frameOf, pte, query, simulatorsClosedAfterEach } from './helpers.js';

const MAPGLOBAL_MARKDIRTY = (PAGEMAPGLOBAL | PAGEMARKDIRTY) >>> 0;

const sims = simulatorsClosedAfterEach();

interface Way {
  how: string;
  /** Which page of the two-page block the alias maps. */
  aliased: 0 | 1;
  /** Ends the original's tenure. */
  lose(sim: Simulator, lin: number): void;
  /** Puts a new owner's locked page at the aliased address (the pager is off: on the same frame). */
  retake(sim: Simulator, lin: number): void;
}

const WAYS: Way[] = [
  {
    how: '_PageFree, then a _PageAllocate(PAGELOCKED) that reuses the address',
    aliased: 0,
    lose: (sim, lin) => expect(sim.vmm.pageFree(lin, 0)).toBe(1),
    retake: (sim, lin) => expect(sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PAGELOCKED | PAGEZEROINIT)).toBe(lin),
  },
  {
    how: '_PageDecommit, then _PageCommit(PC_LOCKED) of the same page',
    aliased: 0,
    lose: (sim, lin) => expect(sim.vmm.pageDecommit(lin >>> 12, 1, 0)).toBe(1),
    retake: (sim, lin) => expect(sim.vmm.pageCommit(lin >>> 12, 1, PD_ZEROINIT, 0, PC_LOCKED | PC_WRITEABLE)).toBe(1),
  },
  {
    how: 'a _PageReAllocate shrink, then a PAGELOCKED grow',
    aliased: 1,
    lose: (sim, lin) => expect(sim.vmm.pageReAllocate(lin, 1, 0)).toBe(lin),
    retake: (sim, lin) => expect(sim.vmm.pageReAllocate(lin, 2, PAGELOCKED | PAGEZEROINIT)).toBe(lin),
  },
  {
    how: 'an unlock of the original instead of the alias, then another driver\'s lock',
    aliased: 0,
    lose: (sim, lin) => expect(sim.vmm.linPageUnLock(lin >>> 12, 1, 0)).toBe(1),
    retake: (sim, lin) => expect(sim.createDriver('other').vmm.linPageLock(lin >>> 12, 1, 0)).toBe(1),
  },
];

describe('a global alias stays dead once its original is gone', () => {
  for (const way of WAYS) {
    it(`after ${way.how}: it faults, copies as not present, and its teardown leaves the new owner's lock`, async () => {
      const sim = await sims.make({ pager: 'off', seed: 1 });
      const lin = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, PAGEZEROINIT);
      const page = (lin >>> 12) + way.aliased;
      const addr = page * 4096;
      const alias = sim.vmm.linPageLock(page, 1, MAPGLOBAL_MARKDIRTY);
      expect(sim.vmm.lastError).toBeNull();
      sim.cpu.write32(alias, 0xa11a5);
      const aliasFrame = frameOf(sim, alias >>> 12);

      way.lose(sim, lin);
      expect(faultOf(() => sim.cpu.read32(alias))).toBe('stale-alias');

      way.retake(sim, lin);
      // What makes the defect reachable: the new owner's page sits on the alias's frame.
      expect(frameOf(sim, page)).toBe(aliasFrame);
      sim.cpu.write32(addr, 0xb0b0b0b0);

      expect(faultOf(() => sim.cpu.read32(alias))).toBe('stale-alias');
      expect(faultOf(() => sim.cpu.write32(alias, 0xdeadbeef))).toBe('stale-alias');
      expect(sim.cpu.read32(addr)).toBe(0xb0b0b0b0);
      expect(pte(sim, alias >>> 12) & P_PRES).toBe(0);

      expect(sim.vmm.linPageUnLock(alias >>> 12, 1, PAGEMAPGLOBAL)).toBe(1);
      expect(sim.vmm.lastError).toBeNull();
      expect(query(sim, alias)[4]).toBe(MEM_FREE);
      // The new owner's one lock is intact: it is still listed, and one unlock (not zero) releases it.
      expect(sim.outstandingLocks().map((l) => [l.linearPage, l.lockCount])).toEqual([[page, 1]]);
      expect(sim.vmm.linPageUnLock(page, 1, 0)).toBe(1);
      expect(sim.outstandingLocks()).toEqual([]);
      expect(sim.vmm.linPageUnLock(page, 1, 0)).toBe(0);
      expect(sim.vmm.lastError?.code).toBe('not-locked');
    });
  }
});
