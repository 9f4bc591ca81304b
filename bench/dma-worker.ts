/**
 * The DMA port measured where devices use it: in a worker thread, straight over shared memory.
 * For each size, a checked copy through the port against a raw `TypedArray.set` of the same bytes
 * on the same buffer in the same worker, in one tinybench run. Posts the raw task results.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { Bench } from 'tinybench';
import { PAGECONTIG, PAGEFIXED, PAGEMARKDIRTY, PAGEUSEALIGN, PG_SYS, type PhysAddr } from '../src/index.js';
import { CheckedDmaPort } from '../src/dma/port.js';
import { clearHandouts } from '../src/frametable.js';
import { createShared, dcbIndex, DCB } from '../src/layout.js';
import { MemoryCore } from '../src/vmm/core.js';
import { Vmm } from '../src/vmm/services.js';
import { summarize, type TaskSummary } from './summary.js';

const { time, sizes } = workerData as { time: number; sizes: number[] };
const views = createShared({ memoryBytes: 16 << 20, maxDrivers: 1, maxDevices: 1, ringCapacity: 64, traceCapacity: 0 });
let seq = 0;
const core = new MemoryCore(views, { seed: 1, pager: 'off', stacks: 'none' }, () => ++seq);
clearHandouts(views, 0);
const vmm = new Vmm(core, 0);
/** A fixed, physically contiguous region, locked and handed out: its physical address. */
const region = (bytes: number): PhysAddr => {
  const phys = new Uint32Array(1);
  const lin = vmm.pageAllocate(bytes / 4096, PG_SYS, 0, 0, 0, 0x1000, phys, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED);
  vmm.linPageLock(lin >>> 12, bytes / 4096, PAGEMARKDIRTY);
  return phys[0]! as PhysAddr;
};
views.control[dcbIndex(views, 0, DCB.ADDRESS_BITS)] = 32;
const port = new CheckedDmaPort(views, 0);
const ram = views.ram;
const bench = new Bench({ time, warmupTime: Math.min(100, time) });
for (const size of sizes) {
  const src = region(size);
  const dst = region(size);
  bench.add(`checked ${size}`, () => port.copy(src, dst, size));
  bench.add(`raw ${size}`, () => ram.set(ram.subarray(src, src + size), dst));
}
await bench.run();
const out: Record<string, TaskSummary> = {};
for (const t of bench.tasks) out[t.name] = summarize(t);
parentPort!.postMessage(out);
