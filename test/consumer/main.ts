// A plain project's program: only documented exports of the installed package.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createSimulator, copyEngine as CE, PAGEMARKDIRTY, PG_SYS, type SimReport } from 'dmasim';

const sim = await createSimulator({ pager: 'aggressive', seed: 3 });
const lin = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, 0);
sim.vmm.linPageLock(lin >>> 12, 2, PAGEMARKDIRTY);
const pte = new Uint32Array(2);
sim.vmm.copyPageTable(lin >>> 12, 2, pte, 0);
sim.cpu.writeBytes(lin, new TextEncoder().encode('from outside'));
const dev = await sim.attachDevice('copy-engine');
dev.writeReg(CE.REG.SRC, pte[0]! & ~0xfff);
dev.writeReg(CE.REG.DST, pte[1]! & ~0xfff);
dev.writeReg(CE.REG.LENGTH, 12);
dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.IRQ_ENABLE);
await dev.waitForInterrupt();
const copied = new TextDecoder().decode(sim.cpu.readBytes(lin + 4096, 12));
sim.vmm.linPageUnLock(lin >>> 12, 2, 0);
await dev.detach();
const report: SimReport = sim.report();
await sim.close();
const schema = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('dmasim/report.schema.json'), 'utf8')) as { title: string };
console.log(JSON.stringify({ copied, violations: report.violations.length, leaks: report.leaks.length, schema: schema.title }));
