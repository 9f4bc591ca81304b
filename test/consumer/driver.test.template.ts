// A plain project's driver test with the installed dmasim/vitest fixture.
import { PG_SYS } from 'dmasim';
import { expect, test } from 'dmasim/vitest';

test('fixture and matchers work from an installed package', ({ sim }) => {
  const lin = sim.vmm.pageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
  expect(sim.vmm.linPageUnLock(lin >>> 12, 1, 0)).toBe(0);
  expect(sim.vmm).toHaveLastError('not-locked');
  expect(sim).toHaveNoDmaViolations();
  expect(sim.pager.policy).toBe('aggressive');
});

test('the README example device attaches by path from the installed package', async ({ sim }) => {
  const dev = await sim.attachDevice('./crc-device.ts');
  expect(dev.kind).toBe('crc32');
});
