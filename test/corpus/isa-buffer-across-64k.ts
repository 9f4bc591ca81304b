// An ISA buffer across a 64 KiB boundary: 8 KiB, physically contiguous, at 0xF000. Channel 1's
// address counter wraps inside its 64 KiB page (the page register does not carry), so the second
// half would land at 0x0000 of the same page: reported as dma-boundary and blocked.
import { isaRecord, takeFrames, type About, type CorpusContext, type Expected } from '../corpus-lib.js';

export const about: About = { device: 'isa-audio', bugClass: 'ISA buffer across 64 KiB', summary: 'an 8 KiB recording into contiguous frames 0xF and 0x10' };
export const expected: Expected = { verdict: 'bug', code: 'dma-boundary' };

export async function driver(t: CorpusContext): Promise<void> {
  const { sim } = t;
  const dev = await sim.attachDevice('isa-audio');
  const buf = takeFrames(sim, 0x0f, 2); // the bug: 0xF000…0x10FFF crosses 0x10000
  await isaRecord(t, dev, buf.phys, 8192);
  buf.free();
  await dev.detach();
}
