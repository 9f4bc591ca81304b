/**
 * `npm start`: the seed scenario, narrated. A driver does what the Windows 98 DDK sample does —
 * including the sample's bug — and the simulator shows what really happens: the short buffer is
 * refused, the three physical addresses are handed out, the unlock lets the aggressive pager move
 * the pages, and a device that still uses the old addresses is caught at the access.
 */

import { parseArgs } from 'node:util';
import { hex } from '../address.js';
import { P_PRES, PAGEMARKDIRTY, PG_SYS } from '../ddk.js';
import { createSimulator } from '../simulator.js';
import * as CE from '../../devices/copy-engine/regs.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    quiet: { type: 'boolean', default: false },
  },
});
const seed = Number(values.seed);
const say = (s = '') => console.log(s);

say('dmasim — the DDK seed scenario (Windows 98 DDK, "Miscellaneous Page Management Services")');
say(`simulator: 16 MiB of physical memory, aggressive pager, seed ${seed}`);
say();
const sim = await createSimulator({ pager: 'aggressive', seed });
const vmm = sim.vmm;

try {
  say('1. _PageAllocate(3, PG_SYS, 0, 0, 0, 0, NULL, 0): three swappable pages');
  const lin = vmm.pageAllocate(3, PG_SYS, 0, 0, 0, 0, null, 0);
  const page = lin >>> 12;
  say(`   → linear ${hex(lin)} (page ${hex(page, 5)}); swappable pages are not present until touched or locked`);
  sim.cpu.writeBytes(lin, new TextEncoder().encode('data the device will copy'.padEnd(4096, '.')));
  say();

  say(`2. _LinPageLock(${hex(page, 5)}, 3, PAGEMARKDIRTY): lock before asking for physical addresses`);
  say(`   → ${vmm.linPageLock(page, 3, PAGEMARKDIRTY)}`);
  say();

  say(`3. The DDK sample reserves 3 DWORDs and calls _CopyPageTable(${hex(page, 5)}, 5, buf, 0)`);
  const buf = new Uint32Array(3);
  const r5 = vmm.copyPageTable(page, 5, buf, 0);
  say(`   → ${r5}: ${vmm.lastError?.message}`);
  say('   On a real machine those 8 extra bytes overwrite the caller\'s stack, and entries 4–5 describe');
  say('   pages that were never locked. dmasim refuses and writes nothing.');
  say();

  say(`4. _CopyPageTable(${hex(page, 5)}, 3, buf, 0): the count the buffer really holds`);
  say(`   → ${vmm.copyPageTable(page, 3, buf, 0)}`);
  const told = [...buf].map((e) => (e & ~0xfff) >>> 0);
  told.forEach((p, i) => say(`   page ${hex(page + i, 5)}  PTE ${hex(buf[i]!)}  → physical ${hex(p)}`));
  say();

  say('5. A copy engine (its own worker thread) copies page 0 to page 2 using those addresses');
  const dev = await sim.attachDevice('copy-engine');
  const copy = async (src: number, dst: number) => {
    dev.ackInterrupt();
    dev.writeReg(CE.REG.SRC, src);
    dev.writeReg(CE.REG.DST, dst);
    dev.writeReg(CE.REG.LENGTH, 4096);
    dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.IRQ_ENABLE);
    await dev.waitForInterrupt({ timeoutMs: 5000 });
    return { status: dev.readReg(CE.REG.STATUS), error: dev.readReg(CE.REG.ERROR) };
  };
  const ok = await copy(told[0]!, told[2]!);
  say(`   → STATUS ${hex(ok.status, 2)} ERROR ${ok.error}; page 2 now reads "${new TextDecoder().decode(sim.cpu.readBytes(lin + 0x2000, 25))}"`);
  say(`   violations so far: ${sim.violations().length}`);
  say();

  say(`6. _LinPageUnLock(${hex(page, 5)}, 3, 0): the I/O is done`);
  say(`   → ${vmm.linPageUnLock(page, 3, 0)}`);
  say('   The aggressive pager moves or pages out every page the moment its lock count reaches 0:');
  const now = new Uint32Array(3);
  vmm.copyPageTable(page, 3, now, 0);
  now.forEach((e, i) => {
    const where = e & P_PRES ? `physical ${hex((e & ~0xfff) >>> 0)}` : 'paged out (P_PRES clear)';
    const moved = !(e & P_PRES) || (e & ~0xfff) >>> 0 !== told[i];
    say(`   page ${hex(page + i, 5)}  driver was told ${hex(told[i]!)}  now ${where}${moved ? '  ← no longer what the driver was told' : ''}`);
  });
  // The DDK way to use the page again: lock, then ask. It comes back in at a new address (the old
  // frames sit in quarantine), with its data.
  vmm.linPageLock(page, 1, 0);
  vmm.copyPageTable(page, 1, now, 0);
  const text = new TextDecoder().decode(sim.cpu.readBytes(lin, 4));
  say(`   Locked and asked again, page ${hex(page, 5)} is back at physical ${hex((now[0]! & ~0xfff) >>> 0)} with its data ("${text}…").`);
  vmm.linPageUnLock(page, 1, 0);
  say();

  say('7. A buggy driver reprograms the device with the old addresses after the unlock');
  const bad = await copy(told[0]!, told[2]!);
  say(`   → STATUS ${hex(bad.status, 2)} ERROR ${bad.error} (${bad.error === CE.ERROR.DMA_REFUSED ? 'DMA refused' : 'unexpected'}); the access was blocked, no byte landed`);
  const vs = sim.violations();
  say(`   violations: ${vs.map((v) => v.code).join(', ')}`);
  say();
  if (!values.quiet && vs[0]) say(sim.render(vs[0]));
} finally {
  await sim.close();
}
