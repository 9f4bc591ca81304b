/**
 * The bug corpus (test/corpus/*.ts): what an entry is, and the driver half every entry shares —
 * buffers locked and handed out as the DDK prescribes, each device kind's programming sequence,
 * and waits that end on a state the device publishes (an interrupt, DONE, a register), never on a
 * delay. An entry's bug bites by construction (the unlock comes before the doorbell, the frame is
 * taken before the far end sends), so its verdict never depends on timing or on luck.
 *
 * An entry is a module with four named exports (test/corpus-runner.ts loads every file in the
 * folder and checks the shape):
 *  - `about`: device kind, the bug class as a reader would look it up, one line of what it does;
 *  - `expected`: the verdict as data, `{ verdict: 'clean' }` or `{ verdict: 'bug', code }`;
 *  - `blindedBy` (bug entries): the checker sabotages (src/sabotage.ts) that must make it go
 *    undetected — test/corpus-sabotage.test.ts asserts exactly these;
 *  - `driver(t)`: the driver, given `{ sim, mode }` — the shape of the dmasim/vitest fixture's
 *    context plus the run mode — so an entry runs under the runner or inside a fixture test.
 *
 * A verdict's `code` is one of three kinds, all strings the reports use:
 *  - a violation code (VIOLATION_CODES: sim.violations()),
 *  - a leak code (LeakCode: sim.leaks() after close, as the fixture's teardown judges them),
 *  - `ddk:<VmmErrorCode>` for a DDK-error bug: a service call that failed, seen in the driver's
 *    `vmm.lastError` right after the call (the runner looks after every call, so a later success
 *    that clears lastError does not hide it). A driver that unlocks twice is `ddk:not-locked`.
 * A bug may bring consequences no driver can avoid (a device never detached because its command
 * never ends is also a device-leak): `also` lists them; any other code found is a failure.
 */

import { expect } from 'vitest';
import {
  P_PRES,
  PAGECONTIG,
  PAGEFIXED,
  PAGEMARKDIRTY,
  PAGEUSEALIGN,
  PG_SYS,
  copyEngine as CE,
  ideBusmaster as IDE,
  isaAudio as IA,
  nic as NIC,
  type DeviceHandle,
  type DriverContext,
  type HostLinkPort,
  type LeakCode,
  type Simulator,
  type SimulatorOptions,
  type ViolationCode,
  type VmmErrorCode,
} from '../src/index.js';
import type { SabotageName } from '../src/sabotage.js';
import { SINGLE_WRITE, programChannel, startAudio } from './isa-helpers.js';

// ——— what an entry is ———

/**
 * How the runner drives an entry. 'free-running': real worker threads, as every dmasim test runs.
 * 'deterministic': the seeded scheduler owns every device step and driver step, the driver running
 * as one task of sim.run. The helpers below wait only through the simulator (sim.waitUntil,
 * waitForInterrupt, a link's nextFrame), which behave the same in both modes; an entry branches on
 * the mode only where its free-running construction cannot be scheduled (its comment says why).
 */
export type CorpusMode = 'free-running' | 'deterministic';

/** What an entry's driver gets: the fixture's context shape (`{ sim }`) plus the mode. */
export interface CorpusContext {
  readonly sim: Simulator;
  readonly mode: CorpusMode;
}

export type DeviceKind = 'copy-engine' | 'isa-audio' | 'ide-busmaster' | 'nic' | 'test-probe' | 'vmm';

export type DdkCode = `ddk:${VmmErrorCode}`;
export type CorpusCode = ViolationCode | LeakCode | DdkCode;

export type Expected =
  | { readonly verdict: 'clean' }
  | {
      readonly verdict: 'bug';
      readonly code: CorpusCode;
      /** Codes the bug necessarily brings with it (not a second bug). */
      readonly also?: readonly CorpusCode[];
      /** A blind spot being fixed elsewhere: reported as a known gap until it is caught. */
      readonly knownGap?: true;
    };

export interface About {
  readonly device: DeviceKind;
  /** The bug class (or, for a clean entry, what it is the correct twin of). */
  readonly bugClass: string;
  readonly summary: string;
  /** Simulator options beyond the runner's (pager 'aggressive', a seed per entry). */
  readonly options?: SimulatorOptions;
}

export interface CorpusEntryModule {
  readonly about: About;
  readonly expected: Expected;
  readonly blindedBy?: readonly SabotageName[];
  driver(t: CorpusContext): Promise<void>;
}

// ——— buffers ———

export interface Locked {
  lin: number;
  page: number;
  npages: number;
  /** The physical address of each page, as _CopyPageTable told the driver. */
  phys: number[];
  unlock(): void;
}

