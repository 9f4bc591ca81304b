// The Windows 98 DDK sample's bug (spec: _CopyPageTable; src/cli/demo.ts): three DWORDs reserved,
// _CopyPageTable asked for 5 entries. On Windows the extra 8 bytes overwrite the caller's stack;
// dmasim refuses (buffer-too-small) and writes nothing. The driver checks the result and bails out,
// so the DDK's refusal is the whole bug: verdict ddk:buffer-too-small.
import { PAGEMARKDIRTY, PG_SYS } from '../../src/index.js';
import type { About, CorpusContext, Expected } from '../corpus-lib.js';

export const about: About = { device: 'copy-engine', bugClass: 'the DDK sample’s 5-into-3 _CopyPageTable', summary: '_CopyPageTable(page, 5, buf[3]): the DDK call fails, the driver bails out' };
export const expected: Expected = { verdict: 'bug', code: 'ddk:buffer-too-small' };

export async function driver({ sim }: CorpusContext): Promise<void> {
  const dev = await sim.attachDevice('copy-engine');
  const lin = sim.vmm.pageAllocate(3, PG_SYS, 0, 0, 0, 0, null, 0);
  const page = lin >>> 12;
  sim.vmm.linPageLock(page, 3, PAGEMARKDIRTY);
  const buf = new Uint32Array(3);
  const ok = sim.vmm.copyPageTable(page, 5, buf, 0); // the bug: 5 entries into a 3-entry buffer
  if (ok === 0) {
    sim.vmm.linPageUnLock(page, 3, 0);
    await dev.detach();
    return;
  }
  throw new Error('the 5-into-3 copy succeeded');
}
