// Unlock before the transfer completes, bus-master IDE: the data pages are unlocked before the
// command is even written (the PRD page stays locked); the drive's writes into them are refused.
import { ideBuffers, ideDma, type About, type CorpusContext, type Expected } from '../corpus-lib.js';
import type { SabotageName } from '../../src/sabotage.js';

export const about: About = { device: 'ide-busmaster', bugClass: 'unlock before the transfer completes', summary: 'READ DMA into data pages unlocked before the command' };
export const expected: Expected = { verdict: 'bug', code: 'dma-unlocked' };
export const blindedBy: readonly SabotageName[] = ['no-epoch-bump'];

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('ide-busmaster', { sectors: 256 });
  const { data, prd } = ideBuffers(sim, 2);
  data.unlock(); // the bug
  await ideDma(dev, prd.phys[0]!, 'read', 0, 16);
  prd.unlock();
  await dev.detach();
}
