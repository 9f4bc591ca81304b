// An ISA sound driver's test in the fixture style: program the 8237 through the ports, record a
// block into a locked buffer below 16 MiB, verify, unlock — and the classic ISA bug, a buffer
// above 16 MiB, caught with its code.
import { DMA_MODE, I8237_REG, PAGE_PORTS, PAGECONTIG, PAGEFIXED, PAGEMARKDIRTY, PAGEUSEALIGN, PG_SYS, isaAudio as IA, type Simulator } from 'dmasim';
import { describe, expect, test } from 'dmasim/vitest';

/** Channel 1 (8-bit): mask, clear flip-flop, mode, address, page, count, unmask. */
function programChannel1(sim: Simulator, mode: number, phys: number, bytes: number) {
  const out = (port: number, v: number) => sim.cpu.outb(port, v & 0xff);
  out(I8237_REG.SINGLE_MASK, 0x04 | 1);
  out(I8237_REG.CLEAR_FLIP_FLOP, 0);
  out(I8237_REG.MODE, mode | 1);
  out(2, phys);
  out(2, phys >>> 8);
  out(PAGE_PORTS[1]!, phys >>> 16);
  out(3, bytes - 1);
  out(3, (bytes - 1) >>> 8);
  out(I8237_REG.SINGLE_MASK, 1);
}

async function record(sim: Simulator, phys: number, bytes: number, seed: number) {
  const dev = await sim.attachDevice('isa-audio');
  programChannel1(sim, DMA_MODE.SINGLE | DMA_MODE.WRITE, phys, bytes);
  dev.writeReg(IA.REG.CHANNEL, 1);
  dev.writeReg(IA.REG.BLOCK, bytes);
  dev.writeReg(IA.REG.TOTAL, bytes);
  dev.writeReg(IA.REG.SEED, seed);
  dev.writeReg(IA.REG.CONTROL, IA.CONTROL.START | IA.CONTROL.RECORD | IA.CONTROL.IRQ_ENABLE);
  await dev.waitForInterrupt();
  dev.ackInterrupt();
  await dev.detach();
}

test('records a block into a locked buffer below 16 MiB', async ({ sim }) => {
  const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
  expect(sim.vmm.linPageLock(lin >>> 12, 1, PAGEMARKDIRTY)).toBe(1);
  const pte = new Uint32Array(1);
  sim.vmm.copyPageTable(lin >>> 12, 1, pte, 0);
  await record(sim, pte[0]! & ~0xfff, 1024, 5);
  sim.vmm.linPageUnLock(lin >>> 12, 1, 0);
  expect(sim.cpu.readBytes(lin, 1024)).toEqual(Uint8Array.from({ length: 1024 }, (_, i) => (5 + i) & 0xff));
  expect(sim).toHaveNoDmaViolations();
});

describe('with 32 MiB of memory', () => {
  test.override({ simOptions: { memory: 32 << 20 } });
  test('a buffer above 16 MiB is caught: the 8237 reaches 24 bits only', async ({ sim }) => {
    const phys = new Uint32Array(1);
    // _PageAllocate constrained above 16 MiB (min/max physical page numbers), fixed and contiguous.
    sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0x1000, 0x2000, phys, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED);
    expect(sim.vmm.lastError).toBeNull();
    await record(sim, phys[0]!, 256, 1);
    expect(sim).toHaveDmaViolation('dma-address-width', { device: { kind: 'isa-audio' } });
  });
});
