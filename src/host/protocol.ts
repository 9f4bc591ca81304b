/**
 * What crosses between the host and a device worker: a closed set of plain-data shapes. Types only.
 */

import type { FaultInfo } from '../dma/runtime.js';
import type { DeviceDescriptor } from '../device-api.js';

/** workerData of a device worker. */
export interface DeviceWorkerData {
  readonly ram: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  readonly id: number;
  readonly kind: string;
  /** A custom device's module URL (the worker imports it; `kind` is then provisional). */
  readonly module?: string;
  readonly options: Readonly<Record<string, unknown>>;
}

/** Messages a device worker posts outside comlink. */
export type WorkerMessage = { readonly type: 'dmasim-ready'; readonly descriptor: DeviceDescriptor } | { readonly type: 'dmasim-fault'; readonly fault: FaultInfo };

/** The control plane a device worker exposes (comlink). */
export interface DeviceControl {
  stats(): Record<string, number>;
  reset(): void;
  shutdown(): void;
}
