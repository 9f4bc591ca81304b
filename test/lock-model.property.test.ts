/**
 * Model-based property test of locks, the pager and CPU data (spec §1.7, §1.8, §4.2–4.5).
 *
 * Random sequences of lock / unlock (through _LinPageLock and _PageLock, with and without
 * PAGEMARKDIRTY), pager passes and steps, and CPU reads and writes run against a real simulator with
 * the aggressive pager and against a model that only knows per-page lock counts and the bytes the
 * CPU wrote. Invariants, checked after every command:
 *   - a page whose count is > 0 is present and keeps the frame it had when its count left 0;
 *   - an unlock over a page whose count is 0 fails with not-locked and changes nothing;
 *   - memory reads back exactly as the model says, whatever the pager did.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { P_PRES, PAGEMARKDIRTY, PAGEZEROINIT, PG_SYS, createSimulator, type Simulator } from '../src/index.js';
import { frameNumber, pte } from './helpers.js';

const BLOCKS = 3;
const PAGES = 4; // per block
const BLOCK_BYTES = PAGES * 4096;

interface Model {
  counts: number[];
  /** Frame a locked page must keep (recorded when its count went 0 → 1). */
  frames: (number | null)[];
  bytes: Uint8Array;
}

interface Real {
  sim: Simulator;
  /** Base linear address of each block. */
  bases: number[];
}

/** The linear page of global page `gp` (block gp / PAGES, page gp % PAGES in it). */
function pageOf(bases: readonly number[], gp: number): number {
  return (bases[Math.floor(gp / PAGES)]! >>> 12) + (gp % PAGES);
}

function frameOf(r: Real, gp: number): number | null {
  const e = pte(r.sim, pageOf(r.bases, gp));
  return e & P_PRES ? frameNumber(e) : null;
}

function checkInvariants(m: Model, r: Real): void {
  for (let gp = 0; gp < BLOCKS * PAGES; gp++) {
    if (m.counts[gp]! > 0) expect(frameOf(r, gp), `locked page ${gp}`).toBe(m.frames[gp]);
  }
}

/** Every byte of every block reads back as the model says. */
function expectModelBytes(m: Model, r: Real): void {
  for (let b = 0; b < BLOCKS; b++) {
    expect(Buffer.compare(r.sim.cpu.readBytes(r.bases[b]!, BLOCK_BYTES), m.bytes.subarray(b * BLOCK_BYTES, (b + 1) * BLOCK_BYTES))).toBe(0);
  }
}

/** A command that can always run; the invariants are checked after every one. */
abstract class Step implements fc.Command<Model, Real> {
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    this.apply(m, r);
    checkInvariants(m, r);
  }
  protected abstract apply(m: Model, r: Real): void;
  abstract toString(): string;
}

type Via = 'lin' | 'handle';

class Lock extends Step {
  constructor(
    readonly block: number,
    readonly off: number,
    readonly n: number,
    readonly via: Via,
    readonly dirty: boolean,
  ) {
    super();
  }
  protected override apply(m: Model, r: Real): void {
    const base = r.bases[this.block]!;
    const rv =
      this.via === 'lin'
        ? r.sim.vmm.linPageLock((base >>> 12) + this.off, this.n, this.dirty ? PAGEMARKDIRTY >>> 0 : 0)
        : r.sim.vmm.pageLock(base, this.n, this.off, 0);
    expect(r.sim.vmm.lastError).toBeNull();
    expect(rv).not.toBe(0);
    for (let i = 0; i < this.n; i++) {
      const gp = this.block * PAGES + this.off + i;
      const f = frameOf(r, gp);
      expect(f, `page ${gp} present after lock`).not.toBeNull();
      if (m.counts[gp] === 0) m.frames[gp] = f;
      m.counts[gp]!++;
    }
  }
  override toString(): string {
    return `lock(${this.via}, b${this.block}+${this.off}, ${this.n}${this.dirty ? ', MARKDIRTY' : ''})`;
  }
}

class Unlock extends Step {
  constructor(
    readonly block: number,
    readonly off: number,
    readonly n: number,
    readonly via: Via,
  ) {
    super();
  }
  protected override apply(m: Model, r: Real): void {
    const base = r.bases[this.block]!;
    const gps = Array.from({ length: this.n }, (_, i) => this.block * PAGES + this.off + i);
    const shouldFail = gps.some((gp) => m.counts[gp] === 0);
    const before = shouldFail ? r.sim.fingerprint() : '';
    const rv = this.via === 'lin' ? r.sim.vmm.linPageUnLock((base >>> 12) + this.off, this.n, 0) : r.sim.vmm.pageUnLock(base, this.n, this.off, 0);
    if (shouldFail) {
      expect(rv).toBe(0);
      expect(r.sim.vmm.lastError?.code).toBe('not-locked');
      expect(r.sim.fingerprint()).toBe(before);
    } else {
      expect(r.sim.vmm.lastError).toBeNull();
      expect(rv).not.toBe(0);
      for (const gp of gps) {
        m.counts[gp]!--;
        if (m.counts[gp] === 0) m.frames[gp] = null;
      }
    }
  }
  override toString(): string {
    return `unlock(${this.via}, b${this.block}+${this.off}, ${this.n})`;
  }
}

