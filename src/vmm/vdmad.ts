/**
 * VDMAD's DMA-region services (spec §5.5) on a driver context: lock a region for a system (8237) DMA
 * transfer, unlock it, and scatter-lock a region for bus-master DMA. Placeholder: filled in by the
 * VDMAD change.
 */

import type { MemoryCore } from './core.js';
import type { Vmm } from './services.js';

export interface VdmadServices {}

export class Vdmad implements VdmadServices {
  constructor(
    protected readonly core: MemoryCore,
    protected readonly vmm: Vmm,
    /** Driver context index. */
    protected readonly ctx: number,
  ) {}
}
