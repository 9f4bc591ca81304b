// Correct twin of the DDK sample: the count the buffer really holds, then page 0 copied to page 2
// by the engine with those addresses, unlocked after the interrupt (what `npm start` shows).
import { copyEngine as CE, PAGEMARKDIRTY, PG_SYS } from '../../src/index.js';
import { ceRun, type About, type CorpusContext, type Expected } from '../corpus-lib.js';

export const about: About = { device: 'copy-engine', bugClass: 'correct twin: _CopyPageTable of 3 into 3', summary: 'the DDK sample with the right count, then a copy of page 0 to page 2' };
export const expected: Expected = { verdict: 'clean' };

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('copy-engine');
  const lin = sim.vmm.pageAllocate(3, PG_SYS, 0, 0, 0, 0, null, 0);
  const page = lin >>> 12;
  sim.cpu.writeBytes(lin, new TextEncoder().encode('data the device will copy'));
  sim.vmm.linPageLock(page, 3, PAGEMARKDIRTY);
  const buf = new Uint32Array(3);
  if (sim.vmm.copyPageTable(page, 3, buf, 0) !== 1) throw new Error('copyPageTable failed');
  const phys = [...buf].map((e) => (e & ~0xfff) >>> 0);
  if ((await ceRun(dev, { src: phys[0]!, dst: phys[2]!, length: 4096 })) !== CE.STATUS.DONE) throw new Error('the copy failed');
  sim.vmm.linPageUnLock(page, 3, 0);
  await dev.detach();
}
