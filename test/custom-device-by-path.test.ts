// Custom devices: a module exporting a descriptor and a factory attaches by path or URL; its
// descriptor (register rules included) governs the driver's register accesses; a malformed module
// is refused at attach, naming why, and the simulator goes on.
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createSimulator, DeviceError, type Simulator } from '../src/index.js';
import { CMD, REG } from './devices/link-echo.js';

let sim: Simulator;
beforeEach(async () => {
  sim = await createSimulator();
});
afterEach(() => sim.close());

describe('attaching a custom device module', () => {
  test('by relative path, absolute URL or file: string; the kind and name come from its descriptor', async () => {
    const byPath = await sim.attachDevice('./test/devices/link-echo.ts');
    const url = new URL('./devices/link-echo.ts', import.meta.url);
    const byUrl = await sim.attachDevice(url, { name: 'echo-2' });
    const byString = await sim.attachDevice(url.href);
    expect([byPath.kind, byPath.name, byUrl.kind, byUrl.name, byString.kind]).toEqual(['link-echo', 'link-echo', 'link-echo', 'echo-2', 'link-echo']);
    expect(byPath.readReg(REG.RO)).toBe(0x1234);
  });

  test('a malformed descriptor or a missing factory is a load failure naming the fault', async () => {
    await expect(sim.attachDevice('./test/devices/bad-descriptor.ts')).rejects.toThrow(/registers must be an integer in 1…32, got 40/);
    const e = await sim.attachDevice('./test/devices/no-factory.ts').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DeviceError);
    expect((e as DeviceError).code).toBe('load-failed');
    expect((e as DeviceError).message).toMatch(/exports no device factory/);
    // The simulator goes on.
    const ok = await sim.attachDevice(pathToFileURL(`${process.cwd()}/test/devices/link-echo.ts`));
    expect(ok.readReg(REG.RO)).toBe(0x1234);
  });

  test('a module URL of another scheme, or a kind that is neither a name nor a path, is refused before any worker starts', async () => {
    await expect(sim.attachDevice(new URL('https://example.com/dev.js'))).rejects.toThrow(/must be file: or data:/);
    await expect(sim.attachDevice('no-such-kind')).rejects.toThrow(/unknown device kind "no-such-kind"/);
  });
});

describe('register rules from the descriptor govern the driver side', () => {
  test('read-to-clear, set, clear (on a target), write-1-to-clear with read/write bits, read-only', async () => {
    const d = await sim.attachDevice('./test/devices/link-echo.ts');
    d.writeReg(REG.CMD, CMD.SET_ICR);
    await until(() => d.readReg(REG.DONE) === 1);
    expect(d.readReg(REG.ICR)).toBe(0x81);
    expect(d.readReg(REG.ICR)).toBe(0); // the read cleared it

    d.writeReg(REG.IMS, 0x01);
    d.writeReg(REG.IMS, 0x80);
    expect(d.readReg(REG.IMS)).toBe(0x81); // writes OR in
    d.writeReg(REG.IMC, 0x01);
    expect(d.readReg(REG.IMS)).toBe(0x80); // IMC clears IMS bits
    expect(d.readReg(REG.IMC)).toBe(0); // and is not itself written

    d.writeReg(REG.CMD, CMD.SET_STATUS); // the device sets bits 0..2
    await until(() => d.readReg(REG.DONE) === 2);
    expect(d.readReg(REG.STATUS)).toBe(0x07);
    d.writeReg(REG.STATUS, 0x04 | 0x20); // clear bit 2, set r/w bit 5; bit 0 is read-only
    expect(d.readReg(REG.STATUS)).toBe(0x03 | 0x20);
    d.writeReg(REG.STATUS, 0x01); // writing 1 to a read-only bit does nothing; bit 5 written as 0
    expect(d.readReg(REG.STATUS)).toBe(0x03);

    d.writeReg(REG.RO, 0xffff);
    expect(d.readReg(REG.RO)).toBe(0x1234);
  });
});

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 1));
  }
}
