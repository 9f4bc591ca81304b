/**
 * `npm run bench`: dmasim's costs against the machine's own limits (tinybench 6, built JavaScript).
 * Every figure that has a baseline is a ratio against it, measured in the same run on the same
 * machine, so the numbers travel: "a checked 4 KiB copy moves N× the bytes per second of a raw one".
 *
 *   npm run bench                       # table on stdout
 *   npm run bench -- --json out.json    # and a JSON report (schema: bench/README in the README)
 *   npm run bench -- --smoke            # a few iterations of everything (CI: it must not rot)
 *   npm run bench -- --time 1000        # ms per task (default 500)
 *
 * Rows (name → what; the README has the targets and the latest table):
 *  dma-4k/64k/1m-vs-raw        checked DMA copy in a worker vs raw TypedArray.set there (throughput)
 *  irq-roundtrip-vs-pingpong   doorbell → no-op command → interrupt vs a raw Atomics ping-pong
 *                              between the same two threads with the same wait policy (latency)
 *  lock-copy-unlock            _LinPageLock(3) + _CopyPageTable(3) + _LinPageUnLock(3), stacks on
 *  lock-cost-1g-vs-16m         the same at 1 GiB vs 16 MiB of memory (latency, ABBA)
 *  pager-moves                 aggressive pager decisions (move or page-out), pages/s
 *  stress-pages-per-s(-Ndev)   verified pages/s of `dmasim stress`'s loop (src/stress/loop.ts via
 *                              bench/stress-loop.ts): its copy-engine driver, 64 KiB transfers,
 *                              1 / 2 / 4 copy engines; the best as the headline
 *  stress-scaling              best of 2 / 4 devices vs 1
 *  checks-on-vs-off            stress throughput, checks on vs off (SimulatorOptions.checks)
 *  trace-on-vs-off             stress throughput, event trace on vs off
 *  trace-on-vs-off-4k          the checked 4 KiB copy, trace on vs off (latency)
 *  provenance-on-vs-off-4k     the checked 4 KiB copy with both addresses' sources stated (the
 *                              provenance check runs on every frame) vs none stated (latency, ABBA)
 *  stress-4dev-stacks-now-vs-before  stress round, stacks where reports print them vs on every
 *                              VMM event (what dmasim did before), latency
 *  startup-16m, startup-1g     createSimulator to ready with one device attached, ms
 *  deterministic-steps-per-s   deterministic mode's scheduled steps per second (device grants and
 *                              driver steps) on a fixed scenario: two drivers, each copying 4 pages
 *                              through its own copy engine per round (bench/two-drivers.ts)
 *  deterministic-vs-free-running  the same round's time per transfer, deterministic vs free running
 *                              (latency, ABBA): what the seeded schedule costs (free running stays
 *                              the default)
 */

import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Bench } from 'tinybench';
import { CheckedDmaPort } from '../src/dma/port.js';
import { clearHandouts } from '../src/frametable.js';
import { createShared, dcbIndex, DCB } from '../src/layout.js';
import { TraceReader, TraceWriter } from '../src/trace.js';
import { MemoryCore } from '../src/vmm/core.js';
import { Vmm } from '../src/vmm/services.js';
import { createSimulator, PAGEMARKDIRTY, PG_SYS, copyEngine as CE, type CopyAttributes, type PhysAddr, type Simulator } from '../src/index.js';
import { round, setUpLoop } from './stress-loop.js';
import { setUpTwoDrivers, twoDriverRound } from './two-drivers.js';
import { summarize, type TaskSummary } from './summary.js';

const { values } = parseArgs({ options: { json: { type: 'string' }, time: { type: 'string', default: '500' }, smoke: { type: 'boolean', default: false } } });
const smoke = values.smoke;
const time = smoke ? 20 : Number(values.time);
if (!Number.isFinite(time) || time <= 0) {
  console.error('--time must be a positive number of milliseconds');
  process.exit(2);
}

export interface Row {
  name: string;
  unit: 'ops/s' | 'pages/s' | 'steps/s' | 'us' | 'ms' | 'x';
  median: number;
  p99?: number;
  rme?: number;
  samples: number;
  baseline?: { name: string; median: number };
  ratio?: number;
}
const rows: Row[] = [];
const r3 = (x: number) => +x.toPrecision(4);

/** Runs tasks in one Bench (shared warm-up and machine state) and returns their summaries by name. */
async function measure(tasks: [string, () => unknown][], opts: { time?: number } = {}): Promise<Record<string, TaskSummary>> {
  const bench = new Bench({ time: opts.time ?? time, warmupTime: smoke ? 5 : Math.min(100, time), iterations: smoke ? 2 : 16 });
  for (const [name, fn] of tasks) bench.add(name, fn);
  await bench.run();
  return Object.fromEntries(bench.tasks.map((t) => [t.name, summarize(t)]));
}

