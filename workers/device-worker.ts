/**
 * Thread entry for one device instance: attach shared memory, build the device, expose its control
 * plane, run its doorbell loop. Nothing else lives here.
 */

import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { catalog } from '../devices/registry.js';
import { CheckedDmaPort } from '../src/dma/port.js';
import { DeviceLoop, SharedInterrupt, SharedRegisters, SharedWake } from '../src/dma/runtime.js';
import { IsaDmaChannels } from '../src/isa/channel.js';
import { nodeEndpoint } from '../src/host/endpoint.js';
import { attachShared } from '../src/layout.js';
import { TraceWriter } from '../src/trace.js';
import type { DeviceWorkerData, DeviceControl, WorkerMessage } from '../src/host/protocol.js';

const data = workerData as DeviceWorkerData;
const port = parentPort!;
const v = attachShared(data.ram, data.control);
const entry = catalog[data.kind];
if (!entry) throw new Error(`unknown device kind "${data.kind}"`);
const factory = await entry.load();
// One writer for this device's trace ring, shared by its port and its interrupt line.
const trace = new TraceWriter(v, 1 + data.id);
const dma = new CheckedDmaPort(v, data.id, trace);
const model = factory({
  dma,
  regs: new SharedRegisters(v, data.id, entry.registers),
  irq: new SharedInterrupt(v, data.id, trace),
  isaDma: new IsaDmaChannels(v, dma),
  wake: new SharedWake(v, data.id),
  options: data.options,
});
const post = (m: WorkerMessage) => port.postMessage(m);
const loop = new DeviceLoop(v, data.id, model, (command) => dma.setCommand(command), (fault) => post({ type: 'dmasim-fault', fault }));

const control: DeviceControl = {
  stats() {
    loop.rpcArrived();
    return { ...dma.stats, ...model.stats() };
  },
  reset() {
    loop.rpcArrived();
    model.reset();
  },
  shutdown() {
    loop.rpcArrived();
    loop.stop();
  },
};
Comlink.expose(control, nodeEndpoint(port));
post({ type: 'dmasim-ready' });
await loop.run();
