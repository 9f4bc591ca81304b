import { describe, expect, it } from 'vitest';
import { createSimulator, testProbe as TP } from '../src/index.js';

/** Resources that a leaked device would hold: its MessagePort, its worker, its timers. */
function resources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

/** Nothing beyond what existed before (vitest's own timers may have ended meanwhile). */
function expectNoneAdded(before: Record<string, number>): void {
  const added = Object.entries(resources()).filter(([k, n]) => n > (before[k] ?? 0));
  expect(added).toEqual([]);
}

describe('close() leaves nothing open', () => {
  it('ends every worker, port and timer it started, promptly', async () => {
    const before = resources();
    const sim = await createSimulator({ hangTimeoutMs: 1000 });
    const a = await sim.attachDevice('copy-engine');
    await sim.attachDevice('test-probe');
    const b = await sim.createDriver('second').attachDevice('copy-engine');
    await a.stats();
    await b.stats();
    expect((resources().MessagePort ?? 0) - (before.MessagePort ?? 0)).toBeGreaterThanOrEqual(3);
    const t0 = performance.now();
    await sim.close();
    expect(performance.now() - t0).toBeLessThan(5000);
    expectNoneAdded(before);
  });

  it('also after a device faulted and while a wait was pending', async () => {
    const before = resources();
    const sim = await createSimulator({ hangTimeoutMs: 1000 });
    const dev = await sim.attachDevice('test-probe');
    const wait = dev.waitForInterrupt({ timeoutMs: 20_000 });
    dev.writeReg(TP.REG.CMD, TP.OP.THROW);
    await expect(wait).rejects.toMatchObject({ name: 'DeviceError', code: 'device-fault' });
    await sim.close();
    expectNoneAdded(before);
  });
});
