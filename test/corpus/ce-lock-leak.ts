// A lock leaked at teardown: a correct copy, but the driver's unload path forgets the destination's
// _LinPageUnLock. The page stays locked for ever (a lock-leak blamed on this driver, with the stack).
import { ceRun, lockForDma, type About, type CorpusContext, type Expected } from '../corpus-lib.js';

export const about: About = { device: 'copy-engine', bugClass: 'lock leaked at teardown', summary: 'a correct copy; the destination is never unlocked' };
export const expected: Expected = { verdict: 'bug', code: 'lock-leak' };

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('copy-engine');
  const src = lockForDma(sim, 1);
  const dst = lockForDma(sim, 1);
  await ceRun(dev, { src: src.phys[0]!, dst: dst.phys[0]!, length: 4096 });
  src.unlock(); // the bug: dst.unlock() is missing
  await dev.detach();
}
