/**
 * The benchmark cannot rot: a smoke pass (a few iterations of every row) runs from the built
 * JavaScript and writes its JSON report with every row, its unit, and the baseline and ratio where
 * the row has one. No time is asserted — numbers from a smoke pass mean nothing.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROWS: Record<string, { unit: string; baseline: boolean }> = {
  'dma-4k-vs-raw': { unit: 'ops/s', baseline: true },
  'dma-64k-vs-raw': { unit: 'ops/s', baseline: true },
  'dma-1m-vs-raw': { unit: 'ops/s', baseline: true },
  'irq-roundtrip-vs-pingpong': { unit: 'us', baseline: true },
  'lock-copy-unlock': { unit: 'ops/s', baseline: false },
  'lock-cost-1g-vs-16m': { unit: 'us', baseline: true },
  'pager-moves': { unit: 'pages/s', baseline: false },
  'stress-pages-per-s': { unit: 'pages/s', baseline: false },
  'stress-pages-per-s-1dev': { unit: 'pages/s', baseline: false },
  'stress-pages-per-s-2dev': { unit: 'pages/s', baseline: false },
  'stress-pages-per-s-4dev': { unit: 'pages/s', baseline: false },
  'stress-scaling': { unit: 'x', baseline: true },
  'checks-on-vs-off': { unit: 'pages/s', baseline: true },
  'trace-on-vs-off': { unit: 'pages/s', baseline: true },
  'trace-on-vs-off-4k': { unit: 'us', baseline: true },
  'provenance-on-vs-off-4k': { unit: 'us', baseline: true },
  'stress-4dev-stacks-now-vs-before': { unit: 'us', baseline: true },
  'deterministic-steps-per-s': { unit: 'steps/s', baseline: false },
  'deterministic-vs-free-running': { unit: 'us', baseline: true },
  'startup-16m': { unit: 'ms', baseline: false },
  'startup-1g': { unit: 'ms', baseline: false },
};

describe('npm run bench -- --smoke', () => {
  it('runs every row and writes the JSON report', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'dmasim-bench-')), 'bench.json');
    execFileSync(process.execPath, [new URL('../dist/bench/run.js', import.meta.url).pathname, '--smoke', '--json', out], { stdio: 'pipe', timeout: 120_000 });
    const report = JSON.parse(readFileSync(out, 'utf8')) as { schemaVersion: number; machine: { cpus: number; model: string; node: string }; results: { name: string; unit: string; median: number; samples: number; baseline?: { name: string; median: number }; ratio?: number }[] };
    expect(report.schemaVersion).toBe(1);
    expect(report.machine).toMatchObject({ cpus: expect.any(Number), model: expect.any(String), node: process.version });
    expect(report.results.map((r) => r.name).sort()).toEqual(Object.keys(ROWS).sort());
    for (const r of report.results) {
      const want = ROWS[r.name]!;
      expect(r.unit, r.name).toBe(want.unit);
      expect(r.median, r.name).toBeGreaterThan(0);
      expect(r.samples, r.name).toBeGreaterThan(0);
      if (want.baseline) {
        expect(r.baseline?.median, r.name).toBeGreaterThan(0);
        expect(r.ratio, r.name).toBeGreaterThan(0);
      }
    }
  }, 180_000);
});
