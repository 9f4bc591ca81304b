/**
 * `dmasim stress`: runs a campaign (src/stress/) and judges it. stdout: the summary table and every
 * failing seed with the command that reproduces it; stderr: the progress line (a terminal only) and
 * usage errors. Returns the exit code: 0 clean, 1 failed, 2 usage error.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { runCampaign } from '../stress/campaign.js';
import { parseStressArgs, STRESS_USAGE, UsageError } from '../stress/config.js';
import { renderSummary } from '../stress/summary.js';

export async function stressCommand(argv: readonly string[]): Promise<number> {
  let run;
  try {
    run = parseStressArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`dmasim stress: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (run.help) {
    process.stdout.write(`${STRESS_USAGE}\n`);
    return 0;
  }
  const command = ['dmasim stress', ...argv].join(' ');
  const report = await runCampaign({ run, command, progress: process.stderr.isTTY ? process.stderr : null });
  const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
  process.stdout.write(`${renderSummary(report, color)}\n`);
  if (run.json) {
    await mkdir(dirname(run.json), { recursive: true });
    await writeFile(run.json, `${JSON.stringify(report, null, 1)}\n`);
    process.stdout.write(`report: ${run.json}\n`);
  }
  if (run.html) process.stdout.write(`html: ${run.html}\n`);
  const kept = (report.seedRuns ?? []).filter((r) => r.report).length;
  if (run.keepReports && kept > 0) process.stdout.write(`seed reports: ${kept} in ${run.reports} (npx dmasim replay ${run.reports}/seed-N.json)\n`);
  return report.result.exitCode;
}
