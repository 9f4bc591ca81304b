// An RX buffer unlocked while still in the ring: handed to the device (RDT), then unlocked (the
// pager moves it away). The frame the far end sends afterwards is written to the old address.
import { deliverFrame, giveRxBuffer, lockForDma, nicRig, type About, type CorpusContext, type Expected } from '../corpus-lib.js';
import type { SabotageName } from '../../src/sabotage.js';

export const about: About = { device: 'nic', bugClass: 'RX buffer unlocked while still in the ring', summary: 'RX descriptor 0 handed over, its buffer unlocked, then a frame arrives' };
export const expected: Expected = { verdict: 'bug', code: 'dma-unlocked' };
export const blindedBy: readonly SabotageName[] = ['no-epoch-bump'];

export async function driver(t: CorpusContext): Promise<void> {
  const { sim } = t;
  const rig = await nicRig(t);
  const buf = lockForDma(sim, 1);
  giveRxBuffer(t, rig, buf.phys[0]!);
  buf.unlock(); // the bug: the device still owns descriptor 0 and its buffer
  await deliverFrame(t, rig, new Uint8Array(64).fill(9));
  await rig.dev.detach();
  rig.rings.unlock();
}
