// Missing PAGEMARKDIRTY: the data pages are locked with flags 0 and never touched by the CPU, so
// they are clean; the drive writes them by DMA, which sets no dirty bit — after the unlock the pager
// would drop the sectors as a clean page. dma-not-marked-dirty.
import { ideBuffers, ideDma, type About, type CorpusContext, type Expected } from '../corpus-lib.js';
import type { SabotageName } from '../../src/sabotage.js';

export const about: About = { device: 'ide-busmaster', bugClass: 'missing PAGEMARKDIRTY', summary: 'READ DMA into clean pages locked without PAGEMARKDIRTY' };
export const expected: Expected = { verdict: 'bug', code: 'dma-not-marked-dirty' };
export const blindedBy: readonly SabotageName[] = ['dirty-rule-off'];

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('ide-busmaster', { sectors: 256 });
  const { data, prd } = ideBuffers(sim, 2, 0); // the bug: lock flags 0 for pages the device writes
  await ideDma(dev, prd.phys[0]!, 'read', 0, 16);
  data.unlock();
  prd.unlock();
  await dev.detach();
}
