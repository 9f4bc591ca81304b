/**
 * A control request (stats, reset) is answered after every doorbell rung before it, as a read is
 * ordered after the posted writes before it. The device loop returns to its event loop while an RPC
 * is announced and stays out for a timer's turn; without the ordering, a request posted in that
 * window — right after the answer to another one — was handled before the doorbells rung in between:
 * stats() did not count them yet, and reset() ran before a command written ahead of it, which then
 * survived the reset. A driver could not use a control request to know its device had caught up.
 */

import { describe, expect, it } from 'vitest';
import { ideBusmaster as IDE } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';

const pool = simulatorsClosedAfterEach();
const { REG, ATA_COMMAND: CMD, STATUS } = IDE;
const ROUNDS = 25;

describe('control requests are ordered after the doorbells rung before them', () => {
  it('stats() right after another stats() counts a command rung in between', async () => {
    const sim = await pool.make();
    const dev = await sim.attachDevice('ide-busmaster', { sectors: 64 });
    for (let i = 1; i <= ROUNDS; i++) {
      await dev.stats(); // the loop is out at its event loop now
      dev.writeReg(REG.COMMAND, CMD.FLUSH_CACHE); // rings; completes at once
      expect(await dev.stats(), `round ${i}`).toMatchObject({ commands: i, flushes: i });
      dev.ackInterrupt();
    }
  });

  it('reset() right after a stats() comes after a command written before it', async () => {
    const sim = await pool.make();
    const dev = await sim.attachDevice('ide-busmaster', { sectors: 64 });
    for (let i = 1; i <= ROUNDS; i++) {
      await dev.stats();
      // A READ DMA with START clear: the drive takes it (commands + 1) and waits for the bus master.
      dev.writeReg(REG.SECTOR_COUNT, 1);
      dev.writeReg(REG.DEVICE, IDE.DEVICE_BITS.LBA);
      dev.writeReg(REG.COMMAND, CMD.READ_DMA);
      // Then the reset drops it. Served after the reset instead, the command would never be taken
      // (power-on marks COMMAND taken), and the drive would count one command fewer.
      await dev.reset();
      expect(dev.readReg(REG.STATUS), `round ${i}`).toBe(STATUS.DRDY);
      expect((await dev.stats()).commands, `round ${i}`).toBe(i);
    }
  });
});
