/**
 * A custom device for the fault tests: a DMA read of LEN bytes at ADDR whose destination buffer
 * misbehaves in the middle of the access — after the port has checked the access and announced its
 * frames in flight, before any byte lands. With CMD EXIT its worker dies there (process.exit(7)); with
 * CMD THROW the device code throws from inside the copy; with CMD READ it reads normally (the
 * device that attaches after a crash, on the same frames). Attach option `inside`: a SharedArrayBuffer
 * whose first word it sets as the crash begins. Attached by path, like a user's device.
 */
import type { DeviceContext, DeviceDescriptor, DeviceModel } from '../../src/device-api.js';
import { physAddr } from '../../src/address.js';

export const REG = { CMD: 0, ADDR: 1, LEN: 2, RESULT: 3, STATUS: 4 } as const;
export const CMD = { READ: 1, EXIT: 2, THROW: 3 } as const;
export const STATUS = { DONE: 1, REFUSED: 2 } as const;
export const EXIT_CODE = 7;

export const descriptor: DeviceDescriptor = {
  kind: 'crash-mid-access',
  registers: 5,
  doorbells: [{ register: REG.CMD }],
};

export function createDevice({ dma, regs, irq, options }: DeviceContext): DeviceModel {
  let reads = 0;
  // Shared with the test (attach option `inside`): word 0 becomes 1 when the crash is under way
  // inside the copy — proof that the access got past its checks and its announcement.
  const inside = options.inside instanceof SharedArrayBuffer ? new Int32Array(options.inside) : null;
  const crashing = () => {
    if (inside) Atomics.store(inside, 0, 1);
  };
  return {
    onDoorbell() {
      const cmd = regs.read(REG.CMD);
      const len = regs.read(REG.LEN);
      // The port hands the bytes of a read to the destination's set() once the access has passed its
      // checks and its frames are announced: that is the middle of the transfer.
      const into =
        cmd === CMD.EXIT
          ? new (class extends Uint8Array {
              override set(): void {
                crashing();
                process.exit(EXIT_CODE);
              }
            })(len)
          : cmd === CMD.THROW
            ? new (class extends Uint8Array {
                override set(): void {
                  crashing();
                  throw new Error('crash-mid-access: device code threw in the middle of a DMA read');
                }
              })(len)
            : new Uint8Array(len);
      const r = dma.read(physAddr(regs.read(REG.ADDR)), into);
      reads++;
      regs.write(REG.RESULT, r.bytesRead);
      regs.write(REG.STATUS, STATUS.DONE | (r.ok ? 0 : STATUS.REFUSED));
      irq.raise();
    },
    reset() {
      for (let i = 0; i < 5; i++) regs.write(i, 0);
    },
    stats() {
      return { reads };
    },
  };
}
