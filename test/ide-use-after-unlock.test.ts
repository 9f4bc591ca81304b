/**
 * The classic bus-master bug: the driver unlocks its data buffer before the transfer (here, right
 * after building the PRD table). Under the aggressive pager the pages move at once, so the
 * addresses in the table name frames the buffer no longer lives in. The device's access is caught
 * (dma-unlocked), blocked, and reported with the device and the driver named and the unlock's
 * stack; the command ends with a memory error (DMA_REFUSED), and neither the buffer nor the image
 * changes.
 */

import { describe, expect, it } from 'vitest';
import { ideBusmaster as IDE } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { bytes, lockedPages, stackNames } from './dma-helpers.js';
import { expectBytes, ideRun, memoryError, pagesPrd, sharedImage, writePrd } from './ide-helpers.js';

const FILE = 'ide-use-after-unlock.test.ts';
const pool = simulatorsClosedAfterEach();
const { ATA_COMMAND: CMD, DIAG } = IDE;

describe('use after unlock: the data buffer unlocked before the transfer', () => {
  for (const [what, command] of [
    ['READ DMA (device writes memory)', CMD.READ_DMA],
    ['WRITE DMA EXT (device reads memory)', CMD.WRITE_DMA_EXT],
  ] as const) {
    it(`${what}: dma-unlocked, blocked, the device and driver named; nothing changes`, async () => {
      const sim = await pool.make({ pager: 'aggressive', seed: 4 });
      const drv = sim.createDriver('esdi_506');
      const disk = sharedImage(512, (n) => bytes(9, n));
      const image = disk.bytes.slice();
      const dev = await drv.attachDevice('ide-busmaster', { image: disk.sab, name: 'hda' });
      const buf = lockedPages(drv, 2);
      const table = lockedPages(drv, 1);
      const data = bytes(10, 8192);
      drv.cpu.writeBytes(buf.lin, data);
      writePrd(drv, table.lin, pagesPrd(buf));

      expect(drv.vmm.linPageUnLock(buf.page, 2, 0)).toBe(1); // ← the bug: too early
      expect(sim.pager.stats.moves + sim.pager.stats.pageOuts + sim.pager.stats.discards).toBeGreaterThanOrEqual(2);

      expect(await ideRun(dev, { command, lba: 100, sectors: 16, prdt: table.phys[0]! })).toEqual(memoryError(DIAG.DMA_REFUSED));

      const vs = sim.violations();
      // One record per frame of the (single) scatter-gather access.
      expect(vs.map((v) => [v.code, v.frame, v.access?.direction])).toEqual(
        buf.phys.map((p) => ['dma-unlocked', p >>> 12, command === CMD.READ_DMA ? 'write' : 'read']),
      );
      for (const v of vs) {
        expect(v.device).toEqual({ id: dev.id, attachment: dev.attachment, kind: 'ide-busmaster', name: 'hda' });
        expect(v.driver).toBe('esdi_506');
        expect(v.outcome).toBe('blocked');
        expect(stackNames(v.stacks.unlock, FILE)).toBe(true);
        expect(stackNames(v.stacks.handout, 'dma-helpers.ts')).toBe(true);
        expect(stackNames(v.stacks.programmed, 'ide-helpers.ts')).toBe(true);
      }
      expect(sim.render(vs[0]!)).toMatch(/dma-unlocked/);
      // The buffer, wherever the pager put it, still holds what the CPU wrote; the disk is unchanged.
      expectBytes(drv.cpu.readBytes(buf.lin, 8192), data);
      expectBytes(disk.bytes, image);
      expect(await dev.stats()).toMatchObject({ violations: 2, 'errors.DMA_REFUSED': 1, sectorsRead: 0, sectorsWritten: 0 });
    });
  }
});
