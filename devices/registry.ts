/**
 * The device catalog: each built-in kind's descriptor (register count, which register writes ring
 * the doorbell, register rules) and how a worker loads its model. Descriptors are data and carry no
 * device code; the model module is imported only on the device's own worker thread. Custom devices
 * are not listed here: they are attached by module path or URL (src/host/host.ts), and their worker
 * sends their descriptor to the host.
 */

import type { DeviceDescriptor, DeviceFactory } from '../src/device-api.js';
import * as copyEngine from './copy-engine/regs.js';
import * as testProbe from './test-probe/regs.js';
import * as isaAudio from './isa-audio/regs.js';
import * as ideBusmaster from './ide-busmaster/regs.js';
import * as nic from './nic/regs.js';

export interface CatalogEntry {
  readonly descriptor: DeviceDescriptor;
  load(): Promise<DeviceFactory>;
}

export const catalog: Readonly<Record<string, CatalogEntry>> = {
  'copy-engine': { descriptor: copyEngine.DEVICE, load: async () => (await import('./copy-engine/index.js')).createCopyEngine },
  'ide-busmaster': { descriptor: ideBusmaster.DEVICE, load: async () => (await import('./ide-busmaster/index.js')).createIdeBusmaster },
  'isa-audio': { descriptor: isaAudio.DEVICE, load: async () => (await import('./isa-audio/index.js')).createIsaAudio },
  nic: { descriptor: nic.DEVICE, load: async () => (await import('./nic/index.js')).createNic },
  'test-probe': { descriptor: testProbe.DEVICE, load: async () => (await import('./test-probe/index.js')).createTestProbe },
};
