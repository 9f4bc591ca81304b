/**
 * Benchmarks (tinybench 6). Every figure is a ratio against a raw baseline measured in the same run,
 * on the same machine, so the numbers travel: "a checked 4 KiB DMA costs N× a raw 4 KiB copy".
 *
 *   npm run bench            # table on stdout
 *   npm run bench -- --json  # one JSON document on stdout
 *
 * Pairs:
 *  - dma-copy-4k:     CheckedDmaPort.copy of one locked, handed-out page vs Uint8Array.copyWithin.
 *  - dma-fill-64k:    checked 64 KiB fill (16 frames checked) vs Uint8Array.fill.
 *  - lock-unlock:     _LinPageLock + _LinPageUnLock of a resident page vs two raw Atomics.add.
 *  - lock-unlock-1g:  the same on a 1 GiB vs a 16 MiB simulator, ABBA order: per-page costs must
 *                     not grow with memory size (ratio ≈ 1).
 *  - copy-page-table: _CopyPageTable of 16 locked pages vs copying 16 words.
 *  - pager-move:      one pager step (a 4 KiB move or page-out) vs a raw 4 KiB copy.
 *  - doorbell-irq:    copy-engine command round trip (doorbell → worker → interrupt) vs a raw
 *                     postMessage echo round trip to a worker thread.
 *  - trace-on-vs-off-4k: the checked 4 KiB copy with the event trace on vs off (target ≤ 1.1).
 *  - stress-4dev-stacks-now-vs-before: one round of the clean stress loop (bench/stress-loop.ts) on
 *                     4 copy engines under the aggressive pager, stacks captured only where reports
 *                     print them vs on every VMM event (what dmasim did before); < 1 is faster.
 */

import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Bench } from 'tinybench';
import { CheckedDmaPort } from '../src/dma/port.js';
import { clearHandouts } from '../src/frametable.js';
import { createShared, dcbIndex, DCB } from '../src/layout.js';
import { MemoryCore } from '../src/vmm/core.js';
import { Vmm } from '../src/vmm/services.js';
import { TraceReader, TraceWriter } from '../src/trace.js';
import { round, setUpLoop } from './stress-loop.js';
import { createSimulator, PAGECONTIG, PAGEFIXED, PAGEMARKDIRTY, PAGEUSEALIGN, PG_SYS, copyEngine as CE, type PhysAddr, type Simulator } from '../src/index.js';

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, time: { type: 'string', default: '400' } } });
const time = Number(values.time);

interface Pair {
  name: string;
  /** Task names; with several, the p50s are averaged (ABBA order cancels drift and JIT order). */
  subject: string[];
  baseline: string[];
}
const pairs: Pair[] = [];
const bench = new Bench({ time, warmupTime: 100 });
const add = (pair: string, subject: [string, () => unknown], baseline: [string, () => unknown]) => {
  bench.add(subject[0], subject[1]);
  bench.add(baseline[0], baseline[1]);
  pairs.push({ name: pair, subject: [subject[0]], baseline: [baseline[0]] });
};
/** Subject and baseline measured twice each, in A B B A order. */
const addAbba = (pair: string, subject: [string, () => () => unknown], baseline: [string, () => () => unknown]) => {
  const names = { s: [`${subject[0]} (1)`, `${subject[0]} (2)`], b: [`${baseline[0]} (1)`, `${baseline[0]} (2)`] };
  bench.add(names.s[0]!, subject[1]());
  bench.add(names.b[0]!, baseline[1]());
  bench.add(names.b[1]!, baseline[1]());
  bench.add(names.s[1]!, subject[1]());
  pairs.push({ name: pair, subject: names.s, baseline: names.b });
};

function locked(sim: Simulator, n: number) {
  const lin = sim.vmm.pageAllocate(n, PG_SYS, 0, 0, 0, 0, null, 0);
  sim.vmm.linPageLock(lin >>> 12, n, PAGEMARKDIRTY);
  const ptes = new Uint32Array(n);
  sim.vmm.copyPageTable(lin >>> 12, n, ptes, 0);
  return { page: lin >>> 12, phys: [...ptes].map((e) => (e & ~0xfff) >>> 0) };
}

