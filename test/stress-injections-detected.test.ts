// Every --inject kind at rate 1 (every transfer carries the bug): the checker reports each one for
// the very transfer it was made in — detected == injected — with the code that bug must produce,
// and the run exits 1 (bugs were found). No correct transfer runs, so no false positive can hide.
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { INJECTION_INFO, INJECTIONS } from '../src/stress/inject.js';
import { dmasim, readReport, schemaErrors, scratchDir } from './stress-helpers.js';

describe.concurrent('each injected bug at rate 1 is detected', () => {
  for (const kind of INJECTIONS) {
    test(kind, async () => {
      const json = join(scratchDir(), `${kind}.json`);
      const r = await dmasim(['stress', '--seed', '3', '--devices', '2', '--transfers', '8', '--inject', `${kind}:1`, '--json', json]);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const report = readReport(json);
      expect(schemaErrors(report)).toBe('');
      const n = report.result.injected[kind]!;
      expect(n.injected).toBe(8);
      expect(n.detected).toBe(n.injected);
      const res = report.result;
      expect(res.violationCounts.unexpected).toBe(0);
      expect(res.bytesLost).toBe(0);
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