/** The mean of two summaries of one task (the two halves of an A-B-B-A pair). */
function mean2(x: TaskSummary, y: TaskSummary): TaskSummary {
  return { medianUs: (x.medianUs + y.medianUs) / 2, p99Us: Math.max(x.p99Us, y.p99Us), opsPerSecond: (x.opsPerSecond + y.opsPerSecond) / 2, rme: Math.max(x.rme, y.rme), samples: x.samples + y.samples };
}

/** Measures `a` and `b` in A-B-B-A order (cancels drift and JIT order); returns each one's mean. */
async function measureAbba(a: () => unknown, b: () => unknown): Promise<[TaskSummary, TaskSummary]> {
  const res = await measure([
    ['a (1)', a],
    ['b (1)', b],
    ['b (2)', b],
    ['a (2)', a],
  ]);
  return [mean2(res['a (1)']!, res['a (2)']!), mean2(res['b (1)']!, res['b (2)']!)];
}

/** A rate row: `per` units per operation (1 for ops/s). */
function rate(name: string, unit: 'ops/s' | 'pages/s', s: TaskSummary, per = 1, baseline?: { name: string; s: TaskSummary; per?: number }): Row {
  const median = s.opsPerSecond * per;
  const row: Row = { name, unit, median: r3(median), rme: r3(s.rme), samples: s.samples };
  if (baseline) {
    const b = baseline.s.opsPerSecond * (baseline.per ?? per);
    row.baseline = { name: baseline.name, median: r3(b) };
    row.ratio = r3(median / b);
  }
  return row;
}

/** A latency row (µs), ratio = ours / baseline's latency. */
function latency(name: string, s: TaskSummary, baseline?: { name: string; medianUs: number }): Row {
  const row: Row = { name, unit: 'us', median: r3(s.medianUs), p99: r3(s.p99Us), rme: r3(s.rme), samples: s.samples };
  if (baseline) {
    row.baseline = { name: baseline.name, median: r3(baseline.medianUs) };
    row.ratio = r3(s.medianUs / baseline.medianUs);
  }
  return row;
}

// ——— dma-*-vs-raw: in a worker ———
{
  const sizes = [4096, 65536, 1 << 20];
  const w = new Worker(new URL('./dma-worker.js', import.meta.url), { workerData: { time, sizes } });
  const res = await new Promise<Record<string, TaskSummary>>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await w.terminate();
  for (const [size, label] of [
    [4096, '4k'],
    [65536, '64k'],
    [1 << 20, '1m'],
  ] as const) {
    rows.push(rate(`dma-${label}-vs-raw`, 'ops/s', res[`checked ${size}`]!, 1, { name: `raw TypedArray.set ${label}`, s: res[`raw ${size}`]! }));
  }
}

// ——— irq-roundtrip-vs-pingpong ———
{
  const sim = await createSimulator({ seed: 1 });
  const dev = await sim.attachDevice('copy-engine');
  dev.writeReg(CE.REG.LENGTH, 0); // a no-op command: DONE and the interrupt at once
  // The raw baseline: the same wait policy as the device loop (spin 2000 loads, then Atomics.wait)
  // on a worker, and Atomics.waitAsync on the main thread.
  const words = new Int32Array(new SharedArrayBuffer(16));
  const pong = new Worker(
    `const { workerData } = require('node:worker_threads');
     const w = workerData; let seen = 0;
     for (;;) {
       let i = 0; while (i < 2000 && Atomics.load(w, 0) === seen) i++;
       if (i === 2000) Atomics.wait(w, 0, seen, 500);
       const now = Atomics.load(w, 0); if (now === seen) continue; seen = now;
       Atomics.store(w, 1, seen); Atomics.notify(w, 1);
     }`,
    { eval: true, workerData: words },
  );
  let n = 0;
  const ping = async () => {
    n++;
    Atomics.store(words, 0, n);
    Atomics.notify(words, 0);
    while (Atomics.load(words, 1) !== n) {
      const r = Atomics.waitAsync(words, 1, n - 1, 1000);
      if (r.async) await r.value;
    }
  };
  const res = await measure([
    [
      'irq',
      async () => {
        dev.ackInterrupt();
        dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.IRQ_ENABLE);
        await dev.waitForInterrupt();
      },
    ],
    ['pingpong', ping],
  ]);
  rows.push(latency('irq-roundtrip-vs-pingpong', res.irq!, { name: 'raw Atomics ping-pong', medianUs: res.pingpong!.medianUs }));
  await pong.terminate();
  await sim.close();
}

