/**
 * A custom device for the contract tests: echoes every frame that arrives on its link, reversed;
 * reports its attach options through registers and a shared buffer; has one register of each rule.
 * Attached by path, like a user's own device.
 */
import type { DeviceContext, DeviceDescriptor, DeviceModel, LinkPort } from '../../src/device-api.js';

export const REG = { CMD: 0, ECHOED: 1, ICR: 2, IMS: 3, IMC: 4, STATUS: 5, RO: 6, MARK: 7, DONE: 8 } as const;
export const CMD = { SET_ICR: 1, SET_STATUS: 2 } as const;

export const descriptor: DeviceDescriptor = {
  kind: 'link-echo',
  registers: 9,
  doorbells: [{ register: REG.CMD }],
  rules: {
    [REG.ICR]: { readToClear: true, write: { w1c: -1, rw: 0 } },
    [REG.IMS]: { write: 'set' },
    [REG.IMC]: { write: 'clear', target: REG.IMS },
    [REG.STATUS]: { write: { w1c: 0x06, rw: 0x60 } },
    [REG.RO]: { write: 'read-only' },
  },
};

export function createDevice({ regs, options, openLink }: DeviceContext): DeviceModel {
  const link: LinkPort | null = options.link ? openLink(options.link) : null;
  // A SharedArrayBuffer in the options is shared, not copied: the test sees this store.
  if (options.shared instanceof SharedArrayBuffer) Atomics.store(new Int32Array(options.shared), 0, 0x5eed);
  regs.write(REG.MARK, typeof options.mark === 'number' ? options.mark : 0);
  regs.write(REG.RO, 0x1234);
  let echoed = 0;
  return {
    onDoorbell() {
      const cmd = regs.read(REG.CMD);
      if (cmd === CMD.SET_ICR) regs.set(REG.ICR, 0x81);
      if (cmd === CMD.SET_STATUS) regs.set(REG.STATUS, 0x07);
      regs.write(REG.DONE, regs.read(REG.DONE) + 1);
    },
    onWake() {
      if (!link) return;
      for (let f = link.receive(); f; f = link.receive()) {
        // The far end reads as fast as this sends in the tests; a full queue would be a test bug.
        if (!link.send(f.reverse())) throw new Error('link queue full');
        regs.write(REG.ECHOED, ++echoed);
      }
    },
    reset() {},
    stats() {
      return { echoed };
    },
  };
}
