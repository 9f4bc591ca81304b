/**
 * Ring registers and descriptors are hostile input. Each bad value below is refused before anything
 * is written: DIAG says why (DIAG_RX for the receive side), the head stays, no descriptor or buffer
 * byte changes, no frame leaves, and the refusal is counted. A refused DMA access is also a
 * violation record with the usual code. Every case waits with a fence (a doorbell rung after the
 * one under test, and after the frame under test was sent, has been served), never with a sleep.
 */

import { describe, expect, it } from 'vitest';
import { nic as NIC, type ViolationCode } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { lockedPages } from './dma-helpers.js';
import { frameOf, NicDriver, writeRxDescriptor, writeTxDescriptor } from './nic-helpers.js';

const pool = simulatorsClosedAfterEach();
const { REG, DIAG_CODE, DIAG_RX } = NIC;

async function rig() {
  const sim = await pool.make({ pager: 'off' });
  const link = sim.createLink();
  const host = sim.openLink(link.b);
  const nic = new NicDriver(sim, await sim.attachDevice('nic', { name: 'hostile', link: link.a }), { ims: 0, rxBufSize: 1024 });
  // Every doorbell of the set-up served before a case reprograms the ring: a command still running
  // would read the ring registers half old, half new (seen once: TDBAL read before the case's
  // write, TDLEN after it — a good ring of the new length, and a frame sent).
  await nic.fence(sim);
  return { sim, nic, host };
}

type Rig = Awaited<ReturnType<typeof rig>>;

/** Everything the device could write: both rings and all buffers. */
function memory({ sim, nic }: Rig): Uint8Array[] {
  return [nic.txRing, nic.rxRing, nic.txBufs, nic.rxBufs].map((b) => sim.cpu.readBytes(b.lin, b.npages * 4096));
}

interface Case {
  name: string;
  /** Breaks something after a valid frame is queued (TX) or descriptors are posted (RX). */
  bad: (r: Rig) => void;
  diag: number;
  /** The violation the refused access records, if the refusal came from the DMA checks. */
  violation?: ViolationCode;
}

const TX_CASES: Case[] = [
  { name: 'TDLEN not a multiple of 128', bad: ({ nic }) => nic.dev.writeReg(REG.TDLEN, 100), diag: DIAG_CODE.TX_RING_LENGTH },
  { name: 'TDLEN zero', bad: ({ nic }) => nic.dev.writeReg(REG.TDLEN, 0), diag: DIAG_CODE.TX_RING_LENGTH },
  { name: 'TDLEN of 2^20 (a 20-bit field)', bad: ({ nic }) => nic.dev.writeReg(REG.TDLEN, 1 << 20), diag: DIAG_CODE.TX_RING_LENGTH },
  { name: 'TDH beyond the ring', bad: ({ nic }) => nic.dev.writeReg(REG.TDH, 8), diag: DIAG_CODE.TX_HEAD_TAIL_RANGE },
  { name: 'TDBAL not 16-byte aligned', bad: ({ nic }) => nic.dev.writeReg(REG.TDBAL, nic.txRing.phys[0]! + 8), diag: DIAG_CODE.RING_BASE_MISALIGNED },
  { name: 'TDBAH non-zero', bad: ({ nic }) => nic.dev.writeReg(REG.TDBAH, 1), diag: DIAG_CODE.ADDRESS_HIGH },
  {
    name: 'a ring running past 4 GiB',
    bad: ({ nic }) => {
      nic.dev.writeReg(REG.TDBAL, 0xffffff80);
      nic.dev.writeReg(REG.TDLEN, 256);
    },
    diag: DIAG_CODE.ADDRESS_HIGH,
  },
  {
    name: 'a buffer address above 4 GiB',
    bad: ({ sim, nic }) => writeTxDescriptor(sim, nic.txSlotLin(0), { addr: nic.txBufs.phys[0]!, addrHigh: 1, length: 100, cmd: NIC.TXD_CMD.EOP | NIC.TXD_CMD.RS }),
    diag: DIAG_CODE.ADDRESS_HIGH,
  },
  {
    name: 'a buffer outside RAM',
    bad: ({ sim, nic }) => writeTxDescriptor(sim, nic.txSlotLin(0), { addr: 0xf000_0000, length: 100, cmd: NIC.TXD_CMD.EOP | NIC.TXD_CMD.RS }),
    diag: DIAG_CODE.DMA_REFUSED,
    violation: 'dma-outside-memory',
  },
  {
    name: 'a buffer in an unlocked page',
    bad: ({ sim, nic }) => {
      const page = lockedPages(sim, 1);
      expect(sim.vmm.linPageUnLock(page.page, 1, 0)).toBe(1);
      writeTxDescriptor(sim, nic.txSlotLin(0), { addr: page.phys[0]!, length: 100, cmd: NIC.TXD_CMD.EOP | NIC.TXD_CMD.RS });
    },
    diag: DIAG_CODE.DMA_REFUSED,
    violation: 'dma-unlocked',
  },
  { name: 'the ring in an unlocked page', bad: ({ sim, nic }) => expect(sim.vmm.linPageUnLock(nic.txRing.page, 1, 0)).toBe(1), diag: DIAG_CODE.DMA_REFUSED, violation: 'dma-unlocked' },
  {
    name: 'a frame of MAX_FRAME + 1 bytes',
    bad: ({ sim, nic }) => {
      writeTxDescriptor(sim, nic.txSlotLin(0), { addr: nic.txBufs.phys[0]!, length: 1000, cmd: NIC.TXD_CMD.RS });
      writeTxDescriptor(sim, nic.txSlotLin(1), { addr: nic.txBufs.phys[1]!, length: NIC.MAX_FRAME + 1 - 1000, cmd: NIC.TXD_CMD.RS | NIC.TXD_CMD.EOP });
      nic.txTail = 2;
    },
    diag: DIAG_CODE.FRAME_TOO_LONG,
  },
  {
    name: 'an extended descriptor (DEXT)',
    bad: ({ sim, nic }) => writeTxDescriptor(sim, nic.txSlotLin(0), { addr: nic.txBufs.phys[0]!, length: 100, cmd: NIC.TXD_CMD.EOP | NIC.TXD_CMD.RS | NIC.TXD_CMD.DEXT }),
    diag: DIAG_CODE.DESCRIPTOR_EXTENDED,
  },
];

