/**
 * Helpers for the stress-campaign tests: the built `dmasim` bin run as a child process (npm test
 * builds first), its reports read back, and the stress report schema compiled with ajv.
 */

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import type { StressReport } from '../src/stress/report.js';

const BIN = new URL('../dist/src/cli/main.js', import.meta.url).pathname;

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node dist/src/cli/main.js …args`; resolves with its exit code and output, never rejects. */
export function dmasim(args: readonly string[], timeoutMs = 120_000): Promise<CliRun> {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: npm run build first (npm test does)`);
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A fresh directory for a test's reports. */
export function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'dmasim-stress-test-'));
}

export function readReport(file: string): StressReport {
  return JSON.parse(readFileSync(file, 'utf8')) as StressReport;
}

const schemaOf = (name: string) => JSON.parse(readFileSync(new URL(`../schema/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
const ajv = new Ajv({ allErrors: true, strict: true });
ajv.addSchema(schemaOf('report.schema.json'));
export const stressSchema = schemaOf('stress.schema.json');
const validate = ajv.compile(stressSchema);

/** The schema's errors for `report` (empty when it is valid), as one readable string. */
export function schemaErrors(report: unknown): string {
  return validate(report) ? '' : JSON.stringify(validate.errors?.slice(0, 8), null, 1);
}

/** The totals two runs of the same seeds must agree on (not timings). */
export function totalsOf(r: StressReport): unknown {
  const x = r.result;
  return { seeds: r.seeds, transfers: x.transfers, injectedTransfers: x.injectedTransfers, bytesVerified: x.bytesVerified, bytesLost: x.bytesLost, violationCounts: x.violationCounts, injected: x.injected, leaks: { expected: x.leaks.expected, unexpected: x.leaks.unexpected }, faultCount: x.faultCount, hangs: x.hangs };
}