/** _PageAllocate (swappable), _LinPageLock, then _CopyPageTable: the DDK's order. */
export function lockForDma(drv: DriverContext, npages: number, lockFlags = PAGEMARKDIRTY): Locked {
  const lin = drv.vmm.pageAllocate(npages, PG_SYS, 0, 0, 0, 0, null, 0);
  expect(lin, 'pageAllocate').not.toBe(0);
  const page = lin >>> 12;
  expect(drv.vmm.linPageLock(page, npages, lockFlags), 'linPageLock').toBe(1);
  return { lin, page, npages, phys: pageTable(drv, page, npages), unlock: () => void drv.vmm.linPageUnLock(page, npages, 0) };
}

/** _CopyPageTable for `n` pages: each present page's physical address (0 when not present). */
export function pageTable(drv: DriverContext, page: number, n: number): number[] {
  const ptes = new Uint32Array(n);
  expect(drv.vmm.copyPageTable(page, n, ptes, 0), 'copyPageTable').toBe(1);
  return [...ptes].map((e) => (e & P_PRES ? (e & ~0xfff) >>> 0 : 0));
}

/**
 * A fixed, contiguous block of `npages` whose frames are exactly [frame, frame + npages), with its
 * PhysAddr handed out to `drv` — how an entry puts a page into a frame of its choosing. Under the
 * aggressive pager a frame a driver just unlocked is in quarantine, and a contiguous request takes a
 * quarantined frame only when nothing else fits: constraining it to that one frame is what makes
 * "the frame is re-used" certain rather than likely.
 */
export function takeFrames(drv: DriverContext, frame: number, npages = 1): { lin: number; phys: number; free(): void } {
  const phys = new Uint32Array(1);
  const lin = drv.vmm.pageAllocate(npages, PG_SYS, 0, 0, frame, frame + npages, phys, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED);
  expect(drv.vmm.lastError, `a fixed page in frames ${frame}…${frame + npages - 1}`).toBeNull();
  expect(phys[0]! >>> 12).toBe(frame);
  return { lin, phys: phys[0]!, free: () => void drv.vmm.pageFree(lin, 0) };
}

// ——— waits ———

/**
 * Waits until `(register & mask) === want` (a command run without IRQ_ENABLE, a state the device
 * publishes); returns the register. Through sim.waitUntil: free running a 1 ms poll, in
 * deterministic mode a scheduler wait that lets the device run. Throws after `timeoutMs` (virtual
 * time in deterministic mode) — only how long it takes depends on timing, never the verdict.
 */
export async function pollReg(sim: Simulator, dev: DeviceHandle, index: number, mask: number, want: number, timeoutMs = 10_000): Promise<number> {
  const what = `register ${index} of ${dev.kind}#${dev.id}: (value & ${mask}) === ${want}`;
  if (!(await sim.waitUntil(() => (dev.readReg(index) & mask) === want, { timeoutMs, what }))) throw new Error(`${what} not within ${timeoutMs} ms (register = ${dev.readReg(index)})`);
  return dev.readReg(index);
}

/** Waits until one of two registers is non-zero (the first checked first), as pollReg waits. */
export async function pollBoth(sim: Simulator, dev: DeviceHandle, a: number, b: number, timeoutMs = 10_000): Promise<'first' | 'second'> {
  const what = `register ${a} or ${b} of ${dev.kind}#${dev.id} non-zero`;
  if (!(await sim.waitUntil(() => dev.readReg(a) !== 0 || dev.readReg(b) !== 0, { timeoutMs, what }))) throw new Error(`neither register ${a} nor ${b} moved within ${timeoutMs} ms`);
  return dev.readReg(a) !== 0 ? 'first' : 'second';
}

// ——— copy-engine ———

/** A direct copy (or, with `fill`, a fill of `dst`), waited for on the interrupt; returns STATUS. */
export async function ceRun(dev: DeviceHandle, o: { src?: number; dst: number; length: number; fill?: number; sg?: number }): Promise<number> {
  dev.ackInterrupt();
  let control = CE.CONTROL.START | CE.CONTROL.IRQ_ENABLE;
  if (o.sg !== undefined) {
    dev.writeReg(CE.REG.DESC, o.sg);
    control |= CE.CONTROL.SG;
  } else {
    dev.writeReg(CE.REG.SRC, o.src ?? 0);
    dev.writeReg(CE.REG.DST, o.dst);
    dev.writeReg(CE.REG.LENGTH, o.length);
  }
  if (o.fill !== undefined) {
    dev.writeReg(CE.REG.FILL_VALUE, o.fill);
    control |= CE.CONTROL.FILL;
  }
  dev.writeReg(CE.REG.CONTROL, control);
  // The engine raises its interrupt when the command ends, refused or not.
  await dev.waitForInterrupt({ timeoutMs: 10_000 });
  dev.ackInterrupt();
  return dev.readReg(CE.REG.STATUS);
}

// ——— isa-audio and the 8237 ———

/** Records `bytes` on channel 1 into `phys` (the channel programmed through the ports); waits for DONE. */
export async function isaRecord(t: CorpusContext, dev: DeviceHandle, phys: number, bytes: number): Promise<void> {
  programChannel(t.sim.cpu, 1, SINGLE_WRITE, phys, bytes);
  startAudio(dev, { channel: 1, block: bytes, total: bytes, seed: 5, record: true });
  await pollReg(t.sim, dev, IA.REG.STATUS, IA.STATUS.DONE, IA.STATUS.DONE);
}

