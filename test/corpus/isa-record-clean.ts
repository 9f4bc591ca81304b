// The correct ISA sound driver: a locked page (PAGEMARKDIRTY: the device writes it), the 8237's
// channel 1 programmed through the ports, one block recorded, checked, unlocked after DONE.
import { isaRecord, lockForDma, type About, type CorpusContext, type Expected } from '../corpus-lib.js';

export const about: About = { device: 'isa-audio', bugClass: 'correct twin: record into a locked buffer', summary: 'one 1 KiB block recorded through channel 1 into a locked page' };
export const expected: Expected = { verdict: 'clean' };

export async function driver(t: CorpusContext): Promise<void> {
  const { sim } = t;
  const dev = await sim.attachDevice('isa-audio');
  const buf = lockForDma(sim, 1);
  await isaRecord(t, dev, buf.phys[0]!, 1024);
  buf.unlock();
  const got = sim.cpu.readBytes(buf.lin, 1024);
  if (got.some((b, i) => b !== ((5 + i) & 0xff))) throw new Error('the recording did not land');
  await dev.detach();
}
