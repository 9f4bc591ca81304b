/**
 * Thread entry for one device instance: attach shared memory, load the device (a built-in kind, or
 * a custom module), build its context, expose its control plane, run its doorbell loop. Nothing
 * else lives here.
 */

import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { catalog } from '../devices/registry.js';
import type { DeviceDescriptor, DeviceFactory, DeviceModule } from '../src/device-api.js';
import { CheckedDmaPort } from '../src/dma/port.js';
import { DeviceLoop, SharedInterrupt, SharedRegisters, SharedWake } from '../src/dma/runtime.js';
import { IsaDmaChannels } from '../src/isa/channel.js';
import { nodeEndpoint } from '../src/host/endpoint.js';
import { attachShared } from '../src/layout.js';
import { SharedLinkPort } from '../src/link.js';
import { SchedGate } from '../src/sched/gate.js';
import { TraceWriter } from '../src/trace.js';
import type { DeviceWorkerData, DeviceControl, WorkerMessage } from '../src/host/protocol.js';

const data = workerData as DeviceWorkerData;
const port = parentPort!;
const v = attachShared(data.ram, data.control);

/** A custom module: TypeScript through tsx's loader when it is installed, else JavaScript. */
async function loadModule(url: string): Promise<{ descriptor: DeviceDescriptor; factory: DeviceFactory }> {
  if (/\.[cm]?ts$/.test(new URL(url).pathname)) {
    try {
      const tsx = (await import('tsx/esm/api')) as { register(): unknown };
      tsx.register();
    } catch {
      throw new Error(`${url} is TypeScript: install tsx beside dmasim (npm i -D tsx) to load it, or attach its compiled .js`);
    }
  }
  const m = (await import(url)) as Partial<DeviceModule>;
  const factory = m.createDevice ?? m.default;
  if (typeof factory !== 'function') throw new Error(`${url} exports no device factory (createDevice or default)`);
  if (typeof m.descriptor !== 'object' || m.descriptor === null) throw new Error(`${url} exports no descriptor`);
  return { descriptor: m.descriptor, factory };
}

let descriptor: DeviceDescriptor;
let factory: DeviceFactory;
if (data.module !== undefined) {
  ({ descriptor, factory } = await loadModule(data.module));
} else {
  const entry = catalog[data.kind];
  if (!entry) throw new Error(`unknown device kind "${data.kind}"`);
  descriptor = entry.descriptor;
  factory = await entry.load();
}

// One writer for this device's trace ring, shared by its port and its interrupt line.
const trace = new TraceWriter(v, 1 + data.id);
// Deterministic mode's grant points (off when free running), shared by everything that yields.
const gate = new SchedGate(v, data.id);
const dma = new CheckedDmaPort(v, data.id, trace, gate);
const model = factory({
  dma,
  // The host checks a custom descriptor's register count (1…32) before any register is touched.
  regs: new SharedRegisters(v, data.id, Math.min(Math.max(1, descriptor.registers | 0), 32)),
  irq: new SharedInterrupt(v, data.id, trace, gate),
  isaDma: new IsaDmaChannels(v, dma),
  wake: new SharedWake(v, data.id, gate),
  options: data.options,
  openLink: (endpoint) => SharedLinkPort.open(v, endpoint),
});
const post = (m: WorkerMessage) => port.postMessage(m);
const loop = new DeviceLoop(v, data.id, model, (command) => dma.setCommand(command), (fault) => post({ type: 'dmasim-fault', fault }), gate);

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
// The descriptor as plain data (a custom module's may be a class instance or carry functions).
post({ type: 'dmasim-ready', descriptor: JSON.parse(JSON.stringify(descriptor)) as DeviceDescriptor });
await loop.run();
