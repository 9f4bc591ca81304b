/**
 * Violation reports: structured first (plain, JSON-safe records with a global, strictly increasing
 * seq), text second — renderViolation / sim.render give a KASAN-shaped report: the bug line, the
 * access, the history that explains it (hand-out, lock, unlock, device programming), then a map of
 * frame states with the frame marked.
 */

import { describe, expect, it } from 'vitest';
import { PAGEMARKDIRTY, renderViolation, testProbe as TP, type DeviceHandle, type Simulator, type Violation } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { contiguous, lockedPages, probe } from './dma-helpers.js';

const FILE = 'violation-report.test.ts';
const BAR = '='.repeat(78);
const pool = simulatorsClosedAfterEach();

/** A use-after-unlock read by a test-probe, through real services: the classic report. */
async function unlockedRead(sim: Simulator, name?: string): Promise<{ v: Violation; dev: DeviceHandle; phys: number; page: number }> {
  const buf = lockedPages(sim, 1);
  const dev = await sim.attachDevice('test-probe', name ? { name } : {});
  expect(sim.vmm.linPageUnLock(buf.page, 1, 0)).toBe(1);
  await probe(dev, TP.OP.READ, buf.phys[0]! + 0x10, { len: 16 });
  const vs = sim.violations();
  return { v: vs[vs.length - 1]!, dev, phys: buf.phys[0]!, page: buf.page };
}

/** Index of the first line equal to `s` (or -1). */
const at = (lines: string[], s: string) => lines.indexOf(s);

