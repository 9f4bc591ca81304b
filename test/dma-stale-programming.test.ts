/**
 * The blind spot the epoch checks cannot see (issue 8, item 5): the driver programs a device with
 * page P1's address (frame F), unlocks P1, then locks another page P2 that lands in F and obtains
 * its address — the driver's hand-out of F is current again — and rings without reprogramming. The
 * stale DMA would land in P2's buffer. Devices that state where an address came from (a register,
 * a descriptor, an 8237 channel: src/provenance.ts) have it caught as 'dma-stale-programming'.
 *
 * By construction, never by timing: pager 'off' (no quarantine, a LIFO free stack), so freeing P1
 * and locking a fresh page puts P2 in F — each test checks it with _CopyPageTable. Each case also
 * runs its correct twin (reprogram after obtaining the address: nothing reported, the bytes land in
 * P2), and the cases that must not be judged are here too: the same page relocked in the same
 * frame, descriptors a device copied into memory, devices that do not annotate.
 */

import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  PAGEDISCARD,
  PAGEMARKDIRTY,
  PG_SYS,
  copyEngine as CE,
  ideBusmaster as IDE,
  isaAudio as IA,
  nic as NIC,
  testProbe as TP,
  type DeviceHandle,
  type DriverContext,
  type Simulator,
} from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { bytes, ceResult, handOut, lockedPages, ofCode, probe, probeDone, stackNames, writeDescriptors, type Buffer } from './dma-helpers.js';
import { OK, ideResult, ideStart, ideStop, memoryError, pagesPrd, sharedImage, writePrd } from './ide-helpers.js';
import { audioDone, programChannel, recorded, SINGLE_WRITE, startAudio } from './isa-helpers.js';
import { served, writeRxDescriptor, readRxDescriptor } from './nic-helpers.js';

const FILE = 'dma-stale-programming.test.ts';
const pool = simulatorsClosedAfterEach();

/**
 * The driver's bug, by construction: P1 is unlocked and freed, a new page is locked (it lands in
 * P1's frame: pager 'off' has no quarantine and a LIFO free stack) and its address obtained, and
 * the CPU fills it with a recognisable pattern. Returns P2.
 */
function reuseFrame(drv: DriverContext, p1: Buffer, fill = 0x5a): Buffer {
  expect(drv.vmm.linPageUnLock(p1.page, p1.npages, 0)).toBe(1);
  expect(drv.vmm.pageFree(p1.lin, 0)).toBe(1);
  const p2 = lockedPages(drv, p1.npages);
  // _CopyPageTable says it: P2 holds P1's old frame, and the driver's hand-out of it is current.
  expect(p2.phys).toEqual(p1.phys);
  drv.cpu.writeBytes(p2.lin, new Uint8Array(p2.npages * 4096).fill(fill));
  return p2;
}

/** The one stale-programming record, checked for what every such record says. */
function staleRecord(sim: Simulator, dev: DeviceHandle, frame: number, direction: 'read' | 'write') {
  const vs = sim.violations();
  expect(vs.map((v) => v.code)).toEqual(['dma-stale-programming']);
  const v = vs[0]!;
  expect(v).toMatchObject({ device: { id: dev.id, kind: dev.kind }, frame, outcome: 'blocked', access: { direction } });
  // The hand-out is current (that is the blind spot): the epoch seen is the one handed out.
  expect(v.epochSeen).toBe(v.epochExpected);
  const d = v.detail;
  // Programmed before the frame took P2, which came before the hand-out of P2.
  expect(d.programmedAt! < d.frameReusedAt!).toBe(true);
  expect(d.frameReusedAt! < d.handedOutAt!).toBe(true);
  expect(stackNames(v.stacks.handout, FILE)).toBe(true);
  expect(stackNames(v.stacks.relock, FILE)).toBe(true);
  expect(stackNames(v.stacks.unlock, FILE)).toBe(true);
  expect(sim.render(v)).toContain('BUG: dmasim: dma-stale-programming');
  return v;
}

