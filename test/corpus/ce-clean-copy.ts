// The correct copy-engine driver, the twin of every copy-engine bug here: lock both buffers, ask
// _CopyPageTable for their addresses, run the copy, wait for the interrupt, and only then unlock.
import { copyEngine as CE } from '../../src/index.js';
import { ceRun, lockForDma, type About, type CorpusContext, type Expected } from '../corpus-lib.js';

export const about: About = { device: 'copy-engine', bugClass: 'correct twin: lock, copy, wait, unlock', summary: 'a page copied between two locked buffers, unlocked after the interrupt' };
export const expected: Expected = { verdict: 'clean' };

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('copy-engine');
  const src = lockForDma(sim, 1);
  const dst = lockForDma(sim, 1);
  sim.cpu.writeBytes(src.lin, new Uint8Array(4096).fill(0x5a));
  if ((await ceRun(dev, { src: src.phys[0]!, dst: dst.phys[0]!, length: 4096 })) !== CE.STATUS.DONE) throw new Error('the copy failed');
  if (sim.cpu.read8(dst.lin + 4095) !== 0x5a) throw new Error('the bytes did not land');
  src.unlock();
  dst.unlock();
  await dev.detach();
}