// ——— ide-busmaster ———

/** Data pages plus a PRD page, locked and handed out; the PRD table describes the data pages. */
export function ideBuffers(drv: DriverContext, dataPages: number, dataFlags = PAGEMARKDIRTY): { data: Locked; prd: Locked } {
  const data = lockForDma(drv, dataPages, dataFlags);
  const prd = lockForDma(drv, 1);
  data.phys.forEach((p, i) => {
    drv.cpu.write32(prd.lin + i * 8, p);
    drv.cpu.write32(prd.lin + i * 8 + 4, (4096 | (i === dataPages - 1 ? IDE.PRD.EOT : 0)) >>> 0);
  });
  return { data, prd };
}

/** One ATA DMA command (READ DMA: disk → memory; WRITE DMA: memory → disk) in the SFF-8038i order; returns BM_STATUS. */
export async function ideDma(dev: DeviceHandle, prdt: number, command: 'read' | 'write', lba: number, sectors: number): Promise<number> {
  const { REG, BM_COMMAND } = IDE;
  const dir = command === 'read' ? BM_COMMAND.READ_WRITE : 0;
  dev.ackInterrupt();
  dev.writeReg(REG.BM_STATUS, dev.readReg(REG.BM_STATUS)); // write-1-to-clear INTERRUPT / ERROR
  dev.writeReg(REG.BM_COMMAND, dir);
  dev.writeReg(REG.BM_PRDT, prdt);
  dev.writeReg(REG.SECTOR_COUNT, sectors);
  dev.writeReg(REG.LBA_LOW, lba);
  dev.writeReg(REG.DEVICE, IDE.DEVICE_BITS.LBA);
  dev.writeReg(REG.COMMAND, command === 'read' ? IDE.ATA_COMMAND.READ_DMA : IDE.ATA_COMMAND.WRITE_DMA);
  dev.writeReg(REG.BM_COMMAND, dir | BM_COMMAND.START);
  // The interrupt comes on success and on a memory error alike (SFF-8038i).
  await dev.waitForInterrupt({ timeoutMs: 10_000 });
  dev.ackInterrupt();
  dev.writeReg(REG.BM_COMMAND, dir); // stop the engine
  return dev.readReg(REG.BM_STATUS);
}

// ——— nic ———

export interface NicRig {
  dev: DeviceHandle;
  /** The far end of the wire, played by the entry. */
  wire: HostLinkPort;
  /** The ring page: TX ring at 0, RX ring at 128 (8 descriptors each). */
  rings: Locked;
}

/** A NIC on a wire whose far end the entry holds, its rings in one locked page, TX and RX enabled. */
export async function nicRig(t: CorpusContext, drv: DriverContext = t.sim): Promise<NicRig> {
  const link = t.sim.createLink();
  const wire = t.sim.openLink(link.b);
  const dev = await drv.attachDevice('nic', { link: link.a });
  const rings = lockForDma(drv, 1);
  const phys = rings.phys[0]!;
  dev.writeReg(NIC.REG.TDBAL, phys);
  dev.writeReg(NIC.REG.TDLEN, 128);
  dev.writeReg(NIC.REG.RDBAL, phys + 128);
  dev.writeReg(NIC.REG.RDLEN, 128);
  dev.writeReg(NIC.REG.IMS, NIC.ICR.TXDW | NIC.ICR.RXT0);
  dev.writeReg(NIC.REG.RCTL, NIC.RCTL.EN | NIC.RCTL.BSIZE_2048);
  dev.writeReg(NIC.REG.TCTL, NIC.TCTL.EN);
  return { dev, wire, rings };
}

/** Hands RX descriptor 0 (its buffer at `buffer`) to the device: RDT = 1. */
export function giveRxBuffer(t: CorpusContext, rig: NicRig, buffer: number, drv: DriverContext = t.sim): void {
  const rx = new DataView(new ArrayBuffer(16));
  rx.setUint32(NIC.RX_DESC.ADDR, buffer, true);
  drv.cpu.writeBytes(rig.rings.lin + 128, new Uint8Array(rx.buffer));
  rig.dev.writeReg(NIC.REG.RDT, 1);
}

/**
 * The far end sends a frame; resolves once the NIC has dealt with it — delivered (RDH moved past
 * descriptor 0) or refused (DIAG set) — whatever the checker made of it.
 */
export async function deliverFrame(t: CorpusContext, rig: NicRig, frame: Uint8Array): Promise<'delivered' | 'refused'> {
  expect(rig.wire.send(frame)).toBe(true);
  const r = await pollBoth(t.sim, rig.dev, NIC.REG.RDH, NIC.REG.DIAG);
  return r === 'first' ? 'delivered' : 'refused';
}
