// A device pointed at its own registers: a fill whose destination is the engine's MMIO window (a
// wrong base in the driver's table of addresses). QEMU's re-entrancy guard exists for this.
import { ceRun, type About, type CorpusContext, type Expected } from '../corpus-lib.js';

export const about: About = { device: 'copy-engine', bugClass: 'DMA into the device’s own registers', summary: "a fill aimed at the engine's own MMIO window" };
export const expected: Expected = { verdict: 'bug', code: 'device-reentrancy' };

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('copy-engine');
  await ceRun(dev, { dst: dev.mmioBase, length: 16, fill: 0xff });
  await dev.detach();
}