describe('copy-engine, direct mode: SRC / DST registers', () => {
  it('a stale DST is caught at the write; no byte lands in the new buffer; reprogrammed, it is fine', async () => {
    const sim = await pool.make({ pager: 'off' });
    const dev = await sim.attachDevice('copy-engine');
    const src = lockedPages(sim, 1);
    const pattern = bytes(7, 4096);
    sim.cpu.writeBytes(src.lin, pattern);
    const p1 = lockedPages(sim, 1);
    dev.writeReg(CE.REG.SRC, src.phys[0]!);
    dev.writeReg(CE.REG.DST, p1.phys[0]!);
    dev.writeReg(CE.REG.LENGTH, 4096);
    const p2 = reuseFrame(sim, p1);

    dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.IRQ_ENABLE); // rings without reprogramming
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(ceResult(dev)).toEqual({ status: CE.STATUS.DONE | CE.STATUS.ERROR, error: CE.ERROR.DMA_REFUSED, bytes: 0 });
    const v = staleRecord(sim, dev, p1.phys[0]! >>> 12, 'write');
    // The page the address was meant for (from the lock before), with that lock's stacks.
    expect(v.linearPage).toBe(p1.page);
    expect(stackNames(v.stacks.lock, FILE)).toBe(true);
    expect(stackNames(v.stacks.programmed, FILE)).toBe(true);
    expect(sim.cpu.readBytes(p2.lin, 4096)).toEqual(new Uint8Array(4096).fill(0x5a));

    // Twin: the driver writes the address it obtained for P2 (the same number) — correct code.
    dev.ackInterrupt();
    dev.writeReg(CE.REG.DST, p2.phys[0]!);
    dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.IRQ_ENABLE);
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(ceResult(dev)).toEqual({ status: CE.STATUS.DONE, error: 0, bytes: 4096 });
    expect(sim.cpu.readBytes(p2.lin, 4096)).toEqual(pattern);
    expect(sim.violations()).toHaveLength(1);
  });

  it('a stale SRC is caught at the read (it would copy another buffer out silently)', async () => {
    const sim = await pool.make({ pager: 'off' });
    const dev = await sim.attachDevice('copy-engine');
    const p1 = lockedPages(sim, 1);
    const dst = lockedPages(sim, 1);
    dev.writeReg(CE.REG.SRC, p1.phys[0]!);
    dev.writeReg(CE.REG.DST, dst.phys[0]!);
    dev.writeReg(CE.REG.LENGTH, 256);
    reuseFrame(sim, p1, 0x77);
    dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.IRQ_ENABLE);
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(ceResult(dev).error).toBe(CE.ERROR.DMA_REFUSED);
    staleRecord(sim, dev, p1.phys[0]! >>> 12, 'read');
    expect(sim.cpu.readBytes(dst.lin, 256)).toEqual(new Uint8Array(256));
  });

  it("under onViolation 'allow' the stale write lands (the corruption, observed) and is reported as allowed", async () => {
    const sim = await pool.make({ pager: 'off', onViolation: 'allow' });
    const dev = await sim.attachDevice('copy-engine');
    const p1 = lockedPages(sim, 1);
    dev.writeReg(CE.REG.DST, p1.phys[0]!);
    dev.writeReg(CE.REG.LENGTH, 64);
    dev.writeReg(CE.REG.FILL_VALUE, 0xee);
    const p2 = reuseFrame(sim, p1);
    dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.FILL | CE.CONTROL.IRQ_ENABLE);
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(sim.violations().map((v) => [v.code, v.outcome])).toEqual([['dma-stale-programming', 'allowed']]);
    expect(sim.cpu.readBytes(p2.lin, 64)).toEqual(new Uint8Array(64).fill(0xee));
  });

  it('not judged: the same page relocked in the same frame and rung again without reprogramming (it lands where it should)', async () => {
    const sim = await pool.make({ pager: 'off' });
    const dev = await sim.attachDevice('copy-engine');
    const buf = lockedPages(sim, 1);
    dev.writeReg(CE.REG.DST, buf.phys[0]!);
    dev.writeReg(CE.REG.LENGTH, 64);
    dev.writeReg(CE.REG.FILL_VALUE, 0x11);
    expect(sim.vmm.linPageUnLock(buf.page, 1, 0)).toBe(1);
    expect(sim.vmm.linPageLock(buf.page, 1, PAGEMARKDIRTY)).toBe(1);
    expect(handOut(sim, buf.page, 1)).toEqual(buf.phys);
    dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.FILL | CE.CONTROL.IRQ_ENABLE);
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(ceResult(dev).error).toBe(0);
    expect(sim.cpu.readBytes(buf.lin, 64)).toEqual(new Uint8Array(64).fill(0x11));
    expect(sim.violations()).toEqual([]);
  });
});

