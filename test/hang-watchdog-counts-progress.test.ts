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
  it('one command copying 7 GiB through a scatter-gather chain completes under a 500 ms hang timeout', async () => {
    // 500 ms, not less: a loaded 2-core machine can starve one worker for tens of milliseconds, and
    // a stall is judged on observed silence (regression: 100 ms failed under a load average of 10).
    const sim = await pool.make({ pager: 'off', memory: 64 * MiB, hangTimeoutMs: 500 });
    const half = 14 * MiB;
    const buf = lockedPages(sim, (2 * half) / 4096);
    const desc = lockedPages(sim, 2);
    for (let i = 1; i < buf.npages; i++) expect(buf.phys[i]).toBe(buf.phys[0]! + i * 4096);
    // 512 descriptors of 14 MiB (two pages of them): one command, 7 GiB — seconds, far longer than
    // the hang timeout, while every access (milliseconds each) is progress.
    const n = 512;
    const descAt = (i: number) => desc.phys[i >> 8]! + (i & 255) * 16;
    writeDescriptors(
      sim,
      desc.lin,
      Array.from({ length: n }, (_, i) => ({ at: i * 16, src: buf.phys[0]!, dst: buf.phys[half / 4096]!, length: half, next: i + 1 < n ? descAt(i + 1) : 0 })),
    );
    const dev = await sim.attachDevice('copy-engine');
    // BYTES_DONE is a 32-bit register: 7 GiB reads back modulo 2^32.
    expect(await ceChain(dev, desc.phys[0]!)).toEqual({ status: CE.STATUS.DONE, error: 0, bytes: (n * half) % 2 ** 32 });
    expect(sim.deviceFaults()).toEqual([]);
    expect(sim.violations()).toEqual([]);
  });

  it('a device busy with refused accesses, moving no byte, is hung', async () => {
    // 2 s: the worker must make its first refused access within the timeout for the last line to
    // see a record; refused accesses are never progress, whatever the timeout.
    const sim = await pool.make({ pager: 'off', hangTimeoutMs: 2000 });
    const dev = await sim.attachDevice('test-probe');
    dev.writeReg(TP.REG.ADDR, 8 * 4096); // a frame its driver never obtained
    dev.writeReg(TP.REG.LEN, 64);
    dev.writeReg(TP.REG.CMD, TP.OP.SPIN_REFUSED);
    await expect(dev.waitForInterrupt({ timeoutMs: 20_000 })).rejects.toMatchObject({ code: 'device-fault' });
    expect(sim.deviceFaults().map((f) => [f.kind, f.device.id])).toEqual([['hung', dev.id]]);
    expect(sim.violationCounts().byCode['dma-not-handed-out']).toBeGreaterThan(0);
  });
});
