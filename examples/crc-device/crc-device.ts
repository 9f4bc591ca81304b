/**
 * A complete custom dmasim device: a CRC-32 engine. The driver points it at a buffer in simulated
 * memory (ADDR, LENGTH) and writes CONTROL.START; the engine reads the buffer by DMA, 4 KiB at a
 * time, leaves the IEEE CRC-32 in RESULT, sets STATUS.DONE (or STATUS.ERROR) and raises its
 * interrupt. Attach it with `sim.attachDevice('./examples/crc-device/crc-device.ts')`.
 */
import type { DeviceContext, DeviceDescriptor, DeviceModel } from 'dmasim';
import { physAddr } from 'dmasim';

export const REG = { CONTROL: 0, STATUS: 1, ADDR: 2, LENGTH: 3, RESULT: 4 } as const;
export const CONTROL = { START: 1 << 0 } as const;
export const STATUS = { DONE: 1 << 0, ERROR: 1 << 1 } as const;

/** Read by the host before the device runs: 5 registers, START rings, STATUS is write-1-to-clear. */
export const descriptor: DeviceDescriptor = {
  kind: 'crc32',
  registers: 5,
  doorbells: [{ register: REG.CONTROL, mask: CONTROL.START }],
  rules: { [REG.STATUS]: { write: { w1c: STATUS.DONE | STATUS.ERROR, rw: 0 } } },
};

const TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function createDevice({ dma, regs, irq }: DeviceContext): DeviceModel {
  let buffers = 0;
  const chunk = new Uint8Array(4096);
  return {
    onDoorbell() {
      const addr = regs.read(REG.ADDR);
      const length = regs.read(REG.LENGTH);
      let crc = 0xffffffff;
      for (let done = 0; done < length; ) {
        const part = chunk.subarray(0, Math.min(chunk.length, length - done));
        // The port checks every access: a page the driver did not lock and hand out is refused.
        const r = dma.read(physAddr(addr + done), part);
        if (!r.ok) {
          regs.set(REG.STATUS, STATUS.ERROR);
          irq.raise();
          return;
        }
        for (const b of part) crc = TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
        done += part.length;
      }
      buffers++;
      regs.write(REG.RESULT, (crc ^ 0xffffffff) >>> 0);
      // The result is in place before DONE, and DONE before the interrupt.
      regs.set(REG.STATUS, STATUS.DONE);
      irq.raise();
    },
    reset() {
      for (const r of Object.values(REG)) regs.write(r, 0);
    },
    stats() {
      return { buffers };
    },
  };
}