const RX_CASES: Case[] = [
  { name: 'RDLEN not a multiple of 128', bad: ({ nic }) => nic.dev.writeReg(REG.RDLEN, 130), diag: DIAG_CODE.RX_RING_LENGTH | DIAG_RX },
  { name: 'RDT beyond the ring', bad: ({ nic }) => nic.dev.writeReg(REG.RDT, 200), diag: DIAG_CODE.RX_HEAD_TAIL_RANGE | DIAG_RX },
  { name: 'RDH beyond the ring', bad: ({ nic }) => nic.dev.writeReg(REG.RDH, 8), diag: DIAG_CODE.RX_HEAD_TAIL_RANGE | DIAG_RX },
  { name: 'RDBAL not 16-byte aligned', bad: ({ nic }) => nic.dev.writeReg(REG.RDBAL, nic.rxRing.phys[0]! + 4), diag: DIAG_CODE.RING_BASE_MISALIGNED | DIAG_RX },
  { name: 'RDBAH non-zero', bad: ({ nic }) => nic.dev.writeReg(REG.RDBAH, 1), diag: DIAG_CODE.ADDRESS_HIGH | DIAG_RX },
  { name: 'a buffer address above 4 GiB', bad: ({ sim, nic }) => writeRxDescriptor(sim, nic.rxSlotLin(0), nic.rxBufs.phys[0]!, 1), diag: DIAG_CODE.ADDRESS_HIGH | DIAG_RX },
  { name: 'a buffer outside RAM', bad: ({ sim, nic }) => writeRxDescriptor(sim, nic.rxSlotLin(0), 0xf000_0000), diag: DIAG_CODE.DMA_REFUSED | DIAG_RX, violation: 'dma-outside-memory' },
  { name: 'the ring in an unlocked page', bad: ({ sim, nic }) => expect(sim.vmm.linPageUnLock(nic.rxRing.page, 1, 0)).toBe(1), diag: DIAG_CODE.DMA_REFUSED | DIAG_RX, violation: 'dma-unlocked' },
];

function expectViolation(sim: Rig['sim'], code: ViolationCode | undefined): void {
  const vs = sim.violations();
  if (code === undefined) return void expect(vs).toEqual([]);
  expect(vs.length).toBeGreaterThanOrEqual(1);
  for (const v of vs) {
    expect(v.code).toBe(code);
    expect(v.device).toMatchObject({ kind: 'nic', name: 'hostile' });
    expect(v.outcome).toBe('blocked');
  }
}

