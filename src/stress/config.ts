/**
 * `dmasim stress` flags → a checked campaign configuration. Every usage error is a UsageError with
 * one line that names the flag and what it takes; nothing runs before the whole command line is
 * valid.
 */

import { parseArgs } from 'node:util';
import type { PagerPolicy } from '../index.js';
import { INJECTIONS, isInjection, type Injection } from './inject.js';
import { KIND_NAMES, KINDS } from './kinds/index.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** What decides a seed's run (the part of a report two shards must agree on). */
export interface StressConfig {
  readonly devices: number;
  readonly kinds: readonly string[];
  /** Transfers per seed, or null with `seconds`. */
  readonly transfers: number | null;
  /** Seconds per seed, or null with `transfers`. */
  readonly seconds: number | null;
  /** The campaign's seed range, inclusive (a shard runs part of it). */
  readonly seeds: { readonly first: number; readonly last: number };
  readonly pager: PagerPolicy;
  readonly memory: number;
  readonly inject: readonly { readonly kind: Injection; readonly rate: number }[];
  /** Records of injected, detected bugs do not fail the run. */
  readonly expectInjected: boolean;
  /**
   * Each seed runs in deterministic mode: its driver tasks and device steps under the seeded
   * scheduler, so the seed decides the interleaving too (same trace hash on every run), and its
   * report replays with `dmasim replay`. Budgets are transfers only.
   */
  readonly deterministic: boolean;
}

