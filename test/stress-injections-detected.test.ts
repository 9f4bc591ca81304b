// Every --inject kind at rate 1 (every transfer carries the bug), over one device of every kind: the
// checker reports each one for the very transfer it was made in — detected == injected — with the
// code that bug must produce, and the run exits 1 (bugs were found). No correct transfer runs, so
// no false positive can hide. Then kind by kind: one device, every bug mixed in, each bug the kind
// lists is made and detected every time it is drawn.
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { INJECTION_INFO, INJECTIONS } from '../src/stress/inject.js';
import { KIND_NAMES, KINDS } from '../src/stress/kinds/index.js';
import { dmasim, readReport, schemaErrors, scratchDir } from './stress-helpers.js';

describe.concurrent('each injected bug at rate 1 is detected', () => {
  for (const kind of INJECTIONS) {
    test(kind, async () => {
      const json = join(scratchDir(), `${kind}.json`);
      const r = await dmasim(['stress', '--seed', '3', '--devices', String(KIND_NAMES.length), '--transfers', '8', '--inject', `${kind}:1`, '--json', json]);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const report = readReport(json);
      expect(schemaErrors(report)).toBe('');
      const n = report.result.injected[kind]!;
      // Every kind makes every bug (none answers injected: false with 16 MiB).
      expect(n.injected).toBe(8);
      expect(n.detected).toBe(n.injected);
      const res = report.result;
      expect(res.violationCounts.unexpected).toBe(0);
      expect(res.bytesLost).toBe(0);
      expect(res).toMatchObject({ faultCount: 0, hangs: 0 });
      const info = INJECTION_INFO[kind];
      if (info.class === 'dma') {
        expect(info.codes.some((c) => res.violationCounts.byCode[c] > 0), JSON.stringify(res.violationCounts.byCode)).toBe(true);
        expect(res.violationCounts.expected).toBe(res.violationCounts.total);
        // The records carry the transfer and the bug they belong to.
        expect(res.violations.every((v) => v.expected && v.injection === kind && v.transfer !== null)).toBe(true);
      } else if (kind === 'leak-lock') {
        expect(res.leaks).toMatchObject({ expected: 8, unexpected: 0 });
        expect(res.violationCounts.total).toBe(0);
      } else {
        expect(res.violationCounts.total).toBe(0);
      }
      expect(report.failures[0]!.reason).toMatch(/8 injected bugs/);
      expect(report.failures[0]!.reproduce).toContain(`--inject ${kind}:1`);
    });
  }
});

describe.concurrent('each kind makes and detects every bug it lists', () => {
  // Every bug at 1/8: with seed 1 and 32 transfers each is drawn at least once for every kind.
  const inject = INJECTIONS.flatMap((k) => ['--inject', `${k}:0.125`]);
  for (const name of KIND_NAMES) {
    test(name, async () => {
      const json = join(scratchDir(), `${name}.json`);
      const r = await dmasim(['stress', '--seed', '1', '--kinds', name, '--devices', '1', '--transfers', '32', ...inject, '--expect-injected', '--json', json]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const res = readReport(json).result;
      expect(res).toMatchObject({ bytesLost: 0, faultCount: 0, hangs: 0, violationCounts: { unexpected: 0 }, leaks: { unexpected: 0 } });
      for (const k of INJECTIONS) {
        const n = res.injected[k]!;
        if (KINDS[name]!.injections.includes(k)) {
          expect(n.injected, k).toBeGreaterThan(0);
          expect(n.detected, k).toBe(n.injected);
        } else {
          expect(n.injected, k).toBe(0);
        }
      }
    });
  }
});