describe('a page that leaves its frame and comes back', () => {
  /** X locked in F, DST programmed with its address, then X unlocked and paged out (F released). */
  async function programmedThenPagedOut(sim: Simulator) {
    const dev = await sim.attachDevice('copy-engine');
    const x = lockedPages(sim, 1);
    dev.writeReg(CE.REG.DST, x.phys[0]!);
    dev.writeReg(CE.REG.LENGTH, 64);
    dev.writeReg(CE.REG.FILL_VALUE, 0x33);
    expect(sim.vmm.linPageUnLock(x.page, 1, 0)).toBe(1);
    expect(sim.vmm.pageDiscardPages(x.page, 0, 1, PAGEDISCARD)).toBe(1);
    return { dev, x };
  }
  const fill = async (dev: DeviceHandle) => {
    dev.ackInterrupt();
    dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.FILL | CE.CONTROL.IRQ_ENABLE);
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    return ceResult(dev).error;
  };

  it('not judged: straight back, nothing else in the frame meanwhile (its contents came back, and so did what the address means)', async () => {
    const sim = await pool.make({ pager: 'off' });
    const { dev, x } = await programmedThenPagedOut(sim);
    expect(sim.vmm.linPageLock(x.page, 1, PAGEMARKDIRTY)).toBe(1);
    expect(handOut(sim, x.page, 1)).toEqual(x.phys);
    expect(await fill(dev)).toBe(0);
    expect(sim.cpu.readBytes(x.lin, 64)).toEqual(new Uint8Array(64).fill(0x33));
    expect(sim.violations()).toEqual([]);
  });

  it('reported: another page held the frame meanwhile — the address was programmed for an earlier residence (the return is a coincidence)', async () => {
    const sim = await pool.make({ pager: 'off' });
    const { dev, x } = await programmedThenPagedOut(sim);
    const y = lockedPages(sim, 1);
    expect(y.phys).toEqual(x.phys);
    expect(sim.vmm.linPageUnLock(y.page, 1, 0)).toBe(1);
    expect(sim.vmm.pageDiscardPages(y.page, 0, 1, PAGEDISCARD)).toBe(1);
    expect(sim.vmm.linPageLock(x.page, 1, PAGEMARKDIRTY)).toBe(1);
    expect(handOut(sim, x.page, 1)).toEqual(x.phys);
    expect(await fill(dev)).toBe(CE.ERROR.DMA_REFUSED);
    expect(sim.violations().map((v) => v.code)).toEqual(['dma-stale-programming']);
  });
});

