/**
 * `dmasim merge A.json B.json … [--json ALL.json] [--html ALL.html] [--partial]`: one report from the
 * shard reports of one campaign (a CI matrix, one shard per job), judged once. Refuses, with exit
 * code 2 and one line, a file that is not a valid report, reports of different configurations or
 * shard counts, a shard given twice, and (without --partial) a missing shard. Otherwise prints the
 * merged summary and exits as `dmasim stress` would have: 0 clean, 1 failed.
 */

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { checkReport, mergeReports, ReportError, type StressReport } from '../stress/report.js';
import { renderSummary, writeSummaryHtml } from '../stress/summary.js';

export const MERGE_USAGE = `usage: dmasim merge A.json B.json … [--json ALL.json] [--html ALL.html] [--partial]

Merges the reports of the shards of one campaign (dmasim stress --shard I/N --json …) and judges
the whole. --partial merges even if shards are missing.

exit: 0 clean; 1 a seed failed; 2 usage error, or a report that is invalid or does not belong`;

export async function mergeCommand(argv: readonly string[]): Promise<number> {
  const fail = (msg: string) => {
    process.stderr.write(`dmasim merge: ${msg}\n`);
    return 2;
  };
  let values: { json?: string; html?: string; partial?: boolean; help?: boolean };
  let files: string[];
  try {
    ({ values, positionals: files } = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: { json: { type: 'string' }, html: { type: 'string' }, partial: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    const err = e as { code?: string; message?: string };
    const flag = /'(-[^' =]*)/.exec(err.message ?? '')?.[1];
    return fail(err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? `unknown flag ${flag ?? '?'} (dmasim merge --help)` : (err.message ?? String(e)).split('\n')[0]!);
  }
  if (values.help) {
    process.stdout.write(`${MERGE_USAGE}\n`);
    return 0;
  }
  if (files.length === 0) return fail('give the shard reports to merge (dmasim merge A.json B.json … --json ALL.json)');
  const inputs: { name: string; report: StressReport }[] = [];
  for (const name of files) {
    let text: string;
    try {
      text = await readFile(name, 'utf8');
    } catch (e) {
      return fail(`cannot read ${name}: ${(e as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      return fail(`${name} is not JSON: ${(e as Error).message}`);
    }
    try {
      inputs.push({ name, report: checkReport(json, name) });
    } catch (e) {
      if (e instanceof ReportError) return fail(e.message);
      throw e;
    }
  }
  let merged: StressReport;
  try {
    merged = mergeReports(inputs, { partial: values.partial === true });
  } catch (e) {
    if (e instanceof ReportError) return fail(e.message);
    throw e;
  }
  const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
  process.stdout.write(`${renderSummary(merged, color)}\n`);
  if (values.json) {
    await mkdir(dirname(values.json), { recursive: true });
    await writeFile(values.json, `${JSON.stringify(merged, null, 1)}\n`);
    process.stdout.write(`report: ${values.json}\n`);
  }
  if (values.html) {
    await writeSummaryHtml(values.html, merged);
    process.stdout.write(`html: ${values.html}\n`);
  }
  return merged.result.exitCode;
}