class Pager extends Step {
  constructor(readonly kind: 'pass' | 'step') {
    super();
  }
  protected override apply(_m: Model, r: Real): void {
    if (this.kind === 'pass') r.sim.pager.pass();
    else r.sim.pager.step();
  }
  override toString(): string {
    return `pager.${this.kind}()`;
  }
}

class CpuWrite extends Step {
  constructor(
    readonly block: number,
    readonly at: number,
    readonly data: Uint8Array,
  ) {
    super();
  }
  protected override apply(m: Model, r: Real): void {
    r.sim.cpu.writeBytes(r.bases[this.block]! + this.at, this.data);
    m.bytes.set(this.data, this.block * BLOCK_BYTES + this.at);
  }
  override toString(): string {
    return `write(b${this.block}+0x${this.at.toString(16)}, ${this.data.length} bytes)`;
  }
}

class CpuRead extends Step {
  constructor(
    readonly block: number,
    readonly at: number,
    readonly len: number,
  ) {
    super();
  }
  protected override apply(m: Model, r: Real): void {
    const got = r.sim.cpu.readBytes(r.bases[this.block]! + this.at, this.len);
    const start = this.block * BLOCK_BYTES + this.at;
    expect(Buffer.compare(got, m.bytes.subarray(start, start + this.len)), this.toString()).toBe(0);
  }
  override toString(): string {
    return `read(b${this.block}+0x${this.at.toString(16)}, ${this.len})`;
  }
}

const range = fc
  .record({ block: fc.integer({ min: 0, max: BLOCKS - 1 }), off: fc.integer({ min: 0, max: PAGES - 1 }), want: fc.integer({ min: 1, max: PAGES }) })
  .map(({ block, off, want }) => ({ block, off, n: Math.min(want, PAGES - off) }));
const via = fc.constantFrom<Via>('lin', 'handle');
/** A byte span inside one block, biased to cross page boundaries. */
const span = fc
  .record({
    block: fc.integer({ min: 0, max: BLOCKS - 1 }),
    page: fc.integer({ min: 0, max: PAGES - 1 }),
    delta: fc.integer({ min: -40, max: 40 }),
    len: fc.integer({ min: 1, max: 6000 }),
  })
  .map(({ block, page, delta, len }) => {
    const at = Math.max(0, Math.min(BLOCK_BYTES - 1, page * 4096 + delta));
    return { block, at, len: Math.min(len, BLOCK_BYTES - at) };
  });

const commandArbs = [
  fc.tuple(range, via, fc.boolean()).map(([r, v, d]) => new Lock(r.block, r.off, r.n, v, d)),
  fc.tuple(range, via).map(([r, v]) => new Unlock(r.block, r.off, r.n, v)),
  fc.constantFrom<'pass' | 'step'>('pass', 'step').map((k) => new Pager(k)),
  fc.tuple(span, fc.integer({ min: 0, max: 255 })).map(([s, seed]) => new CpuWrite(s.block, s.at, Uint8Array.from({ length: s.len }, (_, i) => (i * 131 + seed) & 0xff))),
  span.map((s) => new CpuRead(s.block, s.at, s.len)),
];

describe('lock model (fast-check)', () => {
  it('lock counts, frames and data agree with the model under the aggressive pager', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 0xffffffff }), fc.commands(commandArbs, { maxCommands: 60 }), async (seed, cmds) => {
        // 1 MiB: 256 frames, so pages really compete for frames and the quarantine (8) cycles.
        const sim = await createSimulator({ memory: 1 << 20, pager: 'aggressive', seed, stacks: false });
        try {
          const bases: number[] = [];
          for (let b = 0; b < BLOCKS; b++) {
            const lin = sim.vmm.pageAllocate(PAGES, PG_SYS, 0, 0, 0, 0, null, PAGEZEROINIT);
            expect(sim.vmm.lastError).toBeNull();
            bases.push(lin);
          }
          const model: Model = {
            counts: new Array<number>(BLOCKS * PAGES).fill(0),
            frames: new Array<number | null>(BLOCKS * PAGES).fill(null),
            bytes: new Uint8Array(BLOCKS * BLOCK_BYTES),
          };
          const real: Real = { sim, bases };
          fc.modelRun(() => ({ model, real }), cmds);
          // Finally: every byte, then unlock everything the model says is locked, then every byte again.
          expectModelBytes(model, real);
          for (let gp = 0; gp < BLOCKS * PAGES; gp++) {
            const page = pageOf(bases, gp);
            for (let k = model.counts[gp]!; k > 0; k--) expect(sim.vmm.linPageUnLock(page, 1, 0)).toBe(1);
            expect(sim.vmm.linPageUnLock(page, 1, 0)).toBe(0);
          }
          for (let i = 0; i < 5; i++) sim.pager.pass();
          expectModelBytes(model, real);
        } finally {
          await sim.close();
        }
      }),
      { numRuns: 100 },
    );
  });
});