describe('copy-engine, scatter-gather: addresses from descriptors', () => {
  it('a stale descriptor dst is caught; rewritten by the CPU, it is fine', async () => {
    const sim = await pool.make({ pager: 'off' });
    const dev = await sim.attachDevice('copy-engine');
    const table = lockedPages(sim, 1);
    const src = lockedPages(sim, 1);
    const pattern = bytes(3, 4096);
    sim.cpu.writeBytes(src.lin, pattern);
    const p1 = lockedPages(sim, 1);
    writeDescriptors(sim, table.lin, [{ at: 0, src: src.phys[0]!, dst: p1.phys[0]!, length: 4096, next: 0 }]);
    dev.writeReg(CE.REG.DESC, table.phys[0]!);
    const p2 = reuseFrame(sim, p1);

    dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.SG | CE.CONTROL.IRQ_ENABLE);
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(ceResult(dev)).toEqual({ status: CE.STATUS.DONE | CE.STATUS.ERROR, error: CE.ERROR.DMA_REFUSED, bytes: 0 });
    staleRecord(sim, dev, p1.phys[0]! >>> 12, 'write');
    expect(sim.cpu.readBytes(p2.lin, 4096)).toEqual(new Uint8Array(4096).fill(0x5a));

    // Twin: the driver writes the descriptor again after obtaining P2's address.
    writeDescriptors(sim, table.lin, [{ at: 0, src: src.phys[0]!, dst: p2.phys[0]!, length: 4096, next: 0 }]);
    dev.ackInterrupt();
    dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.SG | CE.CONTROL.IRQ_ENABLE);
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(ceResult(dev).error).toBe(0);
    expect(sim.cpu.readBytes(p2.lin, 4096)).toEqual(pattern);
    expect(sim.violations()).toHaveLength(1);
  });

  it("not judged: descriptors a device copied into memory (their provenance is unknown, so a correct driver's chain is never refused)", async () => {
    const sim = await pool.make({ pager: 'off' });
    const dev = await sim.attachDevice('copy-engine');
    // The copy's destination table was last written by the CPU before the buffer's page arrived:
    // judged by that write alone, the chain below would look stale.
    const copied = lockedPages(sim, 1);
    sim.cpu.writeBytes(copied.lin, new Uint8Array(16));
    const src = lockedPages(sim, 1);
    const dst = lockedPages(sim, 1);
    const pattern = bytes(11, 512);
    sim.cpu.writeBytes(src.lin, pattern);
    const written = lockedPages(sim, 1);
    writeDescriptors(sim, written.lin, [{ at: 0, src: src.phys[0]!, dst: dst.phys[0]!, length: 512, next: 0 }]);
    // The engine copies the driver's table into `copied`, then runs the chain from there.
    dev.writeReg(CE.REG.SRC, written.phys[0]!);
    dev.writeReg(CE.REG.DST, copied.phys[0]!);
    dev.writeReg(CE.REG.LENGTH, 16);
    dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.IRQ_ENABLE);
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    dev.ackInterrupt();
    dev.writeReg(CE.REG.DESC, copied.phys[0]!);
    dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.SG | CE.CONTROL.IRQ_ENABLE);
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(ceResult(dev)).toEqual({ status: CE.STATUS.DONE, error: 0, bytes: 512 });
    expect(sim.cpu.readBytes(dst.lin, 512)).toEqual(pattern);
    expect(sim.violations()).toEqual([]);
  });
});

describe('ide-busmaster: PRD entries', () => {
  it('a stale PRD region is caught at the data write (READ DMA); reprogrammed, the sectors land in the new buffer', async () => {
    const sim = await pool.make({ pager: 'off' });
    const { sab, bytes: image } = sharedImage(64, (n) => bytes(21, n));
    const dev = await sim.attachDevice('ide-busmaster', { image: sab });
    const prd = lockedPages(sim, 1);
    const p1 = lockedPages(sim, 1);
    writePrd(sim, prd.lin, pagesPrd(p1));
    // Everything programmed — table, direction, task file, command — but START.
    ideStart(dev, { command: IDE.ATA_COMMAND.READ_DMA, lba: 8, sectors: 8, prdt: prd.phys[0]!, start: false });
    const p2 = reuseFrame(sim, p1);

    dev.writeReg(IDE.REG.BM_COMMAND, IDE.BM_COMMAND.READ_WRITE | IDE.BM_COMMAND.START);
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(ideResult(dev)).toEqual(memoryError(IDE.DIAG.DMA_REFUSED));
    ideStop(dev);
    staleRecord(sim, dev, p1.phys[0]! >>> 12, 'write');
    expect(sim.cpu.readBytes(p2.lin, 4096)).toEqual(new Uint8Array(4096).fill(0x5a));

    // Twin: the table written again with P2's address.
    writePrd(sim, prd.lin, pagesPrd(p2));
    ideStart(dev, { command: IDE.ATA_COMMAND.READ_DMA, lba: 8, sectors: 8, prdt: prd.phys[0]! });
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(ideResult(dev)).toEqual(OK);
    ideStop(dev);
    expect(sim.cpu.readBytes(p2.lin, 4096)).toEqual(image.subarray(8 * 512, 16 * 512));
    expect(sim.violations()).toHaveLength(1);
  });
});

