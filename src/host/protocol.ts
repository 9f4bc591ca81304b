/**
 * What crosses between the host and a device worker: a closed set of plain-data shapes. Types only.
 */

import type { FaultInfo } from '../dma/runtime.js';

/** workerData of a device worker. */
export interface DeviceWorkerData {
  readonly ram: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  readonly id: number;
  readonly kind: string;
  readonly options: Readonly<Record<string, unknown>>;
}

/** Messages a device worker posts outside comlink. */
export type WorkerMessage = { readonly type: 'dmasim-ready' } | { readonly type: 'dmasim-fault'; readonly fault: FaultInfo };

/** The control plane a device worker exposes (comlink). */
export interface DeviceControl {
  stats(): Record<string, number>;
  reset(): void;
  shutdown(): void;
}