describe('renderViolation: the KASAN shape', () => {
  it('header, access, message, epochs, the history sections in order, the page, the frame map with the marker', async () => {
    const sim = await pool.make({ pager: 'off' });
    const { v, dev, phys, page } = await unlockedRead(sim);
    const text = sim.render(v);
    expect(text).toBe(renderViolation(v));
    const lines = text.split('\n');
    expect(lines[0]).toBe(BAR);
    expect(lines[lines.length - 1]).toBe(BAR);
    expect(lines[1]).toBe(`BUG: dmasim: dma-unlocked in test-probe#${dev.id}, driver "default"`);
    const h = (n: number, d = 8) => '0x' + n.toString(16).toUpperCase().padStart(d, '0');
    expect(lines[2]).toBe(`Read of size 16 at phys ${h(phys + 0x10)} (first bad byte ${h(phys + 0x10)}, frame ${h(phys >>> 12, 5)}), command 1: blocked`);
    expect(lines[3]).toBe(v.message);
    expect(lines[4]).toBe('epoch seen 2, handed out at 1');

    const sections = ['Handed out by:', 'Locked by:', 'Unlocked by:', 'Device programmed by:'];
    const idx = sections.map((s) => at(lines, s));
    for (const i of idx) expect(i).toBeGreaterThan(4);
    expect([...idx].sort((a, b) => a - b)).toEqual(idx); // in this order
    expect(at(lines, 'Locked again (current owner) by:')).toBe(-1);
    // Each section: a blank line before, then its stack indented by two spaces, naming this file.
    for (const i of idx) {
      expect(lines[i - 1]).toBe('');
      const body: string[] = [];
      for (let j = i + 1; j < lines.length && lines[j]!.startsWith('  '); j++) body.push(lines[j]!);
      expect(body.length).toBeGreaterThan(0);
      expect(body.some((l) => l.includes(FILE))).toBe(true);
    }
    expect(lines).toContain(`The address belonged to linear page ${h(page, 5)} (${h(page * 4096)}).`);

    const map = at(lines, 'Frame states around the address:');
    expect(map).toBeGreaterThan(idx[3]!);
    const rows = lines.slice(map + 1, lines.length - 1);
    expect(rows).toHaveLength(v.frames.length);
    const marked = rows.filter((r) => r.startsWith(' >'));
    expect(marked).toEqual([` >${h(phys >>> 12, 5)}: unlocked    lock  0  epoch     2  page ${h(page, 5)}`]);
    for (const r of rows) if (r !== marked[0]) expect(r.startsWith('  0x')).toBe(true);
    expect(rows).toContain(`  ${h(0, 5)}: fixed       lock  0  epoch     1  no page`);
  });

  it('names the device with its given name, and renders stale-address history with the new owner', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = lockedPages(sim, 1);
    const dev = await sim.attachDevice('test-probe', { name: 'nic0' });
    expect(sim.vmm.linPageUnLock(buf.page, 1, 0)).toBe(1);
    expect(sim.vmm.linPageLock(buf.page, 1, PAGEMARKDIRTY)).toBe(1); // relocked, not re-copied
    await probe(dev, TP.OP.READ, buf.phys[0]!, { len: 4 });
    const [v] = sim.violations();
    expect(v!.code).toBe('dma-stale-address');
    const lines = sim.render(v!).split('\n');
    expect(lines[1]).toBe(`BUG: dmasim: dma-stale-address in test-probe#${dev.id} (nic0), driver "default"`);
    expect(lines[4]).toBe('epoch seen 3, handed out at 1');
    const order = ['Handed out by:', 'Locked by:', 'Unlocked by:', 'Locked again (current owner) by:', 'Device programmed by:', 'Frame states around the address:'].map((s) => at(lines, s));
    for (const i of order) expect(i).toBeGreaterThan(0);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(lines.some((l) => / >0x[0-9A-F]{5}: locked {6}lock  1  epoch     3  page 0x[0-9A-F]{5}$/.test(l))).toBe(true);
  });

  it('a range violation inside RAM has no lock history, names its frame, maps it and shows its detail', async () => {
    const sim = await pool.make({ pager: 'off', memory: 32 << 20 });
    contiguous(sim, 1, 0x1000, 0x1001);
    const isa = await sim.attachDevice('test-probe', { addressBits: 24 });
    await probe(isa, TP.OP.READ, 0x1000000, { len: 8 });
    const [v] = sim.violations();
    const lines = sim.render(v!).split('\n');
    expect(lines[1]).toBe(`BUG: dmasim: dma-address-width in test-probe#${isa.id}, driver "default"`);
    expect(lines[2]).toBe('Read of size 8 at phys 0x01000000 (first bad byte 0x01000000, frame 0x01000), command 1: blocked');
    expect(lines[4]).toBe('epoch seen 0, handed out at never, addressBits 24');
    expect(lines).toContain('Device programmed by:');
    expect(lines).toContain('Frame states around the address:');
    for (const s of ['Handed out by:', 'Locked by:', 'Unlocked by:']) expect(lines).not.toContain(s);
  });

  it('a range violation outside RAM has no frame and no frame map', async () => {
    const sim = await pool.make({ pager: 'off' });
    const dev = await sim.attachDevice('test-probe');
    await probe(dev, TP.OP.READ, 64 << 20, { len: 8 });
    const [v] = sim.violations();
    expect(v).toMatchObject({ code: 'dma-outside-memory', frame: -1, frames: [], linearPage: null });
    const lines = sim.render(v!).split('\n');
    expect(lines[2]).toBe('Read of size 8 at phys 0x04000000 (first bad byte 0x04000000), command 1: blocked');
    expect(lines).not.toContain('Frame states around the address:');
  });

  it('with stacks off, the report has no stack sections but keeps everything else', async () => {
    const sim = await pool.make({ pager: 'off', stacks: false });
    const { v } = await unlockedRead(sim);
    expect(v.stacks).toEqual({});
    const lines = sim.render(v).split('\n');
    for (const s of ['Handed out by:', 'Locked by:', 'Unlocked by:', 'Device programmed by:']) expect(lines).not.toContain(s);
    expect(lines[1]).toMatch(/^BUG: dmasim: dma-unlocked in test-probe#\d+, driver "default"$/);
    expect(lines).toContain('Frame states around the address:');
  });
});

