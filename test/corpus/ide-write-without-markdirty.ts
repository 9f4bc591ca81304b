// Correct twin of the dirty rule: WRITE DMA (the device only reads memory) from pages locked
// without PAGEMARKDIRTY — a device that does not write needs no dirty mark.
import { ideBusmaster as IDE } from '../../src/index.js';
import { ideBuffers, ideDma, type About, type CorpusContext, type Expected } from '../corpus-lib.js';

export const about: About = { device: 'ide-busmaster', bugClass: 'correct twin: WRITE DMA needs no PAGEMARKDIRTY', summary: 'WRITE DMA of 16 sectors from pages locked with flags 0' };
export const expected: Expected = { verdict: 'clean' };

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('ide-busmaster', { sectors: 256 });
  const { data, prd } = ideBuffers(sim, 2, 0);
  if ((await ideDma(dev, prd.phys[0]!, 'write', 8, 16)) !== IDE.BM_STATUS.INTERRUPT) throw new Error('WRITE DMA failed');
  data.unlock();
  prd.unlock();
  await dev.detach();
}
