/**
 * The pages _PageReAllocate adds get the permissions of the block's page type — PG_SYS ring-0
 * read/write, PG_VM user read/write (README: where the DDK is silent) — not those of page 0, which
 * _PageModifyPermissions may have changed for that page alone. Grown in place or moved, the same.
 */

import { describe, expect, it } from 'vitest';
import {
  P_USER,
  P_WRITE,
  PAGE_NOACCESS,
  PAGE_READONLY,
  PAGE_READWRITE,
  PC_USER,
  PC_WRITEABLE,
  PG_SYS,
  PG_VM,
  type Simulator,
} from '../src/index.js';
import { pte, query, simulatorsClosedAfterEach } from './helpers.js';

const sims = simulatorsClosedAfterEach();

const TYPES = [
  // A PG_SYS page 0 made user read/write; the new pages stay ring 0.
  { type: 'PG_SYS', pType: PG_SYS, permand: 0xffffffff, permor: PC_USER, page0: PAGE_READWRITE, added: PAGE_NOACCESS, addedPte: P_WRITE },
  // A PG_VM page 0 made read-only; the new pages are user read/write.
  { type: 'PG_VM', pType: PG_VM, permand: ~PC_WRITEABLE >>> 0, permor: 0, page0: PAGE_READONLY, added: PAGE_READWRITE, addedPte: P_WRITE | P_USER },
] as const;

function allocate(sim: Simulator, pType: number, n: number): number {
  const lin = sim.vmm.pageAllocate(n, pType, pType === PG_SYS ? 0 : sim.vmm.getSysVMHandle(), 0, 0, 0, null, 0);
  expect(sim.vmm.lastError).toBeNull();
  return lin;
}

describe('_PageReAllocate gives added pages their page type\'s permissions', () => {
  for (const t of TYPES) {
    for (const moved of [false, true]) {
      it(`${t.type}, ${moved ? 'moved' : 'grown in place'}: page 0 keeps its own, the added pages get the type's`, async () => {
        const sim = await sims.make({ pager: 'off', seed: 5 });
        const lin = allocate(sim, t.pType, 1);
        if (moved) expect(allocate(sim, t.pType, 1)).toBe(lin + 4096);
        expect(sim.vmm.pageModifyPermissions(lin >>> 12, 1, t.permand, t.permor)).not.toBe(0xffffffff);

        const r = sim.vmm.pageReAllocate(lin, 3, 0);
        expect(sim.vmm.lastError).toBeNull();
        expect(r === lin).toBe(!moved);

        const first = query(sim, r);
        expect([first[3], first[5]]).toEqual([4096, t.page0]);
        const added = query(sim, r + 4096);
        expect([added[3], added[5]]).toEqual([2 * 4096, t.added]);
        for (const p of [1, 2]) expect(pte(sim, (r >>> 12) + p) & (P_WRITE | P_USER)).toBe(t.addedPte);
      });
    }
  }
});
