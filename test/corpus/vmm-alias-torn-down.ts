// Correct twin of the alias leak: the alias is torn down with _LinPageUnLock(alias, n, PAGEMAPGLOBAL),
// which also drops the lock it stood for.
import { PAGEMAPGLOBAL, PAGEMARKDIRTY, PG_SYS } from '../../src/index.js';
import type { About, CorpusContext, Expected } from '../corpus-lib.js';

export const about: About = { device: 'vmm', bugClass: 'correct twin: alias torn down with PAGEMAPGLOBAL', summary: 'PAGEMAPGLOBAL lock, a write through the alias, the alias unlocked with PAGEMAPGLOBAL' };
export const expected: Expected = { verdict: 'clean' };

export async function driver({ sim }: CorpusContext): Promise<void> {
  const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
  const alias = sim.vmm.linPageLock(lin >>> 12, 1, (PAGEMAPGLOBAL | PAGEMARKDIRTY) >>> 0);
  if (alias === 0) throw new Error('no alias');
  sim.cpu.write32(alias, 0x12345678);
  if (sim.vmm.linPageUnLock(alias >>> 12, 1, PAGEMAPGLOBAL) !== 1) throw new Error('teardown failed');
  if (sim.cpu.read32(lin) !== 0x12345678) throw new Error('the write through the alias was lost');
}
