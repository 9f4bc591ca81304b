// Unlock before the transfer completes, on ISA: the driver starts the recording while its channel
// is still masked (the device waits: STATUS.WAITING), unlocks the buffer — its "done" path runs too
// early — and then unmasks. Certain by construction: nothing can move while the channel is masked.
import { I8237_REG, isaAudio as IA } from '../../src/index.js';
import { lockForDma, pollReg, type About, type CorpusContext, type Expected } from '../corpus-lib.js';
import { SINGLE_WRITE, programChannel, startAudio } from '../isa-helpers.js';
import type { SabotageName } from '../../src/sabotage.js';

export const about: About = { device: 'isa-audio', bugClass: 'unlock before the transfer completes', summary: 'the buffer unlocked while the request waits on a masked channel, then unmasked' };
export const expected: Expected = { verdict: 'bug', code: 'dma-unlocked' };
export const blindedBy: readonly SabotageName[] = ['no-epoch-bump'];

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('isa-audio');
  const buf = lockForDma(sim, 1);
  programChannel(sim.cpu, 1, SINGLE_WRITE, buf.phys[0]!, 1024, { unmask: false });
  startAudio(dev, { channel: 1, block: 1024, total: 1024, record: true });
  await pollReg(sim, dev, IA.REG.STATUS, IA.STATUS.WAITING, IA.STATUS.WAITING);
  buf.unlock(); // the bug: the transfer has not happened yet
  sim.cpu.outb(I8237_REG.SINGLE_MASK, 1); // unmask channel 1: the request goes ahead
  await pollReg(sim, dev, IA.REG.STATUS, IA.STATUS.DONE, IA.STATUS.DONE);
  await dev.detach();
}
