/**
 * VDMAD_Scatter_Lock locking nothing (spec §5.5: carry set — SCATTER_LOCK.NONE): a VM handle that
 * is not the System VM's, flags it does not know, an EDDS that is not all in committed memory, a
 * selector (not modelled), size 0, a region wrapping past 4 GiB, a first page that cannot be locked
 * or no frame for it. Nothing changes — the EDDS included: the DDK says DDS_size = 0 then, but a
 * failure here leaves every byte as it was (the caller tests carry first, as it must).
 */

import { describe, expect, it } from 'vitest';
import { DMA_SL_Allow_NPs, DMA_SL_Dont_Dirty, DMA_SL_Get_PgTable, PAGEFIXED, PG_SYS, SCATTER_LOCK, SYS_VM_HANDLE, type Simulator, type VdmadErrorCode } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { eddsPage, readEdds, scatterLock, swappable, writeEdds, type EddsInput } from './vdmad-helpers.js';

const sims = simulatorsClosedAfterEach();
let sim: Simulator;
let edds: number;
let buf: number;

async function boot(): Promise<void> {
  sim = await sims.make({ memory: 1 << 20, pager: 'off', seed: 17 });
  buf = swappable(sim, 2, [0, 1]);
  edds = eddsPage(sim);
}

/** Scatter_Lock refused with `code`: NONE, EDX/ESI as given, and the fingerprint unchanged. */
function expectNothingLocked(vm: number, flags: number, at: number, code: VdmadErrorCode, regs: { edx: number; esi: number } = { edx: 0, esi: 0 }): void {
  const before = sim.fingerprint();
  expect(scatterLock(sim, vm, flags, at)).toEqual({ result: SCATTER_LOCK.NONE, ...regs });
  expect(sim.vdmad.lastError).toMatchObject({ service: 'VDMAD_Scatter_Lock', code });
  expect(sim.fingerprint()).toBe(before);
}

const good = (): EddsInput => ({ size: 8192, linear: buf, avail: 2 });

describe('VDMAD_Scatter_Lock: nothing locked, nothing changed', () => {
  it('a VM handle that is not the System VM', async () => {
    await boot();
    writeEdds(sim, edds, good());
    expectNothingLocked(0, 0, edds, 'invalid-vm');
    expectNothingLocked(SYS_VM_HANDLE + 1, 0, edds, 'invalid-vm');
  });

  it('flags: reserved bits, DMA_SL_Dont_Dirty (unlock only), DMA_SL_Allow_NPs without DMA_SL_Get_PgTable', async () => {
    await boot();
    writeEdds(sim, edds, good());
    expectNothingLocked(SYS_VM_HANDLE, 0x08, edds, 'reserved-flags');
    expectNothingLocked(SYS_VM_HANDLE, 0x100, edds, 'reserved-flags');
    expectNothingLocked(SYS_VM_HANDLE, DMA_SL_Dont_Dirty, edds, 'reserved-flags');
    expectNothingLocked(SYS_VM_HANDLE, DMA_SL_Allow_NPs, edds, 'invalid-flags');
  });

  it('an EDDS header not in committed memory', async () => {
    await boot();
    expectNothingLocked(SYS_VM_HANDLE, 0, 0xd0000000, 'invalid-edds');
    expectNothingLocked(SYS_VM_HANDLE, 0, 0xfffffff8, 'invalid-edds');
    // Straddling the end of a block: the header's last bytes are in the page after it.
    expectNothingLocked(SYS_VM_HANDLE, 0, edds + 4096 - 8, 'invalid-edds');
  });

  it('a DDS_avail the table does not have: an overstated table is a bad EDDS', async () => {
    await boot();
    writeEdds(sim, edds + 4096 - 16 - 8, good()); // room for one region entry before the page ends
    expectNothingLocked(SYS_VM_HANDLE, 0, edds + 4096 - 16 - 8, 'invalid-edds');
    writeEdds(sim, edds + 4096 - 16 - 8, { ...good(), avail: 1 });
    expect(scatterLock(sim, SYS_VM_HANDLE, 0, edds + 4096 - 16 - 8).result).toBe(SCATTER_LOCK.ALL);
  });

  it('a selector in DDS_seg (selectors are not modelled)', async () => {
    await boot();
    writeEdds(sim, edds, { ...good(), seg: 0x28 });
    expectNothingLocked(SYS_VM_HANDLE, 0, edds, 'invalid-selector');
  });

  it('size 0 and a region wrapping past 4 GiB', async () => {
    await boot();
    writeEdds(sim, edds, { ...good(), size: 0 });
    expectNothingLocked(SYS_VM_HANDLE, 0, edds, 'zero-size');
    writeEdds(sim, edds, { ...good(), linear: 0xfffff000, size: 0x1001 });
    expectNothingLocked(SYS_VM_HANDLE, DMA_SL_Get_PgTable, edds, 'invalid-range');
  });

  it('a first page that is not committed; EDX and ESI still describe the region', async () => {
    await boot();
    writeEdds(sim, edds, { size: 100, linear: 0xd0000010, avail: 2 });
    expectNothingLocked(SYS_VM_HANDLE, 0, edds, 'not-committed', { edx: 1, esi: 0x10 });
    // A hole is only a committed page that is not present: free memory is no hole.
    expectNothingLocked(SYS_VM_HANDLE, DMA_SL_Get_PgTable | DMA_SL_Allow_NPs, edds, 'not-committed', { edx: 1, esi: 0x10 });
  });

  it('no frame to lock the first page with', async () => {
    await boot();
    const target = swappable(sim, 1, []);
    writeEdds(sim, edds, { size: 4096, linear: target, avail: 1 });
    expect(sim.vmm.pageAllocate(sim.vmm.getFreePageCount(0), PG_SYS, 0, 0, 0, 0, null, PAGEFIXED)).not.toBe(0);
    // buf's two pages are pageable: lock them so that nothing at all can be had.
    expect(sim.vmm.linPageLock(buf >>> 12, 2, 0)).toBe(1);
    expectNothingLocked(SYS_VM_HANDLE, 0, edds, 'insufficient-memory', { edx: 1, esi: 0 });
  });

  it('an output array that is not a Uint32Array of 2', async () => {
    await boot();
    writeEdds(sim, edds, good());
    const before = sim.fingerprint();
    expect(sim.vdmad.scatterLock(SYS_VM_HANDLE, 0, edds, new Uint32Array(1))).toBe(SCATTER_LOCK.NONE);
    expect(sim.vdmad.lastError).toMatchObject({ code: 'buffer-too-small' });
    expect(sim.fingerprint()).toBe(before);
  });

  it('the EDDS is left exactly as the driver wrote it', async () => {
    await boot();
    writeEdds(sim, edds, { ...good(), seg: 1 }, [1, 2, 3, 4]);
    const before = readEdds(sim, edds, 4);
    expectNothingLocked(SYS_VM_HANDLE, 0, edds, 'invalid-selector');
    expect(readEdds(sim, edds, 4)).toEqual(before);
  });
});
