/**
 * test-probe: one DMA primitive per command from its registers, or a deliberate fault. Every command
 * ends with STATUS.DONE and an interrupt (faults excepted: those never finish).
 */

import type { DeviceContext, DeviceModel, DmaResult } from '../../src/device-api.js';
import { VIOLATION_CODES } from '../../src/ring.js';
import { OP, REG, STATUS } from './regs.js';

export function createTestProbe({ dma, regs, irq, options }: DeviceContext): DeviceModel {
  // A device whose construction fails: the worker dies before it is ready (attach must reject).
  if (options.failOnLoad === true) throw new Error('test-probe: construction failed (failOnLoad)');
  let commands = 0;
  const finish = (r: DmaResult, result: number) => {
    regs.write(REG.RESULT, result);
    regs.write(REG.VIOLATION, r.violation ? VIOLATION_CODES.indexOf(r.violation) + 1 : 0);
    regs.write(REG.STATUS, STATUS.DONE | (r.ok ? 0 : STATUS.REFUSED));
    irq.raise();
  };
  return {
    onDoorbell() {
      commands++;
      const op = regs.read(REG.CMD);
      regs.write(REG.CMD, 0);
      regs.write(REG.STATUS, 0);
      const addr = regs.read(REG.ADDR);
      const len = regs.read(REG.LEN);
      const value = regs.read(REG.VALUE);
      switch (op) {
        case OP.READ: {
          const r = dma.read(addr, new Uint8Array(len));
          return finish(r, r.bytes);
        }
        case OP.FILL: {
          const r = dma.fill(addr, len, value);
          return finish(r, r.bytes);
        }
        case OP.LOAD32: {
          const r = dma.load32(addr);
          return finish(r, r.value);
        }
        case OP.STORE32: {
          const r = dma.store32(addr, value);
          return finish(r, r.bytes);
        }
        case OP.ADD32: {
          const r = dma.add32(addr, value);
          return finish(r, r.value);
        }
        case OP.CMPXCHG32: {
          const r = dma.compareExchange32(addr, value, regs.read(REG.VALUE2));
          return finish(r, r.value);
        }
        case OP.THROW:
          throw new Error('test-probe: fault injected by OP.THROW');
        case OP.EXIT:
          process.exit(3);
          break;
        case OP.HANG:
          for (;;) {
            // Spins forever: the host's hang watchdog must notice and terminate the worker.
          }
        default:
          throw new Error(`test-probe: unknown op ${op}`);
      }
    },
    reset() {
      for (let i = 0; i < 8; i++) regs.write(i, 0);
    },
    stats() {
      return { commands };
    },
  };
}