// ——— lock-copy-unlock, and its cost at 1 GiB vs 16 MiB ———
const lockCycle = (s: Simulator) => {
  const lin = s.vmm.pageAllocate(3, PG_SYS, 0, 0, 0, 0, null, 0);
  const page = lin >>> 12;
  const ptes = new Uint32Array(3);
  return () => {
    s.vmm.linPageLock(page, 3, 0);
    s.vmm.copyPageTable(page, 3, ptes, 0);
    s.vmm.linPageUnLock(page, 3, 0);
  };
};
{
  const small = await createSimulator({ seed: 1 });
  const big = await createSimulator({ seed: 1, memory: 1 << 30 });
  const [atBig, atSmall] = await measureAbba(lockCycle(big), lockCycle(small));
  rows.push(rate('lock-copy-unlock', 'ops/s', atSmall));
  rows.push(latency('lock-cost-1g-vs-16m', atBig, { name: 'lock-copy-unlock at 16 MiB', medianUs: atSmall.medianUs }));
  await small.close();
  await big.close();
}

// ——— pager-moves ———
{
  const sim = await createSimulator({ seed: 2, stacks: true, pager: 'off' });
  const pages = 256;
  const lin = sim.vmm.pageAllocate(pages, PG_SYS, 0, 0, 0, 0, null, 0);
  const fill = new Uint8Array(pages * 4096).fill(1);
  sim.cpu.writeBytes(lin, fill);
  // Each operation: touch every page back in (so all are candidates), then one pager pass.
  const touch = () => {
    for (let p = 0; p < pages; p++) sim.cpu.read8(lin + p * 4096);
  };
  const bench = new Bench({ time, warmupTime: smoke ? 5 : Math.min(100, time), iterations: smoke ? 2 : 16 });
  bench.add('pass', () => void sim.pager.pass(), { beforeEach: touch });
  await bench.run();
  rows.push(rate('pager-moves', 'pages/s', summarize(bench.tasks[0]!), pages));
  await sim.close();
}

// ——— the stress loop: pages/s at 1 / 2 / 4 devices, checks and trace on vs off ———
async function stressRate(devices: number, opts: { checks?: boolean; trace?: boolean; stacks?: boolean | 'all-events' } = {}) {
  const sim = await createSimulator({ seed: 4, pager: 'aggressive', memory: 64 << 20, ...opts });
  const loop = await setUpLoop(sim, devices);
  // An async function, so tinybench awaits each round (a plain function returning a promise would
  // be timed as synchronous, and rounds would overlap).
  return {
    sim,
    run: async () => {
      await round(sim, loop);
    },
    pagesPerRound: devices * 16,
  };
}
async function closeClean(...sims: Simulator[]): Promise<void> {
  for (const s of sims) {
    const vs = s.violations();
    if (vs.length > 0) throw new Error(`the stress loop made ${vs.length} violations: ${s.render(vs[0]!)}`);
    await s.close();
  }
}
{
  const byDevices: Record<number, Row> = {};
  for (const d of [1, 2, 4]) {
    const s = await stressRate(d);
    const res = await measure([['round', s.run]]);
    byDevices[d] = rate(`stress-pages-per-s-${d}dev`, 'pages/s', res.round!, s.pagesPerRound);
    rows.push(byDevices[d]);
    await closeClean(s.sim);
  }
  const best = [1, 2, 4].map((d) => byDevices[d]!).reduce((a, b) => (b.median > a.median ? b : a));
  rows.push({ ...best, name: 'stress-pages-per-s' });
  const multi = Math.max(byDevices[2]!.median, byDevices[4]!.median);
  rows.push({ name: 'stress-scaling', unit: 'x', median: r3(multi / byDevices[1]!.median), samples: byDevices[1]!.samples, baseline: { name: 'stress-pages-per-s-1dev', median: byDevices[1]!.median }, ratio: r3(multi / byDevices[1]!.median) });

  const on = await stressRate(2);
  const off = await stressRate(2, { checks: false });
  const [checksOn, checksOff] = await measureAbba(on.run, off.run);
  rows.push(rate('checks-on-vs-off', 'pages/s', checksOn, on.pagesPerRound, { name: 'stress loop, checks off', s: checksOff }));
  await closeClean(on.sim, off.sim);

  const tOn = await stressRate(2);
  const tOff = await stressRate(2, { trace: false });
  const [traceOn, traceOff] = await measureAbba(tOn.run, tOff.run);
  rows.push(rate('trace-on-vs-off', 'pages/s', traceOn, tOn.pagesPerRound, { name: 'stress loop, trace off', s: traceOff }));
  await closeClean(tOn.sim, tOff.sim);

  const now = await stressRate(4);
  const before = await stressRate(4, { stacks: 'all-events' });
  const sres = await measure([
    ['now', now.run],
    ['before', before.run],
  ]);
  rows.push(latency('stress-4dev-stacks-now-vs-before', sres.now!, { name: 'stress round, a stack on every VMM event', medianUs: sres.before!.medianUs }));
  await closeClean(now.sim, before.sim);
}

