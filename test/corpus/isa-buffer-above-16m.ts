// The classic ISA bug: a DMA buffer above 16 MiB. The 8237 produces 24-bit addresses, so the
// channel programmed with the buffer's low 24 bits sends the transfer 16 MiB lower; the checker
// names the address the driver meant (dma-address-width).
import { PAGECONTIG, PAGEFIXED, PAGEUSEALIGN, PG_SYS } from '../../src/index.js';
import { isaRecord, type About, type CorpusContext, type Expected } from '../corpus-lib.js';

export const about: About = { device: 'isa-audio', bugClass: 'ISA buffer above 16 MiB', summary: 'a fixed contiguous buffer at 24 MiB recorded into through channel 1 (32 MiB of RAM)', options: { memory: 32 << 20 } };
export const expected: Expected = { verdict: 'bug', code: 'dma-address-width' };

export async function driver(t: CorpusContext): Promise<void> {
  const { sim } = t;
  const dev = await sim.attachDevice('isa-audio');
  const phys = new Uint32Array(1);
  // The bug: minPhys/maxPhys put it above 16 MiB (at 24 MiB: 16 MiB lower is a free frame).
  const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0x1800, 0x2000, phys, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED);
  await isaRecord(t, dev, phys[0]!, 256);
  sim.vmm.pageFree(lin, 0);
  await dev.detach();
}
