// The correct NIC driver: rings in a locked page, a frame transmitted to the far end and one
// received into a buffer the device owns (RDT), checked, the device detached before the rings go.
import { nic as NIC } from '../../src/index.js';
import { deliverFrame, giveRxBuffer, nicRig, type About, type CorpusContext, type Expected } from '../corpus-lib.js';

export const about: About = { device: 'nic', bugClass: 'correct twin: TX and RX with everything locked', summary: 'one frame out, one frame in, the rings locked until the device is detached' };
export const expected: Expected = { verdict: 'clean' };

export async function driver(t: CorpusContext): Promise<void> {
  const { sim } = t;
  const rig = await nicRig(t);
  const { lin, phys } = { lin: rig.rings.lin, phys: rig.rings.phys[0]! };
  const out = Uint8Array.from({ length: 60 }, (_, i) => i);
  sim.cpu.writeBytes(lin + 256, out);
  const tx = new DataView(new ArrayBuffer(16));
  tx.setUint32(NIC.TX_DESC.ADDR, phys + 256, true);
  tx.setUint16(NIC.TX_DESC.LENGTH, out.length, true);
  tx.setUint8(NIC.TX_DESC.CMD, NIC.TXD_CMD.EOP | NIC.TXD_CMD.RS);
  sim.cpu.writeBytes(lin, new Uint8Array(tx.buffer));
  rig.dev.writeReg(NIC.REG.TDT, 1);
  const sent = await rig.wire.nextFrame({ timeoutMs: 10_000 });
  if (sent.length !== 60 || sent[59] !== 59) throw new Error('the frame did not go out');
  giveRxBuffer(t, rig, phys + 2048);
  if ((await deliverFrame(t, rig, new Uint8Array(100).fill(7))) !== 'delivered') throw new Error('the frame was refused');
  if (sim.cpu.read8(lin + 2048 + 99) !== 7) throw new Error('the frame did not land');
  await rig.dev.detach();
  rig.rings.unlock();
}