// ——— trace-on-vs-off-4k: the checked 4 KiB copy on two bare memories that differ only in tracing ———
{
  const port4k = (traceCapacity: number, attrs?: CopyAttributes) => {
    const v = createShared({ memoryBytes: 16 << 20, maxDrivers: 1, maxDevices: 1, ringCapacity: 64, traceCapacity });
    let seq = 0;
    const core = new MemoryCore(v, { seed: 1, pager: 'off', stacks: 'none', trace: new TraceWriter(v, 0) }, () => ++seq);
    clearHandouts(v, 0);
    const vmm = new Vmm(core, 0);
    const lin = vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, 0);
    vmm.linPageLock(lin >>> 12, 2, PAGEMARKDIRTY);
    const ptes = new Uint32Array(2);
    vmm.copyPageTable(lin >>> 12, 2, ptes, 0);
    v.control[dcbIndex(v, 0, DCB.ADDRESS_BITS)] = 32;
    const reader = traceCapacity > 0 ? new TraceReader(v, 1024) : undefined;
    const port = new CheckedDmaPort(v, 0);
    const a = (ptes[0]! & ~0xfff) as PhysAddr;
    const b = (ptes[1]! & ~0xfff) as PhysAddr;
    let n = 0;
    // Drained every 256 copies, as the simulator's timer would.
    return () => {
      port.copy(a, b, 4096, attrs);
      if (reader && (++n & 255) === 0) reader.drain();
    };
  };
  const [on4k, off4k] = await measureAbba(port4k(4096), port4k(0));
  rows.push(latency('trace-on-vs-off-4k', on4k, { name: 'checked copy 4 KiB, trace off', medianUs: off4k.medianUs }));
  // Sources later than any arrival: the check runs and passes, as for a correct driver.
  const [stated, unstated] = await measureAbba(port4k(4096, { srcFrom: 2 ** 52, dstFrom: 2 ** 52 }), port4k(4096));
  rows.push(latency('provenance-on-vs-off-4k', stated, { name: 'checked copy 4 KiB, no source stated', medianUs: unstated.medianUs }));
}

// ——— deterministic mode: scheduled steps per second, and its cost against free running ———
{
  const det = await createSimulator({ seed: 6, pager: 'aggressive', deterministic: true });
  const free = await createSimulator({ seed: 6, pager: 'aggressive' });
  const detRig = await setUpTwoDrivers(det);
  const freeRig = await setUpTwoDrivers(free);
  // Steps are counted over every call (warm-up included), so steps per round is an average of the
  // rounds the seeded schedule actually made.
  let detRounds = 0;
  const detRound = async () => {
    await twoDriverRound(det, detRig);
    detRounds++;
  };
  const freeRound = async () => {
    await twoDriverRound(free, freeRig);
  };
  const [d, f] = await measureAbba(detRound, freeRound);
  const stepsPerRound = det.schedule()!.steps / detRounds;
  rows.push({ name: 'deterministic-steps-per-s', unit: 'steps/s', median: r3(d.opsPerSecond * stepsPerRound), rme: r3(d.rme), samples: d.samples });
  // Two transfers a round in both modes: the ratio of round times is the ratio per transfer.
  rows.push(latency('deterministic-vs-free-running', { ...d, medianUs: d.medianUs / 2, p99Us: d.p99Us / 2 }, { name: 'the same transfer free running', medianUs: f.medianUs / 2 }));
  await closeClean(det, free);
}

// ——— startup ———
for (const [name, memory] of [
  ['startup-16m', 16 << 20],
  ['startup-1g', 1 << 30],
] as const) {
  const samples: number[] = [];
  for (let i = 0; i < (smoke ? 1 : 5); i++) {
    const t = performance.now();
    const sim = await createSimulator({ memory });
    await sim.attachDevice('copy-engine');
    samples.push(performance.now() - t);
    await sim.close();
  }
  samples.sort((a, b) => a - b);
  rows.push({ name, unit: 'ms', median: r3(samples[samples.length >> 1]!), p99: r3(samples[samples.length - 1]!), samples: samples.length });
}

const machine = { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version };
console.table(rows.map((r) => ({ name: r.name, unit: r.unit, median: r.median, p99: r.p99 ?? '', rme: r.rme ?? '', samples: r.samples, baseline: r.baseline ? `${r.baseline.name} ${r.baseline.median}` : '', ratio: r.ratio ?? '' })));
console.log(`machine: ${machine.cpus} × ${machine.model}, Node ${machine.node}${smoke ? ' (smoke run: numbers mean nothing)' : ''}`);
if (values.json) writeFileSync(values.json, JSON.stringify({ schemaVersion: 1, machine, smoke, timeMs: time, results: rows }, null, 2) + '\n');
