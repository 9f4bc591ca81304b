// A global alias leaked: the driver locks with PAGEMAPGLOBAL (an alias its interrupt handler can
// use in any context), then tears down with a plain _LinPageUnLock of the original. The alias dies
// — it maps nothing valid any more — but stays committed until _LinPageUnLock(alias, n, PAGEMAPGLOBAL).
import { PAGEMAPGLOBAL, PAGEMARKDIRTY, PG_SYS } from '../../src/index.js';
import type { About, CorpusContext, Expected } from '../corpus-lib.js';

export const about: About = { device: 'vmm', bugClass: 'global alias never torn down', summary: 'PAGEMAPGLOBAL lock, the original unlocked without PAGEMAPGLOBAL' };
export const expected: Expected = { verdict: 'bug', code: 'alias-leak' };

export async function driver({ sim }: CorpusContext): Promise<void> {
  const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
  const alias = sim.vmm.linPageLock(lin >>> 12, 1, (PAGEMAPGLOBAL | PAGEMARKDIRTY) >>> 0);
  if (alias === 0) throw new Error('no alias');
  sim.cpu.write32(alias, 0x12345678);
  sim.vmm.linPageUnLock(lin >>> 12, 1, 0); // the bug: the alias is not torn down
}
