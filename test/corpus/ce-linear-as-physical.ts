// A linear address programmed as a physical one (the `>> 12` family of mistakes): the driver hands
// the device its buffer's linear address, 0xC00xxxxx, which is far beyond the 16 MiB of RAM.
import { ceRun, lockForDma, type About, type CorpusContext, type Expected } from '../corpus-lib.js';

export const about: About = { device: 'copy-engine', bugClass: 'linear address used as a physical address', summary: "a fill programmed with the buffer's linear address" };
export const expected: Expected = { verdict: 'bug', code: 'dma-outside-memory' };

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('copy-engine');
  const buf = lockForDma(sim, 1);
  await ceRun(dev, { dst: buf.lin, length: 256, fill: 0 }); // the bug: lin, not buf.phys[0]
  buf.unlock();
  await dev.detach();
}
