/**
 * Stress kind `isa-audio`: a DOS/VxD-style sound driver on its own 8237 channel (instance n takes
 * the n-th of 1, 5, 2, 6, 3, 7, 0: 8- and 16-bit channels mixed), recording (the device writes
 * memory) or playing (it reads memory) one block per transfer, with the interrupt at its end.
 * Two buffers, as such drivers have: a swappable page locked per transfer (lock → _CopyPageTable →
 * program the channel → START → interrupt → verify → unlock; an ISA transfer must be physically
 * contiguous, so it stays inside one page), and a fixed, contiguous 32 KiB DMA buffer below 16 MiB
 * aligned to 64 KiB (its PhysAddr from _PageAllocate) for longer blocks. Recording verifies every
 * byte against the device's stream (byte n is SEED + n; the buffer is poisoned with its complement
 * first); playing verifies the device's FNV-1a CHECKSUM of what it read and BYTES_DONE.
 *
 * Injections (always on the swappable page, where a lock means something; the loop runs a DMA bug
 * alone): unlock-early unlocks between programming and START (`dma-unlocked`); no-lock copies the
 * PTE of a page touched in with the pager paused, never locked (`dma-unlocked`); stale-address
 * locks, copies the PTE, unlocks and relocks in place with the pager paused, and programs the old
 * address (`dma-stale-address`); short-buffer programs the count past the guard DMA page into the
 * guard page after it — same 64 KiB bank, never handed out (`dma-not-handed-out`); no-markdirty
 * records into a fresh page locked without PAGEMARKDIRTY (`dma-not-marked-dirty`); cross-driver
 * points the channel at another driver's page (`dma-not-handed-out`); double-unlock and leak-lock
 * follow a correct, verified transfer.
 */

import { DMA_MODE, I8237_REG, PAGE_PORTS, PAGEMARKDIRTY, PAGECONTIG, PAGEFIXED, PAGEUSEALIGN, PG_SYS, isaAudio as IA, type Cpu, type DeviceHandle } from '../../index.js';
import { diffBytes, HeldLocks, KindError, PAGE, patternWindow, physOf, sameBytes } from './common.js';
import type { KindEnv, KindInstance, StressKind, TransferResult, TransferSpec } from './types.js';

/** The channels instances take, in order (4 is the cascade). */
const CHANNELS = [1, 5, 2, 6, 3, 7, 0] as const;
const BUFFER_PAGES = 8;
const BUFFER = BUFFER_PAGES * PAGE;
const SWAP_PAGES = 4;
/** ISA addresses are 24 bits: a swappable page above 16 MiB is not usable by the channel. */
const ISA_LIMIT = 1 << 24;

export const isaAudioKind: StressKind = {
  name: 'isa-audio',
  maxInstances: CHANNELS.length,
  maxTransfer: BUFFER,
  framesNeeded: BUFFER_PAGES + SWAP_PAGES + 1,
  injections: ['unlock-early', 'no-lock', 'stale-address', 'short-buffer', 'double-unlock', 'no-markdirty', 'cross-driver', 'leak-lock'],
  setUp: (env) => IsaAudioDriver.create(env),
};

class IsaAudioDriver implements KindInstance {
  private readonly scratch = new Uint32Array(1);
  private readonly width: number;
  /** ramp[i] = i & 0xFF: a recorded stream from SEED s is ramp[s … s + n); notRamp its complement. */
  private readonly ramp = Uint8Array.from({ length: 256 + BUFFER }, (_, i) => i & 0xff);
  private readonly notRamp = this.ramp.map((b) => ~b & 0xff);

  private constructor(
    private readonly env: KindEnv,
    readonly device: DeviceHandle,
    private readonly channel: number,
    private readonly locks: HeldLocks,
    private readonly swap: number,
    private readonly buffer: { lin: number; phys: number },
  ) {
    this.width = channel >= 4 ? 2 : 1;
  }