export interface Shard {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

export interface StressRun {
  readonly config: StressConfig;
  readonly shard: Shard;
  readonly jobs: number;
  readonly json: string | null;
  readonly html: string | null;
  /** Where seed reports (seed-N.json, deterministic mode) are written. */
  readonly reports: string;
  /** Keep every seed's report, not only the failing seeds' (deterministic mode). */
  readonly keepReports: boolean;
  readonly help: boolean;
}

export const DEFAULT_TRANSFERS = 200;
export const DEFAULT_MEMORY = 16 << 20;
export const DEFAULT_REPORTS = 'dmasim-stress-reports';
const MAX_DEVICES = 64;
const MAX_JOBS = 64;
const MAX_SECONDS = 7 * 24 * 3600;
const U32 = 0xffffffff;

export const STRESS_USAGE = `usage: dmasim stress [flags]

Runs driver tasks (lock → _CopyPageTable → program → interrupt → verify → unlock) against
simulated devices, seed by seed, and judges every violation, lost byte, fault and leak.

  --devices N          devices per simulator (default: 2 per kind); device i runs kind i mod K
  --kinds A,B          kinds to run (default: all: ${KIND_NAMES.join(', ')})
  --transfers N        transfers per seed (default ${DEFAULT_TRANSFERS})
  --seconds S          or: seconds per seed
  --seed X             one seed (default 1)
  --seeds A..B         or: every seed from A to B
  --pager P            off | random | aggressive (default aggressive)
  --memory BYTES       simulated RAM per seed, e.g. 16777216, 64M, 1G (default 16M)
  --inject KIND:RATE   inject a driver bug into a RATE share of the transfers (0 … 1), repeatable:
                       ${INJECTIONS.join(', ')}
  --expect-injected    records of injected bugs that were detected do not fail the run
  --deterministic      run each seed under the seeded scheduler: the seed fixes the interleaving of
                       every driver and device step (same trace hash every run); a failing seed's
                       JSON report is written to --reports, to run again by dmasim replay FILE
  --reports DIR        where --deterministic writes seed reports, seed-N.json (default ${DEFAULT_REPORTS})
  --keep-reports       write every seed's report, not only the failing seeds' (to replay an
                       injected, expected violation)
  --jobs N             seeds run in parallel on this machine (default 1)
  --shard I/N          run the I-th of N disjoint parts of the seed range
  --json FILE          write the report (schema/stress.schema.json)
  --html FILE          the HTML report of the lowest failing seed, or a summary page if none failed
  --help

exit: 0 clean; 1 a violation, a lost byte, an injected bug (undetected; or any, without
--expect-injected), a fault, a hang or a leak; 2 usage error`;

/** Parses `dmasim stress` arguments; throws UsageError with one line. */
export function parseStressArgs(argv: readonly string[]): StressRun {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: joinNegatives(argv),
      strict: true,
      allowPositionals: false,
      options: {
        devices: { type: 'string' },
        kinds: { type: 'string' },
        transfers: { type: 'string' },
        seconds: { type: 'string' },
        seed: { type: 'string' },
        seeds: { type: 'string' },
        pager: { type: 'string' },
        memory: { type: 'string' },
        inject: { type: 'string', multiple: true },
        'expect-injected': { type: 'boolean' },
        deterministic: { type: 'boolean' },
        reports: { type: 'string' },
        'keep-reports': { type: 'boolean' },
        jobs: { type: 'string' },
        shard: { type: 'string' },
        json: { type: 'string' },
        html: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UsageError(parseArgsMessage(e));
  }
  const str = (k: string) => values[k] as string | undefined;
  const kinds = str('kinds') === undefined ? [...KIND_NAMES] : parseKinds(str('kinds')!);
  const devices = str('devices') === undefined ? 2 * kinds.length : int('--devices', str('devices')!, 1, MAX_DEVICES);
  if (devices < kinds.length) throw new UsageError(`--devices ${devices} is fewer than the ${kinds.length} kinds asked for (${kinds.join(', ')}): every kind needs a device`);
  for (const name of kinds) {
    const n = Math.floor(devices / kinds.length) + (kinds.indexOf(name) < devices % kinds.length ? 1 : 0);
    const max = KINDS[name]!.maxInstances;
    if (n > max) throw new UsageError(`--devices ${devices} gives ${name} ${n} devices; it can have at most ${max} in one simulator`);
  }
  if (str('transfers') !== undefined && str('seconds') !== undefined) throw new UsageError('pass --transfers or --seconds, not both');
  const deterministic = values.deterministic === true;
  if (deterministic && str('seconds') !== undefined) throw new UsageError('--seconds cannot be used with --deterministic: a time budget is the host clock; give --transfers');
  if (!deterministic && (str('reports') !== undefined || values['keep-reports'] === true)) throw new UsageError(`${str('reports') !== undefined ? '--reports' : '--keep-reports'} needs --deterministic (only a deterministic seed's report replays)`);
  const seconds = str('seconds') === undefined ? null : positive('--seconds', str('seconds')!, MAX_SECONDS);
  const transfers = seconds !== null ? null : str('transfers') === undefined ? DEFAULT_TRANSFERS : int('--transfers', str('transfers')!, 1, 1e9);
  if (str('seed') !== undefined && str('seeds') !== undefined) throw new UsageError('pass --seed or --seeds, not both');
  const seeds = str('seeds') !== undefined ? parseRange(str('seeds')!) : (() => {
    const s = str('seed') === undefined ? 1 : int('--seed', str('seed')!, 0, U32);
    return { first: s, last: s };
  })();
  const pager = (str('pager') ?? 'aggressive') as PagerPolicy;
  if (pager !== 'off' && pager !== 'random' && pager !== 'aggressive') throw new UsageError(`--pager takes off, random or aggressive, got "${String(pager)}"`);
  const memory = str('memory') === undefined ? DEFAULT_MEMORY : parseBytes(str('memory')!);
  const needed = memoryNeeded(kinds, devices);
  if (memory < needed) throw new UsageError(`--memory ${memory} is too small for ${devices} devices of ${kinds.join(', ')}: they need at least ${needed} bytes`);
  const inject = parseInjections((values.inject as string[] | undefined) ?? []);
  const jobs = str('jobs') === undefined ? 1 : int('--jobs', str('jobs')!, 1, MAX_JOBS);
  const shard = str('shard') === undefined ? { index: 1, count: 1 } : parseShard(str('shard')!);
  for (const k of ['json', 'html'] as const) if (str(k) === '') throw new UsageError(`--${k} needs a file name`);
  if (str('reports') === '') throw new UsageError('--reports needs a directory name');
  return {
    config: { devices, kinds, transfers, seconds, seeds, pager, memory, inject, expectInjected: values['expect-injected'] === true, deterministic },
    shard,
    jobs,
    json: str('json') ?? null,
    html: str('html') ?? null,
    reports: str('reports') ?? DEFAULT_REPORTS,
    keepReports: values['keep-reports'] === true,
    help: values.help === true,
  };
}

/**
 * `--seconds -1` as `--seconds=-1`: parseArgs would take "-1" for a flag and say the value is
 * missing; the user gets "--seconds takes a positive number … got "-1"" instead.
 */
function joinNegatives(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (/^--[a-z]+$/.test(a) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** parseArgs' errors, in one line without its own wording about `--help`. */
function parseArgsMessage(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const m = /'(-[^']*)'/.exec(err.message ?? '');
  const flag = m?.[1]?.split(/[ =]/)[0];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${flag ?? '?'} (dmasim stress --help lists the flags)`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument "${/'([^']*)'/.exec(err.message ?? '')?.[1] ?? '?'}" (dmasim stress takes flags only; --help lists them)`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return flag ? `${flag.replace(/^(--\S+).*/, '$1')} needs a value` : (err.message ?? 'bad flag').split('\n')[0]!;
    default:
      return (err.message ?? String(e)).split('\n')[0]!;
  }
}

