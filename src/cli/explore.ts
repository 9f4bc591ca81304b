/**
 * `dmasim explore`: runs a scenario under many schedules (src/sched/explore.ts) and, on the first
 * violation, shrinks the schedule and saves the reproducer. stdout: the find, the shrink, where the
 * reproducer went and the command that replays it; stderr: sparse progress and usage errors.
 * Returns the exit code: 1 a violation was found, 0 none within the budget, 2 usage error (or a
 * scenario none of whose schedules ran to its end).
 */

import { parseArgs } from 'node:util';
import { explore, type ExploreProgress } from '../sched/explore.js';
import { BUILTIN_SCENARIOS, loadScenario, type ScenarioRef } from '../sched/scenario.js';
import { UsageError } from '../stress/config.js';
import { VIOLATION_CODES, type ViolationCode } from '../ring.js';

export const EXPLORE_USAGE = `usage: dmasim explore (--scenario NAME | --module PATH [--export NAME]) [flags]
       dmasim explore --list

  --scenario NAME    a built-in scenario (--list names them)
  --module PATH      a module exporting a scenario ({ name, options?, run(sim) }); --export NAME picks
                     the export (default: default, then scenario)
  --strategy S       random (a random walk, the default) or pct (priorities with --depth - 1 change points)
  --depth N          PCT bug depth, 1…64 (default 2)
  --budget N         schedules at most (default 100)
  --seed N           explore seed: schedule i's seed is derived from it (default 1)
  --code CODE        count only violations of this code (repeatable; default: any)
  --max-replays N    replays the shrink may spend (default 100)
  --max-steps N      steps per run at most
  --out FILE         where the reproducer goes (default: dmasim-repro-NAME.json)
  --list             the built-in scenarios, with what they do

exit: 1 a violation was found (reproducer saved), 0 none within the budget, 2 usage error or a
scenario that ended with a driver error in every schedule`;

interface ExploreArgs {
  list: boolean;
  help: boolean;
  ref: ScenarioRef | null;
  label: string;
  strategy: 'random' | 'pct';
  depth: number;
  budget: number;
  seed: number;
  codes: ViolationCode[] | undefined;
  maxReplays: number;
  maxSteps: number | undefined;
  out: string;
}

export function parseExploreArgs(argv: readonly string[]): ExploreArgs {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        scenario: { type: 'string' },
        module: { type: 'string' },
        export: { type: 'string' },
        strategy: { type: 'string' },
        depth: { type: 'string' },
        budget: { type: 'string' },
        seed: { type: 'string' },
        code: { type: 'string', multiple: true },
        'max-replays': { type: 'string' },
        'max-steps': { type: 'string' },
        out: { type: 'string' },
        list: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UsageError(((e as Error).message ?? String(e)).split('\n')[0]!);
  }
  const str = (k: string) => values[k] as string | undefined;
  const list = values.list === true;
  const help = values.help === true;
  let ref: ScenarioRef | null = null;
  if (str('scenario') !== undefined && str('module') !== undefined) throw new UsageError('pass --scenario or --module, not both');
  if (str('export') !== undefined && str('module') === undefined) throw new UsageError('--export needs --module');
  if (str('scenario') !== undefined) ref = { builtin: str('scenario')! };
  else if (str('module') !== undefined) ref = { module: str('module')!, ...(str('export') !== undefined ? { export: str('export')! } : {}) };
  else if (!list && !help) throw new UsageError('name a scenario: --scenario NAME (--list shows them) or --module PATH');
  const strategy = str('strategy') ?? 'random';
  if (strategy !== 'random' && strategy !== 'pct') throw new UsageError(`--strategy takes random or pct, got "${strategy}"`);
  if (str('depth') !== undefined && strategy !== 'pct') throw new UsageError('--depth is for --strategy pct');
  const codes = values.code as string[] | undefined;
  for (const c of codes ?? []) if (!(VIOLATION_CODES as readonly string[]).includes(c)) throw new UsageError(`--code takes a violation code (${VIOLATION_CODES.join(', ')}), got "${c}"`);
  const label = ref === null ? '' : 'builtin' in ref ? ref.builtin : (ref.export ?? ref.module.replace(/^.*[/\\]/, '').replace(/\.[^.]*$/, ''));
  return {
    list,
    help,
    ref,
    label,
    strategy,
    depth: str('depth') === undefined ? 2 : int('--depth', str('depth')!, 1, 64),
    budget: str('budget') === undefined ? 100 : int('--budget', str('budget')!, 1, 1_000_000),
    seed: str('seed') === undefined ? 1 : int('--seed', str('seed')!, 0, 0xffffffff),
    codes: codes as ViolationCode[] | undefined,
    maxReplays: str('max-replays') === undefined ? 100 : int('--max-replays', str('max-replays')!, 0, 1_000_000),
    maxSteps: str('max-steps') === undefined ? undefined : int('--max-steps', str('max-steps')!, 1, Number.MAX_SAFE_INTEGER),
    out: str('out') ?? `dmasim-repro-${label.replace(/[^\w.-]+/g, '_')}.json`,
  };
}

