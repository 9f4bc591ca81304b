// Correct twin of the contiguity bug: the same 2-page buffer with non-adjacent frames, filled
// through a scatter-gather chain with one element per page (the chain itself in a locked page).
import { copyEngine as CE, PAGEMARKDIRTY, PG_SYS } from '../../src/index.js';
import { ceRun, lockForDma, pageTable, type About, type CorpusContext, type Expected } from '../corpus-lib.js';

export const about: About = { device: 'copy-engine', bugClass: 'correct twin: one scatter-gather element per page', summary: 'the same scattered 2-page buffer filled through a 2-descriptor chain' };
export const expected: Expected = { verdict: 'clean' };

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('copy-engine');
  const lin = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, 0);
  const page = lin >>> 12;
  sim.vmm.linPageLock(page + 1, 1, PAGEMARKDIRTY);
  sim.vmm.linPageLock(page, 1, PAGEMARKDIRTY);
  const phys = pageTable(sim, page, 2);
  const chain = lockForDma(sim, 1);
  const base = chain.phys[0]!;
  phys.forEach((p, i) => {
    const at = chain.lin + i * 16;
    sim.cpu.write32(at + CE.DESCRIPTOR.SRC, 0);
    sim.cpu.write32(at + CE.DESCRIPTOR.DST, p);
    sim.cpu.write32(at + CE.DESCRIPTOR.LENGTH, 4096);
    sim.cpu.write32(at + CE.DESCRIPTOR.NEXT, i + 1 < phys.length ? base + (i + 1) * 16 : 0);
  });
  if ((await ceRun(dev, { dst: 0, length: 0, fill: 0x77, sg: base })) !== CE.STATUS.DONE) throw new Error('the chain failed');
  if (sim.cpu.read8(lin + 8191) !== 0x77) throw new Error('the second page was not filled');
  sim.vmm.linPageUnLock(page, 2, 0);
  chain.unlock();
  await dev.detach();
}