describe('nic: receive buffer addresses from the ring', () => {
  /** A receive ring of 8 in a page of its own, enabled with 2 KiB buffers; nothing handed over yet. */
  async function rxNic(sim: Simulator) {
    const link = sim.createLink();
    const wire = sim.openLink(link.b);
    const dev = await sim.attachDevice('nic', { link: link.a });
    const ring = lockedPages(sim, 1);
    dev.writeReg(NIC.REG.RDBAL, ring.phys[0]!);
    dev.writeReg(NIC.REG.RDLEN, 128);
    dev.writeReg(NIC.REG.RCTL, NIC.RCTL.EN | NIC.RCTL.BSIZE_2048);
    /** Sends a frame from the far end and waits until the NIC has acted on it. */
    const deliver = async (frame: Uint8Array) => {
      expect(wire.send(frame)).toBe(true);
      dev.writeReg(NIC.REG.ICS, 0);
      await served(sim, dev);
    };
    return { dev, ring, wire, deliver };
  }

  it('after a clean receive (its status write-back does not blind the ring), a stale descriptor is caught; the frame lands nowhere', async () => {
    const sim = await pool.make({ pager: 'off' });
    const { dev, ring, wire, deliver } = await rxNic(sim);
    const q = lockedPages(sim, 1);
    const p1 = lockedPages(sim, 1);
    writeRxDescriptor(sim, ring.lin, q.phys[0]!);
    writeRxDescriptor(sim, ring.lin + 16, p1.phys[0]!);
    dev.writeReg(NIC.REG.RDT, 2); // the device owns descriptors 0 and 1
    const first = bytes(1, 300);
    await deliver(first);
    expect(readRxDescriptor(sim, ring.lin).status & NIC.RXD_STATUS.DD).toBe(NIC.RXD_STATUS.DD);
    expect(sim.cpu.readBytes(q.lin, 300)).toEqual(first);

    // The bug: P1 is freed while descriptor 1 still hands it to the device; P2 lands in its frame.
    const p2 = reuseFrame(sim, p1);
    await deliver(bytes(2, 400));
    expect(dev.readReg(NIC.REG.DIAG)).toBe(NIC.DIAG_CODE.DMA_REFUSED | NIC.DIAG_RX);
    expect(dev.readReg(NIC.REG.RDH)).toBe(1);
    staleRecord(sim, dev, p1.phys[0]! >>> 12, 'write');
    expect(sim.cpu.readBytes(p2.lin, 4096)).toEqual(new Uint8Array(4096).fill(0x5a));
    expect(readRxDescriptor(sim, ring.lin + 16).status).toBe(0);

    // Twin: the descriptor written again with P2's address.
    writeRxDescriptor(sim, ring.lin + 16, p2.phys[0]!);
    const third = bytes(3, 500);
    await deliver(third);
    expect(dev.readReg(NIC.REG.RDH)).toBe(2);
    expect(sim.cpu.readBytes(p2.lin, 500)).toEqual(third);
    expect(sim.violations()).toHaveLength(1);
    wire.close();
  });
});

