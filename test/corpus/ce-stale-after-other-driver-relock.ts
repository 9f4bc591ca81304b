// A stale address after ANOTHER driver re-locked the frame: driver A unlocks its destination (the
// aggressive pager moves it at once; the frame goes to quarantine), driver B then gets that very
// frame locked for itself (a fixed page constrained to it), and A's copy engine still writes to the
// address A was told. Without the epochs the write would land in B's page.
import { ceRun, lockForDma, takeFrames, type About, type CorpusContext, type Expected } from '../corpus-lib.js';
import type { SabotageName } from '../../src/sabotage.js';

export const about: About = { device: 'copy-engine', bugClass: 'stale address after another driver re-locks the frame', summary: "A's old destination address used after B locked the frame" };
export const expected: Expected = { verdict: 'bug', code: 'dma-stale-address' };
export const blindedBy: readonly SabotageName[] = ['no-epoch-bump', 'ignore-handouts'];

export async function driver({ sim }: CorpusContext): Promise<void> {
  const A = sim.createDriver('A');
  const B = sim.createDriver('B');
  const dev = await A.attachDevice('copy-engine');
  const src = lockForDma(A, 1);
  const dst = lockForDma(A, 1);
  const old = dst.phys[0]!;
  dst.unlock(); // A is done with the page, it thinks
  const theirs = takeFrames(B, old >>> 12);
  await ceRun(dev, { src: src.phys[0]!, dst: old, length: 64 }); // the bug: A's stale address
  theirs.free();
  src.unlock();
  await dev.detach();
}
