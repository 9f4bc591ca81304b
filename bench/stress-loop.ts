/**
 * The stress loop the benchmark's stress rows measure: `dmasim stress`'s own loop
 * (src/stress/loop.ts) with its copy-engine kind driver, every transfer 64 KiB page-aligned (16
 * pages: lock both buffers, PAGEMARKDIRTY on the destination, _CopyPageTable, payload written and
 * the destination poisoned, one scatter-gather descriptor per page pair, doorbell, interrupt, every
 * byte compared, unlock), with the loop's CPU touches and pager passes between transfers and its
 * turn token between the driver tasks. Correct drivers: any violation or lost byte is a bug.
 */

import type { Simulator } from '../src/index.js';
import { StressLoop } from '../src/stress/loop.js';

const SIZE = 64 << 10;

/** One driver context and copy engine per device (the stress runner's set-up). */
export function setUpLoop(sim: Simulator, devices: number): Promise<StressLoop> {
  return StressLoop.create(sim, { devices, kinds: ['copy-engine'], inject: [], seed: sim.seed, fixedSize: SIZE });
}

/** One round: `devices` transfers (one per device in steady state), concurrently. Returns pages verified. */
export async function round(sim: Simulator, loop: StressLoop): Promise<number> {
  const before = loop.bytesVerified;
  await loop.run({ transfers: loop.devices.length });
  if (loop.bytesLost > 0 || loop.unexpectedViolations > 0 || loop.failed) {
    const v = sim.violations()[0];
    throw new Error(`the stress loop lost ${loop.bytesLost} bytes, made ${loop.unexpectedViolations} violations${v ? `: ${sim.render(v)}` : ''}${loop.failed ? ' and a task failed' : ''}`);
  }
  return (loop.bytesVerified - before) / 4096;
}
