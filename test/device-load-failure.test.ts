import { describe, expect, it } from 'vitest';
import { DeviceError } from '../src/index.js';
import { ceCopy, lockedPages } from './dma-helpers.js';
import { simulatorsClosedAfterEach } from './helpers.js';

const sims = simulatorsClosedAfterEach();

describe('a device whose worker fails to load', () => {
  it('rejects attach with DeviceError load-failed, records the fault, frees its slot; the simulator goes on', async () => {
    const sim = await sims.make({ maxDevices: 1 });
    const err = await sim.attachDevice('test-probe', { failOnLoad: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceError);
    expect(err).toMatchObject({ code: 'load-failed', device: { id: 0, kind: 'test-probe' } });
    expect((err as Error).message).toMatch(/construction failed/);
    expect(sim.deviceFaults()).toMatchObject([{ kind: 'load-failed', device: { id: 0, kind: 'test-probe' } }]);
    // The only slot is free again: a working device attaches and DMAs.
    const dev = await sim.attachDevice('copy-engine');
    const buf = lockedPages(sim, 2);
    sim.cpu.writeBytes(buf.lin, new Uint8Array(4096).fill(0x77));
    expect(await ceCopy(dev, buf.phys[0]!, buf.phys[1]!, 4096)).toMatchObject({ error: 0, bytes: 4096 });
    expect(sim.cpu.read32(buf.lin + 4096)).toBe(0x77777777);
  });
});

