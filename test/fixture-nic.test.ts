// A NIC driver's test in the fixture style: two NICs on one wire, frames A → B verified byte for
// byte; and the bug NIC drivers are known for — an RX buffer unlocked while still in the ring —
// caught when a frame arrives.
import { nic as NIC, PAGEMARKDIRTY, PG_SYS, type DeviceHandle, type Simulator } from 'dmasim';
import { expect, test } from 'dmasim/vitest';

/** One locked page per NIC: TX ring at 0, RX ring at 128 (8 descriptors each), buffers from 2048. */
async function nicWithRings(sim: Simulator, end: Parameters<Simulator['attachDevice']>[1]) {
  const dev = await sim.attachDevice('nic', end);
  const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
  sim.vmm.linPageLock(lin >>> 12, 1, PAGEMARKDIRTY);
  const pte = new Uint32Array(1);
  sim.vmm.copyPageTable(lin >>> 12, 1, pte, 0);
  const phys = (pte[0]! & ~0xfff) >>> 0;
  dev.writeReg(NIC.REG.TDBAL, phys);
  dev.writeReg(NIC.REG.TDLEN, 128);
  dev.writeReg(NIC.REG.RDBAL, phys + 128);
  dev.writeReg(NIC.REG.RDLEN, 128);
  dev.writeReg(NIC.REG.IMS, NIC.ICR.TXDW | NIC.ICR.RXT0);
  dev.writeReg(NIC.REG.RCTL, NIC.RCTL.EN | NIC.RCTL.BSIZE_2048);
  dev.writeReg(NIC.REG.TCTL, NIC.TCTL.EN);
  return { dev, lin, phys, unlock: () => sim.vmm.linPageUnLock(lin >>> 12, 1, 0) };
}

/** Hands RX descriptor 0 (buffer at `buffer`) to the device. */
function giveRxBuffer(sim: Simulator, n: { dev: DeviceHandle; lin: number }, buffer: number) {
  const rx = new DataView(new ArrayBuffer(16));
  rx.setUint32(NIC.RX_DESC.ADDR, buffer, true);
  sim.cpu.writeBytes(n.lin + 128, new Uint8Array(rx.buffer));
  n.dev.writeReg(NIC.REG.RDT, 1);
}

/** Sends one frame from TX descriptor 0, the bytes at offset 256 of the NIC's page. */
function sendFrame(sim: Simulator, n: { dev: DeviceHandle; lin: number; phys: number }, frame: Uint8Array) {
  sim.cpu.writeBytes(n.lin + 256, frame);
  const tx = new DataView(new ArrayBuffer(16));
  tx.setUint32(NIC.TX_DESC.ADDR, n.phys + 256, true);
  tx.setUint16(NIC.TX_DESC.LENGTH, frame.length, true);
  tx.setUint8(NIC.TX_DESC.CMD, NIC.TXD_CMD.EOP | NIC.TXD_CMD.RS);
  sim.cpu.writeBytes(n.lin, new Uint8Array(tx.buffer));
  n.dev.writeReg(NIC.REG.TDT, 1);
}

/** Waits for RX descriptor 0's DD, acknowledging before each look so no interrupt is missed. */
async function received(sim: Simulator, n: { dev: DeviceHandle; lin: number }) {
  for (;;) {
    n.dev.ackInterrupt();
    n.dev.readReg(NIC.REG.ICR);
    if (sim.cpu.read8(n.lin + 128 + NIC.RX_DESC.STATUS) & NIC.RXD_STATUS.DD) return;
    await n.dev.waitForInterrupt();
  }
}

test('a frame sent by A arrives in B, byte for byte', async ({ sim }) => {
  const link = sim.createLink();
  const a = await nicWithRings(sim, { link: link.a });
  const b = await nicWithRings(sim, { link: link.b });
  giveRxBuffer(sim, b, b.phys + 2048);
  const frame = Uint8Array.from({ length: 1000 }, (_, i) => (i * 3) & 0xff);
  sendFrame(sim, a, frame);
  await received(sim, b);
  expect(sim.cpu.readBytes(b.lin + 2048, sim.cpu.read16(b.lin + 128 + NIC.RX_DESC.LENGTH))).toEqual(frame);
  await a.dev.detach();
  await b.dev.detach();
  a.unlock();
  b.unlock();
  expect(sim).toHaveNoDmaViolations();
});

test('an RX buffer unlocked while still in the ring is caught when a frame arrives', async ({ sim }) => {
  const link = sim.createLink();
  const wire = sim.openLink(link.b);
  const a = await nicWithRings(sim, { link: link.a });
  // The RX buffer is a page of its own, handed to the ring, then unlocked: the bug.
  const buf = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
  sim.vmm.linPageLock(buf >>> 12, 1, PAGEMARKDIRTY);
  const pte = new Uint32Array(1);
  sim.vmm.copyPageTable(buf >>> 12, 1, pte, 0);
  giveRxBuffer(sim, a, (pte[0]! & ~0xfff) >>> 0);
  sim.vmm.linPageUnLock(buf >>> 12, 1, 0);

  wire.send(new Uint8Array(64).fill(9));
  // The device's write into the buffer is refused (nothing lands) and DIAG says why.
  await expect.poll(() => a.dev.readReg(NIC.REG.DIAG), { timeout: 10_000 }).not.toBe(0);
  await a.dev.detach();
  a.unlock();
  expect(sim).toHaveDmaViolation('dma-unlocked', { device: { kind: 'nic' }, access: { direction: 'write' } });
});
