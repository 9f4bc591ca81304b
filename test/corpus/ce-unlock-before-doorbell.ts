// Unlock before the transfer completes — made certain by unlocking before the doorbell: the
// destination is unlocked (the aggressive pager moves it away at once) and the copy is started with
// the address the driver was told while it was locked. The device's write is a use after unlock.
import { ceRun, lockForDma, type About, type CorpusContext, type Expected } from '../corpus-lib.js';
import type { SabotageName } from '../../src/sabotage.js';

export const about: About = { device: 'copy-engine', bugClass: 'unlock before the transfer completes', summary: 'the destination unlocked, then the copy rung with its old address' };
export const expected: Expected = { verdict: 'bug', code: 'dma-unlocked' };
export const blindedBy: readonly SabotageName[] = ['no-epoch-bump'];

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('copy-engine');
  const src = lockForDma(sim, 1);
  const dst = lockForDma(sim, 1);
  dst.unlock(); // the bug: the I/O has not even started
  await ceRun(dev, { src: src.phys[0]!, dst: dst.phys[0]!, length: 4096 });
  src.unlock();
  await dev.detach();
}
