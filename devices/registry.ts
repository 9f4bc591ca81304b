/**
 * The device catalog: what the host needs to know about each kind (register count, which register
 * writes ring the doorbell) and how a worker loads its model. Descriptors carry no device code; the
 * model module is imported only on the device's own worker thread.
 */

import type { DeviceDescriptor, DeviceFactory } from '../src/device-api.js';
import * as copyEngine from './copy-engine/regs.js';
import * as testProbe from './test-probe/regs.js';
import * as isaAudio from './isa-audio/regs.js';

export interface CatalogEntry extends DeviceDescriptor {
  load(): Promise<DeviceFactory>;
}

export const catalog: Readonly<Record<string, CatalogEntry>> = {
  'copy-engine': {
    kind: 'copy-engine',
    registers: copyEngine.REGISTER_COUNT,
    rings: copyEngine.rings,
    load: async () => (await import('./copy-engine/index.js')).createCopyEngine,
  },
  'isa-audio': {
    kind: 'isa-audio',
    registers: isaAudio.REGISTER_COUNT,
    rings: isaAudio.rings,
    load: async () => (await import('./isa-audio/index.js')).createIsaAudio,
  },
  'test-probe': {
    kind: 'test-probe',
    registers: testProbe.REGISTER_COUNT,
    rings: testProbe.rings,
    load: async () => (await import('./test-probe/index.js')).createTestProbe,
  },
};