function int(flag: string, s: string, min: number, max: number): number {
  const n = /^\d+$/.test(s.trim()) ? Number(s) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${flag} takes an integer from ${min} to ${max}, got "${s}"`);
  return n;
}

function positive(flag: string, s: string, max: number): number {
  const n = /^\d+(\.\d+)?$/.test(s.trim()) ? Number(s) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new UsageError(`${flag} takes a positive number of seconds (at most ${max}), got "${s}"`);
  return n;
}

function parseKinds(s: string): string[] {
  const list = s.split(',').map((k) => k.trim());
  if (list.length === 0 || list.some((k) => k === '')) throw new UsageError(`--kinds takes a comma-separated list of ${KIND_NAMES.join(', ')}, got "${s}"`);
  for (const k of list) if (!KINDS[k]) throw new UsageError(`unknown kind "${k}" in --kinds (known: ${KIND_NAMES.join(', ')})`);
  const dup = list.find((k, i) => list.indexOf(k) !== i);
  if (dup) throw new UsageError(`--kinds names ${dup} twice`);
  return list;
}

function parseRange(s: string): { first: number; last: number } {
  const m = /^(\d+)\.\.(\d+)$/.exec(s.trim());
  const first = m ? Number(m[1]) : Number.NaN;
  const last = m ? Number(m[2]) : Number.NaN;
  if (!m || !(first <= U32) || !(last <= U32)) throw new UsageError(`--seeds takes A..B, two unsigned 32-bit integers, got "${s}"`);
  if (first > last) throw new UsageError(`--seeds ${s}: the first seed is after the last`);
  return { first, last };
}

function parseShard(s: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!m || !Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index < 1 || index > count) throw new UsageError(`--shard takes I/N with 1 ≤ I ≤ N, got "${s}"`);
  return { index, count };
}

const UNITS: Record<string, number> = { '': 1, k: 1 << 10, kb: 1 << 10, kib: 1 << 10, m: 1 << 20, mb: 1 << 20, mib: 1 << 20, g: 1 << 30, gb: 1 << 30, gib: 1 << 30 };

function parseBytes(s: string): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(s.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const n = m && unit !== undefined ? Number(m[1]) * unit : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 << 20 || n > 1 << 30 || n % 4096 !== 0) throw new UsageError(`--memory takes 1M … 1G bytes in whole pages (e.g. 16777216, 64M), got "${s}"`);
  return n;
}

function parseInjections(list: readonly string[]): { kind: Injection; rate: number }[] {
  const out: { kind: Injection; rate: number }[] = [];
  for (const s of list) {
    const m = /^([a-z-]+):(\S+)$/.exec(s.trim());
    if (!m) throw new UsageError(`--inject takes KIND:RATE (e.g. unlock-early:0.05), got "${s}"`);
    const kind = m[1]!;
    if (!isInjection(kind)) throw new UsageError(`unknown injection "${kind}" in --inject (known: ${INJECTIONS.join(', ')})`);
    const rate = /^\d+(\.\d+)?(e-?\d+)?$/i.test(m[2]!) ? Number(m[2]) : Number.NaN;
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) throw new UsageError(`--inject ${kind}: the rate is a share of transfers from 0 to 1, got "${m[2]}"`);
    if (out.some((o) => o.kind === kind)) throw new UsageError(`--inject ${kind} is given twice`);
    out.push({ kind, rate });
  }
  const total = out.reduce((a, o) => a + o.rate, 0);
  if (total > 1 + 1e-9) throw new UsageError(`the --inject rates add up to ${+total.toFixed(6)}: a transfer carries at most one bug, so they must add up to 1 at most`);
  return out.sort((a, b) => INJECTIONS.indexOf(a.kind) - INJECTIONS.indexOf(b.kind));
}

/** Bytes the devices need at least: what they may hold locked at once, doubled for the pager's room. */
export function memoryNeeded(kinds: readonly string[], devices: number): number {
  let frames = 0;
  // Per device: its kind's frames, the guard block (2) and ballast (8); one bystander guard block.
  for (let d = 0; d < devices; d++) frames += KINDS[kinds[d % kinds.length]!]!.framesNeeded + 10;
  frames += 2;
  return Math.max(1 << 20, Math.ceil((2 * frames) / 256) * (1 << 20));
}

/** The command that runs seed `seed` alone, as the campaign ran it (`transfers`: for a --seconds run). */
export function reproduceCommand(c: StressConfig, seed: number, transfers?: number): string {
  const parts = ['npx dmasim stress', `--seed ${seed}`];
  if (c.transfers !== null) parts.push(`--transfers ${c.transfers}`);
  else parts.push(`--transfers ${transfers ?? 0}`);
  parts.push(`--devices ${c.devices}`, `--kinds ${c.kinds.join(',')}`, `--pager ${c.pager}`, `--memory ${c.memory}`);
  for (const i of c.inject) parts.push(`--inject ${i.kind}:${i.rate}`);
  if (c.expectInjected) parts.push('--expect-injected');
  if (c.deterministic) parts.push('--deterministic');
  return parts.join(' ');
}

/** How many seeds of the range a shard runs (seed first + k belongs to shard k mod N + 1). */
export function shardSize(c: StressConfig, shard: Shard): number {
  const total = c.seeds.last - c.seeds.first + 1;
  const k = shard.index - 1;
  return k >= total ? 0 : Math.floor((total - 1 - k) / shard.count) + 1;
}

/** The seeds of a shard, in order. */
export function* shardSeeds(c: StressConfig, shard: Shard): Generator<number> {
  for (let s = c.seeds.first + shard.index - 1; s <= c.seeds.last; s += shard.count) yield s;
}
