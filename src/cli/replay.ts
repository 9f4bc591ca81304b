/**
 * `dmasim replay REPORT.json [--json OUT] [--html OUT]`: runs a deterministic run's report again
 * (src/sched/replay.ts) — its scenario, seed and decisions — up to the first violation, and shows
 * it: the replayed run's records as text, the trace events around the first violation, and one
 * line saying whether the original's first violation was reproduced. stdout: all of that; stderr:
 * usage and input errors. Exit: 0 reproduced, 1 not, 2 usage or input error (a missing or
 * malformed file, a free-running report, a scenario that cannot be loaded).
 */

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { hex } from '../address.js';
import { SimulatorError } from '../errors.js';
import { renderLeak } from '../leaks.js';
import { renderViolation, type DeviceFault, type Violation } from '../report.js';
import { writeHtmlReport } from '../report/html.js';
import type { SimReport } from '../report/types.js';
import { replay, type ReplayResult } from '../sched/replay.js';
import { TRACE_FIELDS, type TraceEvent } from '../trace.js';

export const REPLAY_USAGE = `usage: dmasim replay REPORT.json [--json OUT] [--html OUT]

Runs a deterministic run's report again — the scenario it names, its seed, its recorded scheduler
decisions — and stops at the first violation. Prints the replayed run's records, the trace around
the first violation, and whether it is the original's first violation (code, address, device,
driver, step). A report of dmasim stress --deterministic (seed-N.json) or of any deterministic
simulator whose scenario is a module or a built-in.

  --json OUT   write the replayed run's report (schema/report.schema.json)
  --html OUT   write it as an HTML page
  --help

exit: 0 the first violation was reproduced; 1 it was not; 2 usage error or unusable report`;

/** Trace events shown around the first violation: before it and after it, by sequence number. */
const BEFORE = 20;
const AFTER = 5;

class InputError extends Error {
  override readonly name = 'InputError';
}

export async function replayCommand(argv: readonly string[]): Promise<number> {
  const fail = (msg: string) => {
    process.stderr.write(`dmasim replay: ${msg}\n`);
    return 2;
  };
  let values: { json?: string; html?: string; help?: boolean };
  let files: string[];
  try {
    ({ values, positionals: files } = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: { json: { type: 'string' }, html: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    const err = e as { code?: string; message?: string };
    const flag = /'(-[^' =]*)/.exec(err.message ?? '')?.[1];
    return fail(err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? `unknown flag ${flag ?? '?'} (dmasim replay --help)` : (err.message ?? String(e)).split('\n')[0]!);
  }
  if (values.help) {
    process.stdout.write(`${REPLAY_USAGE}\n`);
    return 0;
  }
  if (files.length !== 1) return fail(files.length === 0 ? 'give the report to replay (dmasim replay REPORT.json)' : `one report at a time, got ${files.length}: ${files.join(' ')}`);
  for (const k of ['json', 'html'] as const) if (values[k] === '') return fail(`--${k} needs a file name`);
  const file = files[0]!;
  let result: ReplayResult;
  let original: SimReport;
  try {
    original = await readReport(file);
    result = await replay(original);
  } catch (e) {
    if (e instanceof InputError || e instanceof SimulatorError) return fail(e.message);
    throw e;
  }
  process.stdout.write(`${renderReplay(original, result, file)}\n`);
  if (values.json) {
    await mkdir(dirname(values.json), { recursive: true });
    await writeFile(values.json, `${JSON.stringify(result.report)}\n`);
    process.stdout.write(`report: ${values.json}\n`);
  }
  if (values.html) {
    await writeHtmlReport(values.html, result.report);
    process.stdout.write(`html: ${values.html}\n`);
  }
  return result.same ? 0 : 1;
}

