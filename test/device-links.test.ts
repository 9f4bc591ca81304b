// Device-to-device links: frames cross between a device and the far end of the wire; arrivals wake
// the device (onWake); a side is held by one holder at a time, freed when its device detaches; a
// link belongs to one simulator. Attach options cross by structured clone: a SharedArrayBuffer is
// shared, a function is a clear error that attaches nothing.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createSimulator, type Simulator } from '../src/index.js';
import { REG } from './devices/link-echo.js';

const ECHO = './test/devices/link-echo.ts';
let sim: Simulator;
beforeEach(async () => {
  sim = await createSimulator();
});
afterEach(() => sim.close());

describe('links', () => {
  test('a frame sent from the main thread wakes the device, which echoes it back', async () => {
    const link = sim.createLink({ slots: 4, maxFrame: 1518 });
    const dev = await sim.attachDevice(ECHO, { link: link.a });
    const wire = sim.openLink(link.b);
    expect(wire.connected).toBe(true);
    for (let n = 1; n <= 20; n++) {
      // More frames than the queue holds, one at a time: each comes back before the next is sent.
      const frame = Uint8Array.from({ length: 60 + n }, (_, i) => (i + n) & 0xff);
      expect(wire.send(frame)).toBe(true);
      expect(await wire.nextFrame()).toEqual(frame.slice().reverse());
    }
    expect(dev.readReg(REG.ECHOED)).toBe(20);
    expect(link.dropped('a')).toBe(0);
  });

  test('a full queue refuses the frame and queues nothing', () => {
    const link = sim.createLink({ slots: 2, maxFrame: 64 });
    const wire = sim.openLink(link.a);
    expect(wire.send(new Uint8Array(10))).toBe(true);
    expect(wire.send(new Uint8Array(10))).toBe(true);
    expect(wire.send(new Uint8Array(10))).toBe(false);
    expect(() => wire.send(new Uint8Array(65))).toThrow(RangeError);
    const far = sim.openLink(link.b);
    expect(far.pending()).toBe(2);
  });

  test('a side is held by one holder at a time and freed when its device detaches', async () => {
    const link = sim.createLink();
    const dev = await sim.attachDevice(ECHO, { link: link.a });
    await expect(sim.attachDevice(ECHO, { link: link.a })).rejects.toThrow(/side a of the link is already held by link-echo#0/);
    expect(() => sim.openLink(link.a)).toThrow(/already held/);
    await dev.detach();
    const again = await sim.attachDevice(ECHO, { link: link.a });
    const wire = sim.openLink(link.b);
    wire.send(Uint8Array.of(1, 2, 3));
    expect(await wire.nextFrame()).toEqual(Uint8Array.of(3, 2, 1));
    await again.detach();
    expect(wire.connected).toBe(false);
  });

  test('a link of another simulator is refused', async () => {
    const other = await createSimulator();
    try {
      const foreign = other.createLink();
      await expect(sim.attachDevice(ECHO, { link: foreign.a })).rejects.toThrow(/option "link": the link belongs to another simulator/);
      expect(() => sim.openLink(foreign.b)).toThrow(/another simulator/);
    } finally {
      await other.close();
    }
  });

  test('link sizes are validated', () => {
    expect(() => sim.createLink({ slots: 0 })).toThrow(/link slots must be an integer in 1…4096, got 0/);
    expect(() => sim.createLink({ maxFrame: 1 << 20 })).toThrow(/maxFrame/);
  });
});

describe('attach options by structured clone', () => {
  test('a SharedArrayBuffer is shared with the device; plain values arrive', async () => {
    const shared = new SharedArrayBuffer(8);
    const dev = await sim.attachDevice(ECHO, { shared, mark: 77 });
    expect(dev.readReg(REG.MARK)).toBe(77);
    // The device stored before it reported ready (attach resolves after that message).
    expect(Atomics.load(new Int32Array(shared), 0)).toBe(0x5eed);
  });

  test('a function is a clear error and attaches nothing, link claims included', async () => {
    const link = sim.createLink();
    await expect(sim.attachDevice(ECHO, { link: link.a, onFrame: () => 1 })).rejects.toThrow(/attach options must survive structured clone/);
    expect(sim.openLink(link.a).connected).toBe(false); // side a was not left claimed
  });
});
