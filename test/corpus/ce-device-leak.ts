// A device never detached: the driver unloads (its buffers correctly unlocked) without detaching its
// copy engine — its worker would outlive the driver.
import { ceRun, lockForDma, type About, type CorpusContext, type Expected } from '../corpus-lib.js';

export const about: About = { device: 'copy-engine', bugClass: 'device left attached at unload', summary: 'a correct copy; the engine is never detached' };
export const expected: Expected = { verdict: 'bug', code: 'device-leak' };

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('copy-engine');
  const src = lockForDma(sim, 1);
  const dst = lockForDma(sim, 1);
  await ceRun(dev, { src: src.phys[0]!, dst: dst.phys[0]!, length: 4096 });
  src.unlock();
  dst.unlock(); // the bug: no dev.detach()
}