  static async create(env: KindEnv): Promise<IsaAudioDriver> {
    const channel = CHANNELS[env.index];
    if (channel === undefined) throw new KindError(`isa-audio instance ${env.index}: only ${CHANNELS.length} DMA channels`);
    const vmm = env.driver.vmm;
    const phys = new Uint32Array(1);
    // The classic DMA buffer: fixed, contiguous, below 16 MiB, 64 KiB-aligned (never crosses a bank).
    const lin = vmm.pageAllocate(BUFFER_PAGES, PG_SYS, 0, 0x0f, 0, 0x1000, phys, PAGEUSEALIGN | PAGECONTIG | PAGEFIXED);
    if (lin === 0) throw new KindError(`isa-audio DMA buffer: _PageAllocate failed: ${vmm.lastError?.message ?? '?'}`);
    const swap = vmm.pageAllocate(SWAP_PAGES, PG_SYS, 0, 0, 0, 0, null, 0);
    if (swap === 0) throw new KindError(`isa-audio: _PageAllocate(${SWAP_PAGES}) failed: ${vmm.lastError?.message ?? '?'}`);
    const device = await env.attach('isa-audio', IA.rings);
    return new IsaAudioDriver(env, device, channel, new HeldLocks(env.driver), swap, { lin, phys: phys[0]! });
  }

  /** Rounds down to whole channel transfers (words on 5–7), at least one. */
  private units(n: number): number {
    return Math.max(this.width, n - (n % this.width));
  }

  async transfer(spec: TransferSpec): Promise<TransferResult> {
    const inj = spec.injection;
    if (inj === 'short-buffer' || inj === 'cross-driver') return this.outside(spec);
    const { rng } = spec;
    const record = inj === 'no-markdirty' || rng.chance(0.5);
    // Injections need a lock to get wrong; leak-lock's page is its own.
    const onPage = (inj !== null && inj !== 'leak-lock') || rng.chance(0.5);
    const limit = onPage ? PAGE : BUFFER;
    const size = this.units(Math.min(spec.size, limit));
    const off = spec.aligned ? 0 : rng.below((limit - size) / this.width + 1) * this.width;
    const seed = rng.below(256);
    const at = rng.below(this.env.patterns.span);
    const play = patternWindow(this.env.patterns, at, size).payload;
    const expected = record ? this.ramp.subarray(seed, seed + size) : play;
    if (onPage) {
      const r = await this.onPage(spec, record, size, off, seed, play);
      if (r) return r;
      // The page sits above 16 MiB (--memory > 16 MiB), out of the channel's reach: a correct
      // transfer through the DMA buffer instead (a DMA injection is then not made: injected false).
    }
    return this.onBuffer(spec, record, size, off, seed, play, expected);
  }

