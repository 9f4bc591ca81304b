// The physical address taken before locking: _CopyPageTable, then _LinPageLock. The pager is held
// still for those two calls, so the page stays in its frame and the address is even right — by
// luck; only the hand-out's epoch (taken while unlocked) shows the bug. (With the pager running the
// page would usually have moved first, and the same bug shows as dma-unlocked.)
import { PAGEMARKDIRTY, PG_SYS } from '../../src/index.js';
import { ceRun, pageTable, type About, type CorpusContext, type Expected } from '../corpus-lib.js';
import type { SabotageName } from '../../src/sabotage.js';

export const about: About = { device: 'copy-engine', bugClass: 'physical address taken before locking', summary: '_CopyPageTable before _LinPageLock, the frame unchanged, then a fill' };
export const expected: Expected = { verdict: 'bug', code: 'dma-address-before-lock' };
export const blindedBy: readonly SabotageName[] = ['ignore-handouts'];

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('copy-engine');
  sim.pager.policy = 'off'; // construction: nothing moves the page between the two calls
  const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
  const page = lin >>> 12;
  sim.cpu.write8(lin, 0); // present
  const early = pageTable(sim, page, 1)[0]!; // the bug: asked before the lock
  sim.vmm.linPageLock(page, 1, PAGEMARKDIRTY);
  sim.pager.policy = 'aggressive';
  if (pageTable(sim.createDriver('observer'), page, 1)[0] !== early) throw new Error('construction failed: the page moved');
  await ceRun(dev, { dst: early, length: 256, fill: 3 });
  sim.vmm.linPageUnLock(page, 1, 0);
  await dev.detach();
}