describe('isa-audio through an 8237 channel: the channel registers', () => {
  it('a channel left programmed with the old address is caught at the transfer; reprogrammed, it records into the new buffer', async () => {
    const sim = await pool.make({ pager: 'off' });
    const dev = await sim.attachDevice('isa-audio');
    const p1 = lockedPages(sim, 1);
    programChannel(sim.cpu, 1, SINGLE_WRITE, p1.phys[0]!, 4096);
    const p2 = reuseFrame(sim, p1);

    startAudio(dev, { channel: 1, block: 4096, total: 4096, seed: 9, record: true });
    expect(await audioDone(dev)).toMatchObject({ error: IA.ERROR.DMA_REFUSED, bytes: 0 });
    staleRecord(sim, dev, p1.phys[0]! >>> 12, 'write');
    expect(sim.cpu.readBytes(p2.lin, 4096)).toEqual(new Uint8Array(4096).fill(0x5a));

    // Twin: the driver programs the channel with the address it obtained for P2.
    programChannel(sim.cpu, 1, SINGLE_WRITE, p2.phys[0]!, 4096);
    startAudio(dev, { channel: 1, block: 4096, total: 4096, seed: 9, record: true });
    expect(await audioDone(dev)).toMatchObject({ error: 0, bytes: 4096 });
    expect(sim.cpu.readBytes(p2.lin, 4096)).toEqual(recorded(9, 4096));
    expect(sim.violations()).toHaveLength(1);
  });
});

describe('devices that do not annotate keep the checks they had', () => {
  it('test-probe (a built-in that states no source) reads the new buffer silently, as before', async () => {
    const sim = await pool.make({ pager: 'off' });
    const dev = await sim.attachDevice('test-probe');
    const p1 = lockedPages(sim, 1);
    dev.writeReg(TP.REG.ADDR, p1.phys[0]!);
    reuseFrame(sim, p1);
    dev.ackInterrupt();
    dev.writeReg(TP.REG.LEN, 16);
    dev.writeReg(TP.REG.CMD, TP.OP.READ);
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(dev.readReg(TP.REG.STATUS)).toBe(TP.STATUS.DONE);
    expect(sim.violations()).toEqual([]);
    // …and with an address it obtained now, of course.
    expect(await probe(dev, TP.OP.READ, p1.phys[0]!, { len: 16 })).toEqual(probeDone(16));
  });

  it("a custom device (the README's CRC engine) checksums the new buffer silently, as before", async () => {
    const sim = await pool.make({ pager: 'off' });
    const dev = await sim.attachDevice('./examples/crc-device/crc-device.ts');
    const p1 = lockedPages(sim, 1);
    dev.writeReg(2 /* ADDR */, p1.phys[0]!);
    dev.writeReg(3 /* LENGTH */, 4096);
    reuseFrame(sim, p1, 0x42);
    dev.writeReg(0 /* CONTROL */, 1 /* START */);
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    expect(dev.readReg(1 /* STATUS */)).toBe(1 /* DONE */);
    expect(dev.readReg(4 /* RESULT */)).toBe(crc32(new Uint8Array(4096).fill(0x42)));
    expect(sim.violations()).toEqual([]);
  });
});

