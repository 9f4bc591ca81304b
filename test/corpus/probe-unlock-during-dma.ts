// Unlock while the transfer is in flight: the device is inside its access (the test-probe's read
// that never finishes, its in-flight bit on the frame) when the driver unlocks. Certain by
// construction: the driver waits until the frame is marked in flight — a state the device publishes,
// read through the test internals — before it unlocks; the unlocker sees the bit and reports.
import { testProbe as TP } from '../../src/index.js';
import { lockForDma, type About, type CorpusContext, type Expected } from '../corpus-lib.js';
import { inflightSlots, until } from '../internals.js';

export const about: About = { device: 'test-probe', bugClass: 'unlock while the transfer is in flight', summary: 'the page unlocked while the probe is inside its read of it' };
export const expected: Expected = { verdict: 'bug', code: 'unlock-during-dma' };

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('test-probe');
  const buf = lockForDma(sim, 1);
  dev.writeReg(TP.REG.ADDR, buf.phys[0]!);
  dev.writeReg(TP.REG.LEN, 4096);
  dev.writeReg(TP.REG.CMD, TP.OP.HANG_MID_ACCESS);
  await until(() => inflightSlots(sim, buf.phys[0]! >>> 12).includes(dev.id), 10_000, 'the probe inside its access');
  buf.unlock(); // the bug: the device is mid-transfer
  await dev.detach({ graceMs: 0 }); // the access never ends: the worker is stopped where it is
}
