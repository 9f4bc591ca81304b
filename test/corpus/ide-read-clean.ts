// The correct bus-master IDE driver: two data pages and a PRD page locked and handed out, READ DMA
// of 16 sectors through a two-entry PRD table, checked against the disk image, unlocked after.
import { ideBusmaster as IDE } from '../../src/index.js';
import { ideBuffers, ideDma, type About, type CorpusContext, type Expected } from '../corpus-lib.js';

export const about: About = { device: 'ide-busmaster', bugClass: 'correct twin: READ DMA into locked, dirty-marked pages', summary: '16 sectors read through a two-entry PRD table' };
export const expected: Expected = { verdict: 'clean' };

export async function driver({ sim }: CorpusContext): Promise<void> {
  const image = new SharedArrayBuffer(256 * 512);
  const disk = new Uint8Array(image);
  for (let i = 0; i < disk.length; i++) disk[i] = (i * 7 + 3) & 0xff;
  const dev = await sim.attachDevice('ide-busmaster', { image });
  const { data, prd } = ideBuffers(sim, 2);
  if ((await ideDma(dev, prd.phys[0]!, 'read', 100, 16)) !== IDE.BM_STATUS.INTERRUPT) throw new Error('READ DMA failed');
  const got = sim.cpu.readBytes(data.lin, 8192);
  if (got.some((b, i) => b !== disk[100 * 512 + i])) throw new Error('the sectors did not land');
  data.unlock();
  prd.unlock();
  await dev.detach();
}
