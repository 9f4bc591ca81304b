// "Use every device kind that exists": every built-in device in the catalog but the test probe has a
// stress kind of the same name, and `--kinds` defaults to all of them.
import { expect, test } from 'vitest';
import { catalog } from '../devices/registry.js';
import { KIND_NAMES, KINDS } from '../src/stress/kinds/index.js';

test('every built-in device kind but test-probe has a stress kind driver', () => {
  const devices = Object.keys(catalog).filter((k) => k !== 'test-probe');
  expect([...KIND_NAMES].sort()).toEqual(devices.sort());
  for (const name of KIND_NAMES) expect(KINDS[name]!.name).toBe(name);
});