async function readReport(file: string): Promise<SimReport> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new InputError(code === 'ENOENT' ? `${file}: no such file` : `cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return JSON.parse(text) as SimReport;
  } catch (e) {
    throw new InputError(`${file} is not JSON (${e instanceof Error ? e.message : String(e)}): give the JSON report of a deterministic run`);
  }
}

/** The whole output: records, trace window, verdict line. */
function renderReplay(original: SimReport, r: ReplayResult, file: string): string {
  const rep = r.report;
  const det = rep.deterministic;
  const parts: string[] = [];
  parts.push(`dmasim replay ${file}: seed ${det.seed}, ${det.decisions.length} decision runs, ${det.steps} steps replayed (outcome ${det.outcome}${det.divergences ? `, ${det.divergences} divergences` : ''})`);
  const faults = rep.faults.map(renderFault);
  // Stopped at its first violation, the drivers were abandoned mid-transfer: what they held then is
  // still held at close, so its leaks say nothing about the bug (counted, not shown).
  const stopped = det.outcome === 'violation';
  parts.push(...rep.violations.map(renderViolation), ...(stopped ? [] : rep.leaks.map(renderLeak)), ...faults);
  const counts = rep.violationCounts;
  const leaks = `${rep.leaks.length} leak${rep.leaks.length === 1 ? '' : 's'}${stopped && rep.leaks.length ? ' (held when the replay stopped: not shown)' : ''}`;
  parts.push(`replayed run: ${counts.total} violation${counts.total === 1 ? '' : 's'}, ${leaks}, ${rep.faults.length} device fault${rep.faults.length === 1 ? '' : 's'}${r.error ? `; the drivers threw: ${r.error}` : ''}`);
  if (r.replayed) parts.push(traceAround(rep, r.replayed));
  parts.push(verdict(original, r));
  return parts.join('\n\n');
}

function renderFault(f: DeviceFault): string {
  return `device fault (${f.kind}) in ${f.device.kind}#${f.device.id}, driver "${f.driver}"${f.command !== undefined ? `, command ${f.command}` : ''}${f.step !== undefined ? `, step ${f.step}` : ''}: ${f.message}`;
}

/** The trace events just before and after the violation's sequence number, one line each. */
function traceAround(rep: SimReport, v: Violation): string {
  const events = rep.trace.events;
  // The record's own event (it names the record by seq), else where its seq falls.
  const own = events.findIndex((e) => e.kind === 'violation' && e.record === v.seq);
  const at = own >= 0 ? own : events.findIndex((e) => e.seq >= v.seq);
  const end = at < 0 ? events.length : at;
  const window = events.slice(Math.max(0, end - BEFORE), end + (own >= 0 ? 1 : 0) + AFTER);
  if (window.length === 0) return `trace: no events kept around seq ${v.seq}${rep.trace.enabled ? '' : ' (the trace was off)'}`;
  const devices = new Map(rep.devices.map((d) => [d.attachment, `${d.kind}#${d.id}`]));
  const lines = [`trace around the first violation (seq ${v.seq}; ${BEFORE} events before, ${AFTER} after):`];
  for (const e of window) lines.push(`${e.kind === 'violation' && e.record === v.seq ? '>' : ' '} ${traceLine(e, devices, rep.drivers)}`);
  return lines.join('\n');
}

const ADDRESS_FIELDS = new Set(['phys', 'phys2']);
const PAGE_FIELDS = new Set(['frame', 'to', 'page']);

function traceLine(e: TraceEvent, devices: ReadonlyMap<number, string>, drivers: readonly string[]): string {
  const fields = TRACE_FIELDS[e.kind] as readonly string[];
  const rec = e as unknown as Record<string, number | string | boolean>;
  const out: string[] = [];
  for (const f of fields) {
    const x = rec[f] as number;
    if (f === 'device') out.push(`device ${x === 0 && e.kind === 'violation' ? '-' : (devices.get(x) ?? `@${x}`)}`);
    else if (f === 'driver') out.push(`driver ${x >= 0 && drivers[x] !== undefined ? drivers[x] : x}`);
    else if (f === 'code' && e.kind === 'violation') continue;
    else if ((f === 'phys2' || f === 'length2') && e.kind === 'dma' && e.spans < 2) continue;
    else if (ADDRESS_FIELDS.has(f)) out.push(`${f} ${hex(x)}`);
    else if (PAGE_FIELDS.has(f)) out.push(`${f} ${x < 0 ? '-' : hex(x, 5)}`);
    else out.push(`${f} ${x}`);
  }
  if (e.kind === 'dma') out.push(e.outcome, e.write ? 'write' : 'read');
  return `#${String(e.seq).padStart(7)} ${e.kind.padEnd(12)} ${out.join('  ')}`;
}

/** The one line that says whether the first violation came back. */
function verdict(original: SimReport, r: ReplayResult): string {
  const describe = (v: Violation) => `${v.code} at ${hex(v.physAddr)} by ${v.device ? `${v.device.kind}#${v.device.id}` : 'the VMM'}${v.driver ? ` (driver ${v.driver})` : ''}, step ${v.step ?? '?'}`;
  if (r.same) {
    if (!r.original) return `replay: REPRODUCED — no violation in either run, same trace hash ${r.report.deterministic.traceHash}`;
    return `replay: REPRODUCED the first violation: ${describe(r.replayed!)}`;
  }
  const orig = r.original ? describe(r.original) : 'none';
  const got = r.replayed ? describe(r.replayed) : 'none';
  const hint = r.divergences > 0 ? ` — ${r.divergences} steps diverged from the recording (a different dmasim, scenario or options than ${original.tool.version}?)` : '';
  return `replay: NOT REPRODUCED (${r.differences.join('; ')}): original ${orig}; replayed ${got}${hint}`;
}
