// A stale RX address after ANOTHER driver re-locked the frame: the buffer handed to the ring is
// unlocked (moved at once), driver B gets that frame locked for itself, and then the frame arrives:
// the NIC writes where its driver was told, into B's page — refused as dma-stale-address.
import { deliverFrame, giveRxBuffer, lockForDma, nicRig, takeFrames, type About, type CorpusContext, type Expected } from '../corpus-lib.js';
import type { SabotageName } from '../../src/sabotage.js';

export const about: About = { device: 'nic', bugClass: 'stale address after another driver re-locks the frame', summary: "RX buffer unlocked in the ring, its frame locked by driver B, then a frame arrives" };
export const expected: Expected = { verdict: 'bug', code: 'dma-stale-address' };
export const blindedBy: readonly SabotageName[] = ['no-epoch-bump', 'ignore-handouts'];

export async function driver(t: CorpusContext): Promise<void> {
  const { sim } = t;
  const B = sim.createDriver('B');
  const rig = await nicRig(t);
  const buf = lockForDma(sim, 1);
  giveRxBuffer(t, rig, buf.phys[0]!);
  buf.unlock(); // the bug
  const theirs = takeFrames(B, buf.phys[0]! >>> 12);
  await deliverFrame(t, rig, new Uint8Array(64).fill(9));
  await rig.dev.detach();
  theirs.free();
  rig.rings.unlock();
}
