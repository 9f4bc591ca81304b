// Correct twin of the 64 KiB bug: the same 8 KiB contiguous buffer at 0x10000, inside one 64 KiB page.
import { isaRecord, takeFrames, type About, type CorpusContext, type Expected } from '../corpus-lib.js';

export const about: About = { device: 'isa-audio', bugClass: 'correct twin: ISA buffer inside one 64 KiB page', summary: 'an 8 KiB recording into contiguous frames 0x10 and 0x11' };
export const expected: Expected = { verdict: 'clean' };

export async function driver(t: CorpusContext): Promise<void> {
  const { sim } = t;
  const dev = await sim.attachDevice('isa-audio');
  const buf = takeFrames(sim, 0x10, 2);
  await isaRecord(t, dev, buf.phys, 8192);
  if (sim.cpu.read8(buf.lin + 8191) !== ((5 + 8191) & 0xff)) throw new Error('the recording did not land');
  buf.free();
  await dev.detach();
}