  /** One block through a swappable page locked for it; null if the page is above 16 MiB. */
  private async onPage(spec: TransferSpec, record: boolean, size: number, off: number, seed: number, play: Uint8Array): Promise<TransferResult | null> {
    const { env, locks } = this;
    const { vmm, cpu } = env.driver;
    const inj = spec.injection;
    const fresh = inj === 'no-markdirty' ? vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0) : 0;
    if (inj === 'no-markdirty' && fresh === 0) throw new KindError(`_PageAllocate(1) failed: ${vmm.lastError?.message ?? '?'}`);
    const lin = fresh || this.swap + spec.rng.below(SWAP_PAGES) * PAGE;
    const page = lin >>> 12;
    const expected = record ? this.ramp.subarray(seed, seed + size) : play;
    const fill = record ? this.notRamp.subarray(seed, seed + size) : play;
    let locked = false;
    const program = (): boolean => {
      let phys: number;
      if (inj === 'no-lock') {
        cpu.writeBytes(lin + off, fill); // present: the pager is paused; never locked
        phys = physOf(env.driver, page, 1, this.scratch)[0]!;
      } else {
        locks.lock(page, 1, record && inj !== 'no-markdirty' ? PAGEMARKDIRTY : 0);
        locked = true;
        phys = physOf(env.driver, page, 1, this.scratch)[0]!;
        if (inj !== 'no-markdirty') cpu.writeBytes(lin + off, fill);
        if (inj === 'stale-address') {
          locks.unlock(page, 1);
          locks.lock(page, 1, record ? PAGEMARKDIRTY : 0);
        }
      }
      if (phys + PAGE > ISA_LIMIT) return false;
      this.start(record, phys + off, size, seed, () => {
        if (inj !== 'unlock-early') return;
        locks.unlock(page, 1);
        locked = false;
      });
      return true;
    };
    const started = inj === 'no-lock' || inj === 'stale-address' ? env.withPagerPaused(program) : program();
    if (!started) {
      if (locked) locks.unlock(page, 1);
      if (fresh) vmm.pageFree(fresh, 0);
      return null;
    }
    await env.wait(() => this.device.waitForInterrupt({ timeoutMs: env.timeoutMs }));
    this.device.ackInterrupt();
    const verify = inj === null || inj === 'double-unlock' || inj === 'leak-lock';
    const check = verify ? this.verify(record, lin + off, size, expected) : { lostBytes: 0 };
    if (locked) locks.unlock(page, 1);
    if (fresh) vmm.pageFree(fresh, 0);
    const result = { bytes: size, injected: inj !== null, ...check };
    if (inj === 'double-unlock') return { ...result, ddkError: vmm.linPageUnLock(page, 1, 0) === 0 ? (vmm.lastError?.code ?? 'failed') : null };
    if (inj === 'leak-lock') return { ...result, injected: env.leakLock() };
    return result;
  }

  /** One block through the fixed DMA buffer (always locked: fixed pages). */
  private async onBuffer(spec: TransferSpec, record: boolean, size: number, off: number, seed: number, play: Uint8Array, expected: Uint8Array): Promise<TransferResult> {
    const { env } = this;
    const cpu = env.driver.cpu;
    cpu.writeBytes(this.buffer.lin + off, record ? this.notRamp.subarray(seed, seed + size) : play);
    this.start(record, this.buffer.phys + off, size, seed, noop);
    await env.wait(() => this.device.waitForInterrupt({ timeoutMs: env.timeoutMs }));
    this.device.ackInterrupt();
    const check = this.verify(record, this.buffer.lin + off, size, expected);
    const result = { bytes: size, injected: false, ...check };
    if (spec.injection === 'leak-lock') return { ...result, injected: env.leakLock() };
    return result;
  }

  /**
   * short-buffer: a block from inside the guard DMA page running past its end into the guard page
   * (same bank: the guard block is 8 KiB-aligned). cross-driver: a block inside another driver's page.
   */
  private async outside(spec: TransferSpec): Promise<TransferResult> {
    const { rng } = spec;
    const record = rng.chance(0.5);
    const short = spec.injection === 'short-buffer';
    const off = rng.below(PAGE / this.width) * this.width;
    const size = short ? PAGE - off + this.units(1 + rng.below(PAGE)) : this.units(1 + rng.below(PAGE - off));
    const base = short ? this.env.guard.phys : this.env.foreign;
    this.start(record, base + off, size, rng.below(256), noop);
    await this.env.wait(() => this.device.waitForInterrupt({ timeoutMs: this.env.timeoutMs }));
    this.device.ackInterrupt();
    return { bytes: size, lostBytes: 0, injected: true };
  }

  /** Programs the channel (mask, flip-flop, mode, address, page, count, unmask) and starts one block. */
  private start(record: boolean, phys: number, size: number, seed: number, beforeStart: () => void): void {
    const dev = this.device;
    programChannel(this.env.driver.cpu, this.channel, DMA_MODE.SINGLE | (record ? DMA_MODE.WRITE : DMA_MODE.READ), phys, size);
    dev.ackInterrupt();
    dev.writeReg(IA.REG.CHANNEL, this.channel);
    dev.writeReg(IA.REG.BLOCK, size);
    dev.writeReg(IA.REG.TOTAL, size);
    dev.writeReg(IA.REG.SEED, seed);
    beforeStart();
    dev.writeReg(IA.REG.CONTROL, IA.CONTROL.START | IA.CONTROL.IRQ_ENABLE | (record ? IA.CONTROL.RECORD : 0));
  }

  /** Recording: every byte against the stream. Playing: the device's checksum of what it read. */
  private verify(record: boolean, lin: number, size: number, expected: Uint8Array): { lostBytes: number; detail?: string } {
    const dev = this.device;
    if (record) {
      const got = this.env.driver.cpu.readBytes(lin, size);
      if (sameBytes(got, expected)) return { lostBytes: 0 };
      const d = diffBytes(got, expected);
      return { lostBytes: d.count, detail: `record of ${size} bytes on channel ${this.channel}: ${d.count} differ, the first at +${d.first}; ${this.registers()}` };
    }
    const sum = dev.readReg(IA.REG.CHECKSUM);
    const done = dev.readReg(IA.REG.BYTES_DONE);
    if (done === size && sum === IA.fnv1a(expected)) return { lostBytes: 0 };
    return { lostBytes: size, detail: `play of ${size} bytes on channel ${this.channel}: checksum ${sum.toString(16)}, want ${IA.fnv1a(expected).toString(16)}; ${this.registers()}` };
  }

  private registers(): string {
    const r = (i: number) => this.device.readReg(i);
    return `device STATUS ${r(IA.REG.STATUS)} ERROR ${r(IA.REG.ERROR)} BYTES_DONE ${r(IA.REG.BYTES_DONE)}`;
  }

  async tearDown(): Promise<void> {
    const vmm = this.env.driver.vmm;
    this.locks.releaseAll();
    // Mask the channel again, as a driver unloading does.
    this.env.driver.cpu.outb(dmaPort(this.channel, I8237_REG.SINGLE_MASK), 0x04 | (this.channel & 3));
    vmm.pageFree(this.swap, 0);
    vmm.pageFree(this.buffer.lin, 0);
    await this.device.detach();
  }
}

