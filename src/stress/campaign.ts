/**
 * A stress campaign: the seeds of this shard, run one after another in this process (--jobs 1) or
 * side by side in piscina workers, summed into one report. The progress line, if any, reads the
 * seeds' live counters; the HTML report is the lowest failing seed's simulator report, or a
 * summary page when no seed failed.
 */

import { copyFile, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { shardSeeds, shardSize, type StressRun } from './config.js';
import { crashed, runInPool } from './pool.js';
import { ProgressLine, type LiveSlot } from './progress.js';
import { makeReport, Totals, type StressReport } from './report.js';
import { runSeed, type SeedResult, type SeedTask } from './seed.js';
import { writeSummaryHtml } from './summary.js';

export interface CampaignOptions {
  readonly run: StressRun;
  /** The command line, for the report. */
  readonly command: string;
  /** Where the progress line goes (stderr when it is a terminal), or null. */
  readonly progress: NodeJS.WriteStream | null;
}

export async function runCampaign(o: CampaignOptions): Promise<StressReport> {
  const { config, shard, jobs } = o.run;
  const count = shardSize(config, shard);
  const totals = new Totals(config);
  const htmlDir = o.run.html ? await mkdtemp(join(tmpdir(), 'dmasim-stress-html-')) : null;
  const lowestFailing = new Float64Array(new SharedArrayBuffer(8));
  lowestFailing[0] = Number.POSITIVE_INFINITY;
  const live = new Int32Array(new SharedArrayBuffer(8 * jobs));
  const slots: LiveSlot[] = Array.from({ length: jobs }, () => ({ startedAt: -1 }));
  const line = o.progress ? new ProgressLine(o.progress, count, { transfers: config.transfers, seconds: config.seconds }, live, slots) : null;
  const htmlOf = new Map<number, string>();
  const t0 = performance.now();
  const started = (slot: number) => {
    Atomics.store(live, slot * 2, 0);
    Atomics.store(live, slot * 2 + 1, 0);
    slots[slot]!.startedAt = performance.now();
  };
  const done = (slot: number, r: SeedResult) => {
    slots[slot]!.startedAt = -1;
    Atomics.store(live, slot * 2, 0);
    Atomics.store(live, slot * 2 + 1, 0);
    if (r.html) htmlOf.set(r.seed, r.html);
    totals.add(r);
    line?.seedDone(r.transfers, r.violationCounts.total);
  };
  const tasks = (function* (): Generator<Omit<SeedTask, 'slot'>> {
    for (const seed of shardSeeds(config, shard)) yield { config, seed, progress: live, htmlDir, lowestFailing, ...(config.deterministic ? { reportDir: o.run.reports, keepReports: o.run.keepReports } : {}) };
  })();
  line?.start();
  try {
    if (jobs === 1) {
      for (const task of tasks) {
        started(0);
        let r: SeedResult;
        try {
          r = await runSeed({ ...task, slot: 0 });
        } catch (e) {
          r = crashed(task.seed, e);
        }
        done(0, r);
      }
    } else {
      await runInPool(jobs, tasks, started, done);
    }
  } finally {
    line?.stop();
  }
  const report = makeReport({ config, shards: { count: shard.count, indices: [shard.index] }, jobs, commands: [o.command], totals, wallMs: performance.now() - t0 });
  if (!o.run.html) return report;
  // The lowest failing seed's simulator report becomes the HTML file; the others are dropped.
  const lowest = report.failures.find((f) => htmlOf.has(f.seed));
  if (lowest) {
    const from = htmlOf.get(lowest.seed)!;
    await mkdir(dirname(o.run.html), { recursive: true });
    // rename fails across file systems (tmpdir on its own mount): copy then.
    await rename(from, o.run.html).catch(() => copyFile(from, o.run.html!));
  }
  await rm(htmlDir!, { recursive: true, force: true });
  const failures = report.failures.map(({ html: _drop, ...f }) => (lowest && f.seed === lowest.seed ? { ...f, html: o.run.html! } : f));
  const out: StressReport = { ...report, failures };
  if (!lowest) await writeSummaryHtml(o.run.html, out);
  return out;
}
