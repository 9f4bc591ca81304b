// Locking memory that was reserved but never committed: _PageReserve, then _LinPageLock of the
// range (the _PageCommit forgotten). The DDK refuses (not-committed) — a DDK-error bug.
import { PAGEMARKDIRTY, PR_SYSTEM } from '../../src/index.js';
import type { About, CorpusContext, Expected } from '../corpus-lib.js';

export const about: About = { device: 'vmm', bugClass: 'lock of reserved, uncommitted pages', summary: '_PageReserve then _LinPageLock without _PageCommit' };
export const expected: Expected = { verdict: 'bug', code: 'ddk:not-committed' };

export async function driver({ sim }: CorpusContext): Promise<void> {
  const lin = sim.vmm.pageReserve(PR_SYSTEM, 2, 0);
  if (lin === 0xffffffff) throw new Error('reserve failed');
  sim.vmm.linPageLock(lin >>> 12, 2, PAGEMARKDIRTY); // the bug: nothing is committed there
  sim.vmm.pageFree(lin, 0);
}