describe('records as data', () => {
  it('every record is JSON-serialisable and survives a round trip unchanged', async () => {
    const sim = await pool.make({ pager: 'off', memory: 32 << 20 });
    const A = sim.createDriver('A');
    const a = lockedPages(A, 1);
    const clean = lockedPages(sim, 1, { lockFlags: 0 });
    contiguous(sim, 2, 0x1f, 0x21);
    const [dev, isa, bounded, devA] = await Promise.all([
      sim.attachDevice('test-probe', { name: 'p' }),
      sim.attachDevice('test-probe', { addressBits: 24 }),
      sim.attachDevice('test-probe', { boundary: 65536 }),
      A.attachDevice('test-probe'),
    ]);
    await probe(dev, TP.OP.READ, a.phys[0]!, { len: 4 }); // not handed out
    await probe(dev, TP.OP.STORE32, clean.phys[0]!, { value: 1 }); // not marked dirty
    await probe(isa, TP.OP.READ, 0x1000000, { len: 4 }); // width
    await probe(bounded, TP.OP.READ, 0x1f000, { len: 0x2000 }); // boundary
    await probe(dev, TP.OP.READ, 0x3000000, { len: 4 }); // outside memory
    await probe(dev, TP.OP.READ, dev.mmioBase, { len: 4 }); // re-entrancy
    expect(A.vmm.linPageUnLock(a.page, 1, 0)).toBe(1);
    await probe(devA, TP.OP.READ, a.phys[0]!, { len: 4 }); // unlocked
    expect(A.vmm.linPageLock(a.page, 1, 0)).toBe(1);
    await probe(devA, TP.OP.READ, a.phys[0]!, { len: 4 }); // stale
    const vs = sim.violations();
    expect(vs.map((v) => v.code)).toEqual([
      'dma-not-handed-out',
      'dma-not-marked-dirty',
      'dma-address-width',
      'dma-boundary',
      'dma-outside-memory',
      'device-reentrancy',
      'dma-unlocked',
      'dma-stale-address',
    ]);
    for (const v of vs) {
      const json = JSON.stringify(v);
      expect(JSON.parse(json)).toEqual(v);
      expect(JSON.parse(json)).toStrictEqual(JSON.parse(JSON.stringify(JSON.parse(json))));
      expect(structuredClone(v)).toEqual(v);
      // Plain data only: no class instances, no functions, no undefined values hidden in it.
      const walk = (x: unknown): void => {
        expect(x === undefined || typeof x === 'function' || typeof x === 'symbol' || typeof x === 'bigint').toBe(false);
        if (x !== null && typeof x === 'object') {
          const proto = Object.getPrototypeOf(x) as unknown;
          expect(proto === Object.prototype || proto === Array.prototype).toBe(true);
          for (const y of Object.values(x)) walk(y);
        }
      };
      walk(v);
    }
    // And the text form renders every one of them.
    for (const v of vs) expect(sim.render(v).split('\n')[1]).toContain(`BUG: dmasim: ${v.code} in `);
  });

  it('seq is strictly increasing across devices, drivers and reports made concurrently', async () => {
    const sim = await pool.make({ pager: 'off' });
    const drivers = [sim, sim.createDriver('B'), sim.createDriver('C')];
    const devs = await Promise.all(drivers.map((d) => d.attachDevice('test-probe')));
    const bufs = drivers.map((d) => lockedPages(d, 1));
    for (const [i, d] of drivers.entries()) expect(d.vmm.linPageUnLock(bufs[i]!.page, 1, 0)).toBe(1);
    // Every device misbehaves at once, 25 commands each, interleaving in the shared ring.
    await Promise.all(
      devs.map(async (dev, i) => {
        for (let k = 0; k < 25; k++) await probe(dev, TP.OP.READ, bufs[i]!.phys[0]! + k * 4, { len: 4 });
      }),
    );
    const vs = sim.violations();
    expect(vs).toHaveLength(75);
    for (let i = 1; i < vs.length; i++) expect(vs[i]!.seq).toBeGreaterThan(vs[i - 1]!.seq);
    expect(new Set(vs.map((v) => v.device?.id)).size).toBe(3);
    // Per device, commands appear in order.
    for (const dev of devs) {
      const cmds = vs.filter((v) => v.device?.id === dev.id).map((v) => v.access!.command);
      expect(cmds).toEqual(Array.from({ length: 25 }, (_, k) => k + 1));
    }
    // Reading again gives the same list; later reports come after.
    expect(sim.violations()).toEqual(vs);
    await probe(devs[0]!, TP.OP.READ, 0x2000000, { len: 1 });
    const more = sim.violations();
    expect(more).toHaveLength(76);
    expect(more[75]!.seq).toBeGreaterThan(vs[74]!.seq);
    expect(more[75]!.code).toBe('dma-outside-memory');
  });

  it('a record still names the device that made it after the device was detached and its slot reused', async () => {
    const sim = await pool.make({ pager: 'off' });
    const first = await sim.attachDevice('test-probe', { name: 'first' });
    await probe(first, TP.OP.READ, 0x2000000, { len: 4 }); // outside memory; the record waits in the ring
    await first.detach();
    const second = await sim.attachDevice('test-probe', { name: 'second' });
    expect(second.id).toBe(first.id); // the slot is reused
    const [v] = sim.violations();
    expect(v!.device).toEqual({ id: first.id, attachment: first.attachment, kind: 'test-probe', name: 'first' });
    expect(v!.stacks.programmed?.some((l) => l.includes(FILE) || l.includes('dma-helpers.ts'))).toBe(true);
  });

  it('a record read after its device was detached (slot not reused) still names it', async () => {
    const sim = await pool.make({ pager: 'off' });
    const dev = await sim.attachDevice('test-probe', { name: 'gone' });
    await probe(dev, TP.OP.READ, 0x2000000, { len: 4 });
    await dev.detach();
    const [v] = sim.violations();
    expect(v!.device).toEqual({ id: dev.id, attachment: dev.attachment, kind: 'test-probe', name: 'gone' });
    expect(v!.stacks.programmed).toBeDefined();
  });
});
