/**
 * Regression (issue: the hang watchdog counted commands, not progress). A device was "hung" when one
 * command ran longer than hangTimeoutMs, even while it was moving bytes. A device is hung only if it
 * owes a doorbell and makes no progress — no access that moves bytes, no finished command — for
 * hangTimeoutMs.
 */

import { describe, expect, it } from 'vitest';
import { copyEngine as CE, testProbe as TP } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { ceChain, lockedPages, writeDescriptors } from './dma-helpers.js';

const pool = simulatorsClosedAfterEach();
const MiB = 1 << 20;

describe('the hang watchdog', () => {
  it('one command copying 3.5 GiB through a scatter-gather chain completes under a 100 ms hang timeout', async () => {
    const sim = await pool.make({ pager: 'off', memory: 64 * MiB, hangTimeoutMs: 100 });
    const half = 14 * MiB;
    const buf = lockedPages(sim, (2 * half) / 4096);
    const desc = lockedPages(sim, 1);
    for (let i = 1; i < buf.npages; i++) expect(buf.phys[i]).toBe(buf.phys[0]! + i * 4096);
    // 256 descriptors of 14 MiB (one page of them): one command, 3.5 GiB — far longer than the hang
    // timeout (hundreds of ms), while every access (~1 ms each) is progress.
    const n = 256;
    writeDescriptors(
      sim,
      desc.lin,
      Array.from({ length: n }, (_, i) => ({ at: i * 16, src: buf.phys[0]!, dst: buf.phys[half / 4096]!, length: half, next: i + 1 < n ? desc.phys[0]! + (i + 1) * 16 : 0 })),
    );
    const dev = await sim.attachDevice('copy-engine');
    expect(await ceChain(dev, desc.phys[0]!)).toEqual({ status: CE.STATUS.DONE, error: 0, bytes: n * half });
    expect(sim.deviceFaults()).toEqual([]);
    expect(sim.violations()).toEqual([]);
  });

  it('a device busy with refused accesses, moving no byte, is hung', async () => {
    const sim = await pool.make({ pager: 'off', hangTimeoutMs: 150 });
    const dev = await sim.attachDevice('test-probe');
    dev.writeReg(TP.REG.ADDR, 8 * 4096); // a frame its driver never obtained
    dev.writeReg(TP.REG.LEN, 64);
    dev.writeReg(TP.REG.CMD, TP.OP.SPIN_REFUSED);
    await expect(dev.waitForInterrupt({ timeoutMs: 20_000 })).rejects.toMatchObject({ code: 'device-fault' });
    expect(sim.deviceFaults().map((f) => [f.kind, f.device.id])).toEqual([['hung', dev.id]]);
    expect(sim.violationCounts().byCode['dma-not-handed-out']).toBeGreaterThan(0);
  });
});