describe('nic: hostile transmit rings are refused', () => {
  for (const c of TX_CASES) {
    it(`${c.name}: DIAG ${c.diag}, TDH stays, nothing written or sent`, async () => {
      const r = await rig();
      const { sim, nic, host } = r;
      nic.queue(frameOf(1, 300));
      c.bad(r);
      const before = memory(r);
      const tdh = nic.dev.readReg(REG.TDH);
      nic.kick();
      await nic.fence(sim);
      expect(nic.dev.readReg(REG.DIAG)).toBe(c.diag);
      expect(nic.dev.readReg(REG.TDH)).toBe(tdh);
      expect(memory(r)).toEqual(before);
      expect(host.pending()).toBe(0);
      // Counted at least once: every later doorbell (the fence's too) finds the ring as bad and refuses again.
      expect((await nic.dev.stats()).ringErrors).toBeGreaterThanOrEqual(1);
      expectViolation(sim, c.violation);
      expect(nic.dev.readReg(REG.GPTC)).toBe(0);
    });
  }

  it('refused, not wedged: once the registers are fixed, the same doorbell sends the frame', async () => {
    const r = await rig();
    const { sim, nic, host } = r;
    const f = frameOf(2, 900);
    nic.queue(f, 2);
    nic.dev.writeReg(REG.TDLEN, 100);
    nic.kick();
    await nic.fence(sim);
    expect(nic.dev.readReg(REG.DIAG)).toBe(DIAG_CODE.TX_RING_LENGTH);
    nic.dev.writeReg(REG.TDLEN, nic.txCount * NIC.TX_DESC.SIZE);
    nic.kick();
    expect(await host.nextFrame({ timeoutMs: 10_000 })).toEqual(f);
    await nic.fence(sim);
    expect(nic.dev.readReg(REG.TDH)).toBe(2);
  });

  it('a whole ring without EOP is one bounded walk: nothing sent, nothing written, the device answers', async () => {
    const r = await rig();
    const { sim, nic, host } = r;
    for (let i = 0; i < nic.txCount; i++) writeTxDescriptor(sim, nic.txSlotLin(i), { addr: nic.txBufs.phys[0]!, length: i % 2 ? 0 : 64, cmd: NIC.TXD_CMD.RS });
    const before = memory(r);
    nic.dev.writeReg(REG.TDH, 3);
    nic.dev.writeReg(REG.TDT, 2); // the device owns 3 … 7, 0, 1: seven descriptors, no EOP
    await nic.fence(sim);
    expect(nic.dev.readReg(REG.TDH)).toBe(3);
    expect(nic.dev.readReg(REG.DIAG)).toBe(DIAG_CODE.NONE);
    expect(memory(r)).toEqual(before);
    expect(host.pending()).toBe(0);
    expect(await nic.dev.stats()).toMatchObject({ txFrames: 0, ringErrors: 0 });
    expect(sim.violations()).toEqual([]);
  });
});

describe('nic: hostile receive rings are refused', () => {
  for (const c of RX_CASES) {
    it(`${c.name}: DIAG ${c.diag}, RDH stays, the frame is written nowhere`, async () => {
      const r = await rig();
      const { sim, nic, host } = r;
      nic.postRx();
      c.bad(r);
      const before = memory(r);
      expect(host.send(frameOf(3, 200))).toBe(true);
      await nic.fence(sim);
      expect(nic.dev.readReg(REG.DIAG)).toBe(c.diag);
      expect(memory(r)).toEqual(before);
      // One frame, one refusal: receive work comes from the wire, not from doorbells.
      expect(await nic.dev.stats()).toMatchObject({ rxFrames: 0, ringErrors: 1 });
      expectViolation(sim, c.violation);
      expect(nic.dev.readReg(REG.GPRC)).toBe(0);
    });
  }

  it('a received frame of MAX_FRAME + 1 bytes is dropped and counted (ROC), written nowhere', async () => {
    const r = await rig();
    const { sim, nic, host } = r;
    nic.postRx();
    const before = memory(r);
    expect(host.send(frameOf(4, NIC.MAX_FRAME + 1))).toBe(true);
    await nic.fence(sim);
    expect(nic.dev.readReg(REG.DIAG)).toBe(DIAG_CODE.FRAME_TOO_LONG | DIAG_RX);
    expect(nic.dev.readReg(REG.ROC)).toBe(1);
    expect(nic.dev.readReg(REG.ROC)).toBe(0);
    expect(nic.dev.readReg(REG.RDH)).toBe(0);
    expect(memory(r)).toEqual(before);
    expect(await nic.dev.stats()).toMatchObject({ rxFrames: 0, rxOversize: 1 });
    expect(sim.violations()).toEqual([]);
    // The next frame of a legal size is received as usual.
    expect(host.send(frameOf(5, NIC.MAX_FRAME))).toBe(true);
    await nic.fence(sim);
    nic.collect();
    expect(nic.received).toEqual([frameOf(5, NIC.MAX_FRAME)]);
  });

  it('RCTL.EN clear: frames are dropped and counted, nothing written', async () => {
    const r = await rig();
    const { sim, nic, host } = r;
    nic.postRx();
    nic.dev.writeReg(REG.RCTL, 0);
    const before = memory(r);
    expect(host.send(frameOf(6, 100))).toBe(true);
    await nic.fence(sim);
    expect(memory(r)).toEqual(before);
    expect(await nic.dev.stats()).toMatchObject({ rxFrames: 0, rxDisabled: 1, rxDropped: 0 });
  });

  it('TCTL.EN clear: queued descriptors wait; setting EN (a TCTL write rings) sends them', async () => {
    const r = await rig();
    const { sim, nic, host } = r;
    nic.dev.writeReg(REG.TCTL, 0);
    const f = frameOf(7, 400);
    nic.queue(f);
    nic.kick();
    await nic.fence(sim);
    expect(nic.dev.readReg(REG.TDH)).toBe(0);
    expect(host.pending()).toBe(0);
    nic.dev.writeReg(REG.TCTL, NIC.TCTL.EN);
    expect(await host.nextFrame({ timeoutMs: 10_000 })).toEqual(f);
  });
});
