// Unlock while the transfer is in flight: the device is inside its access (its in-flight bit on the
// frame) when the driver unlocks. Certain by construction: the driver waits until the frame is
// marked in flight — a state the device publishes, read through the test internals — before it
// unlocks; the unlocker sees the bit and reports.
//
// The mode branch (the same bug, a device the scheduler can drive):
//  - free running, the probe's OP.HANG_MID_ACCESS: a read that spins for ever inside its access,
//    frames announced, so "inside" lasts as long as the driver likes; the worker is stopped after.
//  - deterministic, that device would never hand its turn back (a step the scheduler waits for
//    for ever). Instead a plain OP.READ of 16 locked pages (adjacent frames, checked): the device parks between the frames of an
//    access with all of them still announced, and the driver unlocks the buffer there. The read then
//    finishes, and its end-of-access check reports the same unlock (one record per unlock). The
//    seed fixes the schedule; one in which the device ran all 16 frames before the driver's turn
//    would not pass silently — the wait below would time out and the entry fail as an error.
import { testProbe as TP } from '../../src/index.js';
import { lockForDma, type About, type CorpusContext, type Expected } from '../corpus-lib.js';
import { inflightSlots, until } from '../internals.js';

export const about: About = { device: 'test-probe', bugClass: 'unlock while the transfer is in flight', summary: 'the page unlocked while the probe is inside its read of it' };
export const expected: Expected = { verdict: 'bug', code: 'unlock-during-dma' };

export async function driver({ sim, mode }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('test-probe');
  const pages = mode === 'deterministic' ? 16 : 1;
  const buf = lockForDma(sim, pages);
  // One read of the whole buffer from its first address: its frames must be adjacent (in a fresh
  // simulator, pages locked in order take ascending free frames).
  if (buf.phys.some((p, i) => p !== buf.phys[0]! + i * 4096)) throw new Error('construction failed: the frames are not adjacent');
  dev.writeReg(TP.REG.ADDR, buf.phys[0]!);
  dev.writeReg(TP.REG.LEN, pages * 4096);
  dev.writeReg(TP.REG.CMD, mode === 'deterministic' ? TP.OP.READ : TP.OP.HANG_MID_ACCESS);
  await until(() => inflightSlots(sim, buf.phys[0]! >>> 12).includes(dev.id), 10_000, 'the probe inside its access', sim);
  buf.unlock(); // the bug: the device is mid-transfer
  if (mode === 'deterministic') await dev.waitForInterrupt({ timeoutMs: 10_000 }); // the read ends, reporting the unlock too
  await dev.detach({ graceMs: mode === 'deterministic' ? 1000 : 0 }); // free running the access never ends: the worker is stopped where it is
}
