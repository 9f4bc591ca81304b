/**
 * The physical addresses VDMAD's services return — Lock_DMA_Region's EDX, Scatter_Lock's table
 * entries — are hand-outs of the calling driver context, recorded as _CopyPageTable records them:
 * a device bound to that driver may DMA to them while the lock lasts, another driver's device may
 * not, and once the region is unlocked a device that still uses them is caught with the stacks of
 * the driver's VDMAD calls. Lock_DMA_Region without `out` tells the driver nothing, so it hands
 * nothing out (as _PageAllocate without PhysAddr).
 *
 * A device may also write into a region VDMAD locked while its pages are clean: VDMAD's unlock
 * dirties them before they can be paged out (its locks carry the frame's MARKDIRTY mark), so no
 * 'dma-not-marked-dirty' is reported and the data survives the aggressive pager.
 */

import { describe, expect, it } from 'vitest';
import { DMA_SL_Get_PgTable, SCATTER_LOCK, SYS_VM_HANDLE, testProbe as TP, type Simulator } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { bytes, ofCode, probe, probeDone, probeRefused, stackNames } from './dma-helpers.js';
import { eddsPage, lockRegion, readEdds, regions, scatterLock, swappable, writeEdds } from './vdmad-helpers.js';

const FILE = 'vdmad-addresses-are-handouts.test.ts';
const sims = simulatorsClosedAfterEach();
let sim: Simulator;

async function boot(): Promise<Simulator> {
  sim = await sims.make({ memory: 1 << 20, pager: 'off', seed: 5 });
  return sim;
}

describe("VDMAD's physical addresses are the driver's hand-outs", () => {
  it("Lock_DMA_Region's EDX: the driver's device reads the whole region without a violation", async () => {
    await boot();
    const lin = swappable(sim, 3, [0, 1, 2]);
    const data = bytes(1, 3 * 4096 - 0x40);
    sim.cpu.writeBytes(lin + 0x40, data);
    const r = lockRegion(sim, lin + 0x40, data.length, 0);
    expect(r.result).toBe(0);
    const dev = await sim.attachDevice('test-probe');
    expect(await probe(dev, TP.OP.READ, r.edx, { len: data.length })).toEqual(probeDone(data.length));
    expect(sim.vdmad.unlockDMARegionNoDirty(lin + 0x40, data.length)).toBe(0);
    expect(sim.violations()).toEqual([]);
  });

  it('without out nothing is handed out, and another driver never got the address', async () => {
    await boot();
    const lin = swappable(sim, 1, [0]);
    expect(sim.vdmad.lockDMARegion(lin, 4096, 0)).toBe(0);
    const phys = lockRegion(sim.createDriver('probe-only'), lin, 4096, 0); // same page, locked again by another driver
    expect(phys.result).toBe(0);
    const dev = await sim.attachDevice('test-probe');
    expect(await probe(dev, TP.OP.READ, phys.edx, { len: 16 })).toEqual(probeRefused('dma-not-handed-out'));
  });

  it('after Unlock_DMA_Region a device still using EDX is caught, with the stacks of the VDMAD calls', async () => {
    await boot();
    const lin = swappable(sim, 1, [0]);
    const r = lockRegion(sim, lin, 4096, 1);
    expect(r.result).toBe(0);
    const dev = await sim.attachDevice('test-probe');
    expect(await probe(dev, TP.OP.READ, r.edx, { len: 64 })).toEqual(probeDone(64));
    expect(sim.vdmad.unlockDMARegion(lin, 4096)).toBe(0);
    expect(await probe(dev, TP.OP.READ, r.edx, { len: 64 })).toEqual(probeRefused('dma-unlocked'));
    const [v] = ofCode(sim.violations(), 'dma-unlocked');
    expect(v).toBeDefined();
    // The first frame of each is the driver code that made the call (dmasim's own frames are dropped).
    expect(v!.stacks.handout?.[0]).toContain('vdmad-helpers.ts');
    expect(stackNames(v!.stacks.handout, FILE)).toBe(true);
    expect(v!.stacks.lock?.[0]).toContain('vdmad-helpers.ts');
    expect(v!.stacks.unlock?.[0]).toContain(FILE);
  });

  it("Scatter_Lock's region list: the device reads every region", async () => {
    await boot();
    const lin = swappable(sim, 3, [0, 2, 1]); // pages 1 and 2 swapped: three regions
    const edds = eddsPage(sim);
    writeEdds(sim, edds, { size: 3 * 4096 - 0x80, linear: lin + 0x80, avail: 4 });
    expect(scatterLock(sim, SYS_VM_HANDLE, 0, edds).result).toBe(SCATTER_LOCK.ALL);
    const e = readEdds(sim, edds, 8);
    const dev = await sim.attachDevice('test-probe');
    for (const { phys, length } of regions(e.table, e.used)) expect(await probe(dev, TP.OP.READ, phys, { len: length })).toEqual(probeDone(length));
    expect(sim.vdmad.scatterUnlock(SYS_VM_HANDLE, 0, edds)).toBe(0);
    expect(sim.violations()).toEqual([]);
  });

  it("Scatter_Lock's PTE list: the device reads every page", async () => {
    await boot();
    const lin = swappable(sim, 2, [1]);
    const edds = eddsPage(sim);
    writeEdds(sim, edds, { size: 8192, linear: lin, avail: 2 });
    expect(scatterLock(sim, SYS_VM_HANDLE, DMA_SL_Get_PgTable, edds).result).toBe(SCATTER_LOCK.ALL);
    const e = readEdds(sim, edds, 2);
    const dev = await sim.attachDevice('test-probe');
    for (const entry of e.table) expect(await probe(dev, TP.OP.READ, (entry & ~0xfff) >>> 0, { len: 4096 })).toEqual(probeDone(4096));
    expect(sim.vdmad.scatterUnlock(SYS_VM_HANDLE, DMA_SL_Get_PgTable, edds)).toBe(0);
    expect(sim.violations()).toEqual([]);
  });
});

describe('device writes into a VDMAD-locked region', () => {
  it('are not reported as not marked dirty, and survive Unlock_DMA_Region under the aggressive pager', async () => {
    await boot();
    const lin = swappable(sim, 2, [0, 1]); // clean: only read by the CPU
    const r = lockRegion(sim, lin, 8192, 0);
    expect(r.result).toBe(0);
    // Locked now: from here on the pager would move or page out every page unlocked to 0.
    sim.pager.policy = 'aggressive';
    const dev = await sim.attachDevice('test-probe');
    expect(await probe(dev, TP.OP.FILL, r.edx, { len: 8192, value: 0x5a })).toEqual(probeDone(8192));
    expect(sim.vdmad.unlockDMARegion(lin, 8192)).toBe(0);
    // The aggressive pager moved or paged out both pages at the unlock; the device's bytes are kept.
    sim.pager.pass();
    expect(sim.cpu.readBytes(lin, 8192)).toEqual(new Uint8Array(8192).fill(0x5a));
    expect(sim.violations()).toEqual([]);
  });
});
