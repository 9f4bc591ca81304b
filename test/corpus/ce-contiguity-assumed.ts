// Contiguity assumed across a page boundary: a one-address device (a plain fill, no scatter-gather)
// given a 2-page buffer as if its frames were adjacent. They are not — by construction: the second
// page is locked first, so it gets the lower frame — and the fill's second half runs into a frame
// the driver was never handed.
import { PAGEMARKDIRTY, PG_SYS } from '../../src/index.js';
import { ceRun, pageTable, type About, type CorpusContext, type Expected } from '../corpus-lib.js';
import type { SabotageName } from '../../src/sabotage.js';

export const about: About = { device: 'copy-engine', bugClass: 'contiguity assumed across a page boundary', summary: 'one 8 KiB fill at the first page of a buffer whose frames are not adjacent' };
export const expected: Expected = { verdict: 'bug', code: 'dma-not-handed-out' };
export const blindedBy: readonly SabotageName[] = ['ignore-handouts'];

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('copy-engine');
  const lin = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, 0);
  const page = lin >>> 12;
  sim.vmm.linPageLock(page + 1, 1, PAGEMARKDIRTY); // page 1 first: frames in the other order
  sim.vmm.linPageLock(page, 1, PAGEMARKDIRTY);
  const [p0, p1] = pageTable(sim, page, 2) as [number, number];
  if (p1 === p0 + 4096) throw new Error('construction failed: the frames are adjacent');
  await ceRun(dev, { dst: p0, length: 8192, fill: 0x77 }); // the bug: 8 KiB from one address
  sim.vmm.linPageUnLock(page, 2, 0);
  await dev.detach();
}