// — DMA port, measured on this thread straight over shared memory (a bare VMM, no simulator) —
const views = createShared({ memoryBytes: 16 << 20, maxDrivers: 1, maxDevices: 1, ringCapacity: 64, traceCapacity: 0 });
let seq = 0;
const core = new MemoryCore(views, { seed: 1, pager: 'off', stacks: 'none' }, () => ++seq);
clearHandouts(views, 0);
const bare = new Vmm(core, 0);
const lockedBare = (n: number, flags: number) => {
  const phys = new Uint32Array(1);
  const lin = bare.pageAllocate(n, PG_SYS, 0, 0, 0, 0x1000, phys, flags);
  bare.linPageLock(lin >>> 12, n, PAGEMARKDIRTY);
  const ptes = new Uint32Array(n);
  bare.copyPageTable(lin >>> 12, n, ptes, 0);
  return [...ptes].map((e) => (e & ~0xfff) >>> 0);
};
views.control[dcbIndex(views, 0, DCB.DRIVER)] = 0;
views.control[dcbIndex(views, 0, DCB.ADDRESS_BITS)] = 32;
const port = new CheckedDmaPort(views, 0);
const raw = views.ram;
const two = lockedBare(2, 0);
const p0 = two[0]! as PhysAddr;
const p1 = two[1]! as PhysAddr;
// 64 KiB needs physically contiguous frames: a PAGEUSEALIGN|PAGECONTIG|PAGEFIXED block.
const c0 = lockedBare(16, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED)[0]! as PhysAddr;
const sim = await createSimulator({ seed: 1, stacks: false });
const buf = locked(sim, 18);
add('dma-copy-4k', ['checked copy 4 KiB', () => port.copy(p0, p1, 4096)], ['raw copyWithin 4 KiB', () => raw.copyWithin(p1, p0, p0 + 4096)]);
add('dma-fill-64k', ['checked fill 64 KiB', () => port.fill(c0, 65536, 0x5a)], ['raw fill 64 KiB', () => raw.fill(0x5a, c0, c0 + 65536)]);

// — lock / unlock at two memory sizes —
const words = new Int32Array(new SharedArrayBuffer(64));
const lockPair = (s: Simulator) => {
  const lin = s.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
  s.vmm.linPageLock(lin >>> 12, 1, 0); // keep it resident with a base lock
  return () => {
    s.vmm.linPageLock(lin >>> 12, 1, 0);
    s.vmm.linPageUnLock(lin >>> 12, 1, 0);
  };
};
const rawPair = () => {
  Atomics.add(words, 0, 1);
  Atomics.sub(words, 0, 1);
};
add('lock-unlock', ['lock+unlock 16 MiB', lockPair(sim)], ['raw 2× Atomics.add', rawPair]);
const big = await createSimulator({ memory: 1 << 30, seed: 1, stacks: false });
addAbba('lock-unlock-1g', ['lock+unlock 1 GiB', () => lockPair(big)], ['lock+unlock 16 MiB', () => lockPair(sim)]);

const ptes = new Uint32Array(16);
const src16 = new Uint32Array(16).fill(0x1043);
add('copy-page-table', ['_CopyPageTable 16', () => sim.vmm.copyPageTable(buf.page + 2, 16, ptes, 0)], ['raw 16-word copy', () => ptes.set(src16)]);

// — pager —
const pagerSim = await createSimulator({ seed: 2, stacks: false, pager: 'off' });
const pl = pagerSim.vmm.pageAllocate(256, PG_SYS, 0, 0, 0, 0, null, 0);
pagerSim.cpu.writeBytes(pl, new Uint8Array(256 * 4096).fill(1));
const scratch = new Uint8Array(8192);
add('pager-move', ['pager step (move or page-out)', () => pagerSim.pager.step() || pagerSim.cpu.read8(pl + 4096 * ((Math.random() * 256) | 0))], ['raw 4 KiB copy', () => scratch.copyWithin(4096, 0, 4096)]);

