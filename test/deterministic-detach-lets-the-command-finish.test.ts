// Regression (core: host.ts detach): in deterministic mode a device that has just raised its
// interrupt is parked at the grant point after irq.raise(), still inside its command, where it can
// answer no request. A detach right after the interrupt used to post its shutdown request there and
// wait out the whole grace period unanswered, then terminate the worker — the model's close() never
// ran. Now the detach first lets the scheduler run the device back to its loop, so the shutdown is
// graceful: the ide-busmaster's close() saves its image file, which is what this test looks for.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { createSimulator, ideBusmaster as IDE } from '../src/index.js';
import { ideBuffers, ideDma } from './corpus-lib.js';

test('a detach right after the interrupt lets the command finish and the model close (its image saved)', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'dmasim-det-detach-')), 'disk.img');
  const sim = await createSimulator({ seed: 7, deterministic: true });
  try {
    await sim.run(async () => {
      const dev = await sim.attachDevice('ide-busmaster', { sectors: 64, imageFile: file, save: true });
      const { data, prd } = ideBuffers(sim, 1);
      sim.cpu.writeBytes(data.lin, new Uint8Array(4096).fill(0xa5));
      // WRITE DMA: memory → disk, so the saved image shows the sectors.
      expect(await ideDma(dev, prd.phys[0]!, 'write', 0, 8)).toBe(IDE.BM_STATUS.INTERRUPT);
      await dev.detach();
      data.unlock();
      prd.unlock();
    });
  } finally {
    await sim.close();
  }
  expect(existsSync(file), 'close() ran: the image was saved').toBe(true);
  expect(readFileSync(file).subarray(0, 4096).every((b) => b === 0xa5)).toBe(true);
  expect(sim.deviceFaults()).toEqual([]);
});
