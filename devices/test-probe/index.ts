/**
 * test-probe: one DMA primitive per command from its registers, or a deliberate fault. Every command
 * ends with STATUS.DONE and an interrupt (faults excepted: those never finish). Each doorbell is one
 * command: CMD stays latched (it is not cleared), so a doorbell queued behind a running command runs
 * the op CMD holds when its turn comes.
 */

import { physAddr } from '../../src/address.js';
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
      // CMD is left as it is (latched): a second doorbell rung meanwhile runs the same op again.
      const op = regs.read(REG.CMD);
      regs.write(REG.STATUS, 0);
      const addr = physAddr(regs.read(REG.ADDR));
      const len = regs.read(REG.LEN);
      const value = regs.read(REG.VALUE);
      switch (op) {
        case OP.READ: {
          const r = dma.read(addr, new Uint8Array(len));
          return finish(r, r.bytesRead + r.bytesWritten);
        }
        case OP.FILL: {
          const r = dma.fill(addr, len, value);
          return finish(r, r.bytesRead + r.bytesWritten);
        }
        case OP.LOAD32: {
          const r = dma.load32(addr);
          return finish(r, r.value);
        }
        case OP.STORE32: {
          const r = dma.store32(addr, value);
          return finish(r, r.bytesRead + r.bytesWritten);
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
        case OP.HANG_MID_ACCESS: {
          // The port hands a read's bytes to the destination's set() once the access has passed its
          // checks and its frames are announced; this destination never takes them.
          const stuck = new (class extends Uint8Array {
            override set(): void {
              for (;;) {
                // Spins forever inside the access, until the worker is terminated.
              }
            }
          })(len);
          dma.read(addr, stuck);
          throw new Error('test-probe: HANG_MID_ACCESS returned (the access was refused)');
        }
        case OP.SPIN_REFUSED: {
          const into = new Uint8Array(len);
          const pause = new Int32Array(new SharedArrayBuffer(4));
          for (;;) {
            dma.read(addr, into);
            if (value > 0) Atomics.wait(pause, 0, 0, value);
          }
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
