// Once a known gap, now caught by address provenance (src/provenance.ts: dma-stale-programming):
// a stale RX address after the SAME driver re-locked a page into the old frame. The buffer handed to the ring is unlocked (moved
// away at once); the same driver then gets a new page locked into that very frame (a fixed page, so
// locked for its life) and is handed its address. When the frame arrives the NIC writes into the
// new page through the old descriptor: the driver holds a current hand-out of the frame, so the
// epoch check passes. The frame's data silently lands in a buffer that was never given to the ring.
import { deliverFrame, giveRxBuffer, lockForDma, nicRig, takeFrames, type About, type CorpusContext, type Expected } from '../corpus-lib.js';

export const about: About = { device: 'nic', bugClass: 'stale address after the same driver re-locks the frame', summary: 'RX buffer unlocked in the ring, a new page of the same driver locked into its frame, then a frame arrives' };
export const expected: Expected = { verdict: 'bug', code: 'dma-stale-programming' };

export async function driver(t: CorpusContext): Promise<void> {
  const { sim } = t;
  const rig = await nicRig(t);
  const buf = lockForDma(sim, 1);
  giveRxBuffer(t, rig, buf.phys[0]!);
  buf.unlock(); // the bug
  const mine = takeFrames(sim, buf.phys[0]! >>> 12); // the same driver, a new buffer, the old frame
  await deliverFrame(t, rig, new Uint8Array(64).fill(9));
  await rig.dev.detach();
  mine.free();
  rig.rings.unlock();
}
