// Correct twin of the address-width bug: the same 24-bit engine, the buffer allocated below 16 MiB
// (maxPhys 0x1000 pages), as an ISA-era driver must.
import { copyEngine as CE, PAGECONTIG, PAGEFIXED, PAGEUSEALIGN, PG_SYS } from '../../src/index.js';
import { ceRun, type About, type CorpusContext, type Expected } from '../corpus-lib.js';

export const about: About = { device: 'copy-engine', bugClass: 'correct twin: buffer below 16 MiB for a 24-bit device', summary: 'a 24-bit engine, a fixed buffer constrained below 16 MiB (32 MiB of RAM)', options: { memory: 32 << 20 } };
export const expected: Expected = { verdict: 'clean' };

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('copy-engine', { addressBits: 24 });
  const phys = new Uint32Array(1);
  const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0x1000, phys, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED);
  if ((await ceRun(dev, { dst: phys[0]!, length: 256, fill: 1 })) !== CE.STATUS.DONE) throw new Error('the fill failed');
  sim.vmm.pageFree(lin, 0);
  await dev.detach();
}