function int(flag: string, s: string, min: number, max: number): number {
  const n = /^\d+$/.test(s.trim()) ? Number(s) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${flag} takes an integer from ${min} to ${max}, got "${s}"`);
  return n;
}

export async function exploreCommand(argv: readonly string[]): Promise<number> {
  let a: ExploreArgs;
  try {
    a = parseExploreArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`dmasim explore: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const out = (s: string) => process.stdout.write(`${s}\n`);
  if (a.help) {
    out(EXPLORE_USAGE);
    return 0;
  }
  if (a.list) {
    await import('../sched/demos/index.js');
    const names = [...BUILTIN_SCENARIOS.keys()];
    const width = Math.max(...names.map((n) => n.length));
    for (const name of names) out(`${name.padEnd(width)}  ${(await BUILTIN_SCENARIOS.get(name)!()).about ?? ''}`);
    return 0;
  }
  let scenario;
  try {
    scenario = await loadScenario(a.ref!);
  } catch (e) {
    process.stderr.write(`dmasim explore: ${(e as Error).message}\n`);
    return 2;
  }
  const what = a.strategy === 'pct' ? `PCT depth ${a.depth}` : 'random walk';
  out(`exploring ${scenario.name}: ${what}, up to ${a.budget} schedules, explore seed ${a.seed}`);
  const every = Math.max(1, Math.round(a.budget / 10));
  const progress = (p: ExploreProgress) => {
    if (p.phase === 'explore' && !p.found && (p.schedule + 1) % every === 0) process.stderr.write(`  ${p.schedule + 1}/${p.budget} schedules, nothing yet\n`);
    if (p.phase === 'shrink' && p.replays % 20 === 0) process.stderr.write(`  shrinking: ${p.replays} replays\n`);
  };
  const r = await explore(scenario, {
    strategy: a.strategy,
    depth: a.depth,
    budget: a.budget,
    seed: a.seed,
    ref: a.ref!,
    maxReplays: a.maxReplays,
    ...(a.codes ? { codes: a.codes } : {}),
    ...(a.maxSteps !== undefined ? { maxSteps: a.maxSteps } : {}),
    onProgress: progress,
  });
  if (r.errorCount > 0) out(`${r.errorCount} schedule${r.errorCount === 1 ? '' : 's'} ended with a driver error; the first: ${r.errors[0]!.message}`);
  if (!r.found) {
    out(`no violation in ${r.schedulesRun} schedules${r.strategy === 'pct' ? ` (k = ${r.steps} steps)` : ''}`);
    // Not one schedule ran to its end: the scenario itself is broken, and "nothing found" would be a false all-clear.
    if (r.errorCount === r.schedulesRun) {
      process.stderr.write(`dmasim explore: every schedule ended with a driver error: the scenario does not run\n`);
      return 2;
    }
    return 0;
  }
  const f = r.firstViolation!;
  const kind = f.strategy.kind === 'pct' ? `pct depth ${f.strategy.depth}, k ${f.strategy.steps}` : f.strategy.kind;
  out(`violation ${f.code} in schedule ${f.schedule + 1} of ${r.schedulesRun} (seed ${f.seed}, ${kind}), by ${f.device ?? 'the main thread'} at step ${f.step ?? '?'}`);
  out(`  ${f.violation.message}`);
  const s = r.shrink!;
  if (s.reproduced) out(`shrunk: ${s.from} → ${s.to} decision runs, ${s.stepsFrom} → ${s.stepsTo} steps (${s.replays} replays)`);
  else out(`not shrunk: replaying the failing schedule did not give ${f.code} again (the scenario is not deterministic: it awaits something the scheduler does not own)`);
  await r.save(a.out);
  out(`reproducer: ${a.out}`);
  out(`replay: npx dmasim replay ${a.out}`);
  return 1;
}
