/**
 * The end-of-run summary (stdout) and the HTML summary page of a clean campaign: what ran, the
 * totals, violations by code, injected bugs detected / injected, faults, leaks, throughput, the
 * verdict, and every failing seed with the command that reproduces it (deterministic mode: the
 * `dmasim replay` command of its report first, and the seeds' trace hashes).
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { styleText } from 'node:util';
import { INJECTIONS } from './inject.js';
import type { StressReport } from './report.js';

type Style = Parameters<typeof styleText>[0];

const MiB = 1 << 20;

function bytes(n: number): string {
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB (${n})`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB (${n})`;
  return `${n}`;
}

/** "seeds 1..8" / "seed 3"; with the shards a report covers when it is not all of them. */
export function describeRun(r: StressReport): string {
  const c = r.config;
  const range = c.seeds.first === c.seeds.last ? `seed ${c.seeds.first}` : `seeds ${c.seeds.first}..${c.seeds.last}`;
  const shards = r.shards.count > 1 ? ` (shard${r.shards.indices.length > 1 ? 's' : ''} ${r.shards.indices.join(',')}/${r.shards.count}: ${r.seeds.count} seeds)` : ` (${r.seeds.count} seed${r.seeds.count === 1 ? '' : 's'})`;
  const perKind = c.kinds.map((k) => `${k} ×${Math.floor(c.devices / c.kinds.length) + (c.kinds.indexOf(k) < c.devices % c.kinds.length ? 1 : 0)}`).join(', ');
  const budget = c.transfers !== null ? `${c.transfers} transfers per seed` : `${c.seconds} s per seed`;
  return `${range}${shards}${c.deterministic ? ', deterministic' : ''}, ${c.devices} devices (${perKind}), ${budget}, pager ${c.pager}, ${c.memory / MiB} MiB${c.inject.length ? `, inject ${c.inject.map((i) => `${i.kind}:${i.rate}`).join(' ')}` : ''}`;
}

/** The summary as text lines; `color` decides whether styleText colours them. */
export function renderSummary(r: StressReport, color: boolean): string {
  const paint = (s: Style, t: string) => (color ? styleText(s, t) : t);
  const res = r.result;
  const rows: [string, string][] = [];
  rows.push(['transfers', `${res.transfers}${res.injectedTransfers ? ` (${res.injectedTransfers} with an injected bug)` : ''}`]);
  rows.push(['bytes verified', bytes(res.bytesVerified)]);
  rows.push(['bytes lost', res.bytesLost ? paint('red', bytes(res.bytesLost)) : '0']);
  const vc = res.violationCounts;
  const vLine = vc.total === 0 ? '0' : `${vc.total}: ${vc.expected} from injected bugs, ${vc.unexpected ? paint('red', `${vc.unexpected} not`) : '0 not'}`;
  rows.push(['violations', vLine]);
  for (const [code, n] of Object.entries(vc.byCode)) if (n > 0) rows.push([`  ${code}`, `${n}`]);
  const inj = INJECTIONS.filter((k) => res.injected[k]);
  if (inj.length) {
    rows.push(['injected bugs', 'detected / injected (skipped)']);
    for (const k of inj) {
      const n = res.injected[k]!;
      const t = `${n.detected} / ${n.injected}${n.skipped ? ` (${n.skipped} skipped)` : ''}`;
      rows.push([`  ${k}`, n.detected < n.injected ? paint('red', t) : t]);
    }
  }
  rows.push(['faults', res.faultCount ? paint('red', `${res.faultCount}`) : '0']);
  rows.push(['hangs', res.hangs ? paint('red', `${res.hangs}`) : '0']);
  rows.push(['leaks', `${res.leaks.unexpected ? paint('red', `${res.leaks.unexpected} unexpected`) : '0 unexpected'}${res.leaks.expected ? `, ${res.leaks.expected} injected (leak-lock), found` : ''}`]);
  const t = res.timings;
  rows.push(['throughput', `${res.pagesPerSecond} pages/s per simulator, ${res.wallPagesPerSecond} pages/s wall${r.jobs > 1 ? ` (${r.jobs} jobs)` : ''}`]);
  rows.push(['time', `${(t.wallMs / 1000).toFixed(1)} s wall; seeds ran ${(t.seedMs / 1000).toFixed(1)} s, set-up ${(t.setupMs / 1000).toFixed(1)} s, tear-down ${(t.teardownMs / 1000).toFixed(1)} s`]);
  const verdict = res.verdict === 'pass' ? paint('green', 'PASS') : paint('red', `FAIL: ${r.seeds.failed} of ${r.seeds.count} seeds failed`);
  if (r.seedRuns) rows.push(['trace hashes', traceHashes(r)]);
  rows.push(['result', verdict]);
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = [`dmasim stress: ${describeRun(r)}`, ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`)];
  if (r.failures.length) {
    lines.push('', `failing seeds${r.failuresOmitted ? ` (first ${r.failures.length}; ${r.failuresOmitted} more in the JSON's counts)` : ''}:`);
    for (const f of r.failures) {
      lines.push(`  seed ${f.seed}: ${f.reason}`);
      lines.push(`    ${paint('bold', f.replay ?? f.reproduce)}`);
      // The replay reruns the recorded schedule and stops at the first violation; the stress
      // command reruns the whole seed (deterministic: the same schedule too).
      if (f.replay) lines.push(`    or the whole seed again: ${f.reproduce}`);
      if (f.html) lines.push(`    report: ${f.html}`);
    }
  }
  return lines.join('\n');
}

/** "seed 5 8cb5ff78 (256 steps)"; a few seeds by hash; more: where they are. */
function traceHashes(r: StressReport): string {
  const runs = r.seedRuns ?? [];
  if (runs.length === 1) return `seed ${runs[0]!.seed} ${runs[0]!.traceHash} (${runs[0]!.steps} steps, deterministic)`;
  const shown = runs.slice(0, 8).map((x) => `${x.seed}:${x.traceHash}`).join(' ');
  return `${shown}${runs.length > 8 || r.seedRunsOmitted ? ` … (${runs.length + (r.seedRunsOmitted ?? 0)} seeds: the JSON report lists them)` : ''}`;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A self-contained page with the summary (for a campaign where no seed failed). */
export async function writeSummaryHtml(file: string, r: StressReport): Promise<void> {
  const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dmasim stress: ${esc(r.result.verdict)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:60em}pre{background:#f4f4f4;padding:1em;overflow:auto}h1{font-size:1.3em}</style></head>
<body><h1>dmasim stress campaign: ${r.result.verdict === 'pass' ? 'no seed failed' : `${r.seeds.failed} seeds failed`}</h1>
<pre>${esc(renderSummary(r, false))}</pre>
<p>${esc(r.commands.join(' ; '))}<br>dmasim ${esc(r.tool.version)}, Node ${esc(r.node)}, ${esc(r.machine.os)}, ${r.machine.cpus} × ${esc(r.machine.cpuModel)}; ${esc(r.createdAt)}</p>
</body></html>
`;
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, page);
}
