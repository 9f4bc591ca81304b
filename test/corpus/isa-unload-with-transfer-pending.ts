// A DMA still owed at teardown: the driver unloads — unlocks its buffer, leaves the device attached —
// while its recording still waits on the masked channel. The device owes a command (dma-in-flight);
// never detached, it is also a device-leak, the consequence rather than a second bug. A device that
// waits for its channel is alive (it shows progress), so close() would wait for it up to
// min(hangTimeoutMs, 5 s) before judging: hangTimeoutMs 2000 keeps that wait short, yet far above
// what a starved worker on a loaded 2-core machine can stall between its 50 ms channel polls.
import { isaAudio as IA } from '../../src/index.js';
import { lockForDma, pollReg, type About, type CorpusContext, type Expected } from '../corpus-lib.js';
import { SINGLE_WRITE, programChannel, startAudio } from '../isa-helpers.js';

export const about: About = { device: 'isa-audio', bugClass: 'unload with a DMA command still owed', summary: 'the driver unloads while its recording waits on a masked channel', options: { hangTimeoutMs: 2000 } };
export const expected: Expected = { verdict: 'bug', code: 'dma-in-flight', also: ['device-leak'] };

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('isa-audio');
  const buf = lockForDma(sim, 1);
  programChannel(sim.cpu, 1, SINGLE_WRITE, buf.phys[0]!, 1024, { unmask: false });
  startAudio(dev, { channel: 1, block: 1024, total: 1024, record: true });
  await pollReg(sim, dev, IA.REG.STATUS, IA.STATUS.WAITING, IA.STATUS.WAITING);
  buf.unlock(); // the bug: unload with the command still pending (no STOP, no detach)
}
