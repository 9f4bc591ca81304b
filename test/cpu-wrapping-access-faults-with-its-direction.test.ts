/**
 * A CPU access that would run past 0xFFFFFFFF lies in the invalid region (spec §1.3) and faults
 * before it starts; the PageFault still says whether it was a write, as for any other fault.
 */

import { describe, expect, it } from 'vitest';
import { PageFault, type Cpu } from '../src/index.js';
import { expectUnchanged, simulatorsClosedAfterEach } from './helpers.js';

const sims = simulatorsClosedAfterEach();

const ACCESSES: [string, (cpu: Cpu) => unknown, boolean][] = [
  ['write32(0xFFFFFFFD, 1)', (cpu) => cpu.write32(0xfffffffd, 1), true],
  ['write16(0xFFFFFFFF, 1)', (cpu) => cpu.write16(0xffffffff, 1), true],
  ['writeBytes(0xFFFFFFF0, 32 bytes)', (cpu) => cpu.writeBytes(0xfffffff0, new Uint8Array(32)), true],
  ['read32(0xFFFFFFFD)', (cpu) => cpu.read32(0xfffffffd), false],
  ['readBytes(0xFFFFFFF0, 32)', (cpu) => cpu.readBytes(0xfffffff0, 32), false],
];

describe('a CPU access that wraps past 0xFFFFFFFF', () => {
  for (const [what, access, write] of ACCESSES) {
    it(`${what} faults in the invalid region as a ${write ? 'write' : 'read'}, changing nothing`, async () => {
      const sim = await sims.make({ pager: 'off', seed: 1 });
      expectUnchanged(sim, () => {
        let fault: unknown;
        try {
          access(sim.cpu);
        } catch (e) {
          fault = e;
        }
        expect(fault).toBeInstanceOf(PageFault);
        expect(fault).toMatchObject({ reason: 'invalid-region', write });
      });
    });
  }
});
