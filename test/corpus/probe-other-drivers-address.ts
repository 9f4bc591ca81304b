// An address the device's own driver never obtained: the page is locked by this driver, but its
// address came from another driver's _CopyPageTable (passed along between drivers). Ownership is
// checked per driver, as DMA-API debug checks per device.
import { PAGEMARKDIRTY, PG_SYS, testProbe as TP } from '../../src/index.js';
import { pageTable, pollReg, type About, type CorpusContext, type Expected } from '../corpus-lib.js';
import type { SabotageName } from '../../src/sabotage.js';

export const about: About = { device: 'test-probe', bugClass: 'address handed out to another driver', summary: "a read of a locked page at the address another driver's _CopyPageTable gave" };
export const expected: Expected = { verdict: 'bug', code: 'dma-not-handed-out' };
export const blindedBy: readonly SabotageName[] = ['ignore-handouts'];

export async function driver({ sim }: CorpusContext): Promise<void> {
  const other = sim.createDriver('other');
  const dev = await sim.attachDevice('test-probe');
  const page = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0) >>> 12;
  sim.vmm.linPageLock(page, 1, PAGEMARKDIRTY);
  const theirs = pageTable(other, page, 1)[0]!; // the bug: not this driver's hand-out
  dev.writeReg(TP.REG.ADDR, theirs);
  dev.writeReg(TP.REG.LEN, 16);
  dev.writeReg(TP.REG.CMD, TP.OP.READ);
  await pollReg(sim, dev, TP.REG.STATUS, TP.STATUS.DONE, TP.STATUS.DONE);
  sim.vmm.linPageUnLock(page, 1, 0);
  await dev.detach();
}
