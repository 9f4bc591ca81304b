// The fixture fails tests that leave something behind, and passes them once the matcher claims the
// record: the cases in test/fixture-cases run in a child vitest process (they are meant to fail),
// and this test asserts on each one's outcome and message, and on the reports written.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import { beforeAll, describe, expect, test } from 'vitest';

interface Assertion {
  title: string;
  status: 'passed' | 'failed';
  failureMessages: string[];
}

const out = mkdtempSync(join(tmpdir(), 'dmasim-fixture-'));
const reports = join(out, 'reports');
let results: Map<string, Assertion>;

beforeAll(async () => {
  const json = join(out, 'results.json');
  // Exit code 1 is expected: half the cases fail on purpose.
  await promisify(execFile)(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixture-cases/vitest.config.ts', '--reporter=json', `--outputFile=${json}`], {
    env: { ...process.env, DMASIM_REPORTS_DIR: reports },
  }).catch(() => undefined);
  const r = JSON.parse(readFileSync(json, 'utf8')) as { testResults: { assertionResults: Assertion[] }[] };
  results = new Map(r.testResults.flatMap((f) => f.assertionResults).map((a) => [a.title, a]));
}, 120_000);

function outcome(title: string): { status: string; message: string } {
  const a = results.get(title);
  if (!a) throw new Error(`case "${title}" did not run`);
  return { status: a.status, message: a.failureMessages.join('\n') };
}

describe('teardown', () => {
  test('a page left locked fails the test with lock-leak and the stack of the lock', () => {
    const { status, message } = outcome('FAILS lock-leak: a page left locked');
    expect(status).toBe('failed');
    expect(message).toMatch(/BUG: dmasim: lock-leak, driver "default"/);
    expect(message).toMatch(/Locked by:\n\s+at .*teardown\.case\.ts:\d+/);
  });

  test('the lock still held is blamed on the driver that took it (B), not the one that unlocked (A)', () => {
    const { status, message } = outcome('FAILS lock-leak blamed on B: locked by A and B, unlocked by A');
    expect(status).toBe('failed');
    expect(message).toMatch(/lock-leak, driver "B"/);
    expect(message).not.toMatch(/lock-leak, driver "default"/);
  });

  test('a dead global alias left committed fails with alias-leak', () => {
    const { status, message } = outcome('FAILS alias-leak: a dead alias left committed');
    expect(status).toBe('failed');
    expect(message).toMatch(/alias-leak, driver "default"/);
    expect(message).toMatch(/unlocked without PAGEMAPGLOBAL: dead, but its system memory stays taken/);
    expect(message).not.toMatch(/lock-leak/);
  });

  test('an unasserted violation fails the test naming it; the same test with toHaveDmaViolation passes', () => {
    const failed = outcome('FAILS unasserted violation');
    expect(failed.status).toBe('failed');
    expect(failed.message).toMatch(/BUG: dmasim: dma-unlocked in copy-engine#\d+/);
    expect(outcome('PASSES asserted violation').status).toBe('passed');
  });

  test('an unmatched device fault fails the test; a matched one does not', () => {
    const failed = outcome('FAILS unmatched device fault');
    expect(failed.status).toBe('failed');
    expect(failed.message).toMatch(/device fault \(threw\) in test-probe#\d+/);
    expect(outcome('PASSES matched device fault').status).toBe('passed');
  });

  test('every failure message names the seed, an ordinary assertion failure included', () => {
    for (const title of ['FAILS assertion with the seed in its message', 'FAILS lock-leak: a page left locked']) {
      expect(outcome(title).message).toMatch(/dmasim seed \d+ \(test ".*"; createSimulator\(\{ seed: \d+ \}\) reproduces its decisions\)/);
    }
    expect(outcome('PASSES a clean test').status).toBe('passed');
  });
});

test('commands rung just before the test returned get to finish: no dma-in-flight (regression: a last doorbell failed tests by timing)', () => {
  expect(outcome('PASSES commands still running when the test returns')).toEqual({ status: 'passed', message: '' });
});

describe('reports of failing tests', () => {
  test('the message names a JSON and an HTML report, written, and the JSON validates against the schema', () => {
    const { message } = outcome('FAILS lock-leak: a page left locked');
    const json = /Reports: (\S+\.json)/.exec(message)?.[1];
    const html = /\s(\S+\.html)/.exec(message)?.[1];
    expect(json && existsSync(json)).toBeTruthy();
    expect(html && existsSync(html)).toBeTruthy();
    const report = JSON.parse(readFileSync(json!, 'utf8')) as { leaks: { code: string }[] };
    const schema = JSON.parse(readFileSync('schema/report.schema.json', 'utf8')) as object;
    const validate = new Ajv({ allErrors: true }).compile(schema);
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    expect(report.leaks.map((l) => l.code)).toContain('lock-leak');
    expect(readFileSync(html!, 'utf8')).toMatch(/<html|<!doctype html/i);
  });
});