const noop = (): void => undefined;

/** Port of register `index` (0–15) of the controller serving `channel`. */
function dmaPort(channel: number, index: number): number {
  return channel >= 4 ? 0xc0 + (index << 1) : index;
}

/**
 * The 8237 programming sequence (Intel 8237A; spec §5.4): mask, clear the byte flip-flop, mode,
 * address low/high, page register, count − 1 low/high, unmask. On channels 5–7 the address and
 * count are in words and the page register holds A17–A23.
 */
function programChannel(cpu: Cpu, channel: number, mode: number, phys: number, bytes: number): void {
  const local = channel & 3;
  const word = channel >= 4;
  const addr = word ? (phys >>> 1) & 0xffff : phys & 0xffff;
  const count = (word ? bytes / 2 : bytes) - 1;
  cpu.outb(dmaPort(channel, I8237_REG.SINGLE_MASK), 0x04 | local);
  cpu.outb(dmaPort(channel, I8237_REG.CLEAR_FLIP_FLOP), 0);
  cpu.outb(dmaPort(channel, I8237_REG.MODE), mode | local);
  cpu.outb(dmaPort(channel, local * 2), addr & 0xff);
  cpu.outb(dmaPort(channel, local * 2), addr >>> 8);
  cpu.outb(PAGE_PORTS[channel]!, (phys >>> 16) & 0xff);
  cpu.outb(dmaPort(channel, local * 2 + 1), count & 0xff);
  cpu.outb(dmaPort(channel, local * 2 + 1), (count >>> 8) & 0xff);
  cpu.outb(dmaPort(channel, I8237_REG.SINGLE_MASK), local);
}
