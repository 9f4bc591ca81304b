// The CPU and the device racing on the RX ring: while the device still owns descriptor 0
// (RDH != RDT), the driver takes the ring page back — unlocks it to rewrite the descriptor with the
// CPU — and the device's descriptor read and status write-back for the next frame race the CPU.
// Certain by construction: the frame is sent after the unlock, so the device's first touch of the
// ring comes after it (dma-unlocked).
//
// What the checker cannot see: the same race on a ring page that stays locked. A CPU store and a
// device store to one locked descriptor are a data race, not a locking bug; dmasim checks DMA
// against the lock protocol, not CPU/device ordering on locked memory (detection-anchors row 13:
// no detector does today).
import { nic as NIC } from '../../src/index.js';
import { deliverFrame, giveRxBuffer, lockForDma, nicRig, type About, type CorpusContext, type Expected } from '../corpus-lib.js';
import type { SabotageName } from '../../src/sabotage.js';

export const about: About = { device: 'nic', bugClass: 'CPU and device racing on a ring entry', summary: 'the RX ring page unlocked and rewritten by the CPU while the device owns descriptor 0' };
export const expected: Expected = { verdict: 'bug', code: 'dma-unlocked' };
export const blindedBy: readonly SabotageName[] = ['no-epoch-bump'];

export async function driver(t: CorpusContext): Promise<void> {
  const { sim } = t;
  const rig = await nicRig(t);
  const buf = lockForDma(sim, 1);
  giveRxBuffer(t, rig, buf.phys[0]!);
  rig.rings.unlock(); // the bug: the ring goes back to pageable memory while the device owns an entry
  sim.cpu.write8(rig.rings.lin + 128 + NIC.RX_DESC.STATUS, 0); // the CPU's side of the race
  await deliverFrame(t, rig, new Uint8Array(64).fill(9));
  await rig.dev.detach();
  buf.unlock();
}
