// sim.report(): JSON-safe, valid against schema/report.schema.json after a busy run (DMA, pager
// moves, a violation, a fault, leaks), with the schema's enums equal to the code's tables.
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { expect, test } from 'vitest';
import { FAULT_KINDS, TRACE_KINDS, VIOLATION_CODES, testProbe as TP } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { ceFill, lockedPages } from './dma-helpers.js';

const pool = simulatorsClosedAfterEach();
const schema = JSON.parse(readFileSync(new URL('../schema/report.schema.json', import.meta.url), 'utf8')) as {
  definitions: Record<string, { properties: Record<string, { enum?: string[] }> }>;
};
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);

test('the schema lists exactly the codes, trace kinds and fault kinds the code has', () => {
  expect(schema.definitions.violation!.properties.code!.enum).toEqual([...VIOLATION_CODES]);
  expect(schema.definitions.traceEvent!.properties.kind!.enum).toEqual([...TRACE_KINDS]);
  expect(schema.definitions.fault!.properties.kind!.enum).toEqual([...FAULT_KINDS]);
});

test('a busy run reports everything, JSON-safe and schema-valid', async () => {
  const sim = await pool.make({ pager: 'aggressive', seed: 9 });
  const dev = await sim.attachDevice('copy-engine');
  const good = lockedPages(sim, 2);
  expect((await ceFill(dev, good.phys[0]!, 4096, 7)).error).toBe(0);
  const bad = lockedPages(sim, 1);
  sim.vmm.linPageUnLock(bad.page, 1, 0);
  await ceFill(dev, bad.phys[0]!, 64, 1); // dma-unlocked
  const probe = await sim.attachDevice('test-probe');
  probe.writeReg(TP.REG.CMD, TP.OP.THROW);
  await expect(probe.waitForInterrupt()).rejects.toThrow();

  const report = sim.report();
  expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  expect(validate(report), JSON.stringify(validate.errors, null, 1)).toBe(true);
  expect(report).toMatchObject({ schemaVersion: 1, tool: { name: 'dmasim' }, seed: 9, options: { pager: 'aggressive', seed: 9, memory: 16 << 20 } });
  expect(report.violations.map((v) => v.code)).toEqual(['dma-unlocked']);
  expect(report.faults.map((f) => f.kind)).toEqual(['threw']);
  expect(report.leaks.map((l) => l.code).sort()).toEqual(['device-leak', 'device-leak', 'lock-leak', 'lock-leak']);
  expect(report.devices.map((d) => d.kind)).toEqual(['copy-engine', 'test-probe']);
  const kinds = new Set(report.trace.events.map((e) => e.kind));
  for (const k of ['lock', 'unlock', 'handout', 'doorbell', 'dma', 'irq-raise', 'violation', 'device-fault']) expect(kinds).toContain(k);
  expect(sim.renderText()).toMatch(/BUG: dmasim: dma-unlocked[\s\S]*BUG: dmasim: lock-leak[\s\S]*device-fault \(threw\)[\s\S]*dmasim seed 9: 1 violation, 4 leaks, 1 device fault$/);
});

test('a corrupted report does not validate', () => {
  expect(validate({ schemaVersion: 1 })).toBe(false);
});
