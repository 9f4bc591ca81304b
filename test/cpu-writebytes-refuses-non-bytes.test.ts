/**
 * cpu.writeBytes takes a Uint8Array or an array of byte values. Anything else is a TypeError that
 * writes nothing — never a conversion that writes bytes nobody meant ('ab' as two zeros, 256 as 0,
 * 1.5 as 1).
 */

import { describe, expect, it } from 'vitest';
import { allocSwappable, expectUnchanged, simulatorsClosedAfterEach } from './helpers.js';

const sims = simulatorsClosedAfterEach();

const REFUSED: [string, unknown][] = [
  ['a string', 'ab'],
  ['a number', 7],
  ['null', null],
  ['an array-like object', { length: 2, 0: 1, 1: 2 }],
  ['a Uint16Array', new Uint16Array([0x1234])],
  ['an element above 255', [1, 256]],
  ['a negative element', [-1]],
  ['a fractional element', [1.5]],
  ['a NaN element', [Number.NaN]],
  ['a string element', ['1']],
  ['a hole', [1, , 3]],
];

describe('cpu.writeBytes refuses what is not bytes', () => {
  for (const [what, bytes] of REFUSED) {
    it(`${what}: TypeError, nothing written`, async () => {
      const sim = await sims.make({ pager: 'off', seed: 1 });
      const lin = allocSwappable(sim, 1);
      sim.cpu.writeBytes(lin, new Uint8Array(4).fill(0x5a));
      expectUnchanged(sim, () => {
        expect(() => sim.cpu.writeBytes(lin, bytes as number[])).toThrow(TypeError);
      });
      expect(sim.cpu.readBytes(lin, 4)).toEqual(new Uint8Array(4).fill(0x5a));
    });
  }

  it('takes a Uint8Array (a Buffer too) and an array of integers 0 … 255', async () => {
    const sim = await sims.make({ pager: 'off', seed: 1 });
    const lin = allocSwappable(sim, 1);
    sim.cpu.writeBytes(lin, [0, 255, 7]);
    sim.cpu.writeBytes(lin + 3, Uint8Array.of(9));
    sim.cpu.writeBytes(lin + 4, Buffer.from([0xab]));
    expect([...sim.cpu.readBytes(lin, 5)]).toEqual([0, 255, 7, 9, 0xab]);
  });
});