describe('zero false positives: correct drivers reprogram after every lock, frames reused all the time', () => {
  // Aggressive pager with no quarantine: every unlock moves or pages out the pages at once and the
  // next lock takes a frame just released — often the very frame the previous round used.
  const options = (seed: number) => ({ pager: 'aggressive' as const, quarantine: 0, seed });

  it('copy-engine, direct and scatter-gather, 60 rounds', async () => {
    const sim = await pool.make(options(31));
    const dev = await sim.attachDevice('copy-engine');
    const table = lockedPages(sim, 1);
    const a = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, 0);
    const b = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, 0);
    const seen = new Map<number, number>();
    let reused = 0;
    for (let round = 0; round < 60; round++) {
      const pattern = bytes(round + 1, 8192);
      sim.cpu.writeBytes(a, pattern);
      expect(sim.vmm.linPageLock(a >>> 12, 2, PAGEMARKDIRTY)).toBe(1);
      expect(sim.vmm.linPageLock(b >>> 12, 2, PAGEMARKDIRTY)).toBe(1);
      const [s0, s1] = handOut(sim, a >>> 12, 2);
      const [d0, d1] = handOut(sim, b >>> 12, 2);
      for (const p of [s0!, s1!, d0!, d1!]) {
        if (seen.has(p) && seen.get(p) !== round) reused++;
        seen.set(p, round);
      }
      dev.ackInterrupt();
      if (round % 2 === 0) {
        dev.writeReg(CE.REG.SRC, s0!);
        dev.writeReg(CE.REG.DST, d0!);
        dev.writeReg(CE.REG.LENGTH, 4096);
        dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.IRQ_ENABLE);
        await dev.waitForInterrupt({ timeoutMs: 10_000 });
        dev.ackInterrupt();
        dev.writeReg(CE.REG.SRC, s1!);
        dev.writeReg(CE.REG.DST, d1!);
        dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.IRQ_ENABLE);
      } else {
        writeDescriptors(sim, table.lin, [
          { at: 0, src: s0!, dst: d0!, length: 4096, next: table.phys[0]! + 16 },
          { at: 16, src: s1!, dst: d1!, length: 4096, next: 0 },
        ]);
        dev.writeReg(CE.REG.DESC, table.phys[0]!);
        dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.SG | CE.CONTROL.IRQ_ENABLE);
      }
      await dev.waitForInterrupt({ timeoutMs: 10_000 });
      expect(ceResult(dev).error).toBe(0);
      expect(sim.vmm.linPageUnLock(a >>> 12, 2, 0)).toBe(1);
      expect(sim.vmm.linPageUnLock(b >>> 12, 2, 0)).toBe(1);
      expect(sim.cpu.readBytes(b, 8192)).toEqual(pattern);
    }
    expect(reused).toBeGreaterThan(30);
    expect(sim.violations()).toEqual([]);
  });

  it('ide-busmaster READ and WRITE DMA, 40 rounds', async () => {
    const sim = await pool.make(options(32));
    const { sab, bytes: image } = sharedImage(256, (n) => bytes(5, n));
    const dev = await sim.attachDevice('ide-busmaster', { image: sab });
    const prd = lockedPages(sim, 1);
    const buf = sim.vmm.pageAllocate(2, PG_SYS, 0, 0, 0, 0, null, 0);
    const seen = new Set<number>();
    let reused = 0;
    for (let round = 0; round < 40; round++) {
      expect(sim.vmm.linPageLock(buf >>> 12, 2, PAGEMARKDIRTY)).toBe(1);
      const phys = handOut(sim, buf >>> 12, 2);
      for (const p of phys) (seen.has(p) ? reused++ : seen.add(p));
      writePrd(sim, prd.lin, pagesPrd({ lin: buf, page: buf >>> 12, npages: 2, phys }));
      const lba = (round * 16) % 240;
      const write = round % 2 === 1;
      if (write) sim.cpu.writeBytes(buf, bytes(100 + round, 8192));
      const want = write ? bytes(100 + round, 8192) : image.slice(lba * 512, lba * 512 + 8192);
      ideStart(dev, { command: write ? IDE.ATA_COMMAND.WRITE_DMA : IDE.ATA_COMMAND.READ_DMA, lba, sectors: 16, prdt: prd.phys[0]! });
      await dev.waitForInterrupt({ timeoutMs: 10_000 });
      expect(ideResult(dev)).toEqual(OK);
      ideStop(dev);
      expect(sim.vmm.linPageUnLock(buf >>> 12, 2, 0)).toBe(1);
      expect(write ? image.slice(lba * 512, lba * 512 + 8192) : sim.cpu.readBytes(buf, 8192)).toEqual(want);
    }
    expect(reused).toBeGreaterThan(20);
    expect(sim.violations()).toEqual([]);
  });

  it('isa-audio recording through channel 1, 40 rounds', async () => {
    const sim = await pool.make(options(33));
    const dev = await sim.attachDevice('isa-audio');
    const buf = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
    const seen = new Set<number>();
    let reused = 0;
    for (let round = 0; round < 40; round++) {
      expect(sim.vmm.linPageLock(buf >>> 12, 1, PAGEMARKDIRTY)).toBe(1);
      const [phys] = handOut(sim, buf >>> 12, 1);
      seen.has(phys!) ? reused++ : seen.add(phys!);
      programChannel(sim.cpu, 1, SINGLE_WRITE, phys!, 4096);
      startAudio(dev, { channel: 1, block: 2048, total: 4096, seed: round, record: true });
      expect(await audioDone(dev)).toMatchObject({ error: 0, bytes: 4096 });
      expect(sim.vmm.linPageUnLock(buf >>> 12, 1, 0)).toBe(1);
      expect(sim.cpu.readBytes(buf, 4096)).toEqual(recorded(round, 4096));
    }
    expect(reused).toBeGreaterThan(20);
    expect(sim.violations()).toEqual([]);
  });

  it('nic receive, buffers relocked and descriptors rewritten every round, 30 rounds', async () => {
    const sim = await pool.make(options(34));
    const link = sim.createLink();
    const wire = sim.openLink(link.b);
    const dev = await sim.attachDevice('nic', { link: link.a });
    const ring = lockedPages(sim, 1);
    dev.writeReg(NIC.REG.RDBAL, ring.phys[0]!);
    dev.writeReg(NIC.REG.RDLEN, 128);
    dev.writeReg(NIC.REG.RCTL, NIC.RCTL.EN | NIC.RCTL.BSIZE_2048);
    const buf = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
    let tail = 0;
    const seen = new Set<number>();
    let reused = 0;
    for (let round = 0; round < 30; round++) {
      expect(sim.vmm.linPageLock(buf >>> 12, 1, PAGEMARKDIRTY)).toBe(1);
      const [phys] = handOut(sim, buf >>> 12, 1);
      seen.has(phys!) ? reused++ : seen.add(phys!);
      const slot = tail;
      writeRxDescriptor(sim, ring.lin + slot * 16, phys!);
      tail = (tail + 1) % 8;
      dev.writeReg(NIC.REG.RDT, tail);
      const frame = bytes(round + 50, 64 + round * 40);
      expect(wire.send(frame)).toBe(true);
      dev.writeReg(NIC.REG.ICS, 0);
      await served(sim, dev);
      expect(readRxDescriptor(sim, ring.lin + slot * 16).status & NIC.RXD_STATUS.DD).toBe(NIC.RXD_STATUS.DD);
      // RDH == RDT: the device owns nothing now, so the buffer may be unlocked.
      expect(dev.readReg(NIC.REG.RDH)).toBe(tail);
      expect(sim.vmm.linPageUnLock(buf >>> 12, 1, 0)).toBe(1);
      expect(sim.cpu.readBytes(buf, frame.length)).toEqual(frame);
    }
    expect(reused).toBeGreaterThan(10);
    expect(sim.violations()).toEqual([]);
    wire.close();
  });
});

describe('the record', () => {
  it('is schema-valid in sim.report(), and the trace has its violation event', async () => {
    const sim = await pool.make({ pager: 'off' });
    const dev = await sim.attachDevice('copy-engine');
    const p1 = lockedPages(sim, 1);
    dev.writeReg(CE.REG.DST, p1.phys[0]!);
    dev.writeReg(CE.REG.LENGTH, 8);
    reuseFrame(sim, p1);
    dev.writeReg(CE.REG.CONTROL, CE.CONTROL.START | CE.CONTROL.FILL | CE.CONTROL.IRQ_ENABLE);
    await dev.waitForInterrupt({ timeoutMs: 10_000 });
    const report = sim.report();
    expect(ofCode(report.violations, 'dma-stale-programming')).toHaveLength(1);
    expect(report.violationCounts.byCode['dma-stale-programming']).toBe(1);
    const { readFileSync } = await import('node:fs');
    const { Ajv } = await import('ajv');
    const validate = new Ajv({ allErrors: true, strict: true }).compile(JSON.parse(readFileSync(new URL('../schema/report.schema.json', import.meta.url), 'utf8')) as object);
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    expect(sim.trace.events().some((e) => e.kind === 'violation')).toBe(true);
  });
});
