/**
 * The disk image and its file: imageFile loads the image when the device loads; with save: true
 * the image is written back on FLUSH CACHE (and FLUSH CACHE EXT) and on a graceful detach — not
 * before; a flush that cannot write is ABRT / FLUSH_FAILED. Bad attach options fail the load with
 * a message that says what is wrong.
 */

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceError, ideBusmaster as IDE, type DeviceHandle, type Simulator } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { bytes, lockedPages, type Buffer } from './dma-helpers.js';
import { OK, expectBytes, ideRun, pagesPrd, writePrd } from './ide-helpers.js';

const { ATA_COMMAND: CMD, DIAG, ERROR, STATUS, BM_STATUS } = IDE;

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'dmasim-ide-'));
  dirs.push(d);
  return d;
}
// Registered before the pool's hook: after-hooks run in reverse, so the simulators (whose devices
// save on a graceful detach) are closed before their directories are removed.
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const pool = simulatorsClosedAfterEach();

async function rig(options: Record<string, unknown>) {
  const sim = await pool.make({ pager: 'off' });
  const buf = lockedPages(sim, 2);
  const table = lockedPages(sim, 1);
  writePrd(sim, table.lin, pagesPrd(buf));
  const dev = await sim.attachDevice('ide-busmaster', options);
  return { sim, buf, dev, prdt: table.phys[0]! };
}

const flush = (dev: DeviceHandle, command: number = CMD.FLUSH_CACHE) => ideRun(dev, { command, lba: 0, sectors: 0, prdt: 0, start: false });

/** WRITE DMA of the 16 sectors in `buf` to `lba`. */
async function writeSectors(r: { sim: Simulator; buf: Buffer; dev: DeviceHandle; prdt: number }, lba: number, data: Uint8Array): Promise<void> {
  r.sim.cpu.writeBytes(r.buf.lin, data);
  expect(await ideRun(r.dev, { command: CMD.WRITE_DMA, lba, sectors: 16, prdt: r.prdt })).toEqual(OK);
}

describe('imageFile', () => {
  it('loads the file into the image (CAPACITY from its size); without save, the file is never written', async () => {
    const file = join(tempDir(), 'disk.img');
    const content = bytes(31, 64 * 512);
    writeFileSync(file, content);
    const r = await rig({ imageFile: file });
    expect(r.dev.readReg(IDE.REG.CAPACITY)).toBe(64);
    expect(await ideRun(r.dev, { command: CMD.READ_DMA, lba: 40, sectors: 16, prdt: r.prdt })).toEqual(OK);
    expectBytes(r.sim.cpu.readBytes(r.buf.lin, 8192), content.subarray(40 * 512, 56 * 512));
    await writeSectors(r, 0, bytes(32, 8192));
    expect(await flush(r.dev)).toEqual(OK);
    await r.dev.detach();
    expectBytes(readFileSync(file), content);
  });

  it('with save: true, writes the image back on FLUSH CACHE, not before; and again on a graceful detach', async () => {
    const file = join(tempDir(), 'disk.img');
    const content = bytes(33, 64 * 512);
    writeFileSync(file, content);
    const r = await rig({ imageFile: file, save: true });
    const a = bytes(34, 8192);
    await writeSectors(r, 8, a);
    // Written to the drive, not yet flushed: the file is as it was.
    expectBytes(readFileSync(file), content);
    expect(await flush(r.dev)).toEqual(OK);
    const want = content.slice();
    want.set(a, 8 * 512);
    expectBytes(readFileSync(file), want);

    const b = bytes(35, 8192);
    await writeSectors(r, 48, b);
    expect(await flush(r.dev, CMD.FLUSH_CACHE_EXT)).toEqual(OK);
    want.set(b, 48 * 512);
    expectBytes(readFileSync(file), want);

    const c = bytes(36, 8192);
    await writeSectors(r, 20, c);
    expect(await r.dev.stats()).toMatchObject({ flushes: 2, sectorsWritten: 48 });
    await r.dev.detach();
    want.set(c, 20 * 512);
    expectBytes(readFileSync(file), want);
    expect(r.sim.deviceFaults()).toEqual([]);
  });

  it('with save: true and no file yet, a disk of `sectors` zeros that is created on the first flush', async () => {
    const file = join(tempDir(), 'new.img');
    const r = await rig({ imageFile: file, save: true, sectors: 32 });
    expect(r.dev.readReg(IDE.REG.CAPACITY)).toBe(32);
    const a = bytes(37, 8192);
    await writeSectors(r, 16, a);
    expect(await flush(r.dev)).toEqual(OK);
    const want = new Uint8Array(32 * 512);
    want.set(a, 16 * 512);
    expectBytes(readFileSync(file), want);
  });

  it('a flush that cannot write the file is ABRT / FLUSH_FAILED', async () => {
    const dir = tempDir();
    const file = join(dir, 'sub', 'disk.img');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(file, new Uint8Array(16 * 512));
    const r = await rig({ imageFile: file, save: true });
    rmSync(join(dir, 'sub'), { recursive: true });
    expect(await flush(r.dev)).toEqual({ bmStatus: BM_STATUS.INTERRUPT, status: STATUS.DRDY | STATUS.ERR, error: ERROR.ABRT, diag: DIAG.FLUSH_FAILED });
    // With the directory back, the next flush (and the detach) succeed.
    mkdirSync(join(dir, 'sub'));
    expect(await flush(r.dev)).toEqual(OK);
    expect(readFileSync(file).length).toBe(16 * 512);
    await r.dev.detach();
    expect(r.sim.deviceFaults()).toEqual([]);
  });
});

describe('bad options fail the load, saying why', () => {
  const cases: [string, () => Record<string, unknown>, RegExp][] = [
    ['sectors 0', () => ({ sectors: 0 }), /sectors must be an integer in 1…/],
    ['sectors not an integer', () => ({ sectors: 1.5 }), /sectors must be an integer/],
    ['an image that is not a multiple of 512 bytes', () => ({ image: new SharedArrayBuffer(1000) }), /positive multiple of 512/],
    ['an image that is not shared', () => ({ image: new ArrayBuffer(512) }), /SharedArrayBuffer/],
    ['sectors that disagree with the image', () => ({ image: new SharedArrayBuffer(1024), sectors: 4 }), /disagrees with the image/],
    ['save without imageFile', () => ({ save: true }), /save needs an imageFile/],
    ['an imageFile that does not exist (without save)', () => ({ imageFile: join(tempDir(), 'missing.img') }), /does not exist/],
    ['an imageFile whose size is not a multiple of 512', () => {
      const f = join(tempDir(), 'odd.img');
      writeFileSync(f, new Uint8Array(700));
      return { imageFile: f };
    }, /not a positive multiple of 512/],
    ['an imageFile that disagrees with sectors', () => {
      const f = join(tempDir(), 'small.img');
      writeFileSync(f, new Uint8Array(1024));
      return { imageFile: f, sectors: 4 };
    }, /holds 2 sectors, the disk 4/],
  ];
  for (const [what, options, message] of cases) {
    it(what, async () => {
      const sim = await pool.make();
      const err = await sim.attachDevice('ide-busmaster', options()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeviceError);
      expect(err).toMatchObject({ code: 'load-failed', device: { kind: 'ide-busmaster' } });
      expect((err as Error).message).toMatch(message);
    });
  }
});
