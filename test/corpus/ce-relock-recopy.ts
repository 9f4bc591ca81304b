// Correct twin of the stale-address bugs: a driver that unlocks between transfers re-locks and asks
// _CopyPageTable again before the next one — under the aggressive pager the page has moved, and the
// new address is the one the device gets.
import { copyEngine as CE } from '../../src/index.js';
import { ceRun, lockForDma, pageTable, type About, type CorpusContext, type Expected } from '../corpus-lib.js';
import { PAGEMARKDIRTY } from '../../src/index.js';

export const about: About = { device: 'copy-engine', bugClass: 'correct twin: re-lock, then ask for the address again', summary: 'two transfers with an unlock between, the page table copied again after the re-lock' };
export const expected: Expected = { verdict: 'clean' };

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('copy-engine');
  const src = lockForDma(sim, 1);
  const dst = lockForDma(sim, 1);
  if ((await ceRun(dev, { src: src.phys[0]!, dst: dst.phys[0]!, length: 4096 })) !== CE.STATUS.DONE) throw new Error('first copy failed');
  dst.unlock();
  if (sim.vmm.linPageLock(dst.page, 1, PAGEMARKDIRTY) !== 1) throw new Error('re-lock failed');
  const now = pageTable(sim, dst.page, 1)[0]!;
  if ((await ceRun(dev, { src: src.phys[0]!, dst: now, length: 4096 })) !== CE.STATUS.DONE) throw new Error('second copy failed');
  dst.unlock();
  src.unlock();
  await dev.detach();
}
