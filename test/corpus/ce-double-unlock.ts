// A double unlock: the completion path and the teardown path both call _LinPageUnLock. The second
// call fails (not-locked) and changes nothing — a DDK-error bug, verdict ddk:not-locked. (On Windows
// the lock count may belong to someone else by then; here the DDK refuses an unlock at count 0.)
import { ceRun, lockForDma, type About, type CorpusContext, type Expected } from '../corpus-lib.js';

export const about: About = { device: 'copy-engine', bugClass: 'double unlock', summary: 'a correct copy, then the destination unlocked twice' };
export const expected: Expected = { verdict: 'bug', code: 'ddk:not-locked' };

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('copy-engine');
  const src = lockForDma(sim, 1);
  const dst = lockForDma(sim, 1);
  await ceRun(dev, { src: src.phys[0]!, dst: dst.phys[0]!, length: 4096 });
  dst.unlock(); // the completion path
  src.unlock();
  dst.unlock(); // the bug: the teardown path unlocks again
  await dev.detach();
}