// — the event trace: the same checked 4 KiB copy on two bare memories that differ only in tracing
//   (the traced one drained every 256 copies, as the simulator's timer would) —
const tracedPort = (() => {
  const tv = createShared({ memoryBytes: 16 << 20, maxDrivers: 1, maxDevices: 1, ringCapacity: 64, traceCapacity: 4096 });
  let tseq = 0;
  const tcore = new MemoryCore(tv, { seed: 1, pager: 'off', stacks: 'none', trace: new TraceWriter(tv, 0) }, () => ++tseq);
  clearHandouts(tv, 0);
  const tvmm = new Vmm(tcore, 0);
  const lin = tvmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, 0);
  tvmm.linPageLock(lin >>> 12, 2, PAGEMARKDIRTY);
  const ptes2 = new Uint32Array(2);
  tvmm.copyPageTable(lin >>> 12, 2, ptes2, 0);
  tv.control[dcbIndex(tv, 0, DCB.DRIVER)] = 0;
  tv.control[dcbIndex(tv, 0, DCB.ADDRESS_BITS)] = 32;
  const reader = new TraceReader(tv, 1024);
  const tport = new CheckedDmaPort(tv, 0);
  const [a, b] = [(ptes2[0]! & ~0xfff) >>> 0, (ptes2[1]! & ~0xfff) >>> 0] as PhysAddr[];
  let n = 0;
  return () => {
    tport.copy(a!, b!, 4096);
    if ((++n & 255) === 0) reader.drain();
  };
})();
addAbba('trace-on-vs-off-4k', ['checked copy 4 KiB, trace on', () => tracedPort], ['checked copy 4 KiB, trace off', () => () => port.copy(p0, p1, 4096)]);

// — stacks: a clean stress-style loop (4 copy engines, aggressive pager) with stacks where reports
//   print them (now) vs a stack on every VMM event, pager ones included (before) —
const stacksNow = await createSimulator({ seed: 4, pager: 'aggressive', memory: 64 << 20 });
const stacksBefore = await createSimulator({ seed: 4, pager: 'aggressive', memory: 64 << 20, stacks: 'all-events' });
const loopNow = await setUpLoop(stacksNow, 4);
const loopBefore = await setUpLoop(stacksBefore, 4);
addAbba('stress-4dev-stacks-now-vs-before', ['stress round, stacks where reported', () => () => round(stacksNow, loopNow)], ['stress round, stacks on every event', () => () => round(stacksBefore, loopBefore)]);

// — device round trip vs a raw postMessage echo —
const dev = await sim.attachDevice('copy-engine');
dev.writeReg(CE.REG.SRC, buf.phys[0]!);
dev.writeReg(CE.REG.DST, buf.phys[1]!);
dev.writeReg(CE.REG.LENGTH, 64);
const echo = new Worker('const { parentPort } = require("node:worker_threads"); parentPort.on("message", (m) => parentPort.postMessage(m));', { eval: true });
const echoOnce = () =>
  new Promise<void>((resolve) => {
    echo.once('message', () => resolve());
    echo.postMessage(1);
  });
add(
  'doorbell-irq',
  [
    'copy-engine doorbell → interrupt',
    async () => {
      dev.ackInterrupt();
      dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.IRQ_ENABLE);
      await dev.waitForInterrupt();
    },
  ],
  ['raw postMessage echo', echoOnce],
);

await bench.run();
await sim.close();
for (const s of [stacksNow, stacksBefore]) {
  const vs = s.violations();
  if (vs.length > 0) throw new Error(`the stress loop made ${vs.length} violations: ${s.render(vs[0]!)}`);
  await s.close();
}
await big.close();
await pagerSim.close();
await echo.terminate();

const p50 = (names: string[]) => {
  let sum = 0;
  for (const n of names) {
    const r = bench.getTask(n)!.result;
    if (r.state !== 'completed') return undefined;
    sum += r.latency.p50;
  }
  return sum / names.length;
};
const rows = pairs.map((p) => {
  const s = p50(p.subject);
  const b = p50(p.baseline);
  if (s === undefined || b === undefined) return { pair: p.name, error: 'a task did not complete' };
  const first = bench.getTask(p.subject[0]!)!.result;
  return {
    pair: p.name,
    subject: p.subject[0]!.replace(/ \(1\)$/, ''),
    subjectP50Us: +(s * 1000).toFixed(3),
    baseline: p.baseline[0]!.replace(/ \(1\)$/, ''),
    baselineP50Us: +(b * 1000).toFixed(3),
    ratio: +(s / b).toFixed(2),
    subjectRme: first.state === 'completed' ? +first.latency.rme.toFixed(2) : null,
    samples: first.state === 'completed' ? first.latency.samplesCount : 0,
  };
});
if (values.json) {
  console.log(JSON.stringify({ schemaVersion: 1, node: process.version, time, results: rows }, null, 2));
} else {
  console.table(rows);
}
