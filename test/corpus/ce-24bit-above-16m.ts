// A 24-bit bus master (addressBits 24: an ISA-era card) given a buffer above 16 MiB — the driver
// allocated without a maxPhys limit. The address is handed out and locked; the device cannot reach it.
import { PAGECONTIG, PAGEFIXED, PAGEUSEALIGN, PG_SYS } from '../../src/index.js';
import { ceRun, type About, type CorpusContext, type Expected } from '../corpus-lib.js';

export const about: About = { device: 'copy-engine', bugClass: 'buffer beyond the device’s address width', summary: 'a 24-bit engine given a fixed buffer at 24 MiB (32 MiB of RAM)', options: { memory: 32 << 20 } };
export const expected: Expected = { verdict: 'bug', code: 'dma-address-width' };

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('copy-engine', { addressBits: 24 });
  const phys = new Uint32Array(1);
  const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0x1800, 0x2000, phys, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED); // the bug: no 16 MiB limit
  await ceRun(dev, { dst: phys[0]!, length: 256, fill: 1 });
  sim.vmm.pageFree(lin, 0);
  await dev.detach();
}
